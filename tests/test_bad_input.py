"""Bad learner input is normal input: the run ends promptly, explains itself, and loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from daemon import PATIENCE

from conftest import (
    DAGSTER_LESSON,
    fill,
    junit_properties,
    record_shipped,
    screen,
    solve,
    write_lesson,
)

# A run whose koans must finish gets a limit no busy machine reaches; the short limits below
# belong to the tests about a limit.
ROOMY = ("-o", "koans_timeout=120")


def lines(result: pytest.RunResult) -> list[str]:
    return [line.rstrip() for line in result.outlines]


def text(result: pytest.RunResult) -> str:
    return "\n".join(lines(result))


def screen_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in lines(result) if line.strip()]


def test_a_koan_that_never_returns_is_stopped_and_the_run_goes_on(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 2\n    while True:\n        pass")
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest_subprocess("koans/", "-o", "koans_timeout=1", timeout=PATIENCE)
    assert result.ret == 1
    assert "Stopped after 1.0 seconds: the koan did not finish." in text(result)
    assert " + 02 words       1/1" in lines(result)


def test_ctrl_c_ends_the_run_with_one_calm_line(two_lessons: pytest.Pytester) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 2\n    raise KeyboardInterrupt")
    result = two_lessons.runpytest_subprocess("koans/", *ROOMY, timeout=PATIENCE)
    assert result.ret == 2
    assert screen_lines(result)[-1] == (
        " Interrupted: the run stopped before the end. Run it again when ready."
    )
    assert "Traceback" not in text(result) + "\n".join(result.errlines)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("    total = 1 + 1", "  total = 1 + 1", 8, "Indentation error: unindent does not match"),
        (
            "from dagster_koans",
            "import no_such_module\nfrom dagster_koans",
            3,
            "ModuleNotFoundError: No module named 'no_such_module'",
        ),
        (
            "from dagster_koans",
            "X = undefined_name\nfrom dagster_koans",
            3,
            "NameError: name 'undefined_name' is not defined",
        ),
    ],
    ids=["indentation", "import", "name"],
)
def test_a_file_that_does_not_import_is_named_with_its_line_and_other_lessons_count(
    two_lessons: pytest.Pytester, old: str, new: str, line: int, message: str
) -> None:
    solve(two_lessons, "02_words")
    fill(two_lessons, "01_arithmetic", old, new)
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert f"koans/01_arithmetic.py, line {line} does not import" in text(result)
    assert message in text(result)
    assert " + 02 words       1/1" in lines(result)


def test_a_file_not_saved_as_utf8_is_named_with_its_line(two_lessons: pytest.Pytester) -> None:
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    koan.write_bytes(koan.read_bytes().replace(b"One and one", b"Un et un font deux \xe9"))
    text_ = text(two_lessons.runpytest("koans/"))
    assert "koans/01_arithmetic.py, line 7 does not import" in text_
    assert "The file is not saved as UTF-8" in text_


def test_an_emptied_lesson_file_counts_its_koans_as_missing(two_lessons: pytest.Pytester) -> None:
    (two_lessons.path / "koans" / "01_arithmetic.py").write_text("")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert "0/3 koans" in text(result)
    assert "has no `def test_adding` any more" in text(result)


def test_a_renamed_lesson_file_leaves_its_lesson_missing_and_the_total_unchanged(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "01_arithmetic")
    koans = two_lessons.path / "koans"
    (koans / "01_arithmetic.py").rename(koans / "01_arithmetic_mine.py")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert "0/3 koans" in text(result)
    assert "koans/01_arithmetic.py is missing (deleted or renamed?)" in text(result)


def test_extra_and_duplicated_tests_never_change_the_total(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "01_arithmetic")
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    source = koan.read_text()
    extra = "\n\ndef test_mine() -> None:\n    assert False\n"
    duplicate = "\n\ndef test_adding() -> None:\n    assert 1 == 2\n"
    koan.write_text(source + extra + duplicate)
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert "1/3 koans" in text(result)
    assert "koans/01_arithmetic.py:22 -- test_adding" in text(result)  # Python keeps the last


def test_a_koan_that_exits_prints_or_moves_around_leaves_the_next_koan_alone(
    two_lessons: pytest.Pytester,
) -> None:
    chaos = (
        "total == 2\n"
        "    import os, sys\n"
        "    print('x' * 5_000_000)\n"
        "    open('litter.txt', 'w').write('x')\n"
        "    os.environ['KOAN_SECRET'] = '1'\n"
        "    os.chdir('/')\n"
        "    sys.exit(3)"
    )
    fill(two_lessons, "01_arithmetic", "total == __", chaos)
    calm = (
        "3 * 2 == 6\n"
        "    import os\n"
        "    assert 'KOAN_SECRET' not in os.environ\n"
        "    assert os.getcwd() != '/'"
    )
    fill(two_lessons, "01_arithmetic", "3 * 2 == __", calm)
    result = two_lessons.runpytest_subprocess("koans/", *ROOMY, timeout=PATIENCE)
    assert result.ret == 1
    assert "  SystemExit: 3" in lines(result)
    assert " > 01 arithmetic  1/2 <- you are here" in lines(result)
    assert len(result.outlines) < 40


@pytest.mark.parametrize(
    ("misuse", "refused"),
    [
        ("total += __", True),
        ("[x for x in __]", True),
        ("assert __", True),
        ("assert total == __()", True),
        ("__.x = 1", True),
        ("__ = 2", False),  # no use: a new name that hides the blank, found in the source
    ],
)
def test_any_use_of_an_empty_blank_is_a_blank_still_empty(
    two_lessons: pytest.Pytester, misuse: str, refused: bool
) -> None:
    fill(two_lessons, "01_arithmetic", "assert total == __", misuse)
    result = two_lessons.runpytest("koans/", "--koans-fresh", "--junitxml=out.xml")
    assert "The blank on line 9 is still empty." in text(result)
    adding = junit_properties(two_lessons.path / "out.xml")["test_adding"]
    assert (adding["koan"], adding["blank_reason"]) == ("blank", "used" if refused else "source")


# Dagster runs in a subprocess: pytester's in-process runs forget imported modules between
# runs, and Dagster does not survive being imported twice in one process.
def test_a_wrong_type_given_to_dagster_shows_dagsters_error_in_plain_words(
    project: pytest.Pytester,
) -> None:
    write_lesson(project, "01_config", DAGSTER_LESSON)
    fill(project, "01_config", "config: __", "config: Settings")
    fill(project, "01_config", "cron_schedule=__", 'cron_schedule="every day at six"')
    result = project.runpytest_subprocess("koans/", *ROOMY, timeout=PATIENCE)
    assert "  Line 28 raised an error:" in lines(result)
    assert any(line.startswith("  DagsterInvalidDefinitionError: ") for line in lines(result))
    assert "Traceback" not in text(result)


def test_hint_on_a_finished_path_is_a_usage_error(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("solutions/", "--hint")
    assert result.ret == 4
    assert "every koan of this run is solved" in "\n".join(result.errlines)


def test_reset_keeps_a_backup_and_asks_before_replacing_answers(
    two_lessons: pytest.Pytester,
) -> None:
    record_shipped(two_lessons)
    shipped = (two_lessons.path / "koans" / "01_arithmetic.py").read_text()
    solve(two_lessons, "01_arithmetic")
    mine = (two_lessons.path / "koans" / "01_arithmetic.py").read_text()

    asked = two_lessons.runpytest("koans/", "--reset", "01")
    assert asked.ret == 4
    assert "holds your answers" in text(asked)
    assert (two_lessons.path / "koans" / "01_arithmetic.py").read_text() == mine

    done = two_lessons.runpytest("koans/", "--reset", "01", "--yes")
    assert done.ret == 0
    assert (two_lessons.path / "koans" / "01_arithmetic.py").read_text() == shipped
    backups = list((two_lessons.path / ".koans" / "backups").glob("01_arithmetic.*.py"))
    assert [b.read_text() for b in backups] == [mine]


def test_reset_needs_no_git_and_ignores_committed_answers(
    two_lessons: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_shipped(two_lessons)
    shipped = (two_lessons.path / "koans" / "01_arithmetic.py").read_text()
    for command in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *command], cwd=two_lessons.path, check=True)
    solve(two_lessons, "01_arithmetic")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "my answers"],
        cwd=two_lessons.path,
        check=True,
    )
    monkeypatch.setenv("PATH", "")  # no git to ask
    done = two_lessons.runpytest("koans/", "--reset", "01", "--yes")
    assert done.ret == 0, text(done)
    assert (two_lessons.path / "koans" / "01_arithmetic.py").read_text() == shipped


def test_two_resets_in_one_second_keep_both_backups(two_lessons: pytest.Pytester) -> None:
    record_shipped(two_lessons)
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    for answer in ("first", "second"):
        koan.write_text(koan.read_text() + f"\n# {answer}\n")
        assert two_lessons.runpytest("koans/", "--reset", "01", "--yes").ret == 0
    backups = sorted((two_lessons.path / ".koans" / "backups").glob("01_arithmetic.*.py"))
    assert sorted(b.read_text().splitlines()[-1] for b in backups) == ["# first", "# second"]


def test_a_koan_stuck_in_c_code_is_ended_named_and_remembered(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 2\n    sum(range(10**14))")
    result = two_lessons.runpytest_subprocess("koans/", "-o", "koans_timeout=1", timeout=PATIENCE)
    said = text(result) + "\n".join(result.errlines)
    assert "Stopped: koans/01_arithmetic.py::test_adding did not finish" in said
    again = two_lessons.runpytest_subprocess("koans/", "-o", "koans_timeout=1", timeout=PATIENCE)
    assert again.ret == 1
    assert "Last time this koan never finished and the run had to be ended." in screen(again)
    assert "ended abruptly" not in text(again)  # the guard already said why


def test_a_koan_that_leaves_a_thread_running_does_not_keep_the_run_alive(
    two_lessons: pytest.Pytester,
) -> None:
    lingering = (
        "total == 2\n"
        "    import threading, time\n"
        "    threading.Thread(target=time.sleep, args=(600,), name='forgotten').start()"
    )
    fill(two_lessons, "01_arithmetic", "total == __", lingering)
    result = two_lessons.runpytest_subprocess("koans/", *ROOMY, timeout=PATIENCE)
    assert result.ret == 1
    assert "A koan left a thread running (forgotten): the run ends without it." in text(result)


def test_a_run_ended_by_os_exit_is_named_by_the_next_run(two_lessons: pytest.Pytester) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 2\n    import os\n    os._exit(0)")
    two_lessons.runpytest_subprocess("koans/", *ROOMY, timeout=PATIENCE)
    result = two_lessons.runpytest_subprocess("koans/", *ROOMY, timeout=PATIENCE)
    assert (
        "koans: The previous run ended abruptly while koans/01_arithmetic.py::test_adding was "
        "running (os._exit, a crash, or the process was killed): its screen was never drawn."
    ) in lines(result)


def test_a_lesson_saved_with_a_byte_order_mark_imports(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "02_words")
    koan = two_lessons.path / "koans" / "02_words.py"
    koan.write_bytes(b"\xef\xbb\xbf" + koan.read_bytes())
    result = two_lessons.runpytest("koans/")
    assert " + 02 words       1/1" in screen(result)
    assert "does not import" not in screen(result)


def test_a_file_a_koan_writes_to_a_relative_path_never_lands_in_the_project(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 2\n    open('litter.txt', 'w')")
    two_lessons.runpytest("koans/")
    assert not (two_lessons.path / "litter.txt").exists()
    assert not list(two_lessons.path.rglob("litter.txt"))


@pytest.mark.parametrize("raised", ["SystemExit", "KeyboardInterrupt"])
def test_a_lesson_that_exits_while_imported_is_named_with_its_line(
    two_lessons: pytest.Pytester, raised: str
) -> None:
    solve(two_lessons, "02_words")
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    koan.write_text(koan.read_text() + f"\nraise {raised}\n")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert "koans/01_arithmetic.py, line 16 does not import" in screen(result)
    assert f"The file raises {raised} while it is imported: remove that line." in screen(result)
    assert " + 02 words       1/1" in screen(result)
    assert "INTERNALERROR" not in text(result)


def test_an_error_whose_message_cannot_be_shown_is_still_told_at_its_line(
    two_lessons: pytest.Pytester,
) -> None:
    broken = (
        "total == 2\n"
        "    class Odd(Exception):\n"
        "        def __str__(self):\n"
        "            raise ValueError('no')\n"
        "    raise Odd()"
    )
    fill(two_lessons, "01_arithmetic", "total == __", broken)
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert "  Line 13 raised an error:" in screen(result)
    assert "Odd: (its message could not be shown: ValueError in __str__)" in screen(result)
    assert "INTERNALERROR" not in text(result)


def test_colour_codes_never_reach_the_panel_cut_in_half(two_lessons: pytest.Pytester) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 'x' * 200")
    result = two_lessons.runpytest("koans/", "--color=yes")
    drawn = screen(result)
    assert "Not yet: the assertion on line 9 failed." in drawn
    import re

    assert not re.search(r"\x1b(?!\[[0-9;]*m)", drawn)  # every escape is whole


@pytest.mark.parametrize(
    "once", [["--reset", "01", "--yes"], ["--compare", "01"], ["--hint"], ["--collect-only"]]
)
def test_options_that_act_once_are_refused_with_watch(
    two_lessons: pytest.Pytester, once: list[str]
) -> None:
    result = two_lessons.runpytest("koans/", "--watch", *once)
    assert result.ret == 4
    assert f"{once[0]} acts once and cannot go with --watch" in "\n".join(result.errlines)


SPINNING_ASSET = '''
    """Spinning."""

    import os
    import time

    import dagster as dg
    from dagster._utils.interrupts import capture_interrupts

    from dagster_koans import __


    def test_spinning_in_an_asset(instance: dg.DagsterInstance) -> None:
        """An asset that never ends, inside a Dagster run."""

        @dg.asset
        def spin() -> None:
            open(os.environ["STARTED"], "w").close()
            while True:
                time.sleep(0.01)

        assert dg.materialize([spin], instance=instance).success is «True»


    def test_spinning_where_dagster_only_notes_a_signal() -> None:
        """Dagster's own framework code, between steps, only notes a signal and goes on."""
        with capture_interrupts():
            open(os.environ["STARTED"], "w").close()
            while «True»:
                time.sleep(0.01)
    '''


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("where", ["in_an_asset", "where_dagster_only_notes_a_signal"])
def test_ctrl_c_inside_a_dagster_run_stops_the_run_at_once(
    project: pytest.Pytester, signal_name: str, where: str
) -> None:
    import signal
    import time

    write_lesson(project, "01_spin", SPINNING_ASSET)
    fill(project, "01_spin", "success is __", "success is True")
    fill(project, "01_spin", "while __", "while True")
    started = project.path / "started"
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", f"koans/01_spin.py::test_spinning_{where}"]
        + ["-o", f"koans_timeout={6 * PATIENCE}"],
        cwd=project.path,
        env={**os.environ, "STARTED": str(started)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + PATIENCE
        while not started.exists():
            assert process.poll() is None, (
                f"the run ended ({process.returncode}) before the asset started"
            )
            assert time.monotonic() < deadline, f"the asset did not start within {PATIENCE} s"
            time.sleep(0.1)
        process.send_signal(getattr(signal, signal_name))
        try:  # Dagster alone would spin until the limit: an hour, far past this bound
            out, _ = process.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run did not end within {PATIENCE} s of {signal_name}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2, out
    assert out.rstrip().endswith(
        " Interrupted: the run stopped before the end. Run it again when ready."
    )
    assert "DagsterExecutionInterruptedError" not in out
