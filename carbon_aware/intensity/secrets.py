"""API credentials: from Secret Manager by resource name, or from the environment locally.

Values are wrapped in :class:`Secret`, whose ``repr`` and ``str`` never show the value; call
:meth:`Secret.reveal` only where a request header is built.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

ELECTRICITY_MAPS_KEY_ENV = "ELECTRICITY_MAPS_API_KEY"
WATTTIME_USERNAME_ENV = "WATTTIME_USERNAME"
WATTTIME_PASSWORD_ENV = "WATTTIME_PASSWORD"  # noqa: S105 - a variable name, not a password

# projects/<project id or number>/secrets/<secret id>/versions/<latest or a number>
_SECRET_NAME = re.compile(
    r"^projects/(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})"
    r"/secrets/[A-Za-z0-9_-]{1,255}/versions/(?:latest|[1-9][0-9]{0,19})$"
)


class MissingCredentialsError(ValueError):
    """No key was configured for a provider that needs one."""


@dataclass(frozen=True)
class Secret:
    """A credential value that does not print itself."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """Returns the value (for building a request header only)."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class WattTimeCredentials:
    """WattTime username and password (the password never appears in the repr)."""

    username: str
    password: Secret = field(repr=False)


def validate_secret_name(name: str) -> str:
    """Checks a Secret Manager version resource name and returns it stripped.

    Args:
        name: ``projects/PROJECT/secrets/SECRET/versions/latest`` (or a version number).

    Raises:
        ValueError: The name does not have that shape.
    """
    stripped = name.strip()
    if not _SECRET_NAME.fullmatch(stripped):
        # Never echo the value: a key pasted here by mistake would land in logs and job errors.
        raise ValueError(
            f"invalid Secret Manager name for api_key_secret (the {len(stripped)}-character "
            "value is not shown, in case it is a key): expected "
            "projects/PROJECT/secrets/SECRET/versions/latest (or a version number); put the key "
            "itself in Secret Manager or an environment variable, never in a parameter"
        )
    return stripped


def read_secret(name: str, client: Any | None = None) -> Secret:
    """Reads one secret version from Secret Manager.

    Args:
        name: Version resource name (validated first).
        client: A ``SecretManagerServiceClient``-like object; created lazily when None, so the
            library is only imported when a secret is actually read.

    Returns:
        The payload, decoded as UTF-8 and stripped.

    Raises:
        ValueError: Bad name, or the secret is empty.
        RuntimeError: Secret Manager could not be reached or refused the read.
    """
    checked = validate_secret_name(name)
    if client is None:
        from google.cloud import secretmanager  # lazy: heavy import, not needed for env keys

        client = secretmanager.SecretManagerServiceClient()
    try:
        response = client.access_secret_version(request={"name": checked})
    except Exception as err:  # the client raises many google.api_core types
        raise RuntimeError(
            f"could not read secret {checked}: {type(err).__name__}; check that it exists and "
            "that the service account has roles/secretmanager.secretAccessor"
        ) from None
    value = bytes(response.payload.data).decode("utf-8").strip()
    if not value:
        raise ValueError(f"secret {checked} is empty")
    return Secret(value)


def electricity_maps_key(secret_name: str = "", client: Any | None = None) -> Secret:
    """Returns the Electricity Maps key: from Secret Manager if named, else from the environment.

    Raises:
        MissingCredentialsError: Neither is set.
    """
    if secret_name:
        return read_secret(secret_name, client)
    value = os.environ.get(ELECTRICITY_MAPS_KEY_ENV, "").strip()
    if not value:
        raise MissingCredentialsError(
            f"no Electricity Maps API key: set {ELECTRICITY_MAPS_KEY_ENV} locally, or pass a "
            "Secret Manager name (projects/P/secrets/S/versions/latest); or use provider 'static'"
        )
    return Secret(value)


def watttime_credentials(secret_name: str = "", client: Any | None = None) -> WattTimeCredentials:
    """Returns WattTime credentials from Secret Manager if named, else from the environment.

    A secret holds ``{"username": ..., "password": ...}`` or ``username:password``.

    Raises:
        MissingCredentialsError: Nothing is configured.
        ValueError: The secret has neither shape.
    """
    if secret_name:
        raw = read_secret(secret_name, client).reveal()
        return _parse_watttime_secret(raw, secret_name)
    username = os.environ.get(WATTTIME_USERNAME_ENV, "").strip()
    password = os.environ.get(WATTTIME_PASSWORD_ENV, "")
    if not username or not password:
        raise MissingCredentialsError(
            f"no WattTime credentials: set {WATTTIME_USERNAME_ENV} and {WATTTIME_PASSWORD_ENV} "
            "locally, or pass a Secret Manager name; or use provider 'static'"
        )
    return WattTimeCredentials(username, Secret(password))


def _parse_watttime_secret(raw: str, secret_name: str) -> WattTimeCredentials:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("username") and data.get("password"):
        return WattTimeCredentials(str(data["username"]), Secret(str(data["password"])))
    username, sep, password = raw.partition(":")
    if sep and username and password:
        return WattTimeCredentials(username, Secret(password))
    raise ValueError(
        f"secret {secret_name} must hold JSON {{'username', 'password'}} or 'username:password'"
    )
