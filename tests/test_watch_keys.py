"""Watch mode on a real terminal: one screen redrawn in place, the keys under it, polling.

Each watcher runs on a pseudo-terminal of its own (its controlling terminal, so Ctrl-C typed
there reaches it as on a learner's machine), WIDTH columns wide.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import FIRST_PANEL, ROOT, WIDTH, solve

HOME, CLEAR_BELOW = "\x1b[H", "\x1b[J"
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
ERASE = re.compile(r"\x1b\[K")
FOOTER = "Watching koans/"
WAIT = 90  # seconds for any one screen on a loaded machine


class OnTerminal:
    """`pytest koans/ --watch ...` on a pseudo-terminal, its output read as it comes."""

    def __init__(self, folder: Path, *args: str, **env: str) -> None:
        self.leader, self.follower = pty.openpty()
        fcntl.ioctl(self.follower, termios.TIOCSWINSZ, struct.pack("HHHH", 60, WIDTH, 0, 0))
        self.before = termios.tcgetattr(self.follower)
        environment = {
            **os.environ,
            "COLUMNS": str(WIDTH),
            "TERM": "xterm-256color",
            "PYTHONPATH": str(ROOT),  # this checkout's plugin, not the one installed
            **env,
        }
        for name in ("CI", "NO_COLOR", "FORCE_COLOR", "PY_COLORS", "PYTEST_ADDOPTS"):
            if name not in env:
                environment.pop(name, None)

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "koans/", "--watch", *args],
            cwd=folder,
            stdin=self.follower,
            stdout=self.follower,
            stderr=self.follower,
            env=environment,
            preexec_fn=controlling_terminal,
        )
        self._output = bytearray()
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._changed:
                self._output += chunk
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return self._output.decode("utf-8", "replace")

    def screens(self) -> list[str]:
        """Every screen drawn in place so far, as plain text (colour and line erasing taken out)."""
        drawn = self.output.replace("\r\n", "\n").split(HOME)[1:]
        plain = (ERASE.sub("", COLOUR.sub("", part.split(CLEAR_BELOW)[0])) for part in drawn)
        return ["".join(f"{line.rstrip()}\n" for line in part.splitlines()) for part in plain]

    def next_screen(self, after: int, showing: str = FOOTER) -> str:
        """The first screen after the first `after` ones that shows `showing`."""
        deadline = time.monotonic() + WAIT
        with self._changed:
            while True:
                found = [s for s in self.screens()[after:] if showing in s and FOOTER in s]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, f"no screen showing {showing!r} came:\n{self.output}"
                self._changed.wait(left)

    def count(self) -> int:
        return len(self.screens())

    def press(self, keys: str) -> None:
        os.write(self.leader, keys.encode())

    def wait(self) -> int:
        return self.process.wait(WAIT)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.follower)
        os.close(self.leader)


@pytest.fixture
def on_terminal(two_lessons: pytest.Pytester) -> Iterator[list[OnTerminal]]:
    started: list[OnTerminal] = []
    yield started
    for terminal in started:
        terminal.close()


def start(
    project: pytest.Pytester, started: list[OnTerminal], *args: str, **env: str
) -> OnTerminal:
    terminal = OnTerminal(project.path, *args, **env)
    started.append(terminal)
    return terminal


KEYS_PLAIN = " Watching koans/ -- h hint, c compare, r run again, q quit"
KEYS_FANCY = " Watching koans/ ── h hint · c compare · r run again · q quit"


def test_the_screen_is_redrawn_in_place_with_the_keys_under_it(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal, NO_COLOR="1")
    first = terminal.next_screen(0)
    assert first == (
        " Dagster Koans -- the path to enlightenment\n"
        " [----------------------------------------]  0/3 koans  0%\n"
        "\n"
        " > 01 arithmetic  0/2 <- you are here\n"
        "   02 words       0/1\n"
        "\n" + FIRST_PANEL + "\n"
        f"{KEYS_PLAIN}\n"
    )
    assert "collected" not in terminal.output  # pytest's own lines stay off the screen
    solve(two_lessons, "01_arithmetic")
    second = terminal.next_screen(1, showing="2/3 koans")
    assert "0/3 koans" not in second  # only the current state
    terminal.press("q")
    assert terminal.wait() == 0


def test_a_terminal_with_colour_gets_the_keys_in_its_own_glyphs(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal)
    assert terminal.next_screen(0).endswith(f"{KEYS_FANCY}\n")
    assert "\x1b[" in terminal.output.split(HOME)[-1].replace(CLEAR_BELOW, "")
    terminal.press("q")
    assert terminal.wait() == 0


def test_h_shows_the_hint_for_the_koan_on_screen_and_h_again_hides_it(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal, NO_COLOR="1")
    assert "Hint:" not in terminal.next_screen(0)
    terminal.press("h")
    hinted = terminal.next_screen(1, showing="Hint:")
    assert "  Hint: Think about test_adding.\n" in hinted
    assert hinted.endswith(" Watching koans/ -- h hide the hint, c compare, r run again, q quit\n")
    after = terminal.count()
    terminal.press("h")
    assert "Hint:" not in terminal.next_screen(after, showing="Stuck?")
    terminal.press("q")
    assert terminal.wait() == 0


def test_c_shows_the_lesson_just_finished_beside_the_masters_answers(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal, NO_COLOR="1")
    terminal.next_screen(0)
    terminal.press("c")
    none_yet = terminal.next_screen(1, showing="No lesson finished")
    assert "  No lesson finished just now: c shows a lesson beside" in none_yet
    after = terminal.count()
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    koan.write_text(koan.read_text().replace("== __", "== 1 + 1", 1).replace("== __", "== 6", 1))
    terminal.next_screen(after, showing="2/3 koans")
    after = terminal.count()
    terminal.press("c")
    compared = terminal.next_screen(after, showing="beside")
    assert " koans/01_arithmetic.py  beside  solutions/01_arithmetic.py" in compared
    assert "== 1 + 1" in compared and "== 2" in compared
    assert compared.endswith(
        " Watching koans/ -- h hint, c back to the path, r run again, q quit\n"
    )
    terminal.press("q")
    assert terminal.wait() == 0


def test_r_runs_again_now_and_sees_a_save_the_watcher_missed(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal, "--watch-poll", NO_COLOR="1")
    terminal.next_screen(0, showing="0/3 koans")
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    stat = koan.stat()
    # A change of the same size, its time put back: no poll can see it (as on some network
    # drives, where the file's time is coarse).
    koan.write_text(koan.read_text().replace("total == __", "total ==  3"))
    os.utime(koan, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    time.sleep(2)  # several polls, none of which saw it
    assert not any("Not yet" in screen for screen in terminal.screens())
    terminal.press("r")
    seen = terminal.next_screen(1, showing="Not yet")
    assert "  Not yet: the assertion on line 9 failed.\n" in seen
    terminal.press("q")
    assert terminal.wait() == 0


def test_q_quits_and_puts_the_terminal_back_as_it_was(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal)
    terminal.next_screen(0)
    during = termios.tcgetattr(terminal.follower)
    assert not during[3] & (termios.ICANON | termios.ECHO)  # keys come one by one, unechoed
    terminal.press("q")
    assert terminal.wait() == 0
    assert termios.tcgetattr(terminal.follower) == terminal.before
    assert terminal.output.rstrip().endswith("Stopped watching. Bye for now.")


def test_ctrl_c_quits_calmly_and_puts_the_terminal_back_as_it_was(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal)
    terminal.next_screen(0)
    terminal.press("\x03")  # the terminal sends SIGINT to the watcher's process group
    assert terminal.wait() == 2
    assert termios.tcgetattr(terminal.follower) == terminal.before
    tail = terminal.output
    assert tail.rstrip().endswith("Stopped watching. Bye for now.")
    assert "Traceback" not in tail and "KeyboardInterrupt" not in tail


def test_sigterm_puts_the_terminal_back_as_it_was(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal]
) -> None:
    terminal = start(two_lessons, on_terminal)
    terminal.next_screen(0)
    terminal.process.terminate()
    assert terminal.wait() == 2
    assert termios.tcgetattr(terminal.follower) == terminal.before


def inotify_watches(pid: int) -> int:
    """How many inotify instances the process holds (Linux shows each as anon_inode:inotify)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd) == "anon_inode:inotify"
        except OSError:
            continue
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("poll", [True, False], ids=["--watch-poll", "file events"])
def test_watch_poll_sees_saves_without_the_systems_file_events(
    two_lessons: pytest.Pytester, on_terminal: list[OnTerminal], poll: bool
) -> None:
    terminal = start(two_lessons, on_terminal, *(["--watch-poll"] if poll else []))
    terminal.next_screen(0)
    assert (inotify_watches(terminal.process.pid) == 0) is poll
    solve(two_lessons, "02_words")
    assert "1/3 koans" in terminal.next_screen(1, showing="1/3 koans")
    terminal.press("q")
    assert terminal.wait() == 0
