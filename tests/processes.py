"""A koans run as a real pytest process: its own temporary folder, its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
        deadline = time.monotonic() + 120
        while not file.exists():
            assert self.process.poll() is None, self.process.communicate()[0]
            assert time.monotonic() < deadline, f"{file.name} never appeared"
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def wait_until_stopped(self) -> None:
        """Until the kernel shows the run as stopped (state T), as a shell's Ctrl-Z leaves it."""
        stat = Path(f"/proc/{self.process.pid}/stat")
        deadline = time.monotonic() + 60
        while stat.read_text().rpartition(")")[2].split()[0] != "T":
            assert time.monotonic() < deadline, "the run never stopped"
            time.sleep(0.05)

    def end(self) -> tuple[int, str]:
        try:
            out, _ = self.process.communicate(timeout=120)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode, out

    def left_behind(self) -> list[str]:
        return sorted(path.name for path in self.tmp.iterdir())
