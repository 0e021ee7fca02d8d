"""No tracebacks for missing credentials or permissions: one line, the fix, exit code 3.

The CLI runs as a subprocess in an environment with no Google credentials at all:
GOOGLE_APPLICATION_CREDENTIALS empty, HOME an empty folder (no gcloud ADC file), and the GCE
metadata server pointed at an unused loopback port (google.auth's probe is refused at once instead
of trying the network). The refused-refresh case serves a real OAuth token endpoint on loopback
that answers ``invalid_grant`` as Google's does.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from storage_emulator import free_port

PROJECT = "carbon-proj-123"
BUCKETS = f"gs://{PROJECT}-carbon-{{region}}"
SIGN_IN = "gcloud auth application-default login"


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    metadata = f"127.0.0.1:{free_port()}"
    return {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": str(home),
        "GOOGLE_APPLICATION_CREDENTIALS": "",
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "GCE_METADATA_HOST": metadata,
        "GCE_METADATA_IP": metadata,
        **extra,
    }


def _carbon_aware(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carbon_aware.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _commands(template: Path) -> dict[str, list[str]]:
    submit = ["submit", "--template", str(template), "--project", PROJECT]
    submit += ["--location", "europe-west4", "--param", f"regional_bucket_template={BUCKETS}"]
    run = f"projects/{PROJECT}/locations/europe-west4/pipelineJobs/carbon-aware-training-1"
    return {
        "submit": submit,
        "submit --from-run": [*submit, "--from-run", run],
        "upload": ["upload", "--template", str(template), "--tag", "v1", "--host",
                   f"https://europe-west4-kfp.pkg.dev/{PROJECT}/pipelines"],
        "footprint-history": ["footprint-history", "--table", f"{PROJECT}.carbon.footprint"],
        "doctor": ["doctor", "--project", PROJECT, "--regions", "europe-west4",
                   "--bucket-template", BUCKETS],
    }  # fmt: skip


@pytest.mark.parametrize(
    "command", ["submit", "submit --from-run", "upload", "footprint-history", "doctor"]
)
def test_no_credentials_is_one_line_with_the_fix_and_exit_3(compiled_template, tmp_path, command):
    result = _carbon_aware(_environment(tmp_path), *_commands(compiled_template)[command])
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("carbon-aware: error: no Google credentials found")
    assert f"`{SIGN_IN}`" in line
    assert result.stdout == ""


class _RefusingTokenEndpoint(http.server.BaseHTTPRequestHandler):
    """OAuth 2.0 token endpoint answering every grant as Google's does for a revoked key."""

    def do_POST(self) -> None:
        body = json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_credentials_that_cannot_be_refreshed_are_one_line_and_exit_3(compiled_template, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    server = http.server.HTTPServer(("127.0.0.1", 0), _RefusingTokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_file = tmp_path / "revoked-key.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "0123",
                "private_key": pem,
                "client_email": f"revoked@{PROJECT}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"http://127.0.0.1:{server.server_port}/token",
            }
        )
    )
    env = _environment(tmp_path, GOOGLE_APPLICATION_CREDENTIALS=str(key_file))
    try:
        result = _carbon_aware(env, *_commands(compiled_template)["footprint-history"])
    finally:
        server.shutdown()
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "could not be refreshed" in line and "invalid_grant" in line
    assert f"`{SIGN_IN}`" in line


def test_a_permission_error_names_the_role_the_command_needs():
    """The message for a 403 (google.api_core's own exception, raised as its client raises it)."""
    from google.api_core import exceptions

    from carbon_aware.delivery.access import describe

    denied = exceptions.PermissionDenied("Permission 'aiplatform.pipelineJobs.create' denied")
    try:
        try:
            raise denied
        except exceptions.PermissionDenied as err:
            raise ValueError("submitting failed") from err
    except ValueError as wrapped:
        line = describe(wrapped, "submit")
    assert line is not None
    assert "aiplatform.pipelineJobs.create" in line and "roles/aiplatform.user" in line
    assert describe(ValueError("a bad argument"), "submit") is None


def test_a_refused_http_call_names_the_role_too():
    """kfp's RegistryClient raises requests' HTTPError on a 403 from Artifact Registry."""
    import requests

    from carbon_aware.delivery.access import describe

    response = requests.Response()
    response.status_code = 403
    response.reason = "Forbidden"
    response.url = "https://europe-west4-kfp.pkg.dev/carbon-proj-123/pipelines"
    try:
        response.raise_for_status()
    except requests.HTTPError as err:
        line = describe(err, "upload")
    assert line is not None and "roles/artifactregistry.writer" in line
