"""Watch mode: a warm parent, a fresh child per run, a save cancels a run, Ctrl-C ends it all."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from daemon import PATIENCE

from conftest import ROOT, solve

FOOTER = "Watching koans/"
ROOMY = ("-o", "koans_timeout=120")  # koans that must pass do, however busy the machine


class Watcher:
    """`pytest koans/ --watch` in a project, its screens read as they are drawn."""

    def __init__(
        self, folder: Path, args: tuple[str, ...] = ("koans/", "--watch", *ROOMY), **env: str
    ) -> None:
        self.output: list[str] = []
        self.screens = threading.Semaphore(0)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *args],
            cwd=folder,
            stdin=subprocess.DEVNULL,  # no terminal to read keys from: saves alone
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its runs in its group: a run left behind is ended with it
            # this checkout's plugin, not the one installed
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if FOOTER in line:
                self.screens.release()

    def next_screen(self) -> str:
        assert self.screens.acquire(timeout=PATIENCE), (
            f"no screen came within {PATIENCE} s; the watcher printed:\n" + "".join(self.output)
        )
        text = "".join(self.output)
        return text[text.rfind("Dagster Koans") :]

    def screen_with(self, text: str) -> str:
        """The first screen showing `text`, however many screens come before it."""
        deadline = time.monotonic() + PATIENCE
        while text not in (screen := self.next_screen()):
            assert time.monotonic() < deadline, (
                f"no screen showed {text!r} within {PATIENCE} s; the watcher printed:\n"
                + "".join(self.output)
            )
        return screen

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the watcher did not end within {PATIENCE} s of Ctrl-C")

    def kill(self) -> None:
        """End the watcher and any run of its still going (a run of a failed test)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def watcher(two_lessons: pytest.Pytester) -> Watcher:
    started = Watcher(two_lessons.path)
    yield started
    started.kill()


def test_a_save_draws_the_screen_again_and_ctrl_c_ends_it_calmly(
    two_lessons: pytest.Pytester, watcher: Watcher
) -> None:
    assert "0/3 koans" in watcher.next_screen()
    solve(two_lessons, "01_arithmetic")
    assert "2/3 koans" in watcher.next_screen()
    assert watcher.stop() == 2  # pytest's exit status for an interrupted run
    tail = "".join(watcher.output)
    assert tail.rstrip().endswith("Stopped watching. Bye for now.")
    assert "Traceback" not in tail and "KeyboardInterrupt" not in tail


def test_a_save_during_a_run_cancels_that_run(two_lessons: pytest.Pytester) -> None:
    # No limit stops the sleeping koan within the wait below: only a cancel lets a screen come.
    watcher = Watcher(
        two_lessons.path, ("koans/", "--watch", "-o", f"koans_timeout={10 * PATIENCE}")
    )
    try:
        watcher.next_screen()
        koan = two_lessons.path / "koans" / "02_words.py"
        solved = (two_lessons.path / "solutions" / "02_words.py").read_text()
        started = two_lessons.path / "started"
        sleeping = (
            f"open({str(started)!r}, 'w').close()\n    import time\n    time.sleep({10 * PATIENCE})"
        )
        koan.write_text(solved.replace("assert", f"{sleeping}\n    assert"))
        deadline = time.monotonic() + PATIENCE
        while not started.exists():  # that run has started, and sleeps
            assert time.monotonic() < deadline, (
                f"the run of the sleeping koan did not start within {PATIENCE} s:\n"
                + "".join(watcher.output)
            )
            time.sleep(0.05)
        solve(two_lessons, "02_words")
        screen = watcher.next_screen()  # the sleeping run would give none for hours
        assert "1/3 koans" in screen
        assert "ended abruptly" not in screen  # the watcher told the next run it ended that one
        assert watcher.stop() == 2
    finally:
        watcher.kill()


def test_the_watcher_never_imports_the_learners_koans_itself(
    two_lessons: pytest.Pytester, watcher: Watcher
) -> None:
    watcher.next_screen()
    koan = two_lessons.path / "koans" / "02_words.py"
    spy = "import os\nopen(f'imported-by-{os.getpid()}', 'w').close()\n"
    koan.write_text(spy + koan.read_text().replace("== __", '== "dagster"'))
    assert "1/3 koans" in watcher.next_screen()
    importers = {p.name for p in two_lessons.path.glob("imported-by-*")}
    assert importers and f"imported-by-{watcher.process.pid}" not in importers
    watcher.stop()


def test_ptw_finds_its_options_in_the_projects_config() -> None:
    code = (
        "from pytest_watch.config import merge_config\n"
        "args = {'--runner': None, '--ext': None, '--clear': False, '--nobeep': False}\n"
        "merge_config(args, ['--koans-off', '--collect-only', 'tests/test_watch.py'])\n"
        "print(sorted(args.items()))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip().splitlines()[-1] == (
        "[('--clear', True), ('--ext', '.py'), ('--nobeep', True), ('--runner', 'pytest')]"
    )


def test_a_koans_folder_deleted_and_made_again_is_still_watched(
    two_lessons: pytest.Pytester, watcher: Watcher
) -> None:
    assert "0/3 koans" in watcher.next_screen()
    koans = two_lessons.path / "koans"
    saved = {file.name: file.read_text() for file in koans.glob("*.py")}
    shutil.rmtree(koans)  # as `git checkout` of another branch may do
    watcher.next_screen()
    koans.mkdir()
    for name, source in saved.items():
        (koans / name).write_text(source)
    watcher.screen_with("0/3 koans")  # the watcher has seen the folder and its lessons again
    solve(two_lessons, "02_words")
    watcher.screen_with("1/3 koans")
    assert watcher.stop() == 2


def test_watch_in_pytest_addopts_makes_the_watcher_watch_and_its_runs_not(
    two_lessons: pytest.Pytester,
) -> None:
    watcher = Watcher(two_lessons.path, ("koans/", *ROOMY), PYTEST_ADDOPTS="--watch")
    try:
        assert "0/3 koans" in watcher.next_screen()
        solve(two_lessons, "02_words")
        assert "1/3 koans" in watcher.next_screen()
        assert watcher.stop() == 2
        assert "".join(watcher.output).count("Warming up Dagster") == 1
    finally:
        watcher.kill()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--pdb"], "--pdb cannot go with --watch"),
        (["--trace"], "--trace cannot go with --watch"),
        (["--koans-off"], "--koans-off cannot go with --watch"),
        (["--fixtures"], "--fixtures acts once and cannot go with --watch"),
        (["--watch-poll", "--spoilers"], "--spoilers acts once and cannot go with --watch"),
    ],
)
def test_options_that_take_the_terminal_or_the_screen_are_refused_with_watch(
    two_lessons: pytest.Pytester, args: list[str], said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a process of its own, bounded: a watcher that started would never end by itself.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = two_lessons.runpytest_subprocess("koans/", "--watch", *args, timeout=PATIENCE)
    assert result.ret == 4
    assert said in "\n".join(result.errlines)


def test_watch_watches_koans_and_refuses_another_folder(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("solutions/", "--watch-poll")
    assert result.ret == 4
    assert "--watch watches koans/: run it as pytest koans/ --watch" in "\n".join(result.errlines)
