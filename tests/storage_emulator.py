"""A real Cloud Storage emulator on loopback (gcp-storage-emulator), for the gs:// paths.

google-cloud-storage talks to it over the JSON API when ``STORAGE_EMULATOR_HOST`` is set. The
emulator ignores ``location`` when a bucket is created (it always says ``US``), but honours it in
a bucket PATCH, so :func:`make_bucket` creates and then patches: the location the client then
reads back is what a real bucket in that region reports.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def storage_emulator() -> Iterator[str]:
    """Runs the emulator in this process; yields its ``http://127.0.0.1:PORT`` address."""
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    host = f"http://127.0.0.1:{port}"
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = host
    try:
        yield host
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous


def make_bucket(name: str, location: str) -> None:
    """Creates bucket ``name`` in ``location`` on the running emulator."""
    from google.cloud import storage

    client = storage.Client()
    bucket = client.create_bucket(name)
    bucket.location = location.upper()
    bucket.patch()
