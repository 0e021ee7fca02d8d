"""Checks on the files and folders a command is given, made before it reads or writes anything.

Each check raises ``ValueError`` with one line naming the option and the value, so the CLI prints
it and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

# A YAML document's nodes counted with every alias expanded. A compiled pipeline has a few
# thousand; a "billion laughs" alias bomb of a few hundred bytes has billions, and whatever
# walks or copies the loaded data (KFP, json.dumps) would expand them.
MAX_YAML_NODES = 1_000_000
MAX_YAML_BYTES = 50 * 1024 * 1024


class YamlTooLargeError(ValueError):
    """A YAML document whose aliases expand beyond :data:`MAX_YAML_NODES` nodes."""


def _expanded_nodes(root: yaml.Node) -> int:
    """The number of nodes once every alias is expanded, counted without expanding anything."""
    sizes: dict[int, int] = {}
    # Post-order without recursion: a deep document must not overflow the stack.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            total = 1 + sum(sizes.get(id(child), 0) for child in children)
            sizes[id(node)] = min(total, MAX_YAML_NODES + 1)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def safe_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load`` with alias expansion bounded: the one way this project reads YAML.

    Args:
        text: The document.
        source: Where it came from (option and path), for the message.

    Raises:
        YamlTooLargeError: Aliases expand it beyond :data:`MAX_YAML_NODES` nodes, or the text is
            over :data:`MAX_YAML_BYTES`.
        yaml.YAMLError: Not valid YAML.
    """
    if len(text) > MAX_YAML_BYTES:
        raise YamlTooLargeError(f"{source} is over {MAX_YAML_BYTES // 2**20} MB of YAML")
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if _expanded_nodes(root) > MAX_YAML_NODES:
            raise YamlTooLargeError(
                f"{source} expands to more than {MAX_YAML_NODES:,} YAML nodes through its "
                "aliases (&anchor/*alias); a compiled pipeline has a few thousand: refused"
            )
        return loader.construct_document(root)
    finally:
        loader.dispose()


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
        return safe_yaml(text, f"{option} {str(path)!r}")
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
        products: File and folder names the command writes there; finding one (even as a
            dangling symbolic link) means a past run's output.
        overwrite: Replace a past run's output instead of refusing.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: It (or a parent) is a file, it cannot be created or written (read-only, a
            name too long), or it holds a past output and ``overwrite`` is false.
    """
    text = str(path)
    if not text.strip():
        raise ValueError(f"{option} is empty; give a directory")
    if "\x00" in text:
        raise ValueError(f"{option} {text!r} holds a NUL character")
    target = Path(text)
    existing = target
    _check_names(target, option, text)
    for folder in (target, *target.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == target else f"is inside {str(folder)!r}, a file"
                raise ValueError(f"{option} {text!r} {what}, not a directory")
            existing = folder
            break
    _check_creatable(target, existing, option, text)
    held = [name for name in products if os.path.lexists(target / name)]
    if held and not overwrite:
        raise ValueError(
            f"{option} {text!r} already holds a past run's files ({', '.join(held)}); pass "
            "--overwrite to replace them, or choose another directory"
        )
    return target


def _check_names(target: Path, option: str, text: str) -> None:
    """Refuses a path with a name longer than the usual file system allows (255 bytes)."""
    if max((len(os.fsencode(part)) for part in target.parts), default=0) > 255:
        raise ValueError(f"{option} {text[:80]!r}…: a name is longer than 255 bytes")


def _check_creatable(target: Path, existing: Path, option: str, text: str) -> None:
    """Refuses a directory that cannot be made or written, before anything is written."""
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
        path_max = os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    longest = max((len(os.fsencode(part)) for part in target.parts), default=0)
    # Room below it for the pipeline root's own folders and files.
    if longest > name_max or len(os.fsencode(str(target.absolute()))) > path_max - 512:
        raise ValueError(
            f"{option} {text[:80]!r}…: a name is longer than {name_max} bytes or the path "
            f"leaves no room below it (at most {path_max - 512} bytes)"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {text!r}: {str(existing)!r} is not writable")
