"""The history kept between runs, in pytest's cache: which koans passed, and with which code.

Deleting the cache loses nothing but this history. A record of any other shape (an older
plugin's, a hand edit, a half-written file) is discarded with a note, never trusted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

CACHE_KEY = "dagster_koans/ledger"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def is_time(value: Any) -> bool:
    """A number of seconds since the epoch, as `time.time()` gives (not a bool, nor infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11


def _strings(value: Any) -> dict[str, str] | None:
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    return None


class Ledger:
    def __init__(self, cache: pytest.Cache | None, scratch: Path) -> None:
        self._cache = cache
        self.notes: list[str] = []
        data: Any = cache.get(CACHE_KEY, {}) if cache is not None else {}
        passes = _strings(data.get("passes", {})) if isinstance(data, dict) else None
        imported = _strings(data.get("imported", {})) if isinstance(data, dict) else None
        ever = data.get("ever_passed", []) if isinstance(data, dict) else None
        started = data.get("started") if isinstance(data, dict) else None
        if (
            passes is None
            or imported is None
            or not isinstance(ever, list)
            or not all(isinstance(key, str) for key in ever)
            or not (started is None or is_time(started))
        ):
            self.notes.append(
                "The koans' history in .pytest_cache was not readable and was discarded: "
                "every koan runs this time."
            )
            passes, imported, ever, started = {}, {}, [], None
        # Files the guard process writes too (see guard.py): plain files, not cache values.
        folder = cache.mkdir("dagster_koans") if cache is not None else scratch
        self.stuck_file = folder / "stuck.json"
        self.running_file = folder / "running"
        self.passes: dict[str, str] = passes  # key -> fingerprint of the code that passed
        # key -> fingerprint of code the guard had to end: it never finished
        self.stuck: dict[str, str] = self._read_stuck()
        self.ever_passed: set[str] = set(ever)
        # lesson stem -> digest of the module-level code that last imported without error
        self.imported: dict[str, str] = imported
        self.started: float | None = started  # when the learner first ran the path
        self.abrupt: str | None = self._left_running()

    def _read_stuck(self) -> dict[str, str]:
        try:
            data = json.loads(self.stuck_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return _strings(data) or {}

    def _left_running(self) -> str | None:
        """The koan a previous run was running when its process ended without a word (as
        `nodeid@pid`); nothing while that process is still running, as a second run may."""
        try:
            left = self.running_file.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None
        pid = left.rpartition("@")[2]
        if pid.isdigit() and pid_alive(int(pid)):
            return None
        self.running_file.unlink(missing_ok=True)
        return left or None

    @property
    def keeps(self) -> bool:
        """False with -p no:cacheprovider: nothing is kept after the run."""
        return self._cache is not None

    def passed_with(self, key: str, fingerprint: str | None) -> bool:
        """True when the koan passed before with exactly this code."""
        return fingerprint is not None and self.passes.get(key) == fingerprint

    def stuck_with(self, key: str, fingerprint: str | None) -> bool:
        """True when this exact code never finished before and its run had to be ended."""
        return fingerprint is not None and self.stuck.get(key) == fingerprint

    def record(self, key: str, fingerprint: str | None, passed: bool) -> None:
        if self.stuck.pop(key, None) is not None:
            self.stuck_file.write_text(json.dumps(self.stuck), encoding="utf-8")
        if passed and fingerprint is not None:
            self.passes[key] = fingerprint
            self.ever_passed.add(key)
        else:
            self.passes.pop(key, None)

    def running(self, nodeid: str | None) -> None:
        """Say which koan runs now (None: none), so a run that dies can be named by the next."""
        if nodeid is None:
            self.running_file.unlink(missing_ok=True)
        else:
            self.running_file.write_text(nodeid, encoding="utf-8")

    def save(self) -> None:
        if self._cache is not None:
            self._cache.set(
                CACHE_KEY,
                {
                    "passes": self.passes,
                    "ever_passed": sorted(self.ever_passed),
                    "imported": self.imported,
                    "started": self.started,
                },
            )
