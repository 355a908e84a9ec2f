"""The history kept between runs, in pytest's cache: which koans passed, and with which code.

Deleting the cache loses nothing but this history. A record of any other shape (an older
plugin's, a hand edit, a half-written file) is discarded with a note, never trusted.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

CACHE_KEY = "dagster_koans/ledger"
UNREADABLE = (
    "The koans' history in .pytest_cache was not readable and was discarded: "
    "every koan runs this time."
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def is_time(value: object) -> bool:
    """A number of seconds since the epoch, as `time.time()` gives (not a bool, nor infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11


def _strings(value: object) -> dict[str, str] | None:
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    return None


@dataclass(frozen=True)
class HistoryRecord:
    """What the cache keeps between runs, as pytest's `StepwiseCacheInfo` keeps --sw's."""

    passes: Mapping[str, str] = field(default_factory=dict)  # key -> fingerprint that passed
    ever_passed: frozenset[str] = frozenset()  # keys of koans that passed once
    # lesson stem -> digest of the module-level code that last imported without error
    imported: Mapping[str, str] = field(default_factory=dict)
    started: float | None = None  # when the learner first ran the path
    taken: frozenset[str] = frozenset()  # keys of koans whose takeaway the screen has shown

    @classmethod
    def from_cache(cls, data: object) -> HistoryRecord | None:
        """The record as stored, or None when it has any other shape."""
        if not isinstance(data, dict):
            return None
        passes, imported = _strings(data.get("passes", {})), _strings(data.get("imported", {}))
        ever, started = data.get("ever_passed", []), data.get("started")
        # A record from before takeaways: every koan that passed then counts as taken.
        taken = data.get("taken", ever)
        if (
            passes is None
            or imported is None
            or not isinstance(ever, list)
            or not all(isinstance(key, str) for key in ever)
            or not (started is None or is_time(started))
            or not isinstance(taken, list)
            or not all(isinstance(key, str) for key in taken)
        ):
            return None
        return cls(passes, frozenset(ever), imported, started, frozenset(taken))

    def to_cache(self) -> dict[str, object]:
        return {
            "passes": dict(self.passes),
            "ever_passed": sorted(self.ever_passed),
            "imported": dict(self.imported),
            "started": self.started,
            "taken": sorted(self.taken),
        }

    def with_result(self, key: str, fingerprint: str | None, passed: bool) -> HistoryRecord:
        passes = {k: v for k, v in self.passes.items() if k != key}
        if passed and fingerprint is not None:
            passes[key] = fingerprint
            return dataclasses.replace(self, passes=passes, ever_passed=self.ever_passed | {key})
        return dataclasses.replace(self, passes=passes)

    def with_import(self, stem: str, fingerprint: str | None) -> HistoryRecord:
        imported = {k: v for k, v in self.imported.items() if k != stem}
        if fingerprint is not None:
            imported[stem] = fingerprint
        return dataclasses.replace(self, imported=imported)


class Ledger:
    """The record in pytest's cache, and two plain files the guard process writes too."""

    def __init__(self, cache: pytest.Cache | None) -> None:
        self._cache = cache  # None with -p no:cacheprovider: nothing is kept
        self.notes: list[str] = []
        found = HistoryRecord.from_cache(cache.get(CACHE_KEY, {})) if cache is not None else None
        if found is None and cache is not None:
            self.notes.append(UNREADABLE)
        self.record = found or HistoryRecord()
        # Files the guard process writes too (see guard.py): plain files, not cache values.
        folder = cache.mkdir("dagster_koans") if cache is not None else None
        self.stuck_file = folder / "stuck.json" if folder is not None else None
        self.running_file = folder / "running" if folder is not None else None
        # key -> fingerprint of code the guard had to end: it never finished
        self.stuck: dict[str, str] = self._read_stuck()
        self.abrupt: str | None = self._left_running()

    def _read_stuck(self) -> dict[str, str]:
        if self.stuck_file is None:
            return {}
        try:
            data = json.loads(self.stuck_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return _strings(data) or {}

    def _left_running(self) -> str | None:
        """The koan a previous run was running when its process ended without a word (as
        `nodeid@pid`); nothing while that process is still running, as a second run may."""
        if self.running_file is None:
            return None
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
        return fingerprint is not None and self.record.passes.get(key) == fingerprint

    def stuck_with(self, key: str, fingerprint: str | None) -> bool:
        """True when this exact code never finished before and its run had to be ended."""
        return fingerprint is not None and self.stuck.get(key) == fingerprint

    def remember(self, key: str, fingerprint: str | None, passed: bool) -> None:
        if self.stuck.pop(key, None) is not None and self.stuck_file is not None:
            self.stuck_file.write_text(json.dumps(self.stuck), encoding="utf-8")
        self.record = self.record.with_result(key, fingerprint, passed)

    def running(self, nodeid: str | None) -> None:
        """Say which koan runs now (None: none), so a run that dies can be named by the next."""
        if self.running_file is None:
            return
        if nodeid is None:
            self.running_file.unlink(missing_ok=True)
        else:
            self.running_file.write_text(nodeid, encoding="utf-8")

    def save(self) -> None:
        if self._cache is not None:
            self._cache.set(CACHE_KEY, self.record.to_cache())
