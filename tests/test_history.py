"""Doing less per run without lying: what is known without running, and what the cache may skip.

A koan judged without running is deselected (or its file not imported), as pytest's own `--lf`
does, and a line under "collected N items" says how many and why; it never appears in
`--junitxml` as if it had run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from conftest import WORDS, fill, screen, solve, write_lesson


def ran(project: pytest.Pytester, *args: str) -> dict[str, str]:
    """The koans that really ran, each with its verdict, read from --junitxml."""
    result = project.runpytest("koans/", "--junitxml=out.xml", *args)
    found = {}
    for case in ET.parse(project.path / "out.xml").iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        found[str(case.get("name"))] = props.get("koan", "")
    project.last = result  # type: ignore[attr-defined]
    return found


def not_run_line(result: pytest.RunResult) -> str:
    return next((line for line in result.outlines if " not run (" in line), "")


def test_a_koan_whose_source_holds_a_blank_is_not_run_and_the_run_says_so(
    two_lessons: pytest.Pytester,
) -> None:
    assert ran(two_lessons) == {}
    result = two_lessons.last  # type: ignore[attr-defined]
    assert not_run_line(result) == (
        "koans: 3 not run (3 still hold a blank, skipped 2 files); --koans-fresh runs them all"
    )
    assert result.ret == 1
    assert "0/3 koans" in screen(result)


def test_a_passed_koan_whose_code_is_unchanged_is_not_run_again(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    assert ran(two_lessons) == {"test_joining": "passed"}
    assert ran(two_lessons) == {}  # its file was not even imported
    result = two_lessons.last  # type: ignore[attr-defined]
    assert "1 passed before with this code" in not_run_line(result)
    assert " + 02 words       1/1" in screen(result)


def test_a_solved_koan_changed_to_a_wrong_answer_fails_on_the_next_run(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    ran(two_lessons)
    fill(two_lessons, "02_words", '== "dagster"', '== "dagstr"')
    assert ran(two_lessons) == {"test_joining": "wrong"}


def test_a_change_elsewhere_in_the_file_runs_its_koans_again(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    ran(two_lessons)
    fill(two_lessons, "02_words", '"""Words."""', '"""Words."""\nSUFFIX = 1 / 0')
    result = two_lessons.runpytest("koans/")
    assert " x 02 words       0/1 <- does not import" in screen(result)


def test_a_koan_changed_back_and_forth_is_judged_by_its_code_now(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    ran(two_lessons)
    fill(two_lessons, "02_words", '== "dagster"', "== __")
    result = two_lessons.runpytest("koans/02_words.py")
    assert "  The blank on line 8 is still empty." in screen(result)
    fill(two_lessons, "02_words", "== __", '== "dagster"')
    result = two_lessons.runpytest("koans/02_words.py")
    assert " + 02 words       1/1" in screen(result)
    assert result.ret == 0


def test_a_change_to_another_koan_leaves_a_solved_one_trusted(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "01_arithmetic")
    ran(two_lessons)
    fill(two_lessons, "01_arithmetic", "3 * 2 == 6", "3 * 2 == 7")
    assert ran(two_lessons) == {"test_multiplying": "wrong"}
    assert "1 passed before with this code" in not_run_line(two_lessons.last)  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["--koans-fresh", "CI"])
def test_fresh_runs_and_ci_never_trust_the_cache(
    two_lessons: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    solve(two_lessons, "02_words")
    ran(two_lessons)
    if how == "CI":
        monkeypatch.setenv("CI", "true")
    args = [how] if how.startswith("--") else []
    assert ran(two_lessons, *args).get("test_joining") == "passed"


def test_the_solutions_run_every_koan_every_time(two_lessons: pytest.Pytester) -> None:
    for _ in range(2):
        result = two_lessons.runpytest("solutions/", "--junitxml=out.xml")
        cases = list(ET.parse(two_lessons.path / "out.xml").iter("testcase"))
        assert len(cases) == 3 and result.ret == 0


def test_a_koan_named_by_its_id_runs_even_when_its_answer_is_remembered(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    ran(two_lessons)
    result = two_lessons.runpytest("koans/02_words.py::test_joining", "-v")
    assert "koans/02_words.py::test_joining PASSED" in "\n".join(result.outlines)


@pytest.mark.parametrize(
    "record",
    ["[1, 2, 3]", '"a string"', '{"passes": [1]}', '{"passes": {"x": 1}}', '{"started": "x"}'],
)
def test_a_history_record_of_any_other_shape_is_discarded_with_a_note(
    two_lessons: pytest.Pytester, record: str
) -> None:
    solve(two_lessons, "02_words")
    ran(two_lessons)
    entry = two_lessons.path / ".pytest_cache" / "v" / "dagster_koans" / "ledger"
    entry.write_text(record)
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert (
        "koans: The koans' history in .pytest_cache was not readable and was discarded: "
        "every koan runs this time."
    ) in result.outlines
    assert " + 02 words       1/1" in screen(result)  # it ran again, and passed


def test_lessons_with_the_same_koan_names_keep_separate_histories(
    project: pytest.Pytester,
) -> None:
    write_lesson(project, "01_words", WORDS)
    write_lesson(project, "02_words", WORDS)
    solve(project, "01_words")
    assert ran(project) == {"test_joining": "passed"}
    result = project.runpytest("koans/")
    assert "1/2 koans" in screen(result)
