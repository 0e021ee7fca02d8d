"""Durations and delays have documented upper limits, checked before anything is allocated."""

from __future__ import annotations

import pytest

from carbon_aware.cli import main
from carbon_aware.delivery.start_within import check_start_within
from carbon_aware.timeseries import shipped_eia930_path

CSV = str(shipped_eia930_path())


@pytest.mark.parametrize("command", ["plan", "backtest"])
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--duration-hours", "1e9", "--max-delay-hours", "4"], "--duration-hours 1e+09 must be"),
        (["--duration-hours", "1e300", "--max-delay-hours", "4"], "--duration-hours 1e+300"),
        (["--duration-hours", "inf", "--max-delay-hours", "4"], "--duration-hours inf"),
        (["--duration-hours", "4", "--max-delay-hours", "1e9"], "--max-delay-hours 1e+09"),
        (["--duration-hours", "4", "--max-delay-hours", "-1"], "--max-delay-hours -1"),
    ],
)
def test_absurd_hours_are_refused_naming_the_flag_before_any_series_is_built(
    capsys, command, flags, message
):
    regions = ["--regions", "CISO,ERCO"] if command == "plan" else []
    assert main([command, "--intensity-csv", CSV, *regions, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "at most" in err and err.count("\n") == 1, err


def test_start_within_just_over_the_limit_gets_a_coherent_message():
    with pytest.raises(ValueError) as caught:
        check_start_within(168.0000001, 1.0, None)
    assert "--start-within 168.0000001 must be more than 0 and at most 168" in str(caught.value)


@pytest.mark.parametrize("duration", [1e9, 1e300, float("nan"), 337.0])
def test_start_within_duration_has_an_upper_limit(duration):
    with pytest.raises(ValueError, match=r"--duration-hours .* at most 336 hours"):
        check_start_within(12.0, duration, None)
