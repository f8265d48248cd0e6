"""The configuration reference, rendered from the settings classes themselves so it cannot drift."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from agent.config.parse import _describe, _settings_class, number_text


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        return _text(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return _text(f.default_factory())
    return "(required)"


def _text(value: Any) -> str:
    if isinstance(value, Path):
        return f'"{value}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "(unset)"
    if isinstance(value, tuple):
        if value and dataclasses.is_dataclass(value[0]):
            return f"{len(value)} table(s), see below"
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]"
    return str(value)


def _rows(cls: type, path: str) -> list[tuple[str, str, list[str]]]:
    """(section path, section doc, table rows) for ``cls`` and its nested sections."""
    hints = get_type_hints(cls)
    rows: list[str] = []
    nested: list[tuple[str, str, list[str]]] = []
    for f in dataclasses.fields(cls):
        sub = _settings_class(hints[f.name])
        key = f"{path}.{f.name}" if path else f.name
        if sub is not None:
            nested.extend(_rows(sub, key))
            continue
        element = _table_list_element(hints[f.name])
        if element is not None:
            nested.extend((f"[{p}]", d, r) for p, d, r in _rows(element, key))
        optional = _optional_table(hints[f.name])
        if optional is not None:
            nested.extend(_rows(optional, key))
            continue
        doc = str(f.metadata.get("doc", "")).replace("|", "\\|").replace("\n", " ")
        bounds = [f"min {number_text(f.metadata['min'])}" if f.metadata.get("min") is not None else "",
                  f"max {number_text(f.metadata['max'])}" if f.metadata.get("max") is not None else ""]
        allowed = _describe(hints[f.name]) + "".join(f"; {b}" for b in bounds if b)
        default = f"`{_default(f)}`"
        if f.metadata.get("simulated", dataclasses.MISSING) is not dataclasses.MISSING:
            default += f" (simulated: `{_text(f.metadata['simulated'])}`)"
        rows.append(f"| `{f.name}` | {allowed} | {default} | {doc} |")
    doc = (cls.__doc__ or "").strip().split("\n")[0]
    if doc.startswith(cls.__name__ + "("):  # the signature dataclass puts where a class has no docstring
        doc = ""
    section = [(path, doc, rows)] if rows else []
    return section + nested


def _table_list_element(tp: Any) -> type | None:
    """The settings class of a ``tuple[SettingsClass, ...]`` field (an array of tables), else None."""
    if get_origin(tp) is tuple:
        args = get_args(tp)
        return _settings_class(args[0]) if args else None
    return None


def _optional_table(tp: Any) -> type | None:
    """The settings class of a ``SettingsClass | None`` field (a table that turns a feature on), else None."""
    options = [a for a in get_args(tp) if a is not type(None)]
    return _settings_class(options[0]) if len(options) == 1 and len(get_args(tp)) == 2 else None


def render_reference() -> str:
    from agent.config import Settings

    out = [
        "# Configuration reference",
        "",
        "Generated from the settings classes in `agent/config/` by `chaos-agent config reference`; a test",
        "keeps this file current. Unknown keys and bad values are refused with a message naming the key,",
        "the value and what is allowed. Every number must be finite (nan and inf are refused) and inside the",
        "range shown. Relative paths are taken from the config file's folder.",
    ]
    for path, doc, rows in _rows(Settings, ""):
        out += ["", f"## [{path}]", ""]
        if doc and not doc.startswith("["):
            out += [doc, ""]
        out += ["| key | allowed | default | meaning |", "| --- | --- | --- | --- |", *rows]
    return "\n".join(out) + "\n"
