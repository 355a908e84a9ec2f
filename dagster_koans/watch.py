"""Watch mode: a warm parent re-runs the path in a fresh child after every save in `koans/`.

The parent imports pytest, Dagster and the rest once, warms Dagster up, and never imports the
learner's koans itself (so their edits are always seen fresh). Each run happens in a forked
child; a save during a run cancels it and starts the next. Where fork is not available, each run
is a plain new pytest process.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from dagster_koans.history import CANCELLED
from dagster_koans.screen import WATCHING

QUIET_AFTER_SAVE = 0.03  # editors write, close and rename in bursts: wait for the burst to end
POLL_INTERVAL = 0.1


class Changes:
    """Saves, renames and deletions of Python files in one folder, as a queue."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._events: queue.Queue[str] = queue.Queue()
        self._stop: Callable[[], None] = self._start_observer() or self._start_polling()

    def _relevant(self, path: str | bytes) -> bool:
        name = os.fsdecode(path)
        return name.endswith(".py") and Path(name).parent == self.folder

    def _start_observer(self) -> Callable[[], None] | None:
        """Watch the folder, and its parent for the folder itself being deleted and made again
        (a `git checkout` or `git stash` may do that): the new folder is watched in turn."""
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
            from watchdog.observers.api import ObservedWatch
        except ImportError:
            return None
        changes = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                for path in (event.src_path, getattr(event, "dest_path", "")):
                    name = os.fsdecode(path) if path else ""
                    if name == str(changes.folder) and event.event_type in ("created", "moved"):
                        watching[0] = rewatch(watching[0])
                        changes._events.put(name)
                    elif name and changes._relevant(name):
                        changes._events.put(name)

        observer, handler = Observer(), Handler()
        observer.daemon = True

        def rewatch(old: ObservedWatch | None) -> ObservedWatch:
            """The folder was made again: the old watch died with the old folder."""
            if old is not None:
                try:
                    observer.unschedule(old)
                except KeyError:
                    pass  # already gone with its folder
            return observer.schedule(handler, str(changes.folder), recursive=False)

        watching: list[ObservedWatch | None] = [None]
        try:
            watching[0] = rewatch(None)
            observer.schedule(handler, str(self.folder.parent), recursive=False)
            observer.start()
        except OSError as error:  # e.g. the system's limit on inotify watches
            print(f"Watching by polling: the system's file watcher could not start ({error}).")
            return None

        def stop() -> None:
            observer.stop()
            observer.join(1)

        return stop

    def _start_polling(self) -> Callable[[], None]:
        import threading

        stopped = threading.Event()

        def poll() -> None:
            seen = self._stat()
            while not stopped.wait(POLL_INTERVAL):
                now = self._stat()
                for name in seen.keys() ^ now.keys() | {n for n in now if now[n] != seen.get(n)}:
                    self._events.put(name)
                seen = now

        threading.Thread(target=poll, daemon=True).start()
        return stopped.set

    def _stat(self) -> dict[str, tuple[int, int]]:
        found = {}
        for file in self.folder.glob("*.py"):
            try:
                stat = file.stat()
            except FileNotFoundError:
                continue
            found[str(file)] = (stat.st_mtime_ns, stat.st_size)
        return found

    def wait(self, timeout: float | None) -> bool:
        """True when a change came within `timeout`; the rest of its burst is swallowed."""
        try:
            self._events.get(timeout=timeout)
        except queue.Empty:
            return False
        while True:
            try:
                self._events.get(timeout=QUIET_AFTER_SAVE)
            except queue.Empty:
                return True

    def stop(self) -> None:
        self._stop()


def warm_up(workdir: Path) -> None:
    """Import and exercise what every run needs, once, before the first fork."""
    import sqlite3  # noqa: F401

    import pyarrow.parquet  # noqa: F401  the lessons store parquet files

    import dagster_koans.compare  # noqa: F401
    import dagster_koans.screen  # noqa: F401
    from dagster_koans import fixtures

    fixtures.prepare_instance(workdir)
    fixtures.freeze_heap()


def watch(config: pytest.Config) -> int:
    """Run the path, then again after every save, until Ctrl-C."""
    args = [arg for arg in config.invocation_params.args if arg != "--watch"]
    folder = config.rootpath / "koans"
    print("Warming up Dagster for watch mode…", flush=True)
    changes = Changes(folder)
    try:
        with tempfile.TemporaryDirectory(prefix="dagster-koans-watch-") as workdir:
            if hasattr(os, "fork"):
                warm_up(Path(workdir))
                run = run_forked
            else:
                run = run_fresh
            while True:
                while run(args, changes):
                    pass  # a save cancelled the run: start the next at once
                changes.wait(None)
    except KeyboardInterrupt:
        print("\nStopped watching. Bye for now.")
        return int(pytest.ExitCode.INTERRUPTED)
    finally:
        changes.stop()


def run_forked(args: Sequence[str], changes: Changes) -> bool:
    """One run in a forked child; True when a save cancelled it."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: one run, then gone without running the parent's clean-up
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        status = 1
        try:
            os.environ[WATCHING] = "1"
            if sys.stdout.isatty():
                sys.stdout.write("\x1b[2J\x1b[H")  # a clean screen for each run
            status = int(pytest.main(list(args)))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    try:
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return False
            if changes.wait(0.02):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                cancelled(pid)
                return True
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise


def cancelled(pid: int) -> None:
    """Tell the next runs that this one was ended on purpose, not by a crash in a koan."""
    os.environ[CANCELLED] = ",".join([*os.environ.get(CANCELLED, "").split(",")[-20:], str(pid)])


def run_fresh(args: Sequence[str], changes: Changes) -> bool:
    """One run in a new pytest process (where fork is not available); True when cancelled."""
    command = [sys.executable, "-m", "pytest", *args]
    child = subprocess.Popen(command, env={**os.environ, WATCHING: "1"})
    try:
        while child.poll() is None:
            if changes.wait(0.05):
                child.kill()
                child.wait()
                cancelled(child.pid)
                return True
        return False
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
