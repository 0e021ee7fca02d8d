"""A small stand-in for the Vertex AI Pipelines backend, driving the compiled YAML offline.

It walks the template's DAGs as the backend does: resolves every task's inputs (pipeline
parameters, upstream outputs, constants and the placeholders nested in them), evaluates the
``triggerPolicy`` conditions, picks ``OneOf`` outputs, builds each executor's input, substitutes
the container's placeholders and runs the container command as a subprocess (this machine plays
the container: the project is installed here, as in the image), or, given a ``runner`` (see
:mod:`containers`), inside the executor's own image with the pipeline root under a ``/gcs``
mount, artifacts named by ``gs://`` URIs as on Vertex. Nested placeholders are
substituted either ``typed`` (a string that is exactly one placeholder becomes the typed value)
or ``textual`` (placeholders are replaced by their text everywhere), since we cannot know which
one Vertex does (GCPC b/353577594). Without a runner, artifacts live in a local pipeline root
instead of ``gs://…`` mounted at ``/gcs``.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\$[^}]*\}\}")
_INPUT = re.compile(r"^\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}$")
_OUTPUT_FILE = re.compile(r"^\{\{\$\.outputs\.parameters\['([^']+)'\]\.output_file\}\}$")
_CONDITION = re.compile(r"^inputs\.parameter_values\['([^']+)'\] == '([^']*)'$")


class BackendError(RuntimeError):
    """A task failed, or the template uses something this stand-in does not resolve."""


# (task name, image, command, environment, log file) -> exit code: runs one executor somewhere.
Runner = Callable[[str, str, Sequence[str], Mapping[str, str], Path], int]


class StopAfter(Exception):
    """Raised internally to end a run after the named task."""


@dataclass
class TaskResult:
    """What one task produced."""

    parameters: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: bool = False


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class PipelineBackend:
    """Runs a compiled pipeline's DAG; see the module docstring."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        pipeline_root: Path,
        *,
        resolution: str,
        system: Mapping[str, str],
        env: Mapping[str, str],
        task_env: Mapping[str, Mapping[str, str]] | None = None,
        stop_after: str = "",
        runner: Runner | None = None,
        gcs_root: Path | None = None,
    ) -> None:
        """``runner`` runs each executor (default: a subprocess here); with ``gcs_root`` (the host
        directory a runner mounts at ``/gcs``, holding ``pipeline_root``) executors get ``/gcs``
        paths and ``gs://`` artifact URIs, as on Vertex."""
        if resolution not in ("typed", "textual"):
            raise ValueError(resolution)
        if gcs_root is not None and not pipeline_root.is_relative_to(gcs_root):
            raise ValueError(f"pipeline root {pipeline_root} is not under /gcs's {gcs_root}")
        self.runner = runner
        self.gcs_root = gcs_root
        self.spec = spec
        self.root = pipeline_root
        self.resolution = resolution
        self.system = dict(system)
        self.env = dict(env)
        self.task_env = dict(task_env or {})
        self.commands: dict[str, list[str]] = {}
        self.logs: dict[str, Path] = {}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.stop_after = stop_after
        self.executed: list[str] = []

    # -- where files are, as the executor sees them --------------------------------------------
    def _file(self, path: Path) -> str:
        """A host path under the pipeline root as the executor opens it."""
        if self.gcs_root is None:
            return str(path)
        return "/gcs/" + path.relative_to(self.gcs_root).as_posix()

    def _uri(self, path: Path) -> str:
        """A host path under the pipeline root as an artifact URI."""
        if self.gcs_root is None:
            return str(path)
        return "gs://" + path.relative_to(self.gcs_root).as_posix()

    def host_path(self, uri: str) -> Path:
        """The host file behind an artifact URI this backend handed out."""
        if self.gcs_root is not None and uri.startswith("gs://"):
            return self.gcs_root / uri.removeprefix("gs://")
        return Path(uri)

    # -- placeholders ------------------------------------------------------------------------
    def _system(self, text: str) -> str:
        for key, value in self.system.items():
            text = text.replace("{{$." + key + "}}", value)
        return text

    def _nested(self, value: Any, params: Mapping[str, Any]) -> Any:
        """Resolves placeholders nested in a constant, typed or textually."""
        if isinstance(value, dict):
            return {k: self._nested(v, params) for k, v in value.items()}
        if isinstance(value, list):
            return [self._nested(v, params) for v in value]
        if not isinstance(value, str):
            return value
        value = self._system(value)
        match = _INPUT.match(value)
        if match and self.resolution == "typed":
            return params[match.group(1)]
        return PLACEHOLDER.sub(
            lambda m: (
                _text(params[_INPUT.match(m.group(0)).group(1)])  # type: ignore[union-attr]
                if _INPUT.match(m.group(0))
                else m.group(0)
            ),
            value,
        )

    # -- DAG ---------------------------------------------------------------------------------
    def run(self, parameters: Mapping[str, Any]) -> TaskResult:
        """Runs the root DAG with ``parameters`` (defaults from the template filled in)."""
        root = self.spec["root"]
        params = self._with_defaults(root.get("inputDefinitions", {}), dict(parameters))
        try:
            return self._run_dag("root", root, params, {})
        except StopAfter:
            return TaskResult()

    def _with_defaults(
        self, definitions: Mapping[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        """Fills in declared defaults, with system placeholders in them resolved (as GCPC's
        ``{{$.pipeline_persistent_resource_id}}`` default is)."""
        for name, item in definitions.get("parameters", {}).items():
            if name not in params and "defaultValue" in item:
                params[name] = self._nested(item["defaultValue"], params)
        return params

    def _order(self, tasks: Mapping[str, Any]) -> list[str]:
        done: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            for dep in tasks[name].get("dependentTasks", []):
                visit(dep)
            done.append(name)

        for name in sorted(tasks):
            visit(name)
        return done

    def _run_dag(
        self,
        path: str,
        component: Mapping[str, Any],
        params: Mapping[str, Any],
        artifacts: Mapping[str, Any],
    ) -> TaskResult:
        dag = component["dag"]
        results: dict[str, TaskResult] = {}
        for name in self._order(dag["tasks"]):
            task = dag["tasks"][name]
            task_params, task_artifacts = self._task_inputs(task, params, artifacts, results)
            condition = task.get("triggerPolicy", {}).get("condition")
            if condition and not self._condition(condition, task_params):
                results[name] = TaskResult(skipped=True)
                continue
            child = self.spec["components"][task["componentRef"]["name"]]
            child_params = self._with_defaults(child.get("inputDefinitions", {}), task_params)
            task_path = f"{path}/{name}"
            if "dag" in child:
                results[name] = self._run_dag(task_path, child, child_params, task_artifacts)
            else:
                results[name] = self._execute(task_path, name, child, child_params, task_artifacts)
        return self._dag_outputs(dag, results)

    def _task_inputs(
        self,
        task: Mapping[str, Any],
        params: Mapping[str, Any],
        artifacts: Mapping[str, Any],
        results: Mapping[str, TaskResult],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        inputs = task.get("inputs", {})
        resolved: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        for name, source in inputs.get("parameters", {}).items():
            if "componentInputParameter" in source:
                resolved[name] = params[source["componentInputParameter"]]
            elif "taskOutputParameter" in source:
                out = source["taskOutputParameter"]
                resolved[name] = results[out["producerTask"]].parameters[out["outputParameterKey"]]
            elif "runtimeValue" in source:
                constants[name] = source["runtimeValue"]["constant"]
            else:
                raise BackendError(f"input {name}: unsupported source {source}")
        for name, value in constants.items():
            resolved[name] = self._nested(value, resolved)
        arts: dict[str, Any] = {}
        for name, source in inputs.get("artifacts", {}).items():
            if "componentInputArtifact" in source:
                arts[name] = artifacts[source["componentInputArtifact"]]
            else:
                out = source["taskOutputArtifact"]
                arts[name] = results[out["producerTask"]].artifacts[out["outputArtifactKey"]]
        return resolved, arts

    @staticmethod
    def _condition(condition: str, params: Mapping[str, Any]) -> bool:
        negate = condition.startswith("!(") and condition.endswith(")")
        match = _CONDITION.match(condition[2:-1] if negate else condition)
        if not match:
            raise BackendError(f"condition this stand-in cannot evaluate: {condition}")
        value = params[match.group(1)] == match.group(2)
        return not value if negate else value

    @staticmethod
    def _dag_outputs(dag: Mapping[str, Any], results: Mapping[str, TaskResult]) -> TaskResult:
        out = TaskResult()
        for name, source in dag.get("outputs", {}).get("parameters", {}).items():
            if "valueFromOneof" in source:
                picks = [
                    results[s["producerSubtask"]].parameters.get(s["outputParameterKey"])
                    for s in source["valueFromOneof"]["parameterSelectors"]
                    if not results[s["producerSubtask"]].skipped
                ]
                out.parameters[name] = next(p for p in picks if p is not None)
            else:
                s = source["valueFromParameter"]
                out.parameters[name] = results[s["producerSubtask"]].parameters[
                    s["outputParameterKey"]
                ]
        for name, source in dag.get("outputs", {}).get("artifacts", {}).items():
            for s in source["artifactSelectors"]:
                if not results[s["producerSubtask"]].skipped:
                    out.artifacts[name] = results[s["producerSubtask"]].artifacts[
                        s["outputArtifactKey"]
                    ]
        return out

    # -- one container -----------------------------------------------------------------------
    def _execute(
        self,
        path: str,
        name: str,
        component: Mapping[str, Any],
        params: Mapping[str, Any],
        artifacts: Mapping[str, Any],
    ) -> TaskResult:
        executor = self.spec["deploymentSpec"]["executors"][component["executorLabel"]]
        container = executor["container"]
        work = self.root / path.strip("/").replace("/", "_")
        work.mkdir(parents=True, exist_ok=True)
        outputs = component.get("outputDefinitions", {})
        out_params = {
            key: {"outputFile": self._file(work / f"param-{key}")}
            for key in outputs.get("parameters", {})
        }
        out_artifacts = {
            key: {
                "artifacts": [
                    {
                        "name": key,
                        "type": {"schemaTitle": item["artifactType"]["schemaTitle"]},
                        "uri": self._uri(work / key),
                        "metadata": {},
                    }
                ]
            }
            for key, item in outputs.get("artifacts", {}).items()
        }
        executor_input = {
            "inputs": {
                "parameterValues": dict(params),
                "artifacts": {key: {"artifacts": [art]} for key, art in artifacts.items()},
            },
            "outputs": {
                "parameters": out_params,
                "artifacts": out_artifacts,
                "outputFile": self._file(work / "executor_output.json"),
            },
        }
        self.inputs[name] = dict(params)

        def substitute(text: str) -> str:
            text = text.replace("{{$}}", json.dumps(executor_input))
            text = self._system(text)

            def one(match: re.Match[str]) -> str:
                token = match.group(0)
                found = _INPUT.match(token)
                if found:
                    return _text(params[found.group(1)])
                out = _OUTPUT_FILE.match(token)
                if out:
                    return out_params[out.group(1)]["outputFile"]
                raise BackendError(f"{name}: placeholder this stand-in cannot resolve: {token}")

            return PLACEHOLDER.sub(one, text)

        command = [substitute(part) for part in container["command"] + container.get("args", [])]
        self.commands[name] = command
        log = work / "task.log"
        self.logs[name] = log
        env = {**self.env, **self.task_env.get(name, {})}
        if self.runner is not None:
            code = self.runner(name, container["image"], command, env, log)
        else:
            with log.open("w", encoding="utf-8") as handle:
                code = subprocess.run(
                    command, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False
                ).returncode
        if code != 0:
            tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-25:])
            raise BackendError(f"task {name} ({container['image']}) exited with {code}:\n{tail}")
        result = TaskResult()
        output_file = work / "executor_output.json"
        written = json.loads(output_file.read_text()) if output_file.exists() else {}
        result.parameters.update(written.get("parameterValues", {}))
        for key in out_params:
            written_file = work / f"param-{key}"
            if key not in result.parameters and written_file.exists():
                result.parameters[key] = written_file.read_text(encoding="utf-8")
        for key, spec in out_artifacts.items():
            art = dict(spec["artifacts"][0])
            art.update((written.get("artifacts", {}).get(key, {}).get("artifacts") or [{}])[0])
            result.artifacts[key] = art
        self.executed.append(name)
        if name == self.stop_after:
            raise StopAfter(name)
        return result
