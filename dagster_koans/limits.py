"""Time limits, with one owner: each koan, and each lesson file's import, gets one limit.

The limit is pytest-timeout's when it has one (its mark, `--timeout`, `PYTEST_TIMEOUT`, the
`timeout` ini value: it hands it over through its `pytest_timeout_set_timer` hook), else the
plugin's `koans_timeout`; with pytest-timeout blocked (`-p no:timeout`) the plugin's still holds.
Over the limit, Python code is stopped as pytest-timeout stops it (the koan fails), without its
dump of every thread's stack. Code stuck in one long C call never gets back to Python: the guard
process (guard.py) then draws the screen with that koan stopped, and faulthandler's watchdog
(which needs no Python) ends the process with status 1 once the screen is out. Time spent
stopped (Ctrl-Z) does not count.
"""

from __future__ import annotations

import ast
import dataclasses
import faulthandler
import importlib
import os
import pickle
import shutil
import signal
import tempfile
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from dagster_koans.guard import GRACE, Guard
from dagster_koans.options import KoansOptions
from dagster_koans.progress import Standing
from dagster_koans.reading import Reading
from dagster_koans.screen import look_of
from dagster_koans.verdict import FileProblem, Outcome, Verdict

EARLY = 0.5  # seconds the run's watchdog waits (held by the guard) before the guard acts
STUCK = (
    "Stopped after {seconds} seconds: it never got back to Python (it is stuck",
    "inside one long call, such as a huge computation or a regular expression",
    "that never ends), so the run was ended here. Until you change it, the next",
    "run shows this koan as not finishing.",
)
DYNAMIC = ("verdicts", "problems", "own", "scope", "notes")  # what changes as the run goes


@dataclass(frozen=True)
class Armed:
    label: str  # what the learner sees: a node id, or a lesson file
    seconds: float
    key: str = "-"  # the koan's key and fingerprint, remembered as stuck if the guard ends it
    fingerprint: str = "-"


class Clock:
    """One limit armed at a time: Python's alarm, the guard, and faulthandler's watchdog."""

    def __init__(self, config: pytest.Config, options: KoansOptions, guard: Guard) -> None:
        self.config = config
        self.options = options
        self.guard = guard
        self.alarms = hasattr(signal, "SIGALRM")
        self.armed: Armed | None = None
        self.folder: Path | None = None  # the screen the guard draws for a koan stuck in C
        self._previous: dict[int, object] = {}

    def arm(self, armed: Armed, stuck: Standing) -> None:
        self.disarm()
        self._write_screen(stuck)
        self.config.get_terminal_writer().flush()  # nothing of pytest's is left unwritten
        self.armed = armed
        if self.alarms:
            self._previous = {
                signal.SIGALRM: signal.signal(signal.SIGALRM, self._alarm),
                signal.SIGTSTP: signal.signal(signal.SIGTSTP, self._pause),
            }
        self._start(armed.seconds)

    def _start(self, left: float) -> None:
        """Start the clocks with `left` seconds to go: Python's alarm, the guard, the watchdog."""
        assert self.armed is not None
        armed = self.armed
        self.guard.start(armed.label.replace(" ", "_"), left, armed.key, armed.fingerprint)
        hold = self.guard.hold
        if hold is not None:
            faulthandler.dump_traceback_later(max(0.1, left + GRACE - EARLY), file=hold, exit=True)
        if self.alarms:
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))

    def disarm(self) -> None:
        if self.armed is None:
            return
        self.armed = None
        if self.alarms:
            signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        self.guard.done()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous = {}

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        if self.armed is not None:
            __tracebackhide__ = True
            pytest.fail(f"Timeout (>{self.armed.seconds}s)", pytrace=False)

    def _pause(self, signum: int, frame: FrameType | None) -> None:
        """Ctrl-Z: stop the clocks, stop the process; `fg`: start them again where they were."""
        left = signal.setitimer(signal.ITIMER_REAL, 0)[0]
        faulthandler.cancel_dump_traceback_later()
        self.guard.done()
        os.kill(os.getpid(), signal.SIGSTOP)  # stopped here until SIGCONT (`fg`)
        if self.armed is not None:
            self._start(left)

    def _write_screen(self, stuck: Standing) -> None:
        """What the guard's drawer needs (stuck.py): the lessons once, what changed each time."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="dagster-koans-limits-"))
            self.guard.clean_up(self.folder)
            self.guard.screens(self.folder)
            with open(self.folder / "base.pickle", "wb") as file:
                pickle.dump((look_of(self.config), self.options, stuck), file)
        with open(self.folder / "now.pickle", "wb") as file:
            pickle.dump({name: getattr(stuck, name) for name in DYNAMIC}, file)

    def close(self) -> None:
        self.disarm()
        self.guard.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class TimeLimits:
    """Which limit each item and each lesson file's import gets (see the module's docstring)."""

    def __init__(
        self,
        config: pytest.Config,
        options: KoansOptions,
        reading: Reading,
        guard: Guard,
        standing_now: Callable[[], Standing],
    ) -> None:
        self.config = config
        self.options = options
        self.reading = reading
        self.standing_now = standing_now
        self.clock = Clock(config, options, guard)

    def default(self) -> float | None:
        """The limit of an item with no mark: pytest-timeout's own when it has one."""
        if self.config.pluginmanager.has_plugin("timeout"):
            given = (
                self.config.getoption("timeout", None)
                or os.environ.get("PYTEST_TIMEOUT")
                or self.config.getini("timeout")
            )
            if given:
                return float(given) or None
        return self.options.timeout

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """pytest-timeout arms an item with a timeout mark (a dbt koan sets a longer one)."""
        seconds = self.default()
        if not self.config.pluginmanager.has_plugin("timeout") or not seconds:
            return
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(seconds, func_only=True))

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_timeout_set_timer(self, item: pytest.Item, settings: object) -> bool:
        seconds = getattr(settings, "timeout", None)
        if seconds:
            self.arm_item(item, float(seconds))
        return True

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_timeout_cancel_timer(self) -> bool:
        self.clock.disarm()
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Without pytest-timeout, the plugin arms each koan's own code itself."""
        if self.config.pluginmanager.has_plugin("timeout") or self.reading.koan_for(item) is None:
            return (yield)
        seconds = time_limit(item) or self.options.timeout
        if not seconds:
            return (yield)
        self.arm_item(item, seconds)
        try:
            return (yield)
        finally:
            self.clock.disarm()

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Importing a lesson file is bounded too: an endless loop at its top level is stopped."""
        seconds = self.default()
        ours = isinstance(collector, pytest.Module) and self.reading.track.holds(collector.path)
        if not ours or not seconds:
            return (yield)
        stem = collector.path.stem
        scanned = self.reading.files.get(stem)
        import_libraries(scanned.lines if scanned is not None else ())
        standing = self.standing_now()
        problem = FileProblem(None, stuck_message(seconds, "file"))
        stuck = dataclasses.replace(standing, problems={**standing.problems, stem: problem})
        self.clock.arm(Armed(self.reading.track.shown(stem), seconds), stuck)
        try:
            return (yield)
        finally:
            self.clock.disarm()

    def arm_item(self, item: pytest.Item, seconds: float) -> None:
        """Arm a test's limit, with the screen as it is if the test never gets back to Python."""
        standing = self.standing_now()
        koan = self.reading.koan_for(item)
        if koan is None:
            self.clock.arm(Armed(item.nodeid, seconds), standing)
            return
        source = self.reading.files[koan.lesson].function(koan.name)
        line = source.first_line if source else None
        verdict = Verdict(Outcome.TIMEOUT, line, stuck_message(seconds, "koan"))
        stuck = dataclasses.replace(standing, verdicts={**standing.verdicts, koan.key: verdict})
        fingerprint = self.reading.fingerprint(koan) or "-"
        self.clock.arm(Armed(item.nodeid, seconds, koan.key, fingerprint), stuck)

    def pytest_enter_pdb(self) -> None:
        """A learner in the debugger is not stuck."""
        self.clock.disarm()

    def pytest_sessionfinish(self) -> None:
        self.clock.close()


def import_libraries(lines: tuple[str, ...]) -> None:
    """Import what a lesson file imports at its top level, before its own bound is armed:
    `import dagster` takes seconds on a busy machine, and is not the learner's code. Whatever
    fails here fails again in the file's own import, which tells it."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return
    for node in tree.body:
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:
                pass


def stuck_message(seconds: float, what: str) -> tuple[str, ...]:
    return tuple(line.format(seconds=seconds).replace("koan", what) for line in STUCK)


def time_limit(item: pytest.Item) -> float | None:
    """An item's limit from its own timeout mark, read as pytest-timeout would."""
    marker = item.get_closest_marker("timeout")
    if marker is None:
        return None
    seconds = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    return float(seconds) if seconds else None
