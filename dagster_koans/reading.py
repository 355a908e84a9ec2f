"""The lesson files as read before anything is imported: made once per run, read by every part."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest

from dagster_koans.path import Koan, LearningPath, ScannedFile, digest, scan_file
from dagster_koans.track import Track
from dagster_koans.verdict import FileProblem, unreadable


@dataclass(frozen=True)
class Reading:
    path: LearningPath
    track: Track
    files: dict[str, ScannedFile]  # by lesson stem: the learner's files that exist
    problems: dict[str, FileProblem]  # by lesson stem: missing, or not readable as Python
    strays: tuple[str, ...]  # files pytest collects in the track's folder, not on the path
    salt: str  # what every koan's outcome also depends on (see `version_salt`)

    def fingerprint(self, koan: Koan) -> str | None:
        scanned = self.files.get(koan.lesson)
        return scanned.fingerprint(koan.name, self.salt) if scanned is not None else None

    def koan_for(self, item: pytest.Item) -> Koan | None:
        """The koan of the path an item runs, or None for a test of the learner's own."""
        if not self.track.holds(item.path):
            return None
        return self.path.koan(item.path.stem, getattr(item, "originalname", item.name))


def read_track(track: Track, path: LearningPath, collected: list[str]) -> Reading:
    """Scan every lesson file of the track; `collected` are pytest's `python_files` patterns."""
    files: dict[str, ScannedFile] = {}
    problems: dict[str, FileProblem] = {}
    for lesson in path.lessons:
        file = track.file(lesson.stem)
        if not file.exists():
            problems[lesson.stem] = FileProblem(
                None, (f"{track.shown(lesson.stem)} is missing (deleted or renamed?).",)
            )
            continue
        scanned = files[lesson.stem] = scan_file(file)
        if scanned.error is not None:
            problems[lesson.stem] = unreadable(scanned.error)
    on_path = {lesson.filename for lesson in path.lessons}
    strays = tuple(
        sorted(
            file.name
            for file in track.folder.glob("*.py")
            if file.name not in on_path and any(fnmatch(file.name, p) for p in collected)
        )
    )
    return Reading(path, track, files, problems, strays, version_salt())


@functools.cache  # a watcher's runs inherit it: Python, Dagster and the plugin stay as they were
def version_salt() -> str:
    """What every koan's outcome also depends on: Python, Dagster, and the blanks and fixtures."""
    from importlib.metadata import version

    from dagster_koans import blanks, fixtures

    own = (Path(str(module.__file__)).read_text(encoding="utf-8") for module in (blanks, fixtures))
    return digest(str(sys.version_info[:2]), version("dagster"), *own)
