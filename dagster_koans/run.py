"""The plugin object registered for a run of `koans/` or `solutions/` (see `plugin.py`).

pytest collects, runs and reports as ever; this object only
- skips what is known without running, as pytest's `--lf` does: a lesson file whose koans all
  hold a blank or passed before with the same code is not imported, and such koans in an
  imported file are deselected; a line after "collected N items" says so;
- gives each koan a time limit, a temporary working directory and its own environment;
- judges each koan from its report (in `verdict.py`) and keeps the history (in `ledger.py`);
- draws the learner's screen after pytest's own summary, and sets the exit status to agree.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Generator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from dagster_koans.fixtures import freeze_heap
from dagster_koans.guard import Guard
from dagster_koans.interrupts import Interrupts
from dagster_koans.ledger import Ledger
from dagster_koans.options import KoansOptions
from dagster_koans.path import Koan, LearningPath, digest, scan_file
from dagster_koans.progress import OwnTest, Standing
from dagster_koans.screen import INTERRUPTED_LINE
from dagster_koans.verdict import (
    FileProblem,
    Outcome,
    after_running,
    before_running,
    first_failure,
    import_problem,
    is_interrupt,
    kept_output,
    unreadable,
)

CANCELLED = "DAGSTER_KOANS_CANCELLED"  # pids of watch-mode runs the watcher ended on purpose


class KoansRun:
    """Everything one koans run knows and does."""

    def __init__(self, config: pytest.Config, options: KoansOptions, path: LearningPath) -> None:
        self.config = config
        self.options = options
        self.root = options.root
        self.folder = options.root / options.track
        self.workdir = Path(tempfile.mkdtemp(prefix="dagster-koans-"))
        # pytest's cache is None with -p no:cacheprovider: then nothing is remembered
        self.ledger = Ledger(getattr(config, "cache", None), self.workdir)
        self.salt = version_salt()
        self.standing = Standing(path=path, track=options.track)
        self.standing.notes.extend(self.ledger.notes)
        self.unimported: set[str] = set()  # lesson files that need no import this time
        self._koan_items: dict[str, int] = {}  # koan key -> items of it still to report
        self.koans_by_nodeid: dict[str, Koan] = {}  # the koans collected this run
        self.interrupts: Interrupts | None = None
        self._dagster_home: str | None = None
        self.guard = Guard(self.ledger.stuck_file, self.ledger.running_file, INTERRUPTED_LINE)
        self.exitstatus: int | None = None  # set once the session has finished
        self._read_files()
        self._notice_abrupt_end()
        self._judge_without_running()

    def pytest_configure(self, config: pytest.Config) -> None:
        """Called when this object is registered (not if `-p no:dagster-koans-run` blocks it)."""
        if not self.options.tracebacks:
            config.option.tbstyle = "no"  # the screen tells each failure; --tb brings them back
        # One lesson that does not import must not stop the others (pytest would stop the run).
        config.option.continue_on_collection_errors = True

    # -- before collection ------------------------------------------------------------------

    def _read_files(self) -> None:
        standing, track = self.standing, self.options.track
        for lesson in standing.path.lessons:
            file = self.folder / lesson.filename
            if not file.exists():
                standing.problems[lesson.stem] = FileProblem(
                    None, (f"{track}/{lesson.filename} is missing (deleted or renamed?).",)
                )
                continue
            scanned = scan_file(file)
            standing.files[lesson.stem] = scanned
            if scanned.error is not None:
                standing.problems[lesson.stem] = unreadable(scanned.error)
        on_path = {lesson.filename for lesson in standing.path.lessons}
        collected = self.config.getini("python_files")  # the files pytest collects tests from
        standing.strays = sorted(
            file.name
            for file in self.folder.glob("*.py")
            if file.name not in on_path and any(fnmatch(file.name, p) for p in collected)
        )
        if self.options.track == "koans" and self.ledger.started is None and self.ledger.keeps:
            self.ledger.started = time.time()
        standing.passed_before = self.ledger.ever_passed
        standing.started = self.ledger.started if self.options.track == "koans" else None

    def _notice_abrupt_end(self) -> None:
        left = self.ledger.abrupt
        if left is None:
            return
        nodeid, _, pid = left.rpartition("@")
        if pid in os.environ.get(CANCELLED, "").split(","):
            return  # the watcher ended that run on purpose, for a newer save
        self.standing.notes.append(
            f"The previous run ended abruptly while {nodeid} was running "
            "(os._exit, a crash, or the process was killed): its screen was never drawn."
        )

    def fingerprint(self, koan: Koan) -> str | None:
        return self.standing.files[koan.lesson].fingerprint(koan.name, self.salt)

    def _judge_without_running(self) -> None:
        """What is known before anything runs, and which lesson files need no import at all.

        A file whose koans are all known need not be imported when its module-level code is
        known to import: it did before, or it is the solution's own (blanks never sit at module
        level, and the solutions are proven to import).
        """
        options, standing = self.options, self.standing
        if options.collect_only:
            return  # list every koan, as pytest would
        for lesson in standing.path.lessons:
            scanned = standing.files.get(lesson.stem)
            if scanned is None or scanned.error is not None:
                self.unimported.add(lesson.stem)  # gone or unreadable: the scan says why
                continue
            for koan in lesson.koans:
                source = scanned.function(koan.name)
                if source is None or (koan.lesson, koan.name) in options.named:
                    continue
                fingerprint = self.fingerprint(koan)
                known = before_running(
                    source,
                    fresh=options.fresh,
                    remembered=options.trust_history
                    and self.ledger.passed_with(koan.key, fingerprint),
                    stuck=options.trust_history and self.ledger.stuck_with(koan.key, fingerprint),
                )
                if known is not None:
                    standing.verdicts[koan.key] = known
            all_known = all(koan.key in standing.verdicts for koan in lesson.koans)
            only_koans = {fn.name for fn in scanned.functions} <= {k.name for k in lesson.koans}
            module = scanned.module_fingerprint(self.salt)
            solution = scan_file(self.root / "solutions" / lesson.filename)
            imports = module in (
                self.ledger.imported.get(lesson.stem),
                solution.module_fingerprint(self.salt),
            )
            if (
                options.trust_history
                and not options.narrowed
                and all_known
                and only_koans
                and imports
            ):
                self.unimported.add(lesson.stem)
        if not options.narrowed:
            standing.scope.update(k.key for k in standing.path.koans if options.covers(k.lesson))

    def koan_for(self, item: pytest.Item) -> Koan | None:
        if item.path.parent != self.folder:
            return None
        return self.standing.path.koan(item.path.stem, getattr(item, "originalname", item.name))

    # -- collection ---------------------------------------------------------------------------

    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        stem = collection_path.stem
        if collection_path.parent != self.folder or stem not in self.unimported:
            return None
        if not self.options.covers(stem):
            return None  # pytest walks a whole folder even for one file; it imports only that file
        if stem not in self.standing.problems:
            self.standing.skipped_files += 1
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Remember which lesson files imported; a file that exits while imported is named."""
        ours = isinstance(collector, pytest.Module) and collector.path.parent == self.folder
        try:
            report = yield
        except (SystemExit, KeyboardInterrupt) as error:
            if not ours or not raised_by(collector.path, error):
                raise  # a real Ctrl-C, or not the learner's file: pytest handles it
            problem = import_problem(collector.path, error)
            if self.standing.path.lesson(collector.path.stem) is not None:
                self.standing.problems.setdefault(collector.path.stem, problem)
            where = f"{collector.path.name}:{problem.line}"
            report = pytest.CollectReport(
                collector.nodeid, "failed", f"{where}: {problem.message[0]}", []
            )
        scanned = self.standing.files.get(collector.path.stem)
        if ours and scanned is not None:
            if report.passed:
                self.ledger.imported[collector.path.stem] = scanned.module_fingerprint(self.salt)
            else:
                self.ledger.imported.pop(collector.path.stem, None)
        return report

    def pytest_exception_interact(
        self, node: pytest.Item | pytest.Collector, call: pytest.CallInfo[object]
    ) -> None:
        """A lesson file that raised while being imported: remember where and why."""
        if not isinstance(node, pytest.Module) or call.excinfo is None:
            return
        stem = node.path.stem
        if node.path.parent != self.folder or stem in self.standing.problems:
            return
        if self.standing.path.lesson(stem) is None or stem not in self.standing.files:
            return  # the learner's own file: pytest reports it as it is
        self.standing.problems[stem] = import_problem(node.path, call.excinfo.value)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Deselect what is known without running; give the rest a time limit."""
        if self.options.collect_only:
            return
        timeout = self.options.timeout
        method = "signal" if hasattr(signal, "SIGALRM") else "thread"
        keep, deselected = [], []
        for item in items:
            koan = self.koan_for(item)
            if koan is not None:
                self.koans_by_nodeid[item.nodeid] = koan
                self.standing.scope.add(koan.key)
                if koan.key in self.standing.verdicts:
                    deselected.append(item)
                    continue
                self._koan_items[koan.key] = self._koan_items.get(koan.key, 0) + 1
            # A koan that needs longer (a dbt build) says so with its own timeout mark.
            if timeout and item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(timeout, method=method, func_only=True))
            keep.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = keep

    def pytest_report_collectionfinish(self) -> str | list[str]:
        lines = [f"koans: {note}" for note in self.standing.notes]
        known = [
            self.standing.verdicts[k.key]
            for k in self.standing.path.koans
            if k.key in self.standing.verdicts and k.key in self.standing.scope
        ]
        if not self.options.tracebacks and not self.options.collect_only:
            lines.append(
                "koans: tracebacks are off, each failure is told below (--tb=short shows them)"
            )
        if known:
            blank = sum(v.outcome is Outcome.BLANK for v in known)
            remembered = sum(v.outcome is Outcome.REMEMBERED for v in known)
            stuck = len(known) - blank - remembered
            parts = [f"{blank} still hold a blank"] if blank else []
            parts += [f"{remembered} passed before with this code"] if remembered else []
            parts += [f"{stuck} never finished last time"] if stuck else []
            files = self.standing.skipped_files
            skipped = f", skipped {files} file{'s' if files != 1 else ''}" if files else ""
            lines.append(
                f"koans: {len(known)} not run ({', '.join(parts)}{skipped}); "
                "--koans-fresh runs them all"
            )
        return lines

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A file of the learner's own that does not import is their own test's failure."""
        path = self.root / report.nodeid.split("::")[0]
        if report.failed and path.parent == self.folder and path.name in self.standing.strays:
            self.standing.note_own(OwnTest.from_report(report))

    def pytest_collection_finish(self) -> None:
        freeze_heap()  # what collection imported

    # -- running ------------------------------------------------------------------------------

    def pytest_sessionstart(self) -> None:
        # Dagster keeps telemetry and a default instance under $DAGSTER_HOME (else ~/.dagster):
        # koans write neither into the learner's home nor into a DAGSTER_HOME of their own.
        self._dagster_home = os.environ.get("DAGSTER_HOME")
        os.environ["DAGSTER_HOME"] = str(self.workdir / "dagster_home")
        (self.workdir / "dagster_home").mkdir()
        if threading.current_thread() is threading.main_thread():
            self.interrupts = Interrupts(self.guard.heard_interrupt)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        """Each koan runs in a folder of its own (the learner's own tests where pytest runs
        them), and what it does to the environment is undone."""
        cwd, environ = os.getcwd(), dict(os.environ)
        self.ledger.running(f"{item.nodeid}@{os.getpid()}")
        if self.koan_for(item) is not None:
            os.chdir(tempfile.mkdtemp(dir=self.workdir))
        try:
            return (yield)
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(environ)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """The guard watches the koan's own code (as the time limit does), not its fixtures."""
        koan = self.koan_for(item)
        seconds = time_limit(item)
        if koan is None or not seconds:
            return (yield)
        self.guard.start(item.nodeid, koan.key, self.fingerprint(koan) or "-", seconds)
        try:
            return (yield)
        finally:
            self.guard.done()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        error = call.excinfo.value if call.excinfo is not None else None
        if error is not None and is_interrupt(error) and not isinstance(error, KeyboardInterrupt):
            raise KeyboardInterrupt  # Dagster turned Ctrl-C into a failed step: stop the run
        koan = self.koan_for(item)
        if koan is None:
            if report.when == "call" or not report.passed:
                self.standing.note_own(OwnTest.from_report(report))
            return report
        if report.when == "teardown" and not report.failed:
            self._finish(koan, item)
            return report
        if report.when == "setup" and report.passed:
            return report
        scanned = self.standing.files[koan.lesson]
        solution = scan_file(self.root / "solutions" / f"{koan.lesson}.py")
        verdict = after_running(
            item.path,
            scanned.function(koan.name),
            solution.function(koan.name),
            report.outcome,
            error,
            kept_output(report.sections),
        )
        self.standing.verdicts[koan.key] = first_failure(
            self.standing.verdicts.get(koan.key), verdict
        )
        # Named in --junitxml, so tools (and the project's tests) can read each koan's verdict.
        item.user_properties[:] = [
            p for p in item.user_properties if p[0] not in ("koan", "blank_reason", "call_seconds")
        ]
        item.user_properties.append(("koan", verdict.outcome.value))
        if verdict.outcome is Outcome.BLANK:
            item.user_properties.append(("blank_reason", verdict.reason))
        if report.when == "call":  # the koan's own time, without its fixtures (the benchmark)
            item.user_properties.append(("call_seconds", f"{report.duration:.4f}"))
        if report.when == "teardown":
            self._finish(koan, item)
        return report

    def _finish(self, koan: Koan, item: pytest.Item) -> None:
        """The last of a koan's items has reported: its verdict is final, remember it (now, so
        that a run the guard has to end keeps it)."""
        self._koan_items[koan.key] = self._koan_items.get(koan.key, 1) - 1
        if self._koan_items[koan.key] > 0 or self.options.track != "koans":
            return
        verdict = self.standing.verdicts.get(koan.key)
        if verdict is None:
            return
        # -k or a `koan[case]` id may have run only some cases of a parametrized koan.
        some_cases = self.options.narrowed and hasattr(item, "callspec")
        self.ledger.record(koan.key, self.fingerprint(koan), verdict.resolved and not some_cases)
        self.ledger.save()

    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """`-v` names each koan's verdict: FAILED (blank), FAILED (wrong), ..."""
        if report.when != "call" or not report.failed:
            return None
        koan = self.koans_by_nodeid.get(report.nodeid)
        verdict = self.standing.verdicts.get(koan.key) if koan else None
        if verdict is None:
            return None
        return "failed", "F", (f"FAILED ({verdict.outcome.value})", {"red": True})

    def pytest_enter_pdb(self) -> None:
        """A learner in the debugger is not stuck: the guard stops watching this koan."""
        self.guard.done()

    # -- the end ------------------------------------------------------------------------------

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest's --sw stops a run by raising its own `Interrupted`: that is no Ctrl-C, and
        # neither is a test's `pytest.exit()`.
        if excinfo.typename == "Exit":
            self.standing.exited = True
        elif excinfo.typename != "Interrupted":
            self.standing.interrupted = True

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """After pytest's own summary: keep the history, draw the screen, agree on the status."""
        try:
            yield
        finally:
            self.guard.stop()
            self.ledger.running(None)
            self.ledger.save()
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.standing.stopped_early = str(session.shouldstop or session.shouldfail or "")
        from dagster_koans.screen import draw

        status = self.standing.exit_status(int(session.exitstatus), self.options.hint)
        try:
            draw(self.config, self.options, self.standing, status)
        except KeyboardInterrupt:
            sys.stdout.write(f"\n{INTERRUPTED_LINE}\n")
            self.standing.interrupted = True
            status = pytest.ExitCode.INTERRUPTED
        except Exception as error:  # a bug of ours: one plain line, never a wrong screen
            sys.stderr.write(
                f"dagster-koans: the koans plugin failed while drawing the screen "
                f"({type(error).__name__}: {error}). Please report it; `--koans-off` runs "
                "plain pytest meanwhile.\n"
            )
            status = pytest.ExitCode.INTERNAL_ERROR
        session.exitstatus = self.exitstatus = int(status)

    def pytest_internalerror(self) -> None:
        sys.stderr.write(
            "dagster-koans: the koans plugin failed inside pytest (INTERNALERROR above). "
            "Please report it with that output; `--koans-off` runs plain pytest meanwhile.\n"
        )

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """Restore the signals; end at once after Ctrl-C, or when a koan left a thread running."""
        if self.interrupts is not None:
            self.interrupts.stop()
        if self._dagster_home is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = self._dagster_home
        if self.config.invocation_params.plugins:
            return  # pytest.main() called with plugins of its own (a test harness): return to it
        left = [
            t.name
            for t in threading.enumerate()
            if not t.daemon and t is not threading.main_thread()
        ]
        if left:
            sys.stdout.write(
                f"A koan left a thread running ({', '.join(left)}): the run ends without it.\n"
            )
        if self.exitstatus is not None and (left or self.standing.interrupted):
            # Unwinding Dagster's large heap takes seconds on a busy machine; nothing is left to do.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(self.exitstatus)


def time_limit(item: pytest.Item) -> float | None:
    """The seconds pytest-timeout gives this item, from its closest timeout mark."""
    marker = item.get_closest_marker("timeout")
    if marker is None:
        return None
    seconds = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    return float(seconds) if seconds else None


def raised_by(file: Path, error: BaseException) -> bool:
    """True when `error` was raised by a line of `file` itself, not in anything it called."""
    frames = list(traceback.walk_tb(error.__traceback__))
    return bool(frames) and Path(frames[-1][0].f_code.co_filename) == file


def version_salt() -> str:
    """What every koan's outcome also depends on: Python, Dagster, and the blanks and fixtures."""
    from importlib.metadata import version

    from dagster_koans import blanks, fixtures

    own = (Path(module.__file__).read_text(encoding="utf-8") for module in (blanks, fixtures))
    return digest(str(sys.version_info[:2]), version("dagster"), *own)
