"""The plumbing of the tests that prove Dagster's deployed behaviour with real processes.

Each of those tests writes a temporary `DAGSTER_HOME` (a `dagster.yaml`, telemetry off) and a
project with the `workspace.yaml` that loads it, starts `dagster-daemon` (or the webserver, or a
Dagster command) from the venv with `HOME` in the temporary folder, waits with a deadline for what
it expects, and stops what it started: SIGTERM to the process group, then SIGKILL. Each process
starts in a process group of its own, so the code server it starts goes with it. Nothing listens
on a network address but loopback: the daemon talks to its code server through a local socket.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

VENV_BIN = Path(sys.executable).parent
T = TypeVar("T")

# How long a test waits for one thing a Dagster process does (a daemon and its code server up, a
# tick, a run, a webserver's answer, a CLI command): minutes, since a machine with both cores busy
# is 5-10x slower than a quiet one. A passing test goes on as soon as the thing happens.
PATIENCE = 600.0

TELEMETRY_OFF = "telemetry:\n  enabled: false\n"
WORKSPACE_YAML = """
load_from:
  - python_file:
      relative_path: {file_name}
      location_name: {location_name}
"""


def write_home(home: Path, instance_yaml: str = "") -> Path:
    """Make `home` a `DAGSTER_HOME` whose `dagster.yaml` is `instance_yaml` with telemetry off."""
    settings = textwrap.dedent(instance_yaml).strip()
    if "telemetry:" in settings:
        raise ValueError("write_home turns telemetry off itself")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(f"{settings}\n{TELEMETRY_OFF}".lstrip())
    return home


def write_project(
    folder: Path, source: str, file_name: str = "project.py", location_name: str = "deployed"
) -> Path:
    """Write the project `source` into `folder` and the `workspace.yaml` that loads it; return
    the workspace's path."""
    (folder / file_name).write_text(textwrap.dedent(source))
    workspace = folder / "workspace.yaml"
    workspace.write_text(WORKSPACE_YAML.format(file_name=file_name, location_name=location_name))
    return workspace


def environment(home: Path, folder: Path, *, inherit: bool = True, **extra: str) -> dict[str, str]:
    """The environment of a Dagster process on `home`, with `HOME` in the temporary `folder`.

    With `inherit`, the test's own environment underneath; without, only a `PATH` to the venv and
    the system's tools.
    """
    system_path = f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"
    base = dict(os.environ) if inherit else {"PATH": system_path}
    return {**base, "DAGSTER_HOME": str(home), "HOME": str(folder), **extra}


def dagster_daemon(*target: str) -> list[str]:
    """The command that runs every daemon on the code `target` (`-w workspace.yaml`, `-f x.py`)."""
    return [str(VENV_BIN / "dagster-daemon"), "run", *target]


def start(
    command: Sequence[str], folder: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """Start `command` in `folder` in a process group of its own, its output into `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            list(command),
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its code server and runs go with it
        )


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Ask the process group of `process` to stop, give it `grace` seconds, then kill what is
    left of the group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        process.wait(timeout=60)
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)  # a killed group ends at once; a loaded machine reaps it late


@contextmanager
def running(
    command: Sequence[str], folder: Path, env: dict[str, str], log: Path, grace: float = 10.0
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` started as `start` does, and stopped as `stop` does when the block ends."""
    process = start(command, folder, env, log)
    try:
        yield process
    finally:
        stop(process, grace)


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    seconds: float,
    log: Path,
    process: subprocess.Popen[bytes] | None = None,
) -> T:
    """Poll `probe` until it returns something truthy; fail with the end of `log` if the deadline
    passes first, or if `process` (when given) has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        if process is not None and process.poll() is not None:
            reason = f"{process.args[0]} ended with {process.returncode}"
            break
        time.sleep(0.5)
    else:
        reason = f"gave up after {seconds} s"
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    pytest.fail(f"{reason} waiting for {what}; its log ends:\n{tail}")


@dataclass(frozen=True)
class Site:
    """A temporary folder laid out for a daemon: its home, a project and its workspace, a log."""

    folder: Path
    home: Path
    workspace: Path
    log: Path

    @classmethod
    def write(
        cls,
        folder: Path,
        instance_yaml: str,
        project: str,
        file_name: str = "project.py",
        location_name: str = "deployed",
    ) -> Site:
        """Write the home and the project into `folder`, as `write_home` and `write_project` do."""
        home = write_home(folder / "dagster_home", instance_yaml)
        workspace = write_project(folder, project, file_name, location_name)
        return cls(folder, home, workspace, folder / "daemon.log")

    def environment(self, **extra: str) -> dict[str, str]:
        """The test's environment for a Dagster process on this site, with `extra` variables."""
        return environment(self.home, self.folder, **extra)

    def daemon(
        self, grace: float = 10.0, **extra: str
    ) -> AbstractContextManager[subprocess.Popen[bytes]]:
        """`dagster-daemon` running on the workspace for the block, its output into the log."""
        command = dagster_daemon("-w", str(self.workspace))
        return running(command, self.folder, self.environment(**extra), self.log, grace)

    def wait_for(self, what: str, probe: Callable[[], T | None], seconds: float) -> T:
        """`wait_for` with this site's log."""
        return wait_for(what, probe, seconds, self.log)
