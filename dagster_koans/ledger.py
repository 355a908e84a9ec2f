"""The history kept between runs, in pytest's cache: which koans passed, and with which code.

Deleting the cache loses nothing but this history. A record of any other shape (an older
plugin's, a hand edit, a half-written file) is discarded with a note, never trusted; a cache
that cannot be written (a file where a folder belongs, a folder where a file belongs, no
permission) is named in one note, and the run goes on remembering nothing, as pytest's own
cache only warns.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

CACHE_KEY = "dagster_koans/ledger"
FOLDER = "dagster_koans"  # the cache's folder for the files the guard process writes too


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
    def __init__(self, cache: pytest.Cache | None, scratch: Path, cache_dir: Path) -> None:
        """`cache` is pytest's (None with -p no:cacheprovider), `cache_dir` where it lies, and
        `scratch` a folder of this run's own for what cannot be kept in the cache."""
        self._cache = cache
        self._cache_dir = cache_dir
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
        folder = self._own_folder(scratch)
        self.stuck_file = self._usable(folder / "stuck.json", scratch)
        self.running_file = self._usable(folder / "running", scratch)
        self.passes: dict[str, str] = passes  # key -> fingerprint of the code that passed
        # key -> fingerprint of code the guard had to end: it never finished
        self.stuck: dict[str, str] = self._read_stuck()
        self.ever_passed: set[str] = set(ever)
        # lesson stem -> digest of the module-level code that last imported without error
        self.imported: dict[str, str] = imported
        self.started: float | None = started  # when the learner first ran the path
        self.abrupt: str | None = self._left_running()

    def _own_folder(self, scratch: Path) -> Path:
        if self._cache is None:
            return scratch
        try:
            folder = self._cache.mkdir(FOLDER)
        except OSError as error:
            self._damaged(self._cache_dir / "d" / FOLDER, error, folder=True)
            return scratch
        if not os.access(folder, os.W_OK | os.X_OK):
            self._damaged(folder, PermissionError(13, "Permission denied"), folder=True)
            return scratch
        return folder

    def _usable(self, file: Path, scratch: Path) -> Path:
        """`file`, or one in `scratch` when something other than a file stands in its place."""
        if file.parent == scratch or file.is_file() or not os.path.lexists(file):
            return file
        self._damaged(file, IsADirectoryError(21, "Is a directory"))
        return scratch / file.name

    def _damaged(self, target: Path, error: OSError, folder: bool = False) -> None:
        """Name what in the cache is in the way, and what to do, once: one remedy mends all."""
        if any(note.startswith("Cannot keep") for note in self.notes):
            return
        self.notes.append(
            f"Cannot keep the koans' history: {damage(self._cache_dir, target, error, folder)}. "
            f"Delete {self._cache_dir.name} (it holds only that history) and run again."
        )

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
        self.running(None)
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
            self._write(self.stuck_file, json.dumps(self.stuck))
        if passed and fingerprint is not None:
            self.passes[key] = fingerprint
            self.ever_passed.add(key)
        else:
            self.passes.pop(key, None)

    def running(self, nodeid: str | None) -> None:
        """Say which koan runs now (None: none), so a run that dies can be named by the next."""
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
        if self._cache is None:
            return
        value = {
            "passes": self.passes,
            "ever_passed": sorted(self.ever_passed),
            "imported": self.imported,
            "started": self.started,
        }
        # pytest's cache warns, and goes on, when it cannot write: the note says it plainly.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pytest.PytestCacheWarning)
            self._cache.set(CACHE_KEY, value)
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
