"""doctor's check that a run may defer itself: the roles the deferral step's calls need.

defer-run (:mod:`carbon_aware.delivery.schedule`) reads the running job and creates a schedule of
its copy as the run's service account: ``aiplatform.pipelineJobs.get``,
``aiplatform.pipelineJobs.create`` and ``aiplatform.schedules.create`` on the project
(Vertex AI REST reference, projects.locations.schedules.create, "IAM Permissions"), granted by
``roles/aiplatform.user``; and ``iam.serviceAccounts.actAs`` on the account itself, granted by
``roles/iam.serviceAccountUser`` on the project or on the account. The roles are read from the
project's IAM policy (Resource Manager ``projects.getIamPolicy``) and the account's (IAM
``projects.serviceAccounts.getIamPolicy``); custom roles are not resolved.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any

import requests

from carbon_aware.delivery.schedule import ACT_AS, ROLE_FOR

SCHEDULE_PERMISSIONS = (
    "aiplatform.pipelineJobs.get",
    "aiplatform.pipelineJobs.create",
    "aiplatform.schedules.create",
)
# Predefined roles that grant them (cloud.google.com/iam/docs/roles-permissions/aiplatform; the
# basic roles owner and editor hold every aiplatform.* and iam.serviceAccounts.actAs).
SCHEDULE_ROLES = frozenset({"roles/aiplatform.user", "roles/aiplatform.admin", "roles/owner",
                            "roles/editor"})  # fmt: skip
ACT_AS_ROLES = frozenset({"roles/iam.serviceAccountUser", "roles/owner", "roles/editor"})
CHECK = "deferral"


def _roles(bindings: Iterable[Any], member: str) -> set[str]:
    return {b.get("role", "") for b in bindings if member in b.get("members", ())}


def check_deferral(
    session: requests.Session,
    resource_manager: str,
    iam: str,
    project: str,
    account: str,
    get_json: Any,
) -> tuple[bool, str, str]:
    """Whether ``account`` may defer a run; the problem and the command that fixes it.

    Args:
        session: An authorised session.
        resource_manager: Resource Manager's base URL.
        iam: IAM's base URL.
        project: The project.
        account: The run's service account ("" : not checked).
        get_json: doctor's request helper (raises its GoogleApiError on a non-2xx answer).

    Returns:
        ok, problem (or a note), fix.
    """
    if not account:
        return True, "not checked: give --service-account (the account runs are started as)", ""
    member = f"serviceAccount:{account}"
    body = {"options": {"requestedPolicyVersion": 3}}
    try:
        on_project = _roles(
            get_json(
                session, f"{resource_manager}/v1/projects/{project}:getIamPolicy", body=body
            ).get("bindings", []),
            member,
        )
        url = f"{iam}/v1/projects/{project}/serviceAccounts/{account}:getIamPolicy"
        on_account = _roles(get_json(session, url, body=body).get("bindings", []), member)
    except Exception as err:  # doctor reports what it cannot read; it never stops
        return False, f"cannot read the IAM policies: {err}", ""
    missing = [] if on_project & SCHEDULE_ROLES else list(SCHEDULE_PERMISSIONS)
    if not (on_project | on_account) & ACT_AS_ROLES:
        missing.append(ACT_AS)
    if not missing:
        return True, "", ""
    problem = (
        f"{member} lacks {', '.join(missing)}: a run with start_within_hours > 0 fails at "
        "defer-run instead of deferring itself (custom roles are not resolved)"
    )
    fixes = []
    if missing[0] != ACT_AS:
        role = ROLE_FOR[missing[0]]
        grant = ["gcloud", "projects", "add-iam-policy-binding", project]
        fixes.append(shlex.join([*grant, f"--member={member}", f"--role={role}"]))
    if ACT_AS in missing:
        grant = ["gcloud", "iam", "service-accounts", "add-iam-policy-binding", account]
        fixes.append(
            shlex.join(
                [*grant, f"--project={project}", f"--member={member}", "--role=" + ROLE_FOR[ACT_AS]]
            )
        )
    return False, problem, " && ".join(fixes)
