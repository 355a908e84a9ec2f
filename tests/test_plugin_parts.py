"""The plugin's parts stay out of the way of everything that is not a koans run."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from daemon import PATIENCE
from processes import Run

from conftest import ROOT, solve


def test_blocking_the_run_by_name_leaves_no_temporary_folder(two_lessons: pytest.Pytester) -> None:
    run = Run(two_lessons, "koans/", "-p", "no:dagster-koans-run")
    status, out = run.end()
    assert status == 1 and "Dagster Koans" not in out
    assert run.left_behind() == []


def test_a_koans_run_inside_the_projects_tests_leaves_their_heap_unfrozen(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    two_lessons.runpytest("koans/", "--koans-fresh")  # its koans' end clears PYTEST_CURRENT_TEST
    frozen = gc.get_freeze_count()
    result = two_lessons.runpytest("koans/", "--koans-fresh")
    assert " + 02 words       1/1" in [line.rstrip() for line in result.outlines]
    # A frozen object may still be freed (the count falls); a freeze adds thousands.
    assert gc.get_freeze_count() <= frozen


def test_importing_the_plugin_installs_no_signal_handler() -> None:
    probe = (
        "import signal, dagster_koans.plugin; "
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE
    )
    assert shown.stdout.strip() == "True", shown.stderr
