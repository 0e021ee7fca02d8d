"""Missing Google credentials or permissions, told in one line with the fix (no traceback).

Every subcommand that calls Google Cloud (``submit``, ``submit --from-run``, ``upload``,
``footprint-history``, ``doctor``) signs in with Application Default Credentials. When there are
none, when they cannot be refreshed, or when the account lacks a permission, the CLI prints one
line naming what is missing and how to fix it, and exits with :data:`EXIT_NO_ACCESS`.
"""

from __future__ import annotations

from collections.abc import Iterator

EXIT_NO_ACCESS = 3
SIGN_IN = "gcloud auth application-default login"
# The predefined role each subcommand needs (https://cloud.google.com/iam/docs/roles-permissions:
# aiplatform, artifactregistry, bigquery), for the one-line fix.
ROLE_FOR_COMMAND = {
    "submit": "roles/aiplatform.user",
    "upload": "roles/artifactregistry.writer",
    "footprint-history": "roles/bigquery.jobUser and roles/bigquery.dataViewer on the table",
    "doctor": "roles/viewer",
}


def _chain(err: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or during, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


def describe(err: BaseException, command: str) -> str | None:
    """One line for a credentials or permission failure anywhere in ``err``'s chain; else None.

    Args:
        err: What the subcommand raised.
        command: The subcommand (``submit``, ``upload``, …), to name the role it needs.
    """
    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    role = ROLE_FOR_COMMAND.get(command, "roles/aiplatform.user")
    for item in _chain(err):
        if isinstance(item, auth.DefaultCredentialsError):
            return (
                f"no Google credentials found: run `{SIGN_IN}` (or set "
                "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file), then retry"
            )
        if isinstance(item, auth.RefreshError):
            return (
                f"your Google credentials could not be refreshed ({_first_line(item)}): run "
                f"`{SIGN_IN}` again, then retry"
            )
        if isinstance(item, api.Unauthenticated):
            return f"Google Cloud did not accept your credentials: run `{SIGN_IN}`, then retry"
        status = getattr(getattr(item, "response", None), "status_code", None)
        if isinstance(item, requests.HTTPError) and status == 401:
            return f"Google Cloud did not accept your credentials: run `{SIGN_IN}`, then retry"
        if isinstance(item, api.PermissionDenied | api.Forbidden) or (
            isinstance(item, requests.HTTPError) and status == 403
        ):
            return (
                f"permission denied: {_first_line(item)}; grant your account {role} on the "
                "project (`gcloud projects add-iam-policy-binding PROJECT "
                f"--member=user:YOU --role=ROLE`), then retry"
            )
    return None
