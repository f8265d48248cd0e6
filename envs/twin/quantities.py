"""Kubernetes quantities and the value syntaxes of the annotation contract.

``cpu_millis`` and ``memory_mib`` read resource.Quantity values ("500m", "1", 0.5, "128Mi", "1G",
plain bytes) and round up like ``Quantity.MilliValue``; ``scale_int_or_percent`` resolves a
maxUnavailable/maxSurge the way the controllers do. Each parser raises ``ValueError`` naming what is
allowed; callers turn that into a note.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))((?:[eE][+-]?\d+)|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")
_MIB = Decimal(2**20)


def quantity(value: object) -> Decimal:
    """A resource.Quantity (string or number) as an exact decimal in base units."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f'{value!r} is not a quantity (e.g. "500m", "1", "128Mi", "1G")')
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f'{text!r} is not a quantity (e.g. "500m", "1", "128Mi", "1G")')
    number, suffix = match.group(1), match.group(2) or ""
    try:
        base = Decimal(number)
        scale = Decimal(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else _SUFFIXES[suffix]
    except (InvalidOperation, ValueError) as e:
        raise ValueError(f"{text!r} is not a quantity") from e
    if base < 0:
        raise ValueError(f"{text!r} is negative")
    return base * scale


def cpu_millis(value: object) -> int:
    """CPU in millicores, rounded up: ``"500m"`` -> 500, ``1`` -> 1000, ``0.25`` -> 250."""
    return math.ceil(quantity(value) * 1000)


def memory_mib(value: object) -> int:
    """Memory in MiB, rounded up: ``"1Gi"`` -> 1024, ``"1G"`` -> 954, ``134217728`` -> 128."""
    return math.ceil(quantity(value) / _MIB)


def whole_count(value: object) -> int:
    """An extended resource such as ``nvidia.com/gpu``: a whole number of devices."""
    amount = quantity(value)
    if amount != amount.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of devices")
    return int(amount)


def scale_int_or_percent(value: int | str, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: a count as is, ``"NN%"`` of ``total`` rounded."""
    if isinstance(value, int):
        return value
    scaled = int(value[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_s(text: str) -> float:
    """A duration such as ``"30m"``, ``"600s"``, ``"1h30m"``, ``"1.5h"`` or plain seconds ``"90"``."""
    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        seconds = -1.0
        pos, total = 0, 0.0
        for match in _DURATION_PART.finditer(stripped):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos == len(stripped) and pos > 0:
            seconds = total
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError('a duration such as "30m", "600s", "1h30m" or seconds as a number')
    return seconds


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise ValueError("a number greater than 0")
    return value


def non_negative_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ValueError("a number of at least 0")
    return value


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError("a whole number of at least 1")
    return int(text)


def fraction(text: str) -> float:
    """A share in (0, 1]: ``"0.995"`` or ``"99.5%"``."""
    stripped = text.strip()
    try:
        value = float(stripped[:-1]) / 100 if stripped.endswith("%") else float(stripped)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or not 0 < value <= 1:
        raise ValueError('a share in (0, 1] such as "0.995" or "99.5%"')
    return value


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError('"true" or "false"')
    return lowered == "true"
