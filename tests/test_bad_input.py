"""Bad learner input is normal input: the run ends promptly, explains itself, and loses nothing."""

from __future__ import annotations

import pytest

from conftest import DAGSTER_LESSON, solve, write_lesson


def lines(result: pytest.RunResult) -> list[str]:
    return [line.rstrip() for line in result.outlines]


def text(result: pytest.RunResult) -> str:
    return "\n".join(lines(result))


def screen_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in lines(result) if line.strip()]


def fill(project: pytest.Pytester, stem: str, old: str, new: str) -> None:
    koan = project.path / "koans" / f"{stem}.py"
    koan.write_text(koan.read_text().replace(old, new))


def test_a_koan_that_never_returns_is_stopped_and_the_run_goes_on(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 2\n    while True:\n        pass")
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest_subprocess("koans/", "-o", "koans_timeout=1", timeout=60)
    assert result.ret == 1
    assert "Stopped after 1.0 seconds: the koan did not finish." in text(result)
    assert " + 02 words       1/1" in lines(result)


def test_ctrl_c_ends_the_run_with_one_calm_line(two_lessons: pytest.Pytester) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 2\n    raise KeyboardInterrupt")
    result = two_lessons.runpytest_subprocess("koans/", timeout=60)
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
    result = two_lessons.runpytest_subprocess("koans/", timeout=60)
    assert result.ret == 1
    assert "  SystemExit: 3" in lines(result)
    assert " > 01 arithmetic  1/2 <- you are here" in lines(result)
    assert len(result.outlines) < 40


@pytest.mark.parametrize(
    "misuse",
    ["__ = 2", "total += __", "[x for x in __]", "assert __", "assert total == __()", "__.x = 1"],
)
def test_any_use_of_an_empty_blank_is_a_blank_still_empty(
    two_lessons: pytest.Pytester, misuse: str
) -> None:
    fill(two_lessons, "01_arithmetic", "assert total == __", misuse)
    result = two_lessons.runpytest("koans/", "--koans-fresh")
    assert "The blank on line 9 is still empty." in text(result)


# Dagster runs in a subprocess: pytester's in-process runs forget imported modules between
# runs, and Dagster does not survive being imported twice in one process.
def test_a_wrong_type_given_to_dagster_shows_dagsters_error_in_plain_words(
    project: pytest.Pytester,
) -> None:
    write_lesson(project, "01_config", DAGSTER_LESSON)
    fill(project, "01_config", "config: __", "config: Settings")
    fill(project, "01_config", "cron_schedule=__", 'cron_schedule="every day at six"')
    result = project.runpytest_subprocess("koans/")
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
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=two_lessons.path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=two_lessons.path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "shipped"],
        cwd=two_lessons.path,
        check=True,
    )
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
    assert f"Your copy is kept at .koans/backups/{backups[0].name}" in text(done)
