"""Where the learner stands on the path: what is solved, what is next, what to tell them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from dagster_koans.path import Koan, LearningPath, Lesson, ScannedFile
from dagster_koans.track import Track
from dagster_koans.verdict import ANSI, FileProblem, Outcome, Verdict, settle, shorten

# The statuses after which the screen is drawn: --sw stops a run as if interrupted (2).
SCREEN_STATUSES = (
    pytest.ExitCode.OK,
    pytest.ExitCode.TESTS_FAILED,
    pytest.ExitCode.INTERRUPTED,
    pytest.ExitCode.NO_TESTS_COLLECTED,
)


@dataclass(frozen=True)
class OwnTest:
    """A test of the learner's own (not a koan of the path), as pytest reported it."""

    nodeid: str
    outcome: str  # passed, failed (in any phase, or its file does not import), skipped
    message: str

    @classmethod
    def from_report(cls, report: pytest.TestReport | pytest.CollectReport) -> OwnTest:
        text = str(report.longrepr or "")
        errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
        crash = getattr(report.longrepr, "reprcrash", None)
        message = errors[-1] if errors else (crash.message if crash else text.strip())
        first = message.splitlines()[0] if message else ""
        return cls(report.nodeid, report.outcome, shorten(ANSI.sub("", first)))


@dataclass(frozen=True)
class Standing:
    """Where the learner stands after a run: made once, at its end, from what each part found."""

    path: LearningPath
    track: Track  # the folder the learner runs
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)  # by Koan.key
    files: Mapping[str, ScannedFile] = field(default_factory=dict)  # by lesson stem
    problems: Mapping[str, FileProblem] = field(default_factory=dict)  # by lesson stem
    passed_before: frozenset[str] = frozenset()  # Koan.key of koans that once passed
    scope: frozenset[str] = frozenset()  # Koan.key of the koans this run covers
    started: float | None = None  # when the learner first ran the path (seconds since epoch)
    own: Mapping[str, OwnTest] = field(default_factory=dict)  # the learner's tests, by node id
    strays: tuple[str, ...] = ()  # files in the track folder not on the path
    notes: tuple[str, ...] = ()  # what the learner should know about this run
    stopped_early: str = ""  # why pytest stopped before the end (-x, --maxfail, --sw)
    interrupted: bool = False  # Ctrl-C or SIGTERM
    exited: bool = False  # a test called `pytest.exit()`: its status stands

    def exit_status(self, pytest_status: int, hint: bool) -> int:
        """The run's exit status, agreeing with the screen: pytest's, but a koan judged without
        running counts as run, so 0 only when every koan in scope and every own test passed."""
        if self.interrupted:
            return pytest.ExitCode.INTERRUPTED
        if self.exited or pytest_status not in SCREEN_STATUSES:
            return pytest_status
        if hint and self.current() is None:
            return pytest.ExitCode.USAGE_ERROR  # nothing to hint at: the screen says so
        in_scope = [koan for koan in self.path.koans if koan.key in self.scope]
        if any(not self.verdict(koan).resolved for koan in in_scope):
            return pytest.ExitCode.TESTS_FAILED
        if any(test.outcome == "failed" for test in self.own.values()):
            return pytest.ExitCode.TESTS_FAILED
        return pytest.ExitCode.OK if in_scope else pytest_status

    def verdict(self, koan: Koan) -> Verdict:
        scanned = self.files.get(koan.lesson)
        exists = scanned is not None and scanned.function(koan.name) is not None
        return settle(self.problems.get(koan.lesson), exists, self.verdicts.get(koan.key))

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
        A koan of a lesson this run covers that failed last time and was left out (-k, -m,
        --deselect, --ignore) is never skipped: it is still wrong.
        """
        unresolved = [k for k in self.path.koans if not self.verdict(k).resolved]
        known = [k for k in unresolved if self.verdict(k).outcome is not Outcome.NOT_RUN]
        lessons = {k.lesson for k in self.path.koans if k.key in self.scope}
        in_scope = [
            k
            for k in known
            if k.key in self.scope
            or (k.lesson in lessons and self.verdict(k).outcome is Outcome.FAILED_BEFORE)
        ]
        first = in_scope or known or unresolved
        return first[0] if first else None

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
