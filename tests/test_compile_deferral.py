"""The compiled template's deferral wiring: what Vertex AI resolves, and what is skipped when."""

import yaml


def tasks_and_parents(spec):
    """Task name -> (task, the DAG component holding it)."""
    found = {name: (task, "root") for name, task in spec["root"]["dag"]["tasks"].items()}
    for comp_name, component in spec["components"].items():
        for name, task in component.get("dag", {}).get("tasks", {}).items():
            found[name] = (task, comp_name)
    return found


def upstream_of(spec, found, name):
    """Every task the named task, or a group holding it, waits for."""
    waits, (task, parent) = set(), found[name]
    while True:
        waits |= set(task.get("dependentTasks", []))
        if parent == "root":
            return waits
        name = next(n for n, (t, _) in found.items() if t["componentRef"]["name"] == parent)
        task, parent = found[name]


def constant(task, name):
    return task["inputs"]["parameters"][name]["runtimeValue"]["constant"]


def test_defer_run_gets_the_runs_own_name_region_and_account_and_is_never_cached(
    compiled_template,
):
    spec = yaml.safe_load(compiled_template.read_text())
    found = tasks_and_parents(spec)
    defer, _ = found["defer-run"]
    assert constant(defer, "pipeline_job_resource_name") == "{{$.pipeline_job_resource_name}}"
    assert constant(defer, "location") == "{{$.pipeline_google_cloud_location}}"
    assert constant(defer, "service_account") == "{{$.pipeline_service_account}}"
    assert defer["cachingOptions"] == {}  # KFP writes no enableCache when caching is off
    # Every parameter is checked (choose-region) before the run defers: the dependency sits on
    # the branch that holds defer-run, as KFP lifts it out of the condition.
    assert "choose-region" in upstream_of(spec, found, "defer-run")
    plan, parent = found["plan-start"]
    assert parent == "root" and plan["cachingOptions"] == {}
    assert constant(plan, "run_project") == "{{$.pipeline_google_cloud_project_id}}"


def test_training_runs_only_when_plan_start_says_now_and_report_always_runs(compiled_template):
    spec = yaml.safe_load(compiled_template.read_text())
    found = tasks_and_parents(spec)
    conditions = {
        name: task.get("triggerPolicy", {}).get("condition", "")
        for name, (task, _) in found.items()
    }
    defer_branch = next(c for c in conditions.values() if c.endswith("== 'later'"))
    assert "plan-start-start" in defer_branch
    assert f"!({defer_branch})" in conditions.values()  # the start-now branch
    # evaluate and the training steps sit under the start-now branch; the report is top level.
    assert found["evaluate"][1] != "root" and found["report-footprint"][1] == "root"
