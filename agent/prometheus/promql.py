"""Safe PromQL building: checked label values, escaped into quoted strings, and durations.

A label value that reaches a query comes from the cluster (a namespace, a workload or node name), so
it is checked against the Kubernetes name rules first (DNS-1123) and then escaped for a PromQL
double-quoted string. Anything else is refused: PromQL is never assembled from unchecked text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from agent.errors import ChaosAgentError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# Namespaces are DNS-1123 labels; workload and node names are DNS-1123 subdomains.
_RULES: Mapping[str, tuple[re.Pattern[str], int, str]] = {
    "namespace": (_DNS1123_LABEL, 63, "a DNS-1123 label (lowercase letters, digits, '-'; at most 63)"),
    "name": (_DNS1123_SUBDOMAIN, 253, "a DNS-1123 subdomain (lowercase letters, digits, '-', '.')"),
    "node": (_DNS1123_SUBDOMAIN, 253, "a DNS-1123 subdomain (lowercase letters, digits, '-', '.')"),
}


class UnsafeLabelValue(ChaosAgentError):
    """A value meant for a PromQL label matcher is not a valid Kubernetes name."""


def checked_label_value(field: str, value: str) -> str:
    """``value`` if it is a valid Kubernetes name for ``field`` (namespace, name or node)."""
    pattern, longest, what = _RULES[field]
    if not isinstance(value, str) or len(value) > longest or not pattern.fullmatch(value):
        raise UnsafeLabelValue(f"{field} {value!r} is not {what}; refusing to put it in a PromQL query")
    return value


def escape_string(value: str) -> str:
    """The content of a PromQL double-quoted string that reads back as ``value``."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Fill ``$namespace``/``$name``/``$node`` (checked at config load to sit inside quotes).

    Every value is validated and escaped; a placeholder without a value raises KeyError, so the caller
    can tell an inapplicable template from a filled one (see ``placeholders``).
    """
    safe = {field: escape_string(checked_label_value(field, v)) for field, v in values.items()}
    return string.Template(template).substitute(safe)


def placeholders(template: str) -> frozenset[str]:
    return frozenset(string.Template(template).get_identifiers())


def duration(seconds: float) -> str:
    """A PromQL duration for a range selector: whole milliseconds, such as ``90s`` or ``1500ms``."""
    ms = round(seconds * 1000)
    if ms <= 0:
        raise ValueError(f"a PromQL duration must be positive, got {seconds} s")
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
