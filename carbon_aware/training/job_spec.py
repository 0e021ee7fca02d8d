"""The Vertex AI custom job's worker pools, built as one typed value at run time.

The pools are an output of choose-region and reach the GCPC custom-job launcher as a single
parameter. Nothing inside them is a placeholder the backend substitutes, so it does not matter
whether the backend resolves nested placeholders as typed values or as text (GCPC's b/353577594):
``accelerator_count`` and ``replica_count`` are JSON numbers either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carbon_aware.training.contract import OutputLayout
from carbon_aware.vertex import NO_ACCELERATOR

# The container's entrypoint, in POSIX sh so it works in any image. With this project installed
# it hands over to carbon_aware.training.job, which measures and records the replica. Without it
# (the user's own image) it runs the command as it is, with AIP_TRAINING_DATA_URI from --data-uri as
# the measuring entrypoint sets it, and records the replica's start, end and exit code through the
# /gcs mount (CARBON_AWARE_GCS_FUSE_ROOT where it is mounted elsewhere), so the footprint can
# estimate its energy from the machine spec x time.
ENTRYPOINT_SCRIPT = """\
if python3 -c 'import carbon_aware.training.job' >/dev/null 2>&1; then
  exec python3 -m carbon_aware.training.job "$@"
fi
records=""
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  if [ "$1" = "--records-dir" ]; then records="$2"; fi
  if [ "$1" = "--data-uri" ]; then AIP_TRAINING_DATA_URI="$2"; export AIP_TRAINING_DATA_URI; fi
  shift
done
shift
start=$(date -u +%s)
"$@"
code=$?
end=$(date -u +%s)
dir="${CARBON_AWARE_GCS_FUSE_ROOT:-/gcs}/${records#gs://}"
host=$(hostname)
if mkdir -p "$dir" 2>/dev/null; then
  printf '{"replica": "%s", "wrapped": false, "start_epoch_s": %s, "end_epoch_s": %s, \
"exit_code": %s}\\n' "$host" "$start" "$end" "$code" > "$dir/unwrapped-$host.json" || true
fi
exit "$code"
"""
ENTRYPOINT_NAME = "carbon-aware-job"


def machine_spec(
    machine_type: str, accelerator_type: str, accelerator_count: int
) -> dict[str, Any]:
    """A Vertex MachineSpec; no accelerator fields at all for a CPU machine."""
    spec: dict[str, Any] = {"machine_type": machine_type}
    if accelerator_type and accelerator_type != NO_ACCELERATOR and accelerator_count > 0:
        spec["accelerator_type"] = accelerator_type
        spec["accelerator_count"] = int(accelerator_count)
    return spec


def container_command(
    command: Sequence[str],
    *,
    region: str,
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    layout: OutputLayout,
    data_uri: str,
) -> list[str]:
    """The worker container's command: the entrypoint script, its options, ``--``, the program."""
    options = entrypoint_options(
        region=region,
        machine_type=machine_type,
        accelerator_type=accelerator_type,
        accelerator_count=accelerator_count,
        layout=layout,
        data_uri=data_uri,
    )
    return ["sh", "-c", ENTRYPOINT_SCRIPT, ENTRYPOINT_NAME, *options, "--", *command]


def entrypoint_options(
    *,
    region: str,
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    layout: OutputLayout,
    data_uri: str,
) -> list[str]:
    """``carbon_aware.training.job``'s options for one replica of this job."""
    options = [
        "--region",
        region,
        "--machine-type",
        machine_type,
        "--records-dir",
        layout.records_dir,
    ]
    if accelerator_type and accelerator_type != NO_ACCELERATOR and accelerator_count > 0:
        options += [
            "--accelerator-type",
            accelerator_type,
            "--accelerator-count",
            str(accelerator_count),
        ]
    if data_uri:
        options += ["--data-uri", data_uri]
    return options


def worker_pool_specs(
    *,
    image: str,
    command: Sequence[str],
    region: str,
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    worker_replica_count: int,
    layout: OutputLayout,
    data_uri: str,
    package_uris: Sequence[str] = (),
    python_module: str = "",
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The job's pools: the chief, and ``worker_replica_count`` workers on the same machine.

    Args:
        image: The training image (the user's, or the project's).
        command: The training program and its arguments.
        region: The chosen region (recorded by each replica).
        machine_type: Machine type of every replica.
        accelerator_type: Accelerator of every replica (Vertex enum name; empty for none).
        accelerator_count: Accelerators per replica.
        worker_replica_count: Replicas of the second pool; 0 for the chief alone.
        layout: The run's output layout in the chosen region's bucket.
        data_uri: The training data, passed on as ``AIP_TRAINING_DATA_URI``.
        package_uris: With ``python_module``: the ``gs://`` packages Vertex installs; the pools
            then use ``python_package_spec`` (see :mod:`carbon_aware.training.package`) and
            ``command`` holds the module's arguments.
        python_module: The module to run from those packages; empty for a container command.
        env: The user's ``training_env``: the container's ``env`` (Vertex's ``EnvVar`` list).

    Returns:
        ``worker_pool_specs`` as CustomJobSpec takes them.
    """
    where: dict[str, Any] = {
        "region": region,
        "machine_type": machine_type,
        "accelerator_type": accelerator_type,
        "accelerator_count": accelerator_count,
        "layout": layout,
        "data_uri": data_uri,
    }
    program: dict[str, Any]
    if python_module:
        from carbon_aware.training.package import python_package_spec

        program = {
            "python_package_spec": python_package_spec(
                executor_image_uri=image,
                package_uris=package_uris,
                python_module=python_module,
                arguments=command,
                entrypoint_options=entrypoint_options(**where),
                data_uri=data_uri,
            )
        }
    else:
        program = {
            "container_spec": {"image_uri": image, "command": container_command(command, **where)}
        }
    if env:
        # The user's training_env: the container's env (Vertex's EnvVar list), either kind.
        spec = program.get("container_spec") or program["python_package_spec"]
        spec["env"] = [{"name": name, "value": value} for name, value in env.items()]
    pool = {
        "machine_spec": machine_spec(machine_type, accelerator_type, accelerator_count),
        "replica_count": 1,
        **program,
        "disk_spec": {"boot_disk_type": "pd-ssd", "boot_disk_size_gb": 100},
    }
    pools = [pool]
    if worker_replica_count > 0:
        pools.append({**pool, "replica_count": int(worker_replica_count)})
    return pools
