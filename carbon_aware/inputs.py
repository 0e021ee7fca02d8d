"""Checks on the files and folders a command is given, made before it reads or writes anything.

Each check raises ``ValueError`` with one line naming the option and the value, so the CLI prints
it and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml


def utc_time(text: str, option: str) -> datetime:
    """Parses an ISO 8601 time that must carry a UTC offset (``2030-01-31T02:00Z``).

    Raises:
        ValueError: Not ISO 8601, or no offset; the message names the option and the value.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise ValueError(f"{option} {text!r} needs a UTC offset, e.g. 2030-01-31T02:00Z")
    return moment


def existing_file(path: str | Path, option: str) -> Path:
    """Returns ``path`` if it is a readable regular file.

    Args:
        path: What the user gave.
        option: The option or parameter it came from, e.g. ``--template``.

    Raises:
        ValueError: Empty, missing, or a directory.
    """
    text = str(path)
    if not text.strip():
        raise ValueError(f"{option} is empty; give the path of a file")
    candidate = Path(text)
    if candidate.is_dir():
        raise ValueError(f"{option} {text!r} is a directory, not a file")
    if not candidate.is_file():
        raise ValueError(f"{option} {text!r}: no such file")
    return candidate


def read_yaml(path: str | Path, option: str) -> Any:
    """Reads a YAML file, turning every way it can be unreadable into one line.

    Args:
        path: The file.
        option: The option it came from, for the message.

    Returns:
        The parsed document (``None`` for an empty file).

    Raises:
        ValueError: Missing, a directory, not UTF-8 text, or not valid YAML (with the line).
    """
    checked = existing_file(path, option)
    try:
        text = checked.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{option} {str(path)!r} is not a UTF-8 text file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise ValueError(f"{option} {str(path)!r} is not valid YAML{where}: {problem}") from None


def output_dir(path: str | Path, option: str, *, products: Iterable[str], overwrite: bool) -> Path:
    """Checks that ``path`` can become an output directory without losing anything.

    Nothing is created: the caller makes the directory once every other check has passed.

    Args:
        path: The directory (it may not exist yet).
        option: The option it came from, e.g. ``--output-dir``.
        products: File names the command writes there; finding one means a past run's output.
        overwrite: Replace a past run's output instead of refusing.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: It (or a parent) is a file, or it holds a past output and ``overwrite`` is
            false.
    """
    text = str(path)
    if not text.strip():
        raise ValueError(f"{option} is empty; give a directory")
    target = Path(text)
    for folder in (target, *target.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == target else f"is inside {str(folder)!r}, a file"
                raise ValueError(f"{option} {text!r} {what}, not a directory")
            break
    held = [name for name in products if (target / name).exists()]
    if held and not overwrite:
        raise ValueError(
            f"{option} {text!r} already holds a past run's files ({', '.join(held)}); pass "
            "--overwrite to replace them, or choose another directory"
        )
    return target
