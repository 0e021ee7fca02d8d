"""A small disk cache of provider response bodies, for local and CLI use.

Off unless a directory is configured (argument or ``CARBON_AWARE_CACHE_DIR``). Entries are keyed
by a SHA-256 of the request URL and query only: headers, where keys travel, never reach it, and
login responses are never stored. Each file holds one JSON body and the time it was stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)
CACHE_DIR_ENV = "CARBON_AWARE_CACHE_DIR"
CACHE_TTL_ENV = "CARBON_AWARE_CACHE_TTL_S"
DEFAULT_TTL_S = 300.0


class DiskCache:
    """JSON bodies on disk with a time to live.

    Args:
        directory: Where entries live (created on first write).
        ttl_s: Seconds an entry stays fresh.
        clock: Wall clock in seconds (tests pass a fake).
    """

    def __init__(
        self,
        directory: str | Path,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not ttl_s > 0:
            raise ValueError(f"cache TTL must be > 0 seconds, got {ttl_s!r}")
        self.directory = Path(directory)
        self.ttl_s = float(ttl_s)
        self._clock = clock

    def __repr__(self) -> str:
        return f"DiskCache(directory={str(self.directory)!r}, ttl_s={self.ttl_s})"

    @classmethod
    def from_env(cls, directory: str | Path | None = None) -> DiskCache | None:
        """Returns a cache in ``directory`` or ``$CARBON_AWARE_CACHE_DIR``; None if neither is set.

        Raises:
            ValueError: ``$CARBON_AWARE_CACHE_TTL_S`` is not a positive number.
        """
        chosen = directory or os.environ.get(CACHE_DIR_ENV, "")
        if not chosen:
            return None
        raw_ttl = os.environ.get(CACHE_TTL_ENV, "")
        try:
            ttl_s = float(raw_ttl) if raw_ttl else DEFAULT_TTL_S
        except ValueError:
            raise ValueError(
                f"{CACHE_TTL_ENV} must be a number of seconds, got {raw_ttl!r}"
            ) from None
        return cls(chosen, ttl_s)

    def _path(self, key: str) -> Path:
        return self.directory / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.json"

    def get(self, key: str) -> Any | None:
        """Returns the fresh body stored under ``key``, or None (missing, stale or unreadable)."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            stored_at = float(entry["stored_at"])
            body = entry["body"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            LOGGER.warning("ignoring unreadable cache entry %s", path.name)
            return None
        if self._clock() - stored_at > self.ttl_s:
            return None
        return body

    def put(self, key: str, body: Any) -> None:
        """Stores ``body`` under ``key`` (atomically; failures are logged, never raised)."""
        path = self._path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            payload = json.dumps({"stored_at": self._clock(), "body": body})
            handle, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(payload)
            os.replace(tmp, path)
        except (OSError, TypeError, ValueError) as err:
            LOGGER.warning("could not write cache entry %s: %s", path.name, type(err).__name__)
