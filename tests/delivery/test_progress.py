"""What run-local prints: opening lines, the steps (live or plain), the cause of a failure."""

import io
import re
import time
from pathlib import Path

from carbon_aware.delivery.local_run import PipelineRunError
from carbon_aware.delivery.progress import ConsoleRun, describe_run, failure_lines

ANSI = re.compile(r"\x1b\[")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_opening_lines_say_offline_only_when_nothing_needs_the_network():
    offline = describe_run(
        {"intensity_provider": "static", "data_uri": "", "candidate_regions": ["europe-west1"]},
        Path("/out"),
    )
    assert "offline" in offline[1] and "bundled" in offline[1]
    assert "breast-cancer" in offline[1]
    assert offline[3].strip().startswith("outputs: /out/") and "logs/" in offline[3]
    live = describe_run(
        {"intensity_provider": "electricitymaps", "data_uri": "gs://b/data.csv"}, Path("/out")
    )
    assert "offline" not in " ".join(live)
    assert "needs the network" in live[1] and "gs://b/data.csv" in live[1]


def test_off_a_terminal_each_finished_step_is_one_plain_line(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    out = io.StringIO()
    console = ConsoleRun(out)
    assert not console.live_table
    console.run_started({"intensity_provider": "static"}, Path("/out"))
    console.step_started("fetch-intensity")
    console.step_finished("fetch-intensity", True, 0.52)
    console.step_started("evaluate")
    console.step_finished("evaluate", False, 6.5)
    console.run_ended()
    text = out.getvalue()
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert lines[-2].split() == ["fetch-intensity", "done", "0.5", "s"]
    assert lines[-1].split() == ["evaluate", "FAILED", "6.5", "s"]


def test_on_a_terminal_the_steps_are_a_live_table_with_a_spinner(monkeypatch):
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    out = Terminal()
    console = ConsoleRun(out)
    assert console.live_table
    console.run_started({"intensity_provider": "static"}, Path("/out"))
    console.step_started("train")
    time.sleep(0.4)  # a few refreshes of the live display while the step runs
    running = out.getvalue()
    console.step_finished("train", True, 3.25)
    console.run_ended()
    assert "running" in running and "train" in running
    final = out.getvalue()[len(running) :]
    assert "done" in final and "3.2" in final
    assert ANSI.search(final), "a terminal gets colour and cursor control"


def test_verbose_prints_no_step_lines_of_its_own():
    out = io.StringIO()
    console = ConsoleRun(out, verbose=True)
    console.step_started("train")
    console.step_finished("train", True, 1.0)
    assert out.getvalue() == ""


def test_a_failure_ends_with_the_step_its_error_and_its_log():
    err = PipelineRunError("evaluate", "ModelQualityError: too low", Path("/o/logs/evaluate.log"))
    assert failure_lines(err) == [
        "step evaluate failed: ModelQualityError: too low",
        "its full log: /o/logs/evaluate.log",
    ]
    assert failure_lines(PipelineRunError(None, "kfp broke", None)) == ["run failed: kfp broke"]
