"""Judging: each koan's verdict from its reports, the learner's own tests, files that do not import.

The verdicts themselves are decided in `verdict.py`; this object feeds it pytest's reports and
tells `History` when a koan's verdict is final.
"""

from __future__ import annotations

import traceback
from collections.abc import Generator
from pathlib import Path

import pytest

from dagster_koans.history import History
from dagster_koans.interrupts import Interrupts
from dagster_koans.path import Koan
from dagster_koans.progress import OwnTest
from dagster_koans.reading import Reading
from dagster_koans.verdict import (
    FileProblem,
    Outcome,
    Verdict,
    after_running,
    first_failure,
    import_problem,
    is_interrupt,
    kept_output,
)

PROPERTIES = ("koan", "blank_reason", "call_seconds")  # what --junitxml tells of each koan


class Judge:
    def __init__(
        self, reading: Reading, history: History, interrupts: Interrupts, narrowed: bool
    ) -> None:
        self.reading = reading
        self.history = history
        self.interrupts = interrupts
        self.narrowed = narrowed
        self.verdicts: dict[str, Verdict] = {}  # by Koan.key: from this run's reports
        self.problems: dict[str, FileProblem] = dict(reading.problems)  # by lesson stem
        self.own: dict[str, OwnTest] = {}  # the learner's own tests, by node id
        self._items_left: dict[str, int] = {}  # Koan.key -> items of it still to report
        self._koans: dict[str, Koan] = {}  # node id -> koan, for the items that ran

    # -- files ----------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """A lesson file that exits (or raises KeyboardInterrupt) while imported is named."""
        try:
            return (yield)
        except (SystemExit, KeyboardInterrupt) as error:
            ours = isinstance(collector, pytest.Module) and self.reading.track.holds(collector.path)
            signal = isinstance(error, KeyboardInterrupt) and self.interrupts.answered
            if signal or not ours or not raised_by(collector.path, error):
                raise  # a real Ctrl-C, or not the learner's file: pytest handles it
            problem = import_problem(collector.path, error)
            if self.reading.path.lesson(collector.path.stem) is not None:
                self.problems.setdefault(collector.path.stem, problem)
            where = f"{collector.path.name}:{problem.line}"
            return pytest.CollectReport(
                collector.nodeid, "failed", f"{where}: {problem.message[0]}", []
            )

    def pytest_exception_interact(
        self, node: pytest.Item | pytest.Collector, call: pytest.CallInfo[object]
    ) -> None:
        """A lesson file that raised while being imported: remember where and why."""
        if not isinstance(node, pytest.Module) or call.excinfo is None:
            return
        stem = node.path.stem
        if not self.reading.track.holds(node.path) or stem in self.problems:
            return
        if self.reading.path.lesson(stem) is None or stem not in self.reading.files:
            return  # the learner's own file: pytest reports it as it is
        self.problems[stem] = import_problem(node.path, call.excinfo.value)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A file of the learner's own that does not import is their own test's failure."""
        path = self.reading.track.root / report.nodeid.split("::")[0]
        if report.failed and self.reading.track.holds(path) and path.name in self.reading.strays:
            self.note_own(OwnTest.from_report(report))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            koan = self.reading.koan_for(item)
            if koan is not None:
                self._items_left[koan.key] = self._items_left.get(koan.key, 0) + 1

    # -- reports ---------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        error = call.excinfo.value if call.excinfo is not None else None
        koan = self.reading.koan_for(item)
        if error is not None and is_interrupt(error):
            return report  # the run stops here (see interrupts.py): nothing to judge
        if koan is None:
            if report.when == "call" or not report.passed:
                self.note_own(OwnTest.from_report(report))
            return report
        self._koans[item.nodeid] = koan
        if report.when == "setup" and report.passed:
            return report
        if not (report.when == "teardown" and report.passed):
            self._judge(koan, item, report, error)
        if report.when == "teardown":
            self._finish(koan, item)
        return report

    def _judge(
        self, koan: Koan, item: pytest.Item, report: pytest.TestReport, error: BaseException | None
    ) -> None:
        scanned = self.reading.files[koan.lesson]
        lesson = self.reading.path.lesson(koan.lesson)
        verdict = after_running(
            item.path,
            scanned.function(koan.name),
            lesson.solution.function(koan.name) if lesson is not None else None,
            report.outcome,
            error,
            kept_output(report.sections),
        )
        self.verdicts[koan.key] = first_failure(self.verdicts.get(koan.key), verdict)
        # Named in --junitxml, so tools (and the project's tests) can read each koan's verdict.
        item.user_properties[:] = [p for p in item.user_properties if p[0] not in PROPERTIES]
        item.user_properties.append(("koan", verdict.outcome.value))
        if verdict.outcome is Outcome.BLANK:
            item.user_properties.append(("blank_reason", verdict.reason))
        if report.when == "call":  # the koan's own time, without its fixtures (the benchmark)
            item.user_properties.append(("call_seconds", f"{report.duration:.4f}"))

    def _finish(self, koan: Koan, item: pytest.Item) -> None:
        """The last of a koan's items has reported: its verdict is final."""
        self._items_left[koan.key] = self._items_left.get(koan.key, 1) - 1
        verdict = self.verdicts.get(koan.key)
        if self._items_left[koan.key] > 0 or verdict is None:
            return
        self.history.remember(koan, verdict, self.narrowed and hasattr(item, "callspec"))

    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """`-v` names each koan's verdict: FAILED (blank), FAILED (wrong), ..."""
        if report.when != "call" or not report.failed:
            return None
        koan = self._koans.get(report.nodeid)
        verdict = self.verdicts.get(koan.key) if koan else None
        if verdict is None:
            return None
        return "failed", "F", (f"FAILED ({verdict.outcome.value})", {"red": True})

    def note_own(self, test: OwnTest) -> None:
        """One test's phases: a failure in any of them is the test's outcome."""
        known = self.own.get(test.nodeid)
        if known is None or known.outcome == "passed":
            self.own[test.nodeid] = test


def raised_by(file: Path, error: BaseException) -> bool:
    """True when `error` was raised by a line of `file` itself, not in anything it called."""
    frames = list(traceback.walk_tb(error.__traceback__))
    return bool(frames) and Path(frames[-1][0].f_code.co_filename) == file
