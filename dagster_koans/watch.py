"""Watch mode: a warm parent re-runs the path in a fresh child after every save in `koans/`.

The parent imports pytest, Dagster and the libraries the lessons use once, warms Dagster up, and
never imports the learner's koans itself (so their edits are always seen fresh). Each run happens
in a forked child, handed what to show as a `Watched` plugin (see `watched.py`); a save or a key
during a run cancels it and starts the next. Where fork is not available, each run is a plain
new pytest process.

On a terminal the learner's keys work as in rustlings' watch mode: `h` the hint, `c` the lesson
just finished beside the master's answers, `r` run again now, `q` quit. The terminal is put in
cbreak mode for that (keys arrive without Enter, unechoed) and put back on every way out.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import io
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import FrameType

import pytest

from dagster_koans.watched import CLEAR_BELOW, HOME, Watched

QUIET_AFTER_SAVE = 0.01  # editors write, close and rename in bursts: wait for the burst to end
POLL_INTERVAL = 0.2  # seconds between two looks at the folder, with --watch-poll
SAVE, RUN, HINT, COMPARE, QUIT = "save", "r", "h", "c", "q"
KEYS = (RUN, HINT, COMPARE, QUIT)
OUR_FLAGS = ("--watch", "--watch-poll")


class Events:
    """Saves and key presses, in the order they came."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str] = queue.Queue()

    def put(self, event: str) -> None:
        self._queue.put(event)

    def next(self, timeout: float | None) -> str | None:
        """The next event within `timeout`; a burst of saves is one save, and a key pressed
        during the burst stands for both (every key but `q` runs the path again)."""
        try:
            event = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        while event == SAVE:
            try:
                event = self._queue.get(timeout=QUIET_AFTER_SAVE)
            except queue.Empty:
                return SAVE
        return event


class Changes:
    """Saves, renames and deletions of Python files in one folder, as events."""

    def __init__(self, folder: Path, events: Events, poll: bool) -> None:
        self.folder = folder
        self.events = events
        started = None if poll else self._start_observer()
        self._stop: Callable[[], None] = started or self._start_polling()

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
                        changes.events.put(SAVE)
                    elif name and changes._relevant(name):
                        changes.events.put(SAVE)

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
        stopped = threading.Event()

        def poll() -> None:
            seen = self._stat()
            while not stopped.wait(POLL_INTERVAL):
                now = self._stat()
                if now != seen:
                    self.events.put(SAVE)
                seen = now

        threading.Thread(target=poll, name="koans-poll", daemon=True).start()
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

    def stop(self) -> None:
        self._stop()


@contextmanager
def keys_of_the_terminal(events: Events) -> Iterator[bool]:
    """Read single keys from the learner's terminal while watching; yields False (and changes
    nothing) where stdin is no terminal or the system has no termios (Windows)."""
    try:
        import termios
        import tty
    except ImportError:
        yield False
        return
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError):  # not a terminal, or no file at all
        yield False
        return

    def restore() -> None:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    def suspend(signum: int, frame: FrameType | None) -> None:
        """Ctrl-Z: the shell gets its terminal back as it was; `fg` takes up the keys again."""
        restore()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, suspend)
        tty.setcbreak(fd, termios.TCSANOW)

    def read() -> None:
        while True:
            try:
                data = os.read(fd, 32)
            except OSError:
                return
            if not data:
                return
            for key in data.decode("utf-8", "replace").lower():
                if key in KEYS:
                    events.put(key)

    previous = signal.signal(signal.SIGTSTP, suspend)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        threading.Thread(target=read, name="koans-keys", daemon=True).start()
        yield True
    finally:
        restore()
        signal.signal(signal.SIGTSTP, previous)


def warm_up(root: Path, workdir: Path) -> None:
    """Import and exercise what every run needs, once, before the first fork: the libraries the
    lessons import (read from `solutions/` without importing it), Dagster's first run."""
    import sqlite3  # noqa: F401

    import pyarrow.parquet  # noqa: F401  the lessons store parquet files

    import dagster_koans.run  # noqa: F401  every part of a run, and what they import
    from dagster_koans import fixtures

    for name in libraries_imported(root / "solutions", root):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  a run will say what is wrong with it, if anything
            continue
    fixtures.prepare_instance(workdir)
    read_ahead(root)
    fixtures.freeze_heap()


def read_ahead(root: Path) -> None:
    """Read the path and the learner's files as text here, and draw a screen from them into
    nothing, so each forked run finds the files read (see `path.scan_file`), their digests made
    and rich's caches warm: only a file saved since is read again."""
    from rich.console import Console

    from dagster_koans.path import load_path
    from dagster_koans.progress import Standing
    from dagster_koans.reading import read_track
    from dagster_koans.render import render_screen
    from dagster_koans.track import Track

    path = load_path(root)
    track = Track(root, "koans")
    reading = read_track(track, path, ["[0-9][0-9]_*.py"])
    for lesson in path.lessons:
        for scanned in (lesson.solution, reading.files.get(lesson.stem)):
            if scanned is not None:
                scanned.module_fingerprint(reading.salt)
                for koan in lesson.koans:
                    scanned.fingerprint(koan.name, reading.salt)
    standing = Standing(path=path, track=track, files=reading.files, problems=reading.problems)
    for colour in (True, False):
        console = Console(
            file=io.StringIO(),
            width=shutil.get_terminal_size().columns,
            force_terminal=colour,
            no_color=not colour,
            color_system="standard" if colour else None,
        )
        console.print(render_screen(console, standing, "koans/"))


def libraries_imported(folder: Path, root: Path) -> list[str]:
    """Top-level modules the lesson files import that are installed libraries, not files of the
    project (so never the learner's code)."""
    names: set[str] = set()
    for file in sorted(folder.glob("[0-9][0-9]_*.py")):
        try:
            tree = ast.parse(file.read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    found = []
    for name in sorted(names):
        try:
            spec = importlib.util.find_spec(name.split(".")[0])
        except (ImportError, ValueError):
            continue
        origin = spec.origin if spec is not None else None
        if origin and origin not in ("built-in", "frozen"):
            if Path(origin).resolve().is_relative_to(root.resolve()):
                continue  # a file of the project: the learner may be editing it
        if spec is not None:
            found.append(name)
    return found


def watch(config: pytest.Config) -> int:
    """Run the path, then again after every save or key, until `q` or Ctrl-C."""
    args = [arg for arg in config.invocation_params.args if arg not in OUR_FLAGS]
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # the keys are read from stdin, which pytest's capture holds
        capture.suspend_global_capture(in_=True)
    root = config.rootpath
    events = Events()
    in_place = sys.stdout.isatty() and hasattr(os, "fork")
    print("Warming up Dagster for watch mode…", flush=True)
    changes = Changes(root / "koans", events, poll=bool(config.getoption("watch_poll", False)))
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    status = int(pytest.ExitCode.INTERRUPTED)
    forks: Forks | None = None
    try:
        with (
            tempfile.TemporaryDirectory(prefix="dagster-koans-watch-") as workdir,
            keys_of_the_terminal(events) as keys,
        ):
            if hasattr(os, "fork"):
                warm_up(root, Path(workdir))
                forks = Forks(args, root, in_place)
                run: Callable[[Watched, Events], tuple[str | None, int]] = forks.run
            else:
                run = partial(run_fresh, args)
            if in_place:
                sys.stdout.write(HOME + CLEAR_BELOW)
            shown = Watched(keys=keys, in_place=in_place)
            event: str | None = SAVE
            cancelled: list[int] = []
            while event != QUIT:
                shown = Watched(
                    cancelled=tuple(cancelled[-20:]),
                    keys=keys,
                    hint=event == HINT and not shown.hint,
                    compare=event == COMPARE and not shown.compare,
                    in_place=in_place,
                )
                event, pid = run(shown, events)
                if event is not None:
                    cancelled.append(pid)
                else:
                    event = events.next(None)
            status = int(pytest.ExitCode.OK)
    except KeyboardInterrupt:
        pass
    finally:
        changes.stop()
        if forks is not None:
            forks.stop()
        signal.signal(signal.SIGTERM, previous_term)
    print("\nStopped watching. Bye for now.", flush=True)
    return status


class Forks:
    """Runs in forked children, each forked ahead of its save: it parses the options, loads the
    plugins and conftests, then waits (see `Watched.pytest_configure`) for the word to go, so a
    save pays only for reading the lessons, the koans that must run, and the screen."""

    def __init__(self, args: Sequence[str], root: Path, in_place: bool) -> None:
        self.args, self.root, self.in_place = list(args), root, in_place
        self.ready: tuple[int, int] | None = None  # (pid, the pipe that tells it to go)

    def _fork(self) -> tuple[int, int]:
        read_ahead(self.root)
        waiting, go = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: one run, then gone without running the parent's clean-up
            os.close(go)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            status = 1
            try:
                watched = Watched(in_place=self.in_place, go=waiting)
                watched.keep_pytest_output_offscreen()
                status = int(pytest.main(self.args, plugins=[watched]))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        os.close(waiting)
        return pid, go

    def run(self, watched: Watched, events: Events) -> tuple[str | None, int]:
        """One run: the event that cancelled it (None when it ran to the end), and its pid."""
        pid, go = self.ready or self._fork()
        self.ready = None
        try:
            os.write(go, watched.word().encode())
        except BrokenPipeError:
            pass  # it ended before its word (an error in pytest's options): it said why
        os.close(go)
        try:
            while True:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                event = events.next(0.02)
                if event is not None:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return event, pid
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        self.ready = self._fork()  # the next run gets ready while the learner reads and types
        return None, pid

    def stop(self) -> None:
        if self.ready is not None:
            pid, go = self.ready
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(go)
            self.ready = None


def run_fresh(args: Sequence[str], watched: Watched, events: Events) -> tuple[str | None, int]:
    """One run in a new pytest process (where fork is not available)."""
    command = [sys.executable, "-m", "pytest", *args, watched.as_argument()]
    child = subprocess.Popen(command)
    try:
        while child.poll() is None:
            event = events.next(0.05)
            if event is not None:
                child.kill()
                child.wait()
                return event, child.pid
        return None, child.pid
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
