"""Label values reach PromQL only as checked Kubernetes names, escaped into quoted strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.config.prometheus import template_problem
from agent.prometheus.promql import (
    UnsafeLabelValue,
    checked_label_value,
    duration,
    escape_string,
    fill_template,
)

TEMPLATE = 'up{namespace="$namespace",pod=~"$name-.*"}'


def test_fill_template_with_valid_names() -> None:
    assert fill_template(TEMPLATE, {"namespace": "shop", "name": "web-api"}) == (
        'up{namespace="shop",pod=~"web-api-.*"}')


@pytest.mark.parametrize("value", [
    'shop"} or vector(1) or up{a="', "Shop", "-shop", "shop-", "", "a" * 64, "shop\n", "sh op", "shop.x",
    "ns/evil", "$name",
])
def test_injection_attempts_are_refused(value: str) -> None:
    with pytest.raises(UnsafeLabelValue, match="refusing to put it in a PromQL query"):
        fill_template(TEMPLATE, {"namespace": value, "name": "web"})


def test_names_may_be_subdomains_but_namespaces_not() -> None:
    assert checked_label_value("name", "api.v2") == "api.v2"
    assert checked_label_value("node", "ip-10-0-0-1.ec2.internal") == "ip-10-0-0-1.ec2.internal"
    with pytest.raises(UnsafeLabelValue):
        checked_label_value("namespace", "api.v2")


def test_missing_value_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        fill_template(TEMPLATE, {"namespace": "shop"})


@given(st.text())
def test_escape_round_trips_through_a_promql_string(value: str) -> None:
    escaped = escape_string(value)
    # No unescaped quote can end the string early; undoing the escapes gives the value back.
    assert '"' not in escaped.replace('\\\\', "").replace('\\"', "")
    assert _unescape(escaped) == value


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            out.append({"n": "\n", '"': '"', "\\": "\\"}[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def test_template_checks_quotes_including_escaped_ones() -> None:
    assert template_problem('up{a="x\\"$name"}') is None
    assert template_problem('up{a="x\\""} + $name') is not None
    assert template_problem("up") is None
    assert template_problem("  ") is not None


def test_duration() -> None:
    assert duration(60) == "60s"
    assert duration(1.5) == "1500ms"
    with pytest.raises(ValueError):
        duration(0)
