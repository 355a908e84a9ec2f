"""Ctrl-C and SIGTERM stop a koans run at once, even inside a Dagster run.

While Dagster executes, it replaces Python's SIGINT and SIGTERM handlers with its own, which
only note the signal; when the run then ends normally, the note is dropped and the learner's
Ctrl-C is lost. So the signal is also watched below Python's handlers, through
`signal.set_wakeup_fd`: a thread sees every SIGINT and SIGTERM, and when no handler of ours
raised `KeyboardInterrupt` for it shortly after, raises it in the main thread itself.

Every path asks this one owner: the first Ctrl-C or SIGTERM stops the run (pytest's exit 2,
one calm line); any later one, or one that comes while the run is already ending, is only
noted, so it never breaks the ending in half (a raw traceback, a folder left behind).
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from collections.abc import Callable, Generator
from types import FrameType

import pytest

from dagster_koans.verdict import is_interrupt

GRACE = 0.2  # seconds for Python's own handling to act before the watcher does
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """The run's one owner of Ctrl-C and SIGTERM: installed when the plugin is configured (main
    thread only), put back when pytest unconfigures."""

    def __init__(self, heard: Callable[[], None]) -> None:
        self.heard = heard  # called once the run has answered a signal
        self.interrupted = False  # Ctrl-C or SIGTERM stopped the run
        self.exited = False  # a test called `pytest.exit()`: its status stands
        self._answered = False  # a KeyboardInterrupt was raised for a signal already
        self._ending = False  # the session is finishing: a signal only marks the run
        self._noticed = threading.Event()
        self._main = threading.main_thread().ident
        self._previous: dict[int, object] = {}
        self._previous_fd = -1
        self._pipe: tuple[int, int] | None = None

    def pytest_configure(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        read, write = self._pipe = os.pipe()
        os.set_blocking(write, False)
        self._previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}
        self._previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        threading.Thread(
            target=self._watch, args=(read,), name="koans-interrupts", daemon=True
        ).start()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True  # pytest names the line it stopped, never this one
        self._noticed.set()
        self.heard()
        if self._answer():
            raise KeyboardInterrupt

    @property
    def answered(self) -> bool:
        """True once a signal stopped the run: a KeyboardInterrupt now is the learner's Ctrl-C."""
        return self._answered or self.interrupted

    def _answer(self) -> bool:
        """True when this signal is to stop the run now (the first, before the run ends)."""
        if self._answered or self._ending:
            self.interrupted = True
            return False
        self._answered = True
        return True

    def _watch(self, read: int) -> None:
        while True:
            try:
                data = os.read(read, 64)
            except OSError:
                return
            if not data or 0 in data:  # stopped
                os.close(read)
                return
            if not set(SIGNALS) & set(data):
                continue
            if self._noticed.wait(GRACE):
                self._noticed.clear()
                continue
            self.heard()
            if self._answer():
                # Someone else's handler (Dagster's) swallowed it: interrupt the main thread.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._main or 0), ctypes.py_object(KeyboardInterrupt)
                )

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        error = call.excinfo.value if call.excinfo is not None else None
        if error is not None and is_interrupt(error) and not isinstance(error, KeyboardInterrupt):
            raise KeyboardInterrupt  # Dagster turned Ctrl-C into a failed step: stop the run
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self) -> Generator[None, None, None]:
        self._ending = True
        return (yield)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest's --sw stops a run by raising its own `Interrupted`: that is no Ctrl-C, and
        # neither is a test's `pytest.exit()`.
        if excinfo.typename == "Exit":
            self.exited = True
        elif excinfo.typename != "Interrupted":
            self.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """Puts the signals back (after `EndScreen` ended an interrupted run, if it does)."""
        if self._pipe is None:
            return
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        _, write = self._pipe
        os.write(write, b"\0")  # wakes the watcher, which closes its end
        os.close(write)
        self._pipe = None
