"""defer-run: a one-off Vertex AI schedule of this same run at the planned start; no training."""

from typing import NamedTuple


def defer_run(
    plan_json: str,
    backend: str,
    pipeline_job_resource_name: str,
    location: str,
    service_account: str,
) -> NamedTuple("Deferral", run_record_json=str, evaluation_json=str):
    """Schedules this run's copy at the planned start (Vertex), or records what it would send.

    Args:
        plan_json: plan-start's decision.
        backend: ``vertex`` creates the schedule; ``local`` only records the deferral (run-local
            prints the request it would send).
        pipeline_job_resource_name: This job (the job resource name placeholder), whose spec
            and parameters the schedule's run copies.
        location: The submission region (the location placeholder).
        service_account: The run's account (the service account placeholder).

    Returns:
        run_record_json: The deferral record report-footprint reports (not a training run).
        evaluation_json: Empty: nothing was trained.
    """
    from carbon_aware.planning.deferral import StartDecision, deferral_record

    decision = StartDecision.from_json(plan_json)
    if decision.plan is None:
        raise ValueError("defer-run needs a plan; plan-start decided to start now")
    schedule_name, body = "", None
    if backend == "vertex":
        from carbon_aware.delivery.schedule import defer_on_vertex

        schedule_name, body = defer_on_vertex(
            pipeline_job_resource_name, decision.plan, location, service_account
        )
        print(f"defer-run: scheduled {schedule_name} for {decision.plan.start_utc}")
    record = deferral_record(decision, schedule_name, body)
    return (record, "{}")
