"""Runs a step's command inside a real container (podman + runc), for the in-image Vertex run.

What a Vertex step gets, and what this gives it:
- the image named in the compiled template (mapped to the image built here by ``make image``);
- the container command and args exactly as the backend substituted them, run as the image's own
  user (no ``--user``), with the image's working directory;
- Cloud Storage at ``/gcs``: one host directory stands in for every bucket's FUSE mount. It is owned
  by root with mode 0755 (not world-writable), the conservative reading of how Vertex mounts it;
- no network but loopback: the container shares this machine's network namespace
  (``--network=host``), because the only servers a step may talk to, the storage emulator and the
  JobService stand-in, listen on 127.0.0.1 here, and a private namespace would not reach them.
  That is acceptable on this machine and in CI: it reaches nothing else but the package
  registries, and the steps get no credentials and no proxy settings (their environment is only
  what Vertex sets plus the emulator's address, never this machine's).

The podman settings this machine needs (runc, cgroupfs, no default ulimits) come from the
repository's ``.ci/containers.conf`` through ``CONTAINERS_CONF``, the same file ``make image`` uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / ".ci" / "containers.conf"
# The tags `make image` gives the images it builds (Makefile: IMAGE, STEPS_IMAGE, BASE_IMAGE).
PROJECT_IMAGE = os.environ.get("CARBON_AWARE_TEST_IMAGE", "localhost/carbon-aware-vertex:dev")
STEPS_IMAGE = os.environ.get(
    "CARBON_AWARE_TEST_STEPS_IMAGE", "localhost/carbon-aware-vertex-steps:dev"
)
BASE_IMAGE = os.environ.get(
    "CARBON_AWARE_TEST_BASE_IMAGE", "localhost/carbon-aware-vertex-base:bookworm"
)
HOW_TO_RUN = "`make test-image` runs them (as root; it builds the images with `make image`)"


def podman_env() -> dict[str, str]:
    """This process's environment with the repository's containers.conf for podman itself."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def missing_runtime() -> str:
    """Why the in-image tests cannot run here ('' when they can): no podman, or no images."""
    if shutil.which("podman") is None:
        return f"no container runtime (podman) on this machine; {HOW_TO_RUN}"
    for image in (PROJECT_IMAGE, STEPS_IMAGE, BASE_IMAGE):
        found = subprocess.run(
            ["podman", "image", "exists", image], env=podman_env(), check=False
        ).returncode
        if found != 0:
            return f"image {image} is not built; {HOW_TO_RUN}"
    return ""


@dataclass
class ContainerRun:
    """One container a step or a replica ran in."""

    name: str
    image: str
    command: list[str]
    user: str
    exit_code: int


@dataclass
class PodmanRunner:
    """Runs commands in containers; every run is recorded in :attr:`runs`.

    Args:
        images: Image named in the template or job -> local image to run it on. An image
            not in the map is refused (a step must never run on something unplanned).
        gcs_root: The host directory mounted at ``/gcs`` (made root-owned, mode 0755).
        mounts: Further host path -> container path mounts (read-only unless the container
            path ends with ``:rw``).
        user: Run as this user instead of the image's own (to show what a non-root user meets).
    """

    images: Mapping[str, str]
    gcs_root: Path
    mounts: Mapping[str, str] = field(default_factory=dict)
    user: str = ""
    runs: list[ContainerRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gcs_root.mkdir(parents=True, exist_ok=True)
        os.chown(self.gcs_root, 0, 0)
        self.gcs_root.chmod(0o755)

    def __call__(
        self,
        name: str,
        image: str,
        command: Sequence[str],
        env: Mapping[str, str],
        log: Path,
    ) -> int:
        """Runs ``command`` in ``image`` with exactly ``env``; its output goes to ``log``."""
        if image not in self.images:
            raise KeyError(f"{name}: image {image!r} is not one this run planned for")
        local = self.images[image]
        argv = [
            "podman",
            "run",
            "--rm",
            "--runtime=runc",
            "--cgroup-manager=cgroupfs",
            "--network=host",
            "--pull=never",
            f"--volume={self.gcs_root}:/gcs",
        ]
        for host, inside in self.mounts.items():
            mode = "rw" if inside.endswith(":rw") else "ro"
            argv.append(f"--volume={host}:{inside.removesuffix(':rw')}:{mode}")
        if self.user:
            argv.append(f"--user={self.user}")
        for key, value in sorted(env.items()):
            argv.append(f"--env={key}={value}")
        argv += ["--entrypoint", command[0], local, *command[1:]]
        with log.open("w", encoding="utf-8") as handle:
            code = subprocess.run(
                argv, env=podman_env(), stdout=handle, stderr=subprocess.STDOUT, check=False
            ).returncode
        self.runs.append(ContainerRun(name, local, list(command), self.user or "image", code))
        return code
