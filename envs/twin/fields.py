"""Typed, path-aware reads from a raw Kubernetes object, so a malformed field is named, not crashed on.

Every read goes through ``Fields``: a mapping plus the dotted path it was reached by. A value of the
wrong type raises ``Malformed`` with that path; the builder turns it into a note and skips the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class Malformed(Exception):
    """A field of an object does not have the shape Kubernetes gives it."""

    def __init__(self, path: str, value: object, expected: str) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"{path} must be {expected}, got {shown}")
        self.path = path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass(frozen=True)
class Fields:
    """A read-only view of one mapping inside an object, with the path that leads to it."""

    data: Mapping[str, object]
    path: str = ""

    @staticmethod
    def of(value: object, path: str) -> Fields:
        if not isinstance(value, Mapping):
            raise Malformed(path, value, "a mapping")
        return Fields(value, path)

    def raw(self, key: str) -> object:
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def sub(self, key: str) -> Fields:
        """The mapping under ``key``; an absent or null key reads as an empty mapping."""
        value = self.data.get(key)
        if value is None:
            return Fields({}, _join(self.path, key))
        return Fields.of(value, _join(self.path, key))

    def subs(self, key: str) -> list[Fields]:
        """The list of mappings under ``key`` (absent: empty)."""
        path = _join(self.path, key)
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise Malformed(path, value, "a list")
        return [Fields.of(item, f"{path}[{i}]") for i, item in enumerate(value)]

    def strings(self, key: str) -> list[str]:
        path = _join(self.path, key)
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Malformed(path, value, "a list of strings")
        return list(value)

    def text(self, key: str, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise Malformed(_join(self.path, key), value, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def integer(self, key: str, default: int) -> int:
        value = self.optional_integer(key)
        return default if value is None else value

    def optional_integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise Malformed(_join(self.path, key), value, "an integer")
        return value

    def count(self, key: str, default: int) -> int:
        """A non-negative integer such as ``replicas``."""
        value = self.integer(key, default)
        if value < 0:
            raise Malformed(_join(self.path, key), value, "a non-negative integer")
        return value

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Malformed(_join(self.path, key), value, "a number")
        return float(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise Malformed(_join(self.path, key), value, "true or false")
        return value

    def string_map(self, key: str) -> dict[str, str]:
        """A map of strings such as labels, annotations or a nodeSelector."""
        path = _join(self.path, key)
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise Malformed(path, value, "a map of strings")
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise Malformed(f"{path}.{k}", v, "a string (quote numbers and booleans in YAML)")
            out[k] = v
        return out

    def annotations(self, key: str = "annotations") -> tuple[dict[str, str], list[str]]:
        """Annotations, with unquoted YAML scalars (``120``, ``true``) read as the strings meant.

        The API server would reject them; the twin reads them and returns the keys it coerced.
        """
        path = _join(self.path, key)
        value = self.data.get(key)
        if value is None:
            return {}, []
        if not isinstance(value, Mapping):
            raise Malformed(path, value, "a map of strings")
        out: dict[str, str] = {}
        coerced: list[str] = []
        for k, v in value.items():
            if isinstance(v, str):
                out[str(k)] = v
                continue
            if isinstance(v, bool):
                out[str(k)] = "true" if v else "false"
            elif isinstance(v, int | float):
                out[str(k)] = str(v)
            else:
                raise Malformed(f"{path}.{k}", v, "a string")
            coerced.append(str(k))
        return out, coerced

    def int_or_percent(self, key: str) -> int | str | None:
        """An IntOrString such as ``maxUnavailable``: a count or ``"NN%"``."""
        path = _join(self.path, key)
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
            return value
        raise Malformed(path, value, 'a non-negative integer or a percentage such as "25%"')
