"""A loopback gRPC stand-in for Vertex AI's JobService, and the custom job's workers run for real.

The server speaks the real protocol: ``google.cloud.aiplatform.v1.JobService`` over gRPC, with
the request and response messages of ``google-cloud-aiplatform`` (de)serialised as on the wire.
CreateCustomJob records the request and answers with the job PENDING, as Vertex does; the first
GetCustomJob then runs every replica of every worker pool as a subprocess with the environment
Vertex gives a custom job (``AIP_MODEL_DIR`` and friends from ``base_output_directory``,
``CLOUD_ML_JOB_ID``, ``CLUSTER_SPEC``, ``TF_CONFIG``) and answers SUCCEEDED or FAILED. What it
stands in for: the Vertex control plane and the VMs (here, this machine, or given a ``runner``
from :mod:`containers`, a container of the job's own image per replica).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.cloud.aiplatform_v1.types import custom_job as custom_job_types
from google.cloud.aiplatform_v1.types import job_service, job_state

SERVICE = "google.cloud.aiplatform.v1.JobService"
# (replica name, image, command, environment, log file) -> exit code.
Runner = Callable[[str, str, Sequence[str], Mapping[str, str], Path], int]


@dataclass
class CapturedJob:
    """One CreateCustomJob call: its request and what the replicas did."""

    parent: str
    request: dict[str, Any]
    name: str
    metadata: dict[str, str]
    message: Any = None
    worker_logs: list[Path] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    # When the replicas ran (what Vertex reports as the job's start_time and end_time).
    window: tuple[datetime, datetime] | None = None


class JobServiceStandIn:
    """Serves CreateCustomJob / GetCustomJob / CancelCustomJob on 127.0.0.1."""

    def __init__(
        self,
        worker_env: dict[str, str],
        log_dir: Path,
        run_workers: bool = True,
        runner: Runner | None = None,
    ):
        self.worker_env = worker_env
        self.runner = runner
        self.log_dir = log_dir
        self.run_workers = run_workers
        self.jobs: list[CapturedJob] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handlers = {
            "CreateCustomJob": grpc.unary_unary_rpc_method_handler(
                self._create,
                request_deserializer=job_service.CreateCustomJobRequest.deserialize,
                response_serializer=custom_job_types.CustomJob.serialize,
            ),
            "GetCustomJob": grpc.unary_unary_rpc_method_handler(
                self._get,
                request_deserializer=job_service.GetCustomJobRequest.deserialize,
                response_serializer=custom_job_types.CustomJob.serialize,
            ),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._states: dict[str, int] = {}

    def __enter__(self) -> JobServiceStandIn:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

    def _create(self, request: Any, context: Any) -> Any:
        job = custom_job_types.CustomJob.to_dict(request.custom_job, use_integers_for_enums=False)
        with self._lock:
            name = f"{request.parent}/customJobs/{1000 + len(self.jobs)}"
            self.jobs.append(
                CapturedJob(
                    request.parent,
                    job,
                    name,
                    dict(context.invocation_metadata()),
                    custom_job_types.CustomJob(request.custom_job),
                )
            )
            self._states[name] = job_state.JobState.JOB_STATE_PENDING
        response = custom_job_types.CustomJob(request.custom_job)
        response.name = name
        response.state = job_state.JobState.JOB_STATE_PENDING
        return response

    def _get(self, request: Any, context: Any) -> Any:
        captured = next(job for job in self.jobs if job.name == request.name)
        if self._states[request.name] == job_state.JobState.JOB_STATE_PENDING:
            started = datetime.now(UTC)
            ok = self._run(captured) if self.run_workers else True
            captured.window = (started, datetime.now(UTC))
            self._states[request.name] = (
                job_state.JobState.JOB_STATE_SUCCEEDED
                if ok
                else job_state.JobState.JOB_STATE_FAILED
            )
        response = custom_job_types.CustomJob(captured.request)
        response.name = request.name
        response.state = self._states[request.name]
        if captured.window:
            response.start_time, response.end_time = captured.window
        if response.state == job_state.JobState.JOB_STATE_FAILED:
            response.error.code = 3  # INVALID_ARGUMENT: the user's program failed
            response.error.message = "The replica workerpool0-0 exited with a non-zero status"
        return response

    def _run(self, job: CapturedJob) -> bool:
        """Runs every replica as Vertex would, one after another (this machine has 2 cores)."""
        spec = job.request["job_spec"]
        base = spec["base_output_directory"]["output_uri_prefix"].rstrip("/")
        pools = spec["worker_pool_specs"]
        cluster = {
            f"workerpool{i}": [f"replica-{i}-{r}:2222" for r in range(int(p["replica_count"]))]
            for i, p in enumerate(pools)
        }
        for pool_index, pool in enumerate(pools):
            for replica in range(int(pool["replica_count"])):
                task = {"type": f"workerpool{pool_index}", "index": replica}
                tf_task = {"type": "chief" if pool_index == 0 else "worker", "index": replica}
                env = {
                    **self.worker_env,
                    # What Vertex AI sets in every replica of a custom job with an output dir.
                    "AIP_MODEL_DIR": f"{base}/model/",
                    "AIP_CHECKPOINT_DIR": f"{base}/checkpoints/",
                    "AIP_TENSORBOARD_LOG_DIR": f"{base}/logs/",
                    "CLOUD_ML_JOB_ID": job.name.rsplit("/", 1)[-1],
                    "CLUSTER_SPEC": json.dumps(
                        {"cluster": cluster, "environment": "cloud", "task": task}
                    ),
                    "TF_CONFIG": json.dumps(
                        {
                            "cluster": {
                                "chief": cluster["workerpool0"],
                                **({"worker": cluster["workerpool1"]} if len(pools) > 1 else {}),
                            },
                            "environment": "cloud",
                            "task": tf_task,
                        }
                    ),
                }
                for item in pool.get("container_spec", {}).get("env", []):
                    env[item["name"]] = item["value"]
                command = self._replica_command(pool, env)
                log = self.log_dir / f"{task['type']}-{replica}.log"
                if self.runner is not None:
                    replica_name = f"{task['type']}-{replica}"
                    image = (
                        pool.get("container_spec", {}).get("image_uri")
                        or pool["python_package_spec"]["executor_image_uri"]
                    )
                    code = self.runner(replica_name, image, command, env, log)
                else:
                    with log.open("w", encoding="utf-8") as handle:
                        code = subprocess.run(
                            command, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False
                        ).returncode
                job.worker_logs.append(log)
                job.exit_codes.append(code)
                if code != 0:
                    return False
        return True

    def _replica_command(self, pool: dict[str, Any], env: dict[str, str]) -> list[str]:
        """The pool's process: its container command, or its Python package run as Vertex does.

        For ``python_package_spec`` Vertex pip-installs ``package_uris`` into the executor image
        and runs ``python -m python_module args``. Here each package is read from Cloud Storage
        (the emulator), pip-installed without dependencies into a folder of this job (this
        machine plays the image, which has the dependencies), and put on ``PYTHONPATH``.
        """
        if "python_package_spec" in pool:
            package = pool["python_package_spec"]
            for item in package.get("env", []):
                env[item["name"]] = item["value"]
            site = self._install(package["package_uris"], env)
            env["PYTHONPATH"] = ":".join(filter(None, [site, env.get("PYTHONPATH", "")]))
            return ["python", "-m", package["python_module"], *package.get("args", [])]
        container = pool["container_spec"]
        return list(container["command"]) + list(container.get("args", []))

    def _install(self, package_uris: list[str], env: dict[str, str]) -> str:
        """pip-installs the packages into a folder of this job; returns the folder."""
        from carbon_aware import storage

        site = self.log_dir / "site-packages"
        downloads = self.log_dir / "packages"
        downloads.mkdir(exist_ok=True)
        files = []
        for uri in package_uris:
            local = downloads / uri.rsplit("/", 1)[-1]
            local.write_bytes(storage.fetch(uri).read_bytes())
            files.append(str(local))
        subprocess.run(
            [
                "python",
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "--target",
                str(site),
                *files,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        return str(site)
