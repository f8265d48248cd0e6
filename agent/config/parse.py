"""Turn a TOML table into a frozen settings dataclass, refusing unknown keys and bad values.

Each settings class declares its fields with ``setting(...)``; the field's type (bool, int, float,
str, Path, Literal, ``X | None``, ``tuple[X, ...]``, ``dict[str, X]``, or a nested settings class)
and its bounds are the whole validation, so every error names the key, the value and what is allowed.
Every number is finite (TOML's nan and inf are refused) and every numeric field declares its range
(``minimum`` and ``maximum``; a test walks the settings classes to keep it so): a NaN compares false
with everything and would switch a guard off, and an infinite duration would hang the loop.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from agent.errors import ConfigError

T = TypeVar("T")
Check = Callable[[Any], str | None]


def setting(default: Any = dataclasses.MISSING, *, doc: str, minimum: float | None = None,
            maximum: float | None = None, check: Check | None = None,
            factory: Callable[[], Any] | None = None, simulated: Any = dataclasses.MISSING) -> Any:
    """A settings field. ``doc`` gives the unit and why the default is what it is; ``simulated`` is a
    looser default the simulated backend takes where the file does not set the key (see
    ``for_simulator``): the default itself is what a real cluster needs."""
    meta = {"doc": doc, "min": minimum, "max": maximum, "check": check, "simulated": simulated}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class ParseContext:
    """Where relative paths in the file are resolved from."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir


def parse_section(cls: type[T], raw: Any, path: str, ctx: ParseContext) -> T:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{path}] must be a table, got {raw!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"{_key(path, unknown[0])} is not a known key; allowed keys in [{path}]: {', '.join(sorted(fields))}"
        )
    values: dict[str, Any] = {}
    for name, f in fields.items():
        key = _key(path, name)
        if name in raw:
            value = _coerce(hints[name], raw[name], key, ctx, allowed_range(f))
            _check_bounds(f, value, key)
            values[name] = value
        elif isinstance(f.default, Path) and not f.default.is_absolute():
            values[name] = ctx.base_dir / f.default
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            nested = _settings_class(hints[name])
            if nested is None:
                raise ConfigError(f"{key} is required ({f.metadata.get('doc', '')})")
            values[name] = parse_section(nested, {}, key, ctx)
        elif _settings_class(hints[name]) is not None:
            values[name] = parse_section(hints[name], {}, key, ctx)  # resolves nested default paths
    return cls(**values)


def _key(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _settings_class(tp: Any) -> type | None:
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {_describe(get_args(tp)[0])}"
    if origin is dict:
        return f"a table of {_describe(get_args(tp)[1])}"
    if tp is Path:
        return "a path (string)"
    if _settings_class(tp):
        return "a table"
    return {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}.get(tp, str(tp))


def _coerce(tp: Any, value: Any, key: str, ctx: ParseContext, bounds: str = "") -> Any:
    """``value`` as type ``tp``; ``bounds`` (such as "from 1 to 10") completes the message of a bad number."""
    origin = get_origin(tp)
    bad = ConfigError(f"{key} must be {_describe(tp)}, got {value!r}")
    bad_number = ConfigError(f"{key} must be {_describe(tp)}{' ' + bounds if bounds else ''}, got {value!r}")
    if origin is typing.Literal:
        if value not in get_args(tp) or isinstance(value, bool) != isinstance(get_args(tp)[0], bool):
            raise bad
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        for option in options:
            try:
                return _coerce(option, value, key, ctx, bounds)
            except ConfigError as e:
                last = e
        raise bad if len(options) > 1 else last
    if origin is tuple:
        if not isinstance(value, list):
            raise bad
        return tuple(_coerce(get_args(tp)[0], v, f"{key}[{i}]", ctx, bounds) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise bad
        return {str(k): _coerce(get_args(tp)[1], v, f"{key}.{k}", ctx, bounds) for k, v in value.items()}
    nested = _settings_class(tp)
    if nested is not None:
        return parse_section(nested, value, key, ctx)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_number
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad_number
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise bad
        p = Path(value).expanduser()
        return p if p.is_absolute() else (ctx.base_dir / p)
    raise TypeError(f"settings type {tp!r} of {key} is not supported")  # a bug in a settings class


def number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e7 else f"{x:g}"


def allowed_range(f: dataclasses.Field[Any]) -> str:
    """The field's range as people read it ("from 1 to 3600"); "" for a field without one."""
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    parts = (f"from {number_text(lo)}" if lo is not None else "", f"to {number_text(hi)}" if hi is not None else "")
    return " ".join(p for p in parts if p)


def _numbers(value: Any) -> list[tuple[str, float]]:
    """(suffix of the key, number) for a number, or for each number in a list or table of them."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [("", value)]
    if isinstance(value, tuple):
        return [(f"[{i}]", v) for i, v in enumerate(value) if isinstance(v, int | float) and not isinstance(v, bool)]
    if isinstance(value, dict):
        return [(f".{k}", v) for k, v in value.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    return []


def _check_bounds(f: dataclasses.Field[Any], value: Any, key: str) -> None:
    lo, hi, check = f.metadata.get("min"), f.metadata.get("max"), f.metadata.get("check")
    for suffix, number in _numbers(value):
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise ConfigError(f"{key}{suffix} must be {allowed_range(f)}, got {number!r}")
    if check is not None and value is not None:
        problem = check(value)
        if problem:
            raise ConfigError(f"{key} {problem}, got {value!r}")


def simulated_defaults(cls: type) -> dict[str, Any]:
    """Field name -> the simulated backend's default, for the fields of ``cls`` that have one."""
    return {f.name: f.metadata["simulated"] for f in dataclasses.fields(cls)
            if f.metadata.get("simulated", dataclasses.MISSING) is not dataclasses.MISSING}


def for_simulator(settings: T, given: Mapping[str, Any]) -> T:
    """``settings`` with the simulated backend's looser defaults for every key the file did not give."""
    loosened = {k: v for k, v in simulated_defaults(type(settings)).items() if k not in given}
    return dataclasses.replace(settings, **loosened) if loosened else settings  # type: ignore[type-var]
