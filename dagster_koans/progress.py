"""Where the learner stands on the path: what is solved, what is next, what to tell them."""

from __future__ import annotations

from dataclasses import dataclass, field

from dagster_koans.path import Koan, LearningPath, Lesson, ScannedFile
from dagster_koans.verdict import Outcome, Verdict


@dataclass(frozen=True)
class FileProblem:
    """Why a lesson file gives no koans: it is gone, or it does not import."""

    line: int | None
    message: tuple[str, ...]


@dataclass
class Standing:
    path: LearningPath
    track: str  # "koans" or "solutions": the folder the learner runs
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # by Koan.key
    files: dict[str, ScannedFile] = field(default_factory=dict)  # by lesson stem
    problems: dict[str, FileProblem] = field(default_factory=dict)  # by lesson stem
    passed_before: set[str] = field(default_factory=set)  # Koan.key of koans that once passed
    scope: set[str] = field(default_factory=set)  # Koan.key of the koans this run covers
    started: float | None = None  # when the learner first ran the path (seconds since epoch)

    def verdict(self, koan: Koan) -> Verdict:
        problem = self.problems.get(koan.lesson)
        if problem is not None:
            return Verdict(Outcome.BROKEN, problem.line, problem.message)
        found = self.verdicts.get(koan.key)
        if found is not None:
            return found
        scanned = self.files.get(koan.lesson)
        if scanned is not None and scanned.function(koan.name) is None:
            return Verdict(Outcome.MISSING)
        return Verdict(Outcome.NOT_RUN)

    def solved(self, lesson: Lesson | None = None) -> int:
        koans = lesson.koans if lesson else self.path.koans
        return sum(self.verdict(koan).resolved for koan in koans)

    @property
    def total(self) -> int:
        return len(self.path.koans)

    def complete(self, lesson: Lesson) -> bool:
        return self.solved(lesson) == len(lesson.koans)

    def current(self) -> Koan | None:
        """The one koan to work on next: the first unresolved in path order.

        Koans this run covers come first (a learner running one lesson is working on it), then
        the rest of the path, and a koan whose state is unknown only when nothing else is left.
        """
        unresolved = [k for k in self.path.koans if not self.verdict(k).resolved]
        known = [k for k in unresolved if self.verdict(k).outcome is not Outcome.NOT_RUN]
        in_scope = [k for k in known if k.key in self.scope]
        return (in_scope or known or unresolved or [None])[0]

    def lesson_of(self, koan: Koan) -> Lesson:
        return next(lesson for lesson in self.path.lessons if lesson.stem == koan.lesson)

    def just_completed(self) -> Lesson | None:
        """The complete lesson right before the current one: the learner may compare it now."""
        current = self.current()
        lessons = list(self.path.lessons)
        index = lessons.index(self.lesson_of(current)) if current else len(lessons)
        if index > 0 and self.complete(lessons[index - 1]):
            return lessons[index - 1]
        return None
