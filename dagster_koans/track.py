"""Where each lesson's files live: the one place that builds "this lesson's file"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TRACKS = ("koans", "solutions")


@dataclass(frozen=True)
class Track:
    """The folder a run works in (`koans/` or `solutions/`) and every file a lesson has."""

    root: Path  # the project's root, where pytest.ini lies
    name: str  # "koans" or "solutions"

    @property
    def folder(self) -> Path:
        return self.root / self.name

    def file(self, stem: str) -> Path:
        """The lesson's file in this track: what the learner edits (or the solution's run)."""
        return self.folder / f"{stem}.py"

    def shown(self, stem: str) -> str:
        """The lesson's file as the screen names it, relative to the root: `koans/03_x.py`."""
        return f"{self.name}/{stem}.py"

    def solution(self, stem: str) -> Path:
        return self.root / "solutions" / f"{stem}.py"

    def shown_solution(self, stem: str) -> str:
        return f"solutions/{stem}.py"

    def hints(self, stem: str) -> Path:
        return self.root / "hints" / f"{stem}.md"

    def takeaways(self, stem: str) -> Path:
        return self.root / "takeaways" / f"{stem}.md"

    def holds(self, file: Path) -> bool:
        """True when `file` lies directly in this track's folder."""
        return file.parent == self.folder
