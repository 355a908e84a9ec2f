"""A guard process that ends a run stuck where Python cannot interrupt it.

pytest-timeout stops a koan between two Python lines; a koan stuck inside one long call in C
(`sum(range(10**12))`, a regular expression gone exponential) holds the interpreter and never
gets there, and neither does Ctrl-C. So a small second process watches each koan: when one is
still running a few seconds after its time limit, or Ctrl-C got no answer within a second, the
guard names the koan, records it as never finishing, and ends the run.

The guard is started with the first koan that has a time limit; it ends with the run (its pipe
closes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

GRACE = 3.0  # seconds past the time limit before the guard acts
ANSWER = 1.0  # seconds Ctrl-C may go unanswered

# The guard's own code: no imports beyond the standard library, nothing of the learner's.
GUARD = r"""
import json, os, select, signal, sys, time
parent, stuck_file, answer = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
running_file = sys.argv[5]
koan = None  # (nodeid, key, fingerprint, deadline)
interrupted_at = None
def on_interrupt(signum, frame):
    global interrupted_at
    interrupted_at = time.monotonic()
# A watcher's run ignores Ctrl-C (the watcher answers it), and so does its guard.
signal.signal(signal.SIGINT, signal.SIG_IGN if sys.argv[4] == "ignore" else on_interrupt)
signal.signal(signal.SIGTERM, on_interrupt)
def end(lines):
    sys.stderr.write("\n" + "\n".join(lines) + "\n")
    sys.stderr.flush()
    try:
        os.kill(parent, signal.SIGKILL)
    except ProcessLookupError:
        pass
    sys.exit(0)
buffer = b""
while True:
    now = time.monotonic()
    waits = [1.0]
    if koan:
        waits.append(koan[3] - now)
    if interrupted_at is not None:
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
                seconds, nodeid, key, fingerprint = rest.split(" ", 3)
                koan = (nodeid, key, fingerprint, time.monotonic() + float(seconds))
            elif word == "done":
                koan = None
            elif word == "heard":
                interrupted_at = None
    now = time.monotonic()
    if koan and now >= koan[3] and stuck_file:
        try:
            with open(stuck_file, encoding="utf-8") as handle:
                stuck = json.load(handle)
            stuck = stuck if isinstance(stuck, dict) else {}
        except (OSError, ValueError):
            stuck = {}
        stuck[koan[1]] = koan[2]
        with open(stuck_file, "w", encoding="utf-8") as handle:
            json.dump(stuck, handle)
    if koan and now >= koan[3]:
        try:
            os.unlink(running_file)  # said here: the next run need not say it ended abruptly
        except OSError:
            pass
        end([
            f" Stopped: {koan[0]} did not finish, and Python could not interrupt it",
            " (it is stuck inside one long call, such as a huge computation or a regular",
            " expression that never ends). The run was ended here; the next run shows this",
            " koan as not finishing until you change it.",
        ])
    if interrupted_at is not None and now >= interrupted_at + answer:
        try:
            os.unlink(running_file)  # said here: the next run need not say it ended abruptly
        except OSError:
            pass
        end([sys.argv[6]])
"""


class Guard:
    """The parent's side: tell the guard which koan runs, until when."""

    def __init__(
        self, stuck_file: Path | None, running_file: Path | None, interrupted_line: str
    ) -> None:
        self.stuck_file = stuck_file
        self.running_file = running_file
        self.interrupted_line = interrupted_line
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()  # the interrupt watcher and signal handler speak too

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            self._process = subprocess.Popen(
                [
                    *(sys.executable, "-I", "-S", "-c", GUARD),
                    *(str(os.getpid()), str(self.stuck_file or ""), str(ANSWER)),
                    "ignore" if ignored else "answer",
                    str(self.running_file or ""),
                    self.interrupted_line,
                ],
                stdin=subprocess.PIPE,
                close_fds=True,
            )
        return self._process

    def _say(self, line: str) -> None:
        with self._lock:
            process = self._start()
            assert process.stdin is not None
            try:
                process.stdin.write(line.encode() + b"\n")
                process.stdin.flush()
            except (BrokenPipeError, ValueError, RuntimeError):
                pass  # the guard is gone or stopped, or a signal came mid-write

    def start(self, nodeid: str, key: str, fingerprint: str, seconds: float) -> None:
        self._say(f"start {seconds + GRACE} {nodeid.replace(' ', '_')} {key} {fingerprint}")

    def done(self) -> None:
        if self._process is not None:
            self._say("done")

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
