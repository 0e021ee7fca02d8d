"""When a run started without ``submit`` (the console, a re-run) should start: now, or later.

The plan-start step calls :func:`decide_start` with the run's own parameters. It plans with
:func:`carbon_aware.delivery.start_within.plan_run`, the planner and ``min_gain_pct`` rule of
``submit --start-within``, so both paths decide alike. A plan that waits makes the run defer
itself (a one-off schedule at the planned start, :mod:`carbon_aware.delivery.schedule`); a plan
that starts now lets the run go on, and the report says what waiting would have gained.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carbon_aware.planning.constraints import Exclusion
from carbon_aware.planning.planner import WAIT_NOTE, Plan, RankedOption

START_NOW = "now"
START_LATER = "later"
DEFERRAL_KIND = "deferral"
"""The ``kind`` of the record defer-run hands to report-footprint in place of a run record."""
# The planner's wait note (planner.plan_job) gives the gain over starting now in either form.
_WAIT_GAIN = re.compile(r"(?:window is|would gain) (\d+(?:\.\d+)?)%")


@dataclass(frozen=True)
class StartDecision:
    """Start now or later, and the plan behind it (None when the run does not plan).

    Attributes:
        start: :data:`START_NOW` or :data:`START_LATER`.
        plan: The plan, or None with ``start_within_hours`` 0.
        wait_gain_pct: How much cleaner the best start in the window is than starting now in
            the best region now (0 when now is best).
        wait_gain_error_pct: The back-tested error (points) of the expected saving of the
            forecast behind the best start (``Plan.forecast_error``; 0 where it cannot be
            back-tested, e.g. the csv file taken as the forecast): the gain's range is
            gain +/- this.
        reason: Why it starts now or later.
    """

    start: str
    plan: Plan | None
    wait_gain_pct: float
    wait_gain_error_pct: float
    reason: str

    def to_json(self) -> str:
        """The decision as JSON (the plan in full)."""
        data = {
            "start": self.start,
            "plan": None if self.plan is None else self.plan.to_dict(),
            "wait_gain_pct": self.wait_gain_pct,
            "wait_gain_error_pct": self.wait_gain_error_pct,
            "reason": self.reason,
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StartDecision:
        """Reads :meth:`to_json`'s output."""
        data = json.loads(text)
        return cls(
            start=data["start"],
            plan=None if data["plan"] is None else plan_from_dict(data["plan"]),
            wait_gain_pct=float(data["wait_gain_pct"]),
            wait_gain_error_pct=float(data["wait_gain_error_pct"]),
            reason=str(data["reason"]),
        )


def plan_from_dict(data: dict[str, Any]) -> Plan:
    """A :class:`Plan` from :meth:`Plan.to_dict`'s output."""
    return Plan(
        **{
            **data,
            "ranking": tuple(RankedOption(**option) for option in data["ranking"]),
            "exclusions": tuple(Exclusion(**item) for item in data["exclusions"]),
            "notes": tuple(data["notes"]),
        }
    )


def check_start_window(start_within_hours: float, expected_duration_hours: float) -> None:
    """Checks the two pipeline parameters before anything is read.

    Raises:
        ValueError: Naming the parameter, its value and what is allowed.
    """
    from carbon_aware.delivery.start_within import MAX_START_WITHIN_HOURS

    if not (math.isfinite(start_within_hours) and start_within_hours >= 0):
        raise ValueError(f"start_within_hours {start_within_hours!r} must be 0 (start now) or more")
    if start_within_hours > MAX_START_WITHIN_HOURS:
        raise ValueError(
            f"start_within_hours {start_within_hours:g} must be at most "
            f"{MAX_START_WITHIN_HOURS} hours (our forecast's reach)"
        )
    if not (math.isfinite(expected_duration_hours) and expected_duration_hours >= 0):
        raise ValueError(
            f"expected_duration_hours {expected_duration_hours!r} must be 0 (not given) or more"
        )
    if start_within_hours > 0 and expected_duration_hours == 0:
        raise ValueError(
            f"start_within_hours {start_within_hours:g} needs expected_duration_hours: how long "
            "the run takes, in hours (more than 0)"
        )


def decide_start(
    values: dict[str, Any],
    start_within_hours: float,
    expected_duration_hours: float,
    *,
    now: datetime | None = None,
    provider: Any = None,
) -> StartDecision:
    """Plans the run's start as ``submit --start-within`` does, from its parameter values.

    Args:
        values: The run's parameters (``candidate_regions``, ``baseline_region``,
            ``intensity_provider``, ``intensity_csv``, ``residency``, ...).
        start_within_hours: How long the start may wait; 0 starts now without planning.
        expected_duration_hours: How long the run takes.
        now: The planning time (default: the current UTC time).
        provider: A live provider object instead of the registry's (tests).

    Returns:
        The decision.

    Raises:
        ValueError: Bad parameters, or nothing to plan with.
    """
    from carbon_aware.delivery.start_within import plan_run

    check_start_window(start_within_hours, expected_duration_hours)
    if start_within_hours == 0:
        return StartDecision(START_NOW, None, 0.0, 0.0, "start_within_hours is 0: start now")
    plan = plan_run(
        values, start_within_hours, expected_duration_hours, None, now=now, provider=provider
    )
    return decision_from_plan(plan)


def decision_from_plan(plan: Plan) -> StartDecision:
    """Now or later from a plan, with the gain of waiting as the plan's wait note gives it."""
    wait_note = next((n for n in reversed(plan.notes) if n.startswith(WAIT_NOTE)), WAIT_NOTE)
    best = plan.ranking[0].region if plan.ranking else plan.region
    error = plan.forecast_error.get(best, {}).get("saving_error_pct", 0.0)
    gain = _WAIT_GAIN.search(wait_note)
    start = START_LATER if plan.delay_hours > 0 else START_NOW
    return StartDecision(
        start,
        plan,
        float(gain.group(1)) if gain else 0.0,
        float(error),
        wait_note.removeprefix(WAIT_NOTE),
    )


PLAN_NOW_ENV = "CARBON_AWARE_PLAN_NOW"
"""Set by ``run-local --now``: the planning time of a local run (ISO 8601 with offset)."""


def planning_time(env: dict[str, str] | None = None) -> datetime | None:
    """The planning time ``run-local --now`` set, else None (the current time)."""
    import os

    from carbon_aware.inputs import utc_time

    text = (os.environ if env is None else env).get(PLAN_NOW_ENV, "")
    return utc_time(text, "--now") if text else None


def deferral_record(
    decision: StartDecision, schedule_name: str, schedule: dict[str, Any] | None
) -> str:
    """What defer-run hands to report-footprint in place of a training run's record (JSON).

    The schedule is kept without its copy of the pipeline spec (the run's own, and large).
    """
    if schedule is not None:
        schedule = json.loads(json.dumps(schedule))
        job = schedule.get("createPipelineJobRequest", {}).get("pipelineJob", {})
        if "pipelineSpec" in job:
            job["pipelineSpec"] = "<this run's own pipeline spec>"
    return json.dumps(
        {
            "kind": DEFERRAL_KIND,
            "decision": json.loads(decision.to_json()),
            "schedule_name": schedule_name,
            "schedule": schedule,
        },
        sort_keys=True,
    )


def read_deferral(run_record_json: str) -> dict[str, Any] | None:
    """The deferral record, or None when ``run_record_json`` is a training run's record."""
    data = json.loads(run_record_json) if run_record_json else {}
    return data if isinstance(data, dict) and data.get("kind") == DEFERRAL_KIND else None
