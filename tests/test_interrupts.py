"""Ctrl-C, once or twice, and SIGTERM: the run stops at once with exit 2 and one calm line, no
traceback, its temporary folders gone and the history kept, even inside a Dagster run."""

from __future__ import annotations

import json
import signal
import time

import pytest
from processes import Run

from conftest import WORDS, solve, write_lesson

CALM = " Interrupted: the run stopped before the end. Run it again when ready."
# The signal ends these runs. The learner's 5 s limit could end them first on a busy machine;
# minutes cannot.
LIMIT = ("-o", "koans_timeout=120")

SPINNING = '''
    """Spinning."""

    import os
    import time

    import dagster as dg

    from dagster_koans import __


    def test_spinning_in_python() -> None:
        """A loop that never ends."""
        open(os.environ["STARTED"], "w").close()
        while «True»:
            time.sleep(0.01)


    def test_spinning_in_an_asset(instance: dg.DagsterInstance) -> None:
        """An asset that never ends, inside a Dagster run (Dagster catches signals there)."""

        @dg.asset
        def spin() -> None:
            open(os.environ["STARTED"], "w").close()
            while True:
                time.sleep(0.01)

        assert dg.materialize([spin], instance=instance).success is «True»
    '''

SIGNALS = {
    "ctrl_c": [signal.SIGINT],
    "ctrl_c_twice": [signal.SIGINT, signal.SIGINT],
    "sigterm": [signal.SIGTERM],
    "sigterm_twice": [signal.SIGTERM, signal.SIGTERM],
}


@pytest.mark.parametrize("signals", SIGNALS.values(), ids=SIGNALS.keys())
@pytest.mark.parametrize("where", ["in_python", "in_an_asset"])
def test_an_interrupt_ends_with_exit_2_one_calm_line_and_nothing_left_behind(
    project: pytest.Pytester, signals: list[int], where: str
) -> None:
    write_lesson(project, "01_spin", SPINNING)
    write_lesson(project, "02_words", WORDS)
    solve(project, "01_spin")
    solve(project, "02_words")
    status, _ = Run(project, "koans/02_words.py", *LIMIT).end()  # a koan solved before: history
    assert status == 0
    run = Run(project, f"koans/01_spin.py::test_spinning_{where}", "koans/02_words.py", *LIMIT)
    run.wait_for(project.path / "go")
    for number, signum in enumerate(signals):
        if number:
            time.sleep(0.3)  # the gap between two key presses, not a wait: any gap must do
        # Ctrl-C reaches the terminal's whole process group; SIGTERM is sent to one process.
        if signum == signal.SIGINT:
            run.signal(signum)
        else:
            run.process.send_signal(signum)
    status, out = run.end()
    assert status == 2, out
    assert [line for line in out.splitlines() if line.strip()][-1] == CALM
    assert "Traceback" not in out and "DagsterExecutionInterruptedError" not in out
    assert run.left_behind() == []
    ledger = json.loads((project.path / ".pytest_cache/v/dagster_koans/ledger").read_text())
    assert "02_words::test_joining" in ledger["passes"]


def test_ctrl_c_on_a_koan_stuck_in_c_code_is_answered_and_the_run_ends_at_its_limit(
    two_lessons: pytest.Pytester,
) -> None:
    """Python cannot answer Ctrl-C inside one long C call: the guard says so, and the run ends
    as a stuck koan's run ends (exit 1, the screen), never killed (137)."""
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    stuck = "total == 2\n    import os\n    open(os.environ['STARTED'], 'w').close()\n"
    koan.write_text(koan.read_text().replace("total == __", stuck + "    sum(range(10**14))"))
    # The guard answers Ctrl-C a second after it, before the limit: on a busy machine the signal
    # itself can come seconds after the koan started, so the limit leaves room for both.
    run = Run(two_lessons, "koans/", "-o", "koans_timeout=20")
    run.wait_for(two_lessons.path / "go")
    run.signal(signal.SIGINT)
    status, out = run.end()
    assert status == 1, out
    assert "Interrupted, but the koan is stuck inside one long call where Python cannot" in out
    assert "  Stopped after 20.0 seconds: it never got back to Python (it is stuck" in out
    assert run.left_behind() == []


def test_ctrl_c_in_a_loop_at_a_lessons_top_level_stops_the_run(
    two_lessons: pytest.Pytester,
) -> None:
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    loop = (
        "import os, time\nopen(os.environ['STARTED'], 'w').close()\nwhile True: time.sleep(0.01)\n"
    )
    koan.write_text(loop + koan.read_text())
    run = Run(two_lessons, "koans/", *LIMIT)
    run.wait_for(two_lessons.path / "go")
    run.signal(signal.SIGINT)
    status, out = run.end()
    assert status == 2, out
    assert [line for line in out.splitlines() if line.strip()][-1] == CALM
    assert "raises KeyboardInterrupt while it is imported" not in out
    assert "koans/01_arithmetic.py:3: KeyboardInterrupt" in out  # where it was stopped
    assert run.left_behind() == []
