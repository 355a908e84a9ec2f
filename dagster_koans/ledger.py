"""The history kept between runs, in pytest's cache: which koans passed, and with which code.

Deleting the cache loses nothing but this history. A record of any other shape (an older
plugin's, a hand edit, a half-written file) is discarded with a note, never trusted; a cache
that cannot be written (a file where a folder belongs, a folder where a file belongs, no
permission) is named in one note, and the run goes on keeping nothing, as pytest's own cache
only warns.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CACHE_KEY = "dagster_koans/ledger"
FOLDER = "dagster_koans"  # the cache's folder for the plain files the guard process writes too
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
    # key -> fingerprint of the code that failed when it last ran: still wrong if not run again
    failed: Mapping[str, str] = field(default_factory=dict)
    ever_passed: frozenset[str] = frozenset()  # keys of koans that passed once
    # lesson stem -> digest of the module-level code that last imported without error
    imported: Mapping[str, str] = field(default_factory=dict)
    started: float | None = None  # when the learner first ran the path

    @classmethod
    def from_cache(cls, data: object) -> HistoryRecord | None:
        """The record as stored, or None when it has any other shape."""
        if not isinstance(data, dict):
            return None
        passes, imported = _strings(data.get("passes", {})), _strings(data.get("imported", {}))
        failed = _strings(data.get("failed", {}))
        ever, started = data.get("ever_passed", []), data.get("started")
        if (
            passes is None
            or failed is None
            or imported is None
            or not isinstance(ever, list)
            or not all(isinstance(key, str) for key in ever)
            or not (started is None or is_time(started))
        ):
            return None
        return cls(passes, failed, frozenset(ever), imported, started)

    def to_cache(self) -> dict[str, object]:
        return {
            "passes": dict(self.passes),
            "failed": dict(self.failed),
            "ever_passed": sorted(self.ever_passed),
            "imported": dict(self.imported),
            "started": self.started,
        }

    def with_result(self, key: str, fingerprint: str | None, passed: bool | None) -> HistoryRecord:
        """`passed` None: neither passed nor failed (skipped, or only some of its cases ran)."""
        passes = {k: v for k, v in self.passes.items() if k != key}
        failed = {k: v for k, v in self.failed.items() if k != key}
        if passed and fingerprint is not None:
            passes[key] = fingerprint
            ever = self.ever_passed | {key}
            return dataclasses.replace(self, passes=passes, failed=failed, ever_passed=ever)
        if passed is False and fingerprint is not None:
            failed[key] = fingerprint
        return dataclasses.replace(self, passes=passes, failed=failed)

    def with_import(self, stem: str, fingerprint: str | None) -> HistoryRecord:
        imported = {k: v for k, v in self.imported.items() if k != stem}
        if fingerprint is not None:
            imported[stem] = fingerprint
        return dataclasses.replace(self, imported=imported)


class Ledger:
    """The record in pytest's cache, and two plain files the guard process writes too."""

    def __init__(self, cache: pytest.Cache | None, cache_dir: Path | None) -> None:
        """`cache` is pytest's (None with -p no:cacheprovider: nothing is kept), `cache_dir`
        the folder it keeps (pytest's `cache_dir` setting), named when something is in its way."""
        self._cache = cache
        self._cache_dir = cache_dir
        self.notes: list[str] = []
        found = HistoryRecord.from_cache(cache.get(CACHE_KEY, {})) if cache is not None else None
        if found is None and cache is not None:
            self.notes.append(UNREADABLE)
        self.record = found or HistoryRecord()
        # Files the guard process writes too (see guard.py): plain files, not cache values.
        folder = self._own_folder()
        self.stuck_file = self._usable(folder / "stuck.json") if folder is not None else None
        self.running_file = self._usable(folder / "running") if folder is not None else None
        # key -> fingerprint of code the guard had to end: it never finished
        self.stuck: dict[str, str] = self._read_stuck()
        self.abrupt: str | None = self._left_running()

    def _own_folder(self) -> Path | None:
        if self._cache is None or self._cache_dir is None:
            return None
        try:
            folder = self._cache.mkdir(FOLDER)
        except OSError as error:
            self._damaged(self._cache_dir / "d" / FOLDER, error, folder=True)
            return None
        if not os.access(folder, os.W_OK | os.X_OK):
            self._damaged(folder, PermissionError(13, "Permission denied"), folder=True)
            return None
        return folder

    def _usable(self, file: Path) -> Path | None:
        """`file`, or None when something other than a file stands in its place."""
        if file.is_file() or not os.path.lexists(file):
            return file
        self._damaged(file, IsADirectoryError(21, "Is a directory"))
        return None

    def _damaged(self, target: Path, error: OSError, folder: bool = False) -> None:
        """Name what in the cache is in the way, and what to do, once: one remedy mends all."""
        if self._cache_dir is None or any(note.startswith("Cannot keep") for note in self.notes):
            return
        self.notes.append(
            f"Cannot keep the koans' history: {damage(self._cache_dir, target, error, folder)}. "
            f"Delete {self._cache_dir.name} (it holds only that history) and run again."
        )

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
        self.running(None)
        return left or None

    @property
    def keeps(self) -> bool:
        """False with -p no:cacheprovider: nothing is kept after the run."""
        return self._cache is not None

    def passed_with(self, key: str, fingerprint: str | None) -> bool:
        """True when the koan passed before with exactly this code."""
        return fingerprint is not None and self.record.passes.get(key) == fingerprint

    def failed_with(self, key: str, fingerprint: str | None) -> bool:
        """True when the koan failed when it last ran, with exactly this code."""
        return fingerprint is not None and self.record.failed.get(key) == fingerprint

    def stuck_with(self, key: str, fingerprint: str | None) -> bool:
        """True when this exact code never finished before and its run had to be ended."""
        return fingerprint is not None and self.stuck.get(key) == fingerprint

    def remember(self, key: str, fingerprint: str | None, passed: bool | None) -> None:
        if self.stuck.pop(key, None) is not None and self.stuck_file is not None:
            self._write(self.stuck_file, json.dumps(self.stuck))
        self.record = self.record.with_result(key, fingerprint, passed)

    def running(self, nodeid: str | None) -> None:
        """Say which koan runs now (None: none), so a run that dies can be named by the next."""
        if self.running_file is None:
            return
        if nodeid is not None:
            self._write(self.running_file, nodeid)
            return
        try:
            self.running_file.unlink(missing_ok=True)
        except OSError as error:
            self._damaged(self.running_file, error)

    def _write(self, file: Path, text: str) -> None:
        try:
            file.write_text(text, encoding="utf-8")
        except OSError as error:
            self._damaged(file, error)

    def save(self) -> None:
        if self._cache is None or self._cache_dir is None:
            return
        # pytest's cache warns, and goes on, when it cannot write: the note says so plainly.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pytest.PytestCacheWarning)
            self._cache.set(CACHE_KEY, self.record.to_cache())
        for warning in caught:
            if issubclass(warning.category, pytest.PytestCacheWarning):
                self._damaged(self._cache_dir / "v" / CACHE_KEY, OSError(str(warning.message)))
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )


def damage(cache_dir: Path, target: Path, error: OSError, folder: bool = False) -> str:
    """What stands in the way of writing `target` (a file, or a `folder`) in the cache."""
    inside = target.relative_to(cache_dir)
    for part in (*reversed(inside.parents), inside):
        where = cache_dir / part
        shown = f"{cache_dir.name}/{part}" if str(part) != "." else cache_dir.name
        a_folder = where != target or folder
        if a_folder and os.path.lexists(where) and not where.is_dir():
            return f"{shown} is a file where a folder belongs"
        if not a_folder and where.is_dir():
            return f"{shown} is a folder where a file belongs"
    said = re.search(r"\[Errno \d+\] ([^:']+)", str(error))
    reason = error.strerror or (said.group(1) if said else str(error))
    return f"{cache_dir.name}/{inside} cannot be written ({reason.strip().rstrip('.').lower()})"
