"""Each koan runs in a folder of its own, and what it does to the environment is undone.

The working folder is made when the session starts (never when the plugin is made, so a run
that blocks the plugin leaves nothing behind) and removed when it ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from dagster_koans.fixtures import freeze_heap
from dagster_koans.guard import Guard
from dagster_koans.reading import Reading


class Sandbox:
    def __init__(self, reading: Reading, guard: Guard) -> None:
        self.reading = reading
        self.guard = guard  # removes the folder if it has to end the run
        self.workdir: Path | None = None
        self._dagster_home: str | None = None
        # The heap is frozen for speed only in a process of its own: never inside a test of
        # another pytest run (the project's own tests run the koans in-process too). A run
        # inside a test deletes PYTEST_CURRENT_TEST as its own koans end, so a second run in the
        # same test looks for pytester's variable, set for the whole of the outer test.
        nested = {"PYTEST_CURRENT_TEST", "PYTEST_DEBUG_TEMPROOT"} & os.environ.keys()
        self._freeze = not nested
        self._frozen_after_setup = False

    def pytest_sessionstart(self) -> None:
        # Dagster keeps telemetry and a default instance under $DAGSTER_HOME (else ~/.dagster):
        # koans write neither into the learner's home nor into a DAGSTER_HOME of their own.
        self.workdir = Path(tempfile.mkdtemp(prefix="dagster-koans-"))
        self.guard.clean_up(self.workdir)
        self._dagster_home = os.environ.get("DAGSTER_HOME")
        os.environ["DAGSTER_HOME"] = str(self.workdir / "dagster_home")
        (self.workdir / "dagster_home").mkdir()

    def pytest_collection_finish(self) -> None:
        if self._freeze:
            freeze_heap()  # what collection imported

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        """After the first koan's fixtures: the shared Dagster instance is warm, freeze it too."""
        try:
            return (yield)
        finally:
            if self._freeze and not self._frozen_after_setup:
                self._frozen_after_setup = True
                freeze_heap()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        """A koan runs in a folder of its own (the learner's own tests where pytest runs them)."""
        cwd, environ = os.getcwd(), dict(os.environ)
        if self.workdir is not None and self.reading.koan_for(item) is not None:
            os.chdir(tempfile.mkdtemp(dir=self.workdir))
        try:
            return (yield)
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(environ)

    def pytest_sessionfinish(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pytest_unconfigure(self) -> None:
        if self.workdir is None:
            return
        if self._dagster_home is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = self._dagster_home
