"""Time limits: a koan over its limit is stopped and named, the run ends as pytest ends a failing
run (exit 1, the screen drawn), whichever limit applies and wherever the koan is stuck.

Each run is a real pytest process (as pytest-timeout's own tests run theirs), bounded in time,
with a temporary folder of its own, so that what a run leaves behind can be seen.
"""

from __future__ import annotations

import signal
import time

import pytest
from processes import Run

from conftest import solve
from dagster_koans.guard import GRACE

STUCK_IN_C = "total == 2\n    sum(range(10**14))"  # one C call that never returns to Python
PYTHON_LOOP = "total == 2\n    print('still counting')\n    while True:\n        pass"
LIMITS = {
    "koans_timeout": ["-o", "koans_timeout=1"],
    "pytest_timeout_option": ["--timeout=1"],
    "pytest_timeout_blocked": ["-p", "no:timeout", "-o", "koans_timeout=1"],
}


def fill(project: pytest.Pytester, stem: str, old: str, new: str) -> None:
    koan = project.path / "koans" / f"{stem}.py"
    koan.write_text(koan.read_text().replace(old, new))


@pytest.mark.parametrize("limit", LIMITS.values(), ids=LIMITS.keys())
def test_a_koan_stuck_in_c_code_ends_the_run_with_exit_1_and_the_screen_naming_it(
    two_lessons: pytest.Pytester, limit: list[str]
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", STUCK_IN_C)
    run = Run(two_lessons, "koans/", *limit)
    status, out = run.end()
    assert status == 1, out
    assert "Stopped: koans/01_arithmetic.py::test_adding did not finish" in out
    assert " Dagster Koans" in out and "  Stopped after 1.0 seconds: it never got back to" in out
    assert "Killed" not in out and "Traceback" not in out
    assert run.left_behind() == []
    status, again = Run(two_lessons, "koans/", *limit).end()
    assert status == 1
    assert "Last time this koan never finished and the run had to be ended." in again


@pytest.mark.parametrize("limit", LIMITS.values(), ids=LIMITS.keys())
def test_a_plain_python_loop_is_stopped_and_shows_what_it_printed_not_a_stack_dump(
    two_lessons: pytest.Pytester, limit: list[str]
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", PYTHON_LOOP)
    solve(two_lessons, "02_words")
    run = Run(two_lessons, "koans/", *limit)
    status, out = run.end()
    assert status == 1, out
    assert "  Stopped after 1.0 seconds: the koan did not finish." in out
    what_it_printed = out.split("What the koan printed to stdout:")[1]
    assert what_it_printed.splitlines()[1:2] == ["    still counting"]
    assert "Stack of" not in out and "koans-interrupts" not in out and "+ Timeout +" not in out
    assert " + 02 words       1/1" in out  # the run went on after it
    assert run.left_behind() == []


def test_an_endless_loop_at_a_lessons_top_level_is_stopped_naming_file_and_line(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "from dagster_koans", "while True: pass\nfrom dagster_koans")
    run = Run(two_lessons, "koans/", "-o", "koans_timeout=1")
    status, out = run.end()
    assert status == 1, out
    assert "koans/01_arithmetic.py, line 3 does not import, so none of its koans can run:" in out
    assert "Importing the file did not finish within 1.0 seconds: it was stopped" in out
    assert "   02 words       0/1" in out  # the other lesson still counts
    assert run.left_behind() == []


def test_time_spent_stopped_with_ctrl_z_does_not_count(two_lessons: pytest.Pytester) -> None:
    # The koan's only work is waiting for the test to let it go on, after `fg`: its running time
    # is a few seconds at most, far within the limit, however busy the machine.
    limit = 20.0
    go_on = two_lessons.path / "go-on"
    waiting = (
        "total == 2\n"
        "    import os, time\n"
        "    open(os.environ['STARTED'], 'w').close()\n"
        f"    while not os.path.exists({str(go_on)!r}):\n"
        "        time.sleep(0.05)"
    )
    fill(two_lessons, "01_arithmetic", "total == __", waiting)
    run = Run(two_lessons, "koans/01_arithmetic.py::test_adding", "-o", f"koans_timeout={limit}")
    run.wait_for(two_lessons.path / "go")
    started = time.monotonic()  # the limit was armed before this
    run.signal(signal.SIGTSTP)
    run.wait_until_stopped()
    # Stopped until a clock that counted it would have run out, the guard's grace included.
    while time.monotonic() < started + limit + GRACE + 1:
        time.sleep(0.1)
    go_on.touch()
    run.signal(signal.SIGCONT)
    status, out = run.end()
    assert status == 0, out
    assert "Stopped" not in out
    assert " > 01 arithmetic  1/2 <- you are here" in out


def test_a_library_slow_to_import_does_not_count_against_a_lessons_import(
    two_lessons: pytest.Pytester,
) -> None:
    """`import dagster` takes seconds on a busy machine: only the lesson's own code is bounded."""
    (two_lessons.path / "slow_library.py").write_text("import time\n\ntime.sleep(3)\n")
    fill(
        two_lessons,
        "01_arithmetic",
        "from dagster_koans",
        "import slow_library\nfrom dagster_koans",
    )
    solve(two_lessons, "02_words")
    status, out = Run(two_lessons, "koans/", "-o", "koans_timeout=1").end()
    assert status == 1, out
    assert "does not import" not in out
    assert "  The blank on line 10 is still empty." in out
