"""Ctrl-C and SIGTERM stop a koans run at once, even inside a Dagster run.

While Dagster executes, it replaces Python's SIGINT and SIGTERM handlers with its own, which
only note the signal; when the run then ends normally, the note is dropped and the learner's
Ctrl-C is lost. So the signal is also watched below Python's handlers, through
`signal.set_wakeup_fd`: a thread sees every SIGINT and SIGTERM, and when no handler of ours
raised `KeyboardInterrupt` for it shortly after, raises it in the main thread itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

GRACE = 0.2  # seconds for Python's own handling to act before the watcher does


class Interrupts:
    """Installed for one koans run (main thread only); `stop` puts everything back."""

    def __init__(self, heard: Callable[[], None]) -> None:
        self.heard = heard  # called once the run has answered a signal
        self._noticed = threading.Event()
        self._main = threading.main_thread().ident
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous = {
            signum: signal.signal(signum, self._handle)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="koans-interrupts", daemon=True).start()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._noticed.set()
        self.heard()
        raise KeyboardInterrupt

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data or 0 in data:  # stopped
                os.close(self._read)
                return
            if not set(self._previous) & set(data):
                continue
            if self._noticed.wait(GRACE):
                self._noticed.clear()
                continue
            # Someone else's handler (Dagster's) swallowed it: interrupt the main thread directly.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._main or 0), ctypes.py_object(KeyboardInterrupt)
            )
            self.heard()

    def stop(self) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        os.write(self._write, b"\0")  # wakes the watcher, which closes its end
        os.close(self._write)
