"""A guard process for code stuck where Python cannot interrupt it.

A time limit stops a koan between two Python lines; a koan stuck inside one long call in C
(`sum(range(10**13))`, a regular expression gone exponential) holds the interpreter and never
gets there, and neither does Ctrl-C. So a small second process watches each armed limit. When a
koan is still running `GRACE` seconds after its limit, the guard records it as never finishing,
draws the screen the run would have drawn (`python -m dagster_koans.stuck`, from the state
`limits.py` left), removes the run's temporary folders, and then lets the run end: the run's
faulthandler watchdog has been waiting to write into a pipe the guard holds full, and exits
the process with status 1 once the guard empties it.

The guard starts with the first armed limit and ends with the run (its pipe closes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

GRACE = 2.0  # seconds past the time limit before the guard acts
ANSWER = 5.0  # seconds Ctrl-C may go unanswered: a busy machine can take seconds to answer it
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # where the drawer imports dagster_koans

# The guard's own code: no imports beyond the standard library, nothing of the learner's.
GUARD = r"""
import signal, sys, time
interrupted_at = None
def on_interrupt(signum, frame):
    global interrupted_at
    interrupted_at = interrupted_at or time.monotonic()
# Born with Ctrl-C blocked (see Guard._start): handle it first, then take it.
# A watcher's run ignores Ctrl-C (the watcher answers it), and so does its guard.
signal.signal(signal.SIGINT, signal.SIG_IGN if sys.argv[4] == "ignore" else on_interrupt)
signal.signal(signal.SIGTERM, on_interrupt)
signal.signal(signal.SIGTSTP, signal.SIG_IGN)  # the run says when it is stopped (Ctrl-Z)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
import json, os, select, shutil, subprocess
parent, stuck_file, answer, mode, running_file, interrupted_line, hold, package = sys.argv[1:9]
parent, answer, hold = int(parent), float(answer), int(hold)
koan = None  # (label, key, fingerprint, deadline)
stuck_as = ("", "")  # (key, fingerprint) of the koan armed now, if it is one
screens = None  # the folder of the screen to draw
folders = []
told = False
def say(*lines):
    sys.stdout.write("\n" + "\n".join(lines) + "\n")
    sys.stdout.flush()
def clean_up():
    if running_file:
        try:
            os.unlink(running_file)  # said here: the next run need not say it ended abruptly
        except OSError:
            pass
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
def let_it_end():
    # The run's watchdog writes into the pipe held full here, then exits with status 1.
    end = time.monotonic() + 30
    while time.monotonic() < end:
        ready, _, _ = select.select([hold], [], [], 0.1)
        if ready and not os.read(hold, 65536):
            break
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            break
    sys.exit(0)
def stuck():
    label = koan[0]
    if stuck_file and stuck_as[0]:
        try:
            with open(stuck_file, encoding="utf-8") as handle:
                known = json.load(handle)
            known = known if isinstance(known, dict) else {}
        except (OSError, ValueError):
            known = {}
        known[stuck_as[0]] = stuck_as[1]
        with open(stuck_file, "w", encoding="utf-8") as handle:
            json.dump(known, handle)
    say(f" Stopped: {label} did not finish, and Python could not interrupt it.")
    # The drawer is born with Ctrl-C blocked: nothing stops the screen half drawn.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    if screens:
        env = {**os.environ, "PYTHONPATH": package}
        try:
            subprocess.run(
                [sys.executable, "-m", "dagster_koans.stuck", screens], env=env, timeout=60
            )
        except (OSError, subprocess.SubprocessError):
            pass
    clean_up()
    let_it_end()
buffer = b""
while True:
    now = time.monotonic()
    waits = [1.0]
    if koan:
        waits.append(koan[3] - now)
    if interrupted_at is not None and not told:
        waits.append(interrupted_at + answer - now)
    try:
        ready, _, _ = select.select([0], [], [], max(0.0, min(waits)))
    except InterruptedError:
        continue
    if ready:
        chunk = os.read(0, 65536)
        if not chunk:
            sys.exit(0)  # the run ended
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            word, _, rest = line.decode().partition(" ")
            if word == "start":
                seconds, key, fingerprint, label = rest.split(" ", 3)
                koan = (label, key, fingerprint, time.monotonic() + float(seconds))
                stuck_as = (key if key != "-" else "", fingerprint)
            elif word == "done":
                koan = None
            elif word == "heard":
                interrupted_at, told = None, False
            elif word == "screens":
                screens = rest
            elif word == "clean":
                folders.append(rest)
    now = time.monotonic()
    if koan and now >= koan[3]:
        stuck()
    if interrupted_at is not None and not told and now >= interrupted_at + answer:
        told = True
        if koan is None:  # nothing armed will end it: the last resort
            say(interrupted_line)
            clean_up()
            os.kill(parent, signal.SIGKILL)
            sys.exit(0)
        say(
            " Interrupted, but the koan is stuck inside one long call where Python cannot",
            f" stop it: {koan[0]} is stopped when its time limit is up.",
        )
"""


class Guard:
    """The run's side: tell the guard what is armed, until when."""

    def __init__(
        self, stuck_file: Path | None, running_file: Path | None, interrupted_line: str
    ) -> None:
        self.stuck_file = stuck_file
        self.running_file = running_file
        self.interrupted_line = interrupted_line
        self.hold: int | None = None  # the pipe the guard holds full (see limits.py)
        self._folders: list[Path] = []  # removed by the guard if it has to end the run
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()  # the interrupt watcher and signal handler speak too

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            held, self.hold = os.pipe()
            fill(self.hold)
            # Born with Ctrl-C blocked, so one pressed as it starts never kills it half-made.
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                self._process = self._spawn(held, ignored)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            os.close(held)
            for folder in self._folders:
                self._say(f"clean {folder}")
        return self._process

    def _spawn(self, held: int, ignored: bool) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                *(sys.executable, "-I", "-S", "-c", GUARD),
                *(str(os.getpid()), str(self.stuck_file or ""), str(ANSWER)),
                "ignore" if ignored else "answer",
                str(self.running_file or ""),
                self.interrupted_line,
                str(held),
                str(PACKAGE_ROOT),
            ],
            stdin=subprocess.PIPE,
            pass_fds=(held,),
        )

    def _say(self, line: str) -> None:
        with self._lock:
            process = self._start()
            assert process.stdin is not None
            try:
                process.stdin.write(line.encode() + b"\n")
                process.stdin.flush()
            except (BrokenPipeError, ValueError, RuntimeError):
                pass  # the guard is gone or stopped, or a signal came mid-write

    def start(self, label: str, seconds: float, key: str = "-", fingerprint: str = "-") -> None:
        self._say(f"start {seconds + GRACE} {key} {fingerprint} {label}")

    def done(self) -> None:
        if self._process is not None:
            self._say("done")

    def screens(self, folder: Path) -> None:
        self._say(f"screens {folder}")

    def clean_up(self, folder: Path) -> None:
        """A folder the guard removes if it has to end the run (told once the guard starts)."""
        self._folders.append(folder)
        if self._process is not None:
            self._say(f"clean {folder}")

    def heard_interrupt(self) -> None:
        """The run answered Ctrl-C itself: the guard need not end it."""
        if self._process is not None:
            self._say("heard")

    def stop(self) -> None:
        if self._process is not None and self._process.stdin is not None:
            with self._lock:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self.hold is not None:
            os.close(self.hold)
            self.hold = None


def fill(fd: int) -> None:
    """Fill a pipe to the brim, so the next write into it waits for the reader."""
    os.set_blocking(fd, False)
    for size in (4096, 1):
        try:
            while True:
                os.write(fd, b"\0" * size)
        except BlockingIOError:
            pass
    os.set_blocking(fd, True)
