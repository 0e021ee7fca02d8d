"""Credentials: Secret Manager name validation, the environment path, and redaction in reprs.

These tests never reach Secret Manager. Where a secret is read, a small fake object stands in for
``SecretManagerServiceClient`` (only ``access_secret_version`` is exercised).
"""

from types import SimpleNamespace

import pytest

from carbon_aware.intensity.electricitymaps import ElectricityMapsProvider
from carbon_aware.intensity.secrets import (
    MissingCredentialsError,
    Secret,
    WattTimeCredentials,
    electricity_maps_key,
    read_secret,
    validate_secret_name,
    watttime_credentials,
)
from carbon_aware.parameters import validate_run_parameters


class FakeSecretManager:
    """A fake standing in for SecretManagerServiceClient; not the real service."""

    def __init__(self, payload: bytes = b"", error: Exception | None = None) -> None:
        self.payload = payload
        self.error = error
        self.names: list[str] = []

    def access_secret_version(self, request):
        self.names.append(request["name"])
        if self.error:
            raise self.error
        return SimpleNamespace(payload=SimpleNamespace(data=self.payload))


@pytest.mark.parametrize(
    "name",
    [
        "projects/my-project/secrets/em-key/versions/latest",
        "projects/123456789012/secrets/EM_KEY/versions/3",
        "  projects/carbon-aware-01/secrets/wt/versions/latest  ",
    ],
)
def test_valid_secret_names(name):
    assert validate_secret_name(name) == name.strip()


@pytest.mark.parametrize(
    "name",
    [
        "",
        "em-key",
        "projects/my-project/secrets/em-key",
        "projects/my-project/secrets/em-key/versions/",
        "projects/my-project/secrets/em-key/versions/0",
        "projects/My_Project/secrets/em-key/versions/latest",
        "projects/p/secrets/em-key/versions/latest",
        "projects/my-project/secrets/em key/versions/latest",
        "projects/my-project/secrets/em-key/versions/latest/extra",
    ],
)
def test_invalid_secret_names_are_refused(name):
    with pytest.raises(ValueError, match="invalid Secret Manager name"):
        validate_secret_name(name)


def test_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("ELECTRICITY_MAPS_API_KEY", " env-key-123 ")
    assert electricity_maps_key().reveal() == "env-key-123"
    monkeypatch.setenv("WATTTIME_USERNAME", "u1")
    monkeypatch.setenv("WATTTIME_PASSWORD", "p1")
    creds = watttime_credentials()
    assert creds.username == "u1" and creds.password.reveal() == "p1"


def test_missing_credentials_say_what_to_set(monkeypatch):
    for name in ("ELECTRICITY_MAPS_API_KEY", "WATTTIME_USERNAME", "WATTTIME_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingCredentialsError, match="ELECTRICITY_MAPS_API_KEY"):
        electricity_maps_key()
    with pytest.raises(MissingCredentialsError, match="WATTTIME_USERNAME and WATTTIME_PASSWORD"):
        watttime_credentials()


def test_secret_manager_read_uses_the_fake_client(monkeypatch):
    monkeypatch.setenv("ELECTRICITY_MAPS_API_KEY", "should-not-be-used")
    fake = FakeSecretManager(b"sm-key-456\n")
    name = "projects/my-project/secrets/em-key/versions/latest"
    assert electricity_maps_key(name, client=fake).reveal() == "sm-key-456"
    assert fake.names == [name]


def test_secret_name_is_validated_before_any_client_call():
    fake = FakeSecretManager(b"x")
    with pytest.raises(ValueError, match="invalid Secret Manager name"):
        read_secret("em-key", client=fake)
    assert fake.names == []


def test_secret_manager_failure_does_not_echo_the_payload():
    fake = FakeSecretManager(error=PermissionError("denied for sm-key-456"))
    with pytest.raises(RuntimeError, match="secretAccessor") as err:
        read_secret("projects/my-project/secrets/em-key/versions/2", client=fake)
    assert "sm-key-456" not in str(err.value)
    with pytest.raises(ValueError, match="is empty"):
        read_secret("projects/my-project/secrets/em-key/versions/2", client=FakeSecretManager(b" "))


@pytest.mark.parametrize("payload", [b'{"username": "u2", "password": "p:2"}', b"u2:p:2"])
def test_watttime_secret_formats(payload):
    creds = watttime_credentials(
        "projects/my-project/secrets/wt/versions/latest", FakeSecretManager(payload)
    )
    assert creds.username == "u2" and creds.password.reveal() == "p:2"
    with pytest.raises(ValueError, match="username:password"):
        watttime_credentials(
            "projects/my-project/secrets/wt/versions/latest", FakeSecretManager(b"nopass")
        )


def test_reprs_and_str_never_show_values():
    secret = Secret("hunter2-secret")
    creds = WattTimeCredentials("user", secret)
    for text in (repr(secret), str(secret), repr(creds), f"{creds}"):
        assert "hunter2-secret" not in text


def test_a_key_passed_as_the_secret_name_is_never_echoed(loopback, keys, client):
    # The key pasted into api_key_secret by mistake: refused, and not printed back.
    for attempt in (
        lambda: validate_secret_name(keys.em),
        lambda: validate_run_parameters({"api_key_secret": keys.em}),
        lambda: ElectricityMapsProvider(api_key_secret=keys.em, client=client).latest(
            ["europe-west1"]
        ),
    ):
        with pytest.raises(ValueError, match="invalid Secret Manager name") as err:
            attempt()
        assert keys.em not in str(err.value) and keys.em not in repr(err.value)
    assert loopback.requests == []
