"""pytest's flags keep working on koans; the learner's view is only for the lesson folders."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from conftest import DAGSTER_LESSON, solve, write_lesson


def text(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines)


def test_the_projects_own_tests_get_plain_pytest(two_lessons: pytest.Pytester) -> None:
    two_lessons.makepyfile(test_own="def test_ok():\n    assert True\n")
    result = two_lessons.runpytest("test_own.py")
    result.assert_outcomes(passed=1)
    assert "Dagster Koans" not in text(result)


def test_koans_off_gives_plain_pytest_on_the_koans(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("koans/", "--koans-off")
    result.assert_outcomes(failed=3)
    assert "Dagster Koans" not in text(result)
    assert "BlankError" in text(result)


def test_disabling_the_plugin_gives_plain_pytest(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("koans/", "-p", "no:dagster_koans.plugin")
    result.assert_outcomes(failed=3)
    assert "Dagster Koans" not in text(result)


def test_k_selects_koans_and_the_rest_are_not_counted_as_done(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest("koans/", "-k", "joining")
    assert result.ret == 0
    assert "1/3 koans" in text(result)
    assert "koans/01_arithmetic.py:9 -- test_adding" in text(result)
    assert "The blank on line 9 is still empty." in text(result)


def test_x_stops_at_the_first_unresolved_koan(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest("koans/", "-x", "--koans-fresh")
    assert result.ret == 1
    assert "0/3 koans" in text(result)  # 02 never ran: -x stopped the run
    assert "The blank on line 9 is still empty." in text(result)


@pytest.mark.parametrize("flag", ["-q", "-v", "-vv", "-rA"])
def test_verbosity_flags_leave_the_screen_whole(two_lessons: pytest.Pytester, flag: str) -> None:
    result = two_lessons.runpytest("koans/", flag)
    assert result.ret == 1
    assert "The blank on line 9 is still empty." in text(result)


def test_lf_runs_the_koans_that_failed_last_time(two_lessons: pytest.Pytester) -> None:
    two_lessons.runpytest("koans/")
    solve(two_lessons, "01_arithmetic")
    result = two_lessons.runpytest("koans/", "--lf")
    assert result.ret == 1
    assert "2/3 koans" in text(result)


def test_junitxml_names_every_koan_with_its_verdict(two_lessons: pytest.Pytester) -> None:
    result = two_lessons.runpytest("koans/", "--junitxml=out.xml")
    assert result.ret == 1
    cases = list(ET.parse(two_lessons.path / "out.xml").iter("testcase"))
    assert [case.get("name") for case in cases] == [
        "test_adding",
        "test_multiplying",
        "test_joining",
    ]
    for case in cases:
        assert case.find("failure") is not None
        assert [p.get("value") for p in case.iter("property")] == ["blank"]


def test_a_single_file_and_a_single_koan_id_run_alone(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "01_arithmetic")
    result = two_lessons.runpytest("koans/01_arithmetic.py")
    assert result.ret == 0
    assert "2/3 koans" in text(result)
    result = two_lessons.runpytest("koans/01_arithmetic.py::test_adding", "--koans-fresh")
    assert result.ret == 0
    assert "1/3 koans" in text(result)


def test_color_and_boxes_only_on_a_terminal(two_lessons: pytest.Pytester) -> None:
    fancy = text(two_lessons.runpytest("koans/", "--color=yes"))
    assert "╭─" in fancy and "\x1b[" in fancy and "▶" in fancy
    plain = text(two_lessons.runpytest("koans/"))
    assert "╭" not in plain and "\x1b[" not in plain and "+- koans/" in plain


@pytest.mark.parametrize("variable", ["NO_COLOR", "CI"])
def test_no_color_and_ci_give_plain_text(
    two_lessons: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "1")
    result = two_lessons.runpytest("koans/", "--color=auto")
    assert "\x1b[" not in text(result) and "╭" not in text(result)


# Dagster runs in a subprocess: pytester's in-process runs forget imported modules between
# runs, and Dagster does not survive being imported twice in one process.
def test_a_blank_passed_deep_into_dagster_is_still_a_blank(project: pytest.Pytester) -> None:
    write_lesson(project, "01_config", DAGSTER_LESSON)
    result = project.runpytest_subprocess("koans/", "--koans-fresh", "--junitxml=out.xml")
    properties = ET.parse(project.path / "out.xml").iter("property")
    assert [p.get("value") for p in properties if p.get("name") == "koan"] == ["blank", "blank"]
    assert "The blank on line 15 is still empty." in text(result)
    result = project.runpytest_subprocess("solutions/")
    assert result.ret == 0
