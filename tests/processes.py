"""A koans run as a real pytest process: its own temporary folder, its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from daemon import PATIENCE

from conftest import ROOT


class Run:
    """A pytest process in a project, with its own temporary folder and session."""

    def __init__(self, project: pytest.Pytester, *args: str) -> None:
        self.tmp = project.path.parent / f"{project.path.name}-tmp"
        self.tmp.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *args],
            cwd=project.path,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),  # this checkout's plugin, as pytester's own runs get
                "TMPDIR": str(self.tmp),
                "STARTED": str(project.path / "go"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a process group, as a terminal's Ctrl-C and Ctrl-Z reach
        )

    def wait_for(self, file: Path) -> None:
        """Until the run has made `file` (a koan saying it has started)."""
        self._until(lambda: file.exists(), f"the run to make {file.name}")

    def signal(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def wait_until_stopped(self) -> None:
        """Until the kernel shows the run as stopped (state T), as a shell's Ctrl-Z leaves it."""
        stat = Path(f"/proc/{self.process.pid}/stat")
        self._until(
            lambda: stat.read_text().rpartition(")")[2].split()[0] == "T",
            "the kernel to show the run stopped (state T)",
        )

    def _until(self, happened: Callable[[], bool], what: str) -> None:
        """Poll for `happened`; if the run ends first or the bound passes, kill it and fail with
        what was awaited and the end of its output."""
        deadline = time.monotonic() + PATIENCE
        while not happened():
            if self.process.poll() is not None:
                reason = f"the run ended with {self.process.returncode}"
                break
            if time.monotonic() > deadline:
                reason = f"gave up after {PATIENCE} s"
                break
            time.sleep(0.05)
        else:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        out, _ = self.process.communicate()
        pytest.fail(f"{reason} waiting for {what}; its output ends:\n{out[-3000:]}")

    def end(self) -> tuple[int, str]:
        """Until the run ends; after PATIENCE, its group is killed and the test fails."""
        try:
            out, _ = self.process.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, _ = self.process.communicate()
            pytest.fail(
                f"gave up after {PATIENCE} s waiting for the run to end; it printed:\n{out[-3000:]}"
            )
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode, out

    def left_behind(self) -> list[str]:
        return sorted(path.name for path in self.tmp.iterdir())
