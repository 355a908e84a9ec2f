"""pytest stays pytest: its flags and exit codes do what pytest documents, the screen is added."""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from daemon import PATIENCE

from conftest import DAGSTER_LESSON, fill, output_above_screen, screen, solve, write_lesson


def text(result: pytest.RunResult) -> str:
    return "\n".join(line.rstrip() for line in result.outlines)


@pytest.fixture
def one_right_one_wrong_one_solved(project: pytest.Pytester) -> pytest.Pytester:
    """Koan 1 right, koan 2 wrong (it prints first), koan 3 solved: the classic -x trap."""
    write_lesson(
        project,
        "01_steps",
        '''
        """Steps."""

        from dagster_koans import __


        def test_one() -> None:
            """One."""
            assert 1 == «1»


        def test_two() -> None:
            """Two."""
            print("looking at two")
            assert 2 == «2»


        def test_three() -> None:
            """Three."""
            assert 3 == «3»
        ''',
    )
    for old, new in (("1 == __", "1 == 1"), ("2 == __", "2 == 5"), ("3 == __", "3 == 3")):
        fill(project, "01_steps", old, new)
    return project


def test_the_projects_own_tests_get_plain_pytest(two_lessons: pytest.Pytester) -> None:
    two_lessons.makepyfile(test_own="def test_ok():\n    assert True\n")
    result = two_lessons.runpytest("test_own.py")
    result.assert_outcomes(passed=1)
    assert "Dagster Koans" not in text(result)


@pytest.mark.parametrize("off", [["--koans-off"], ["-p", "no:dagster_koans.plugin"]])
def test_koans_off_or_the_plugin_disabled_gives_plain_pytest(
    two_lessons: pytest.Pytester, off: list[str]
) -> None:
    result = two_lessons.runpytest("koans/", *off)
    result.assert_outcomes(failed=3)
    assert "Dagster Koans" not in text(result)


@pytest.mark.parametrize("args", [["koans/"], ["solutions/"], ["koans/01_arithmetic.py"]])
def test_collect_only_lists_every_koan_id_and_exits_0(
    two_lessons: pytest.Pytester, args: list[str]
) -> None:
    solve(two_lessons, "02_words")
    two_lessons.runpytest("koans/")  # remembered passes must not hide koans from an editor
    result = two_lessons.runpytest(*args, "--collect-only", "-q")
    assert result.ret == 0
    track = args[0].split("/")[0]
    expected = [
        f"{track}/01_arithmetic.py::test_adding",
        f"{track}/01_arithmetic.py::test_multiplying",
    ]
    if not args[0].endswith(".py"):
        expected.append(f"{track}/02_words.py::test_joining")
    assert [line for line in result.outlines if "::" in line] == expected
    assert "Dagster Koans" not in text(result)


@pytest.mark.parametrize("flag", [["-x"], ["--maxfail=1"], ["--sw"]])
def test_stopping_early_shows_the_failing_koan_and_says_the_run_stopped(
    one_right_one_wrong_one_solved: pytest.Pytester, flag: list[str]
) -> None:
    result = one_right_one_wrong_one_solved.runpytest("koans/", *flag)
    assert result.ret == 1
    drawn = screen(result)
    assert "koans/01_steps.py:14 -- test_two" in drawn
    assert "  Not yet: the assertion on line 14 failed." in drawn
    assert " The run stopped early (" in drawn
    assert "1/3 koans" in drawn  # koan 3 did not run: not counted
    assert "Interrupted" not in drawn


def test_verbose_lists_each_koan_that_ran_with_its_verdict(
    one_right_one_wrong_one_solved: pytest.Pytester,
) -> None:
    result = one_right_one_wrong_one_solved.runpytest("koans/", "-v")
    listed = [line for line in result.outlines if line.startswith("koans/01_steps.py::")]
    assert [line.split(" [")[0].rstrip() for line in listed] == [
        "koans/01_steps.py::test_one PASSED",
        "koans/01_steps.py::test_two FAILED (wrong)",
        "koans/01_steps.py::test_three PASSED",
    ]


def test_quiet_keeps_the_panel_and_one_progress_line(
    one_right_one_wrong_one_solved: pytest.Pytester,
) -> None:
    drawn = screen(one_right_one_wrong_one_solved.runpytest("koans/", "-q"))
    assert "01 steps" not in drawn  # no table of lessons
    assert "2/3 koans" in drawn and "-- test_two" in drawn


def test_what_a_failing_koan_printed_is_shown_under_its_panel(
    one_right_one_wrong_one_solved: pytest.Pytester,
) -> None:
    result = one_right_one_wrong_one_solved.runpytest("koans/")
    assert "  What the koan printed to stdout:\n    looking at two\n" in screen(result)


def test_s_shows_what_a_koan_prints_as_it_runs(
    one_right_one_wrong_one_solved: pytest.Pytester,
) -> None:
    result = one_right_one_wrong_one_solved.runpytest("koans/", "-s")
    assert "looking at two" in output_above_screen(result)


def test_tracebacks_are_off_until_tb_asks_for_them(
    one_right_one_wrong_one_solved: pytest.Pytester,
) -> None:
    plain = one_right_one_wrong_one_solved.runpytest("koans/")
    assert "FAILURES" not in output_above_screen(plain)
    assert "def test_two" not in output_above_screen(plain)
    assert "koans: tracebacks are off" in text(plain)
    long = one_right_one_wrong_one_solved.runpytest("koans/", "--tb=long")
    above = output_above_screen(long)
    assert "FAILURES" in above and "def test_two() -> None:" in above
    assert "koans: tracebacks are off" not in text(long)


def test_ra_and_durations_add_pytests_own_sections(
    one_right_one_wrong_one_solved: pytest.Pytester,
) -> None:
    result = one_right_one_wrong_one_solved.runpytest("koans/", "-rA", "--durations=2")
    above = output_above_screen(result)
    assert "PASSED koans/01_steps.py::test_one" in above
    assert "slowest 2 durations" in above


def test_the_learners_own_tests_and_copies_run_under_their_own_heading(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "01_arithmetic")
    solve(two_lessons, "02_words")
    koans = two_lessons.path / "koans"
    (koans / "01_arithmetic_old.py").write_text((koans / "01_arithmetic.py").read_text())
    (koans / "99_mine.py").write_text("def test_mine():\n    assert 1 == 2\n")
    lesson = koans / "02_words.py"
    lesson.write_text(lesson.read_text() + "\n\ndef test_extra():\n    assert 'a' == 'b'\n")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1  # every koan is solved, but the learner's own tests fail
    drawn = screen(result)
    assert "3/3 koans" in drawn
    assert " koans/01_arithmetic_old.py is not on the path" in drawn
    assert " koans/99_mine.py is not on the path" in drawn
    assert " Your own tests: 2 passed, 2 failed" in drawn
    assert "   x koans/02_words.py::test_extra  AssertionError: assert 'a' == 'b'" in drawn
    assert "   x koans/99_mine.py::test_mine  assert 1 == 2" in drawn


def test_xdist_is_refused_with_a_reason(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("koans/", "-n", "2")
    assert result.ret == 4
    assert "-n (pytest-xdist) is not for the koans" in "\n".join(result.errlines)


@pytest.mark.parametrize("value", ["10s", "-1", "nan", "soon"])
def test_a_bad_koans_timeout_is_a_usage_error_naming_it(
    two_lessons: pytest.Pytester, value: str
) -> None:
    result = two_lessons.runpytest("koans/", "-o", f"koans_timeout={value}")
    assert result.ret == 4
    assert (
        f"koans_timeout must be a number of seconds, such as 10 (0 for no limit), not {value!r}"
        in ("\n".join(result.errlines))
    )


def test_k_selects_koans_and_the_rest_are_not_counted_as_done(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest("koans/", "-k", "joining")
    assert result.ret == 0
    assert "1/3 koans" in screen(result)
    assert "koans/01_arithmetic.py:9 -- test_adding" in screen(result)


def test_lf_runs_the_koans_that_failed_last_time(
    one_right_one_wrong_one_solved: pytest.Pytester,
) -> None:
    project = one_right_one_wrong_one_solved
    project.runpytest("koans/")
    result = project.runpytest("koans/", "--lf", "-v", "--koans-fresh")  # pytest's own memory
    ran = [line.split()[0] for line in result.outlines if line.startswith("koans/01_steps.py::")]
    assert ran == ["koans/01_steps.py::test_two"]


def test_junitxml_names_every_koan_that_ran_with_its_verdict_and_no_other(
    two_lessons: pytest.Pytester,
) -> None:
    result = two_lessons.runpytest("koans/", "--junitxml=out.xml", "--koans-fresh")
    assert result.ret == 1
    cases = list(ET.parse(two_lessons.path / "out.xml").iter("testcase"))
    assert [case.get("name") for case in cases] == [
        "test_adding",
        "test_multiplying",
        "test_joining",
    ]
    for case in cases:
        assert case.find("failure") is not None
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["koan"] == "blank" and properties["blank_reason"] == "used"
    result = two_lessons.runpytest("koans/", "--junitxml=out.xml")
    assert list(ET.parse(two_lessons.path / "out.xml").iter("testcase")) == []


def test_a_single_file_and_a_single_koan_id_run_alone(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "01_arithmetic")
    result = two_lessons.runpytest("koans/01_arithmetic.py")
    assert result.ret == 0
    assert "2/3 koans" in screen(result)
    result = two_lessons.runpytest("koans/01_arithmetic.py::test_adding", "--koans-fresh")
    assert result.ret == 0
    assert "1/3 koans" in screen(result)


def test_a_parametrized_koan_with_one_failing_case_is_not_solved(project: pytest.Pytester) -> None:
    write_lesson(
        project,
        "01_cases",
        '''
        """Cases."""

        import pytest

        from dagster_koans import __


        @pytest.mark.parametrize("n", [2, 1])
        def test_doubling(n: int) -> None:
            """Doubling."""
            assert n * 2 == «n + n»
        ''',
    )
    fill(project, "01_cases", "n * 2 == __", "n * 2 == 2")
    result = project.runpytest("koans/")
    assert result.ret == 1
    assert "0/1 koans" in screen(result)
    assert "  Not yet: the assertion on line 11 failed." in screen(result)
    assert project.runpytest("koans/01_cases.py::test_doubling[1]").ret == 0  # one case passes
    assert "0/1 koans" in screen(project.runpytest("koans/"))  # and is not remembered as all


def test_an_answer_that_catches_any_exception_is_too_broad(project: pytest.Pytester) -> None:
    write_lesson(
        project,
        "01_errors",
        '''
        """Errors: dividing by zero raises ZeroDivisionError."""

        import pytest

        from dagster_koans import __


        def test_dividing_by_zero() -> None:
            """Dividing by zero raises ZeroDivisionError."""
            with pytest.raises(«ZeroDivisionError»):
                1 / 0
        ''',
    )
    for broad in ("Exception", "BaseException", "(ValueError, Exception)"):
        fill(project, "01_errors", "raises(__)", f"raises({broad})")
        result = project.runpytest("koans/")
        assert result.ret == 1, broad
        assert "  Too broad: line 10 catches more than the error this koan is about." in (
            screen(result)
        )
        fill(project, "01_errors", f"raises({broad})", "raises(__)")
    fill(project, "01_errors", "raises(__)", "raises(ZeroDivisionError)")
    assert project.runpytest("koans/").ret == 0


# Dagster runs in a subprocess: pytester's in-process runs forget imported modules between
# runs, and Dagster does not survive being imported twice in one process. Its koans get a limit
# no busy machine reaches: they must finish, for their verdict to be seen.
def test_a_blank_passed_deep_into_dagster_is_still_a_blank(project: pytest.Pytester) -> None:
    write_lesson(project, "01_config", DAGSTER_LESSON)
    roomy = ("-o", "koans_timeout=120")
    result = project.runpytest_subprocess(
        "koans/", "--koans-fresh", "--junitxml=out.xml", *roomy, timeout=PATIENCE
    )
    properties = ET.parse(project.path / "out.xml").iter("property")
    assert [p.get("value") for p in properties if p.get("name") == "koan"] == ["blank", "blank"]
    assert "The blank on line 15 is still empty." in screen(result)
    result = project.runpytest_subprocess("solutions/", *roomy, timeout=PATIENCE)
    assert result.ret == 0


def test_an_error_inside_the_plugin_is_one_plain_line_and_exit_3(
    two_lessons: pytest.Pytester,
) -> None:
    conftest = two_lessons.path / "conftest.py"
    conftest.write_text(
        conftest.read_text()
        + "\n\nimport dagster_koans.render\n\n"
        + "def broken(*args, **kwargs):\n    raise RuntimeError('a bug of ours')\n\n"
        + "dagster_koans.render.render_screen = broken\n"
        + "import dagster_koans.screen\ndagster_koans.screen.render_screen = broken\n"
    )
    # the broken renderer stays in there
    result = two_lessons.runpytest_subprocess("koans/", timeout=PATIENCE)
    assert result.ret == 3
    assert (
        "dagster-koans: the koans plugin failed while drawing the screen (RuntimeError: a bug "
        "of ours). Please report it; `--koans-off` runs plain pytest meanwhile."
    ) in result.errlines
    assert "Dagster Koans" not in text(result)


def test_no_terminal_plugin_means_no_screen_and_no_error(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("koans/", "-p", "no:terminal")
    assert result.ret == 1
    assert "Dagster Koans" not in text(result) and not result.errlines


def test_pytest_exit_in_a_koan_keeps_its_status_and_draws_no_screen(
    two_lessons: pytest.Pytester,
) -> None:
    exit_now = "total == 2\n    pytest.exit('done', returncode=0)"
    fill(two_lessons, "01_arithmetic", "total == __", exit_now)
    fill(two_lessons, "01_arithmetic", '"""Arithmetic', 'import pytest\n"""Arithmetic')
    result = two_lessons.runpytest("koans/")
    assert result.ret == 0
    assert "Interrupted" not in text(result) and "Dagster Koans" not in text(result)


def test_a_strict_xfail_that_passes_is_not_solved(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "02_words")
    fill(
        two_lessons,
        "02_words",
        "def test_joining",
        "@pytest.mark.xfail(strict=True)\ndef test_joining",
    )
    fill(two_lessons, "02_words", '"""Words."""', '"""Words."""\nimport pytest')
    for _ in range(2):  # and it is not remembered as solved either
        result = two_lessons.runpytest("koans/02_words.py")
        assert result.ret == 1
        assert "It passed, but it is marked to fail (xfail): remove the mark." in screen(result)


def test_doctest_modules_leaves_the_lessons_alone(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest("koans/", "--doctest-modules", "--koans-fresh")
    assert " + 02 words       1/1" in screen(result)
    assert "does not import" not in screen(result)


def test_the_learners_own_tests_run_where_pytest_runs_them(two_lessons: pytest.Pytester) -> None:
    (two_lessons.path / "koans" / "99_mine.py").write_text(
        "from pathlib import Path\n\ndef test_here():\n    assert Path('pytest.ini').exists()\n"
    )
    result = two_lessons.runpytest("koans/")
    assert " Your own tests: 1 passed" in screen(result)


def test_only_files_pytest_collects_from_are_named_as_not_on_the_path(
    two_lessons: pytest.Pytester,
) -> None:
    koans = two_lessons.path / "koans"
    (koans / "helpers.py").write_text("X = 1\n")
    (koans / "conftest.py").write_text("")
    result = two_lessons.runpytest("koans/")
    assert "not on the path" not in screen(result)


def test_blocking_the_run_by_name_gives_plain_pytest(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("koans/", "-p", "no:dagster-koans-run")
    assert "Dagster Koans" not in text(result)
    assert "FAILURES" in text(result)  # tracebacks as pytest shows them


def test_koans_and_solutions_together_is_a_usage_error(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("koans/", "solutions/")
    assert result.ret == 4
    assert "run koans/ or solutions/, not both at once" in "\n".join(result.errlines)


def test_blocking_the_run_leaves_no_temporary_folder_behind(
    two_lessons: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "temporary"  # this run's own temporary folder: nothing else uses it
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    result = two_lessons.runpytest("koans/", "-p", "no:dagster-koans-run")
    assert result.ret == 1
    assert list(temporary.iterdir()) == []


def test_without_pytests_cache_nothing_is_remembered_or_left_behind(
    two_lessons: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "temporary"  # this run's own temporary folder: nothing else uses it
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    solve(two_lessons, "01_arithmetic")
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest("koans/", "-p", "no:cacheprovider")
    assert result.ret == 0
    assert "You walked the path" not in screen(result)
    assert list(temporary.iterdir()) == []
    assert not (two_lessons.path / ".pytest_cache").exists()
