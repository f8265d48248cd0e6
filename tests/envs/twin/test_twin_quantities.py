"""Resource quantities, durations and IntOrString scaling as Kubernetes reads them."""

from __future__ import annotations

import pytest

from envs.twin.quantities import (
    cpu_millis,
    duration_s,
    fraction,
    memory_mib,
    scale_int_or_percent,
    whole_count,
)


@pytest.mark.parametrize(
    ("value", "millis"),
    [
        ("500m", 500),
        ("1", 1000),
        (1, 1000),
        (0.5, 500),
        ("0.25", 250),
        ("2.5", 2500),
        ("100u", 1),
        ("1k", 1_000_000),
        ("1e-3", 1),
        ("0.0001", 1),
    ],
)
def test_cpu_quantities_round_up_to_millicores(value: object, millis: int) -> None:
    assert cpu_millis(value) == millis


@pytest.mark.parametrize(
    ("value", "mib"),
    [
        ("128Mi", 128),
        ("1Gi", 1024),
        ("1G", 954),
        ("500M", 477),
        (134217728, 128),
        ("134217728", 128),
        ("2Ki", 1),
        ("1.5Gi", 1536),
        ("1e9", 954),
        ("64Mi", 64),
        ("1Ti", 1024 * 1024),
    ],
)
def test_memory_quantities_in_mib(value: object, mib: int) -> None:
    assert memory_mib(value) == mib


@pytest.mark.parametrize("value", ["three", "1 Gi", "1GB", "-1", "", None, True, [1]])
def test_bad_quantities_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        memory_mib(value)


def test_gpus_must_be_whole() -> None:
    assert whole_count("2") == 2
    assert whole_count(4) == 4
    with pytest.raises(ValueError):
        whole_count("0.5")


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        ("25%", 3, False, 0),
        ("25%", 3, True, 1),
        ("25%", 4, False, 1),
        ("50%", 5, False, 2),
        ("50%", 5, True, 3),
        (2, 10, False, 2),
        ("100%", 3, False, 3),
        ("0%", 3, True, 0),
    ],
)
def test_int_or_percent_scaling(value: int | str, total: int, round_up: bool, expected: int) -> None:
    assert scale_int_or_percent(value, total, round_up=round_up) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("600s", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("90", 90),
        ("250ms", 0.25),
        ("2d", 172800),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "-5m", "5 minutes", "m", "", "1h-30m", "nan"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        duration_s(text)


def test_fraction_accepts_share_or_percent() -> None:
    assert fraction("0.995") == pytest.approx(0.995)
    assert fraction("99.5%") == pytest.approx(0.995)
    for bad in ("0", "1.5", "150%", "high"):
        with pytest.raises(ValueError):
            fraction(bad)


def test_negative_quantities_with_exponent_are_refused() -> None:
    with pytest.raises(ValueError):
        cpu_millis("-1e3")
