"""Per-step logs from kfp.local's output stream, and the cause a failed step's log ends with.

The lines are produced with kfp.local's own formatting and logger setup
(``kfp.local.logging_utils``, as its task dispatcher uses them), so the markers parsed here are
kfp's, not a copy of them. The slow test in tests/test_local_pipeline.py checks the same on a real
run.
"""

import io
import logging
import threading
import traceback

from kfp.local import logging_utils, status

from carbon_aware.delivery.step_logs import StepLogs, capture_step_logs, failure_cause


class Events:
    def __init__(self):
        self.seen = []

    def run_started(self, parameters, output_dir):
        self.seen.append(("run_started",))

    def step_started(self, step):
        self.seen.append(("started", step))

    def step_finished(self, step, ok, seconds):
        assert seconds >= 0
        self.seen.append(("finished", step, ok))

    def run_ended(self):
        self.seen.append(("run_ended",))


def emit_task(name, lines, ok=True):
    """What kfp.local's task dispatcher prints around one step, with its own helpers."""
    task = logging_utils.format_task_name(name)
    with logging_utils.local_logger_context():
        logging.info(f"Executing task {task}")
        logging.info("Streamed logs:\n")
        with logging_utils.indented_print():
            for line in lines:
                print(line)
        outcome = status.Status.SUCCESS if ok else status.Status.FAILURE
        message = f"Task {task} finished with status {logging_utils.format_status(outcome)}"
        (logging.info if ok else logging.error)(message)
        logging_utils.print_horizontal_line()


def emit_pipeline(name, finished=False):
    pipeline = logging_utils.format_pipeline_name(name)
    done = logging_utils.format_status(status.Status.SUCCESS)
    with logging_utils.local_logger_context():
        if finished:
            logging.info(f"Pipeline {pipeline} finished with status {done}")
        else:
            logging.info(f"Running pipeline: {pipeline}")


def test_each_step_gets_its_own_plain_log_and_the_observer_hears_it(tmp_path):
    events = Events()
    echo = io.StringIO()
    with capture_step_logs(StepLogs(tmp_path / "logs", events, echo)) as logs:
        emit_pipeline("demo")
        emit_task("fetch-intensity", ["fetched 3 regions"])
        emit_task("train", ["epoch 1/2", "epoch 2/2"])
        emit_task("evaluate", ["accuracy 0.5"], ok=False)
        emit_pipeline("demo", finished=True)
    assert events.seen == [
        ("started", "fetch-intensity"),
        ("finished", "fetch-intensity", True),
        ("started", "train"),
        ("finished", "train", True),
        ("started", "evaluate"),
        ("finished", "evaluate", False),
    ]
    log_dir = tmp_path / "logs"
    assert sorted(p.name for p in log_dir.iterdir()) == [
        "evaluate.log",
        "fetch-intensity.log",
        "pipeline.log",
        "train.log",
    ]
    train = (log_dir / "train.log").read_text()
    assert "epoch 1/2" in train and "epoch 2/2" in train
    assert "Task 'train' finished with status SUCCESS" in train
    assert "fetched" not in train and "accuracy" not in train
    assert "\x1b[" not in train, "log files are plain text"
    pipeline_log = (log_dir / "pipeline.log").read_text()
    assert "Running pipeline: 'demo'" in pipeline_log
    assert "Pipeline 'demo' finished" in pipeline_log
    assert "Pipeline" not in (log_dir / "evaluate.log").read_text()
    # --verbose: the console gets the stream unchanged, colours included.
    assert "epoch 2/2" in echo.getvalue() and "\x1b[96m'train'" in echo.getvalue()
    assert logs.failed_step.name == "evaluate"
    assert logs.steps["train"].ok is True and logs.steps["train"].seconds >= 0


def test_stdout_and_stderr_are_restored_and_nothing_leaks(tmp_path, capfd):
    import sys

    before = sys.stdout, sys.stderr
    with capture_step_logs(StepLogs(tmp_path)):
        emit_task("train", ["to the log only"])
        print("a warning", file=sys.stderr)
    assert (sys.stdout, sys.stderr) == before
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert "a warning" in (tmp_path / "train.log").read_text()


def test_lines_written_in_pieces_and_from_two_threads_stay_whole_and_apart(tmp_path):
    logs = StepLogs(tmp_path)
    with capture_step_logs(logs):
        barrier = threading.Barrier(2)

        def run(name):
            with logging_utils.local_logger_context():
                logging.info(f"Executing task {logging_utils.format_task_name(name)}")
            barrier.wait()
            for i in range(50):
                logs.write(f"{name} line ")
                logs.write(f"{i}\n")

        threads = [threading.Thread(target=run, args=(n,)) for n in ("left", "right")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        logs.write("no newline at the end")
    for name in ("left", "right"):
        lines = (tmp_path / f"{name}.log").read_text().splitlines()[1:]
        assert lines == [f"{name} line {i}" for i in range(50)]
    assert (tmp_path / "pipeline.log").read_text() == "no newline at the end\n"
    assert logs.failed_step.name in ("left", "right"), "started, never finished"


def traceback_text():
    def load(path):
        raise FileNotFoundError(f"[Errno 2] No such file or directory: {path!r}")

    try:
        try:
            load("data.csv")
        except FileNotFoundError as err:
            raise ValueError("data_uri 'data.csv' cannot be read:\nno such file") from err
    except ValueError:
        return traceback.format_exc()


def test_failure_cause_is_the_last_exception_not_the_traceback():
    # As in a step log: the step's output indented by kfp, then kfp's closing lines.
    log = "\n".join(
        [
            "22:01:18.134 - INFO - Executing task 'train'",
            "    loading data",
            *("    " + line for line in traceback_text().splitlines()),
            "    ",
            "",
            "22:01:19.000 - ERROR - Task 'train' finished with status FAILURE",
            "-" * 80,
        ]
    )
    assert failure_cause(log) == "ValueError: data_uri 'data.csv' cannot be read: no such file"


def test_failure_cause_shortens_the_exception_path_and_falls_back_to_the_last_line():
    log = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "carbon_aware.training.quality.ModelQualityError: accuracy 0.5 is below min_quality 0.9\n"
    )
    assert failure_cause(log) == "ModelQualityError: accuracy 0.5 is below min_quality 0.9"
    killed = (
        "22:01:18.134 - INFO - Executing task 'train'\n"
        "    epoch 3/20\n"
        "    Killed\n"
        "22:01:19.000 - ERROR - Task 'train' finished with status FAILURE\n" + "-" * 80
    )
    assert failure_cause(killed) == "Killed"
