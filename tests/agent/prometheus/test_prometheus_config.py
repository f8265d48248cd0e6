"""[prometheus] settings: valid tables parse; every bad value is a ConfigError naming key and fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.config.parse import ParseContext, parse_section
from agent.config.prometheus import SIGNAL_NAMES, PrometheusSettings
from agent.errors import ConfigError
from agent.prometheus.signals import SIGNALS


def _parse(text: str) -> PrometheusSettings:
    raw = tomllib.loads(text)
    return parse_section(PrometheusSettings, raw.get("prometheus", {}), "prometheus", ParseContext(Path(".")))


def test_defaults_and_a_full_table() -> None:
    assert _parse("").url == "http://127.0.0.1:9090"
    settings = _parse('''
[prometheus]
enabled = true
url = "http://prometheus.monitoring:9090"
timeout_s = 2
[prometheus.anomaly]
current_window_s = 60
weights = { cpu = 0.5, error_ratio = 2 }
[[prometheus.hypotheses]]
name = "target-errors"
query = 'sum(rate(http_requests_total{namespace="$namespace",service="$name",code=~"5.."}[1m]))'
comparison = "<"
threshold = 0.5
phases = ["before", "after"]
[[prometheus.stop_conditions]]
name = "checkout-down"
query = 'sum(up{job="checkout"})'
comparison = "<"
threshold = 1
on_no_data = "fail"
''')
    assert settings.enabled and settings.timeout_s == 2.0
    assert settings.anomaly.weights == {"cpu": 0.5, "error_ratio": 2.0}
    assert settings.hypotheses[0].phases == ("before", "after")
    assert settings.stop_conditions[0].comparison == "<"


BAD = [
    ('url = "prometheus:9090"', "prometheus.url must be an http"),
    ('[prometheus.anomaly]\nstep_s = 0.1', "need 19200 points per series"),
    ('[prometheus.anomaly]\nstep_s = 60\ncurrent_window_s = 30', "must be at least step_s"),
    ('timeout_s = 0', "prometheus.timeout_s must be from 0.1 to 120, got 0"),
    ('[prometheus.anomaly]\nweights = { cpuu = 1 }', "names unknown signal 'cpuu'"),
    ('[prometheus.anomaly]\nweights = { cpu = -1 }', "prometheus.anomaly.weights.cpu must be from 0 to 1000, got -1"),
    ('[[prometheus.hypotheses]]\nname = "x"\nquery = "up"\ncomparison = "=="\nthreshold = 1',
     "comparison must be one of"),
    ('[[prometheus.hypotheses]]\nname = "x"\nquery = "up"\ncomparison = "<"', "threshold is required"),
    ('[[prometheus.hypotheses]]\nname = "Bad Name"\nquery = "up"\ncomparison = "<"\nthreshold = 1',
     "name must be 1-63 lowercase"),
    ('[[prometheus.hypotheses]]\nname = "x"\nquery = \'up{namespace=$namespace}\'\ncomparison = "<"\n'
     'threshold = 1', "outside a double-quoted label value"),
    ('[[prometheus.hypotheses]]\nname = "x"\nquery = \'up{pod="$pod"}\'\ncomparison = "<"\nthreshold = 1',
     r"unknown placeholder \$pod"),
    ('[[prometheus.hypotheses]]\nname = "x"\nquery = \'up{a="$"}\'\ncomparison = "<"\nthreshold = 1',
     "malformed placeholder"),
    ('[[prometheus.hypotheses]]\nname = "x"\nquery = "up"\ncomparison = "<"\nthreshold = 1\nphases = []',
     "must name at least one of"),
    ('[[prometheus.hypotheses]]\nname = "x"\nquery = "up"\ncomparison = "<"\nthreshold = 1\n'
     'phases = ["later"]', r"phases\[0\] must be one of"),
    ('[[prometheus.stop_conditions]]\nname = "x"\nquery = "up"\ncomparison = "<"\nthreshold = 1\n'
     '[[prometheus.stop_conditions]]\nname = "x"\nquery = "up"\ncomparison = ">"\nthreshold = 1',
     "two checks named 'x'"),
    ('[[prometheus.stop_conditions]]\nname = "x"\nquery = "up"\ncomparison = "<"\nthreshold = 1\nwhen = 1',
     "stop_conditions\\[0\\].when is not a known key"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_values_name_the_key(body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse("[prometheus]\n" + body)


def test_signal_names_in_config_match_the_signal_table() -> None:
    assert tuple(s.name for s in SIGNALS) == SIGNAL_NAMES
