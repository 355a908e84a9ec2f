"""Doing less per run without lying: what is known without running, and what the cache may skip."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from conftest import solve


def verdicts(project: pytest.Pytester, *args: str) -> dict[str, str]:
    project.runpytest("koans/", "--junitxml=out.xml", *args)
    found = {}
    for case in ET.parse(project.path / "out.xml").iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        found[str(case.get("name"))] = f"{props['koan']}{'' if 'call_seconds' in props else '*'}"
    return found  # "*" marks a koan judged without running


def test_a_koan_whose_source_holds_a_blank_is_judged_without_running(
    two_lessons: pytest.Pytester,
) -> None:
    assert verdicts(two_lessons) == {
        "test_adding": "blank*",
        "test_multiplying": "blank*",
        "test_joining": "blank*",
    }


def test_a_passed_koan_whose_code_is_unchanged_is_not_run_again(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    assert verdicts(two_lessons)["test_joining"] == "passed"
    assert verdicts(two_lessons)["test_joining"] == "passed*"  # its file was not even imported
    result = two_lessons.runpytest("koans/")
    assert " + 02 words       1/1" in [line.rstrip() for line in result.outlines]


def test_a_solved_koan_changed_to_a_wrong_answer_fails_on_the_next_run(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    verdicts(two_lessons)
    koan = two_lessons.path / "koans" / "02_words.py"
    koan.write_text(koan.read_text().replace('== "dagster"', '== "dagstr"'))
    assert verdicts(two_lessons)["test_joining"] == "wrong"


def test_a_change_elsewhere_in_the_file_runs_its_koans_again(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    verdicts(two_lessons)
    koan = two_lessons.path / "koans" / "02_words.py"
    koan.write_text(koan.read_text().replace('"""Words."""', '"""Words."""\nSUFFIX = 1 / 0'))
    result = two_lessons.runpytest("koans/")
    assert " x 02 words       0/1 <- does not import" in [x.rstrip() for x in result.outlines]


def test_a_koan_changed_back_and_forth_is_judged_by_its_code_now(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    verdicts(two_lessons)
    koan = two_lessons.path / "koans" / "02_words.py"
    solved = koan.read_text()
    koan.write_text(solved.replace('== "dagster"', "== __"))
    result = two_lessons.runpytest("koans/02_words.py")
    assert "  The blank on line 8 is still empty." in result.outlines
    koan.write_text(solved)
    result = two_lessons.runpytest("koans/02_words.py")
    assert " > 02 words       1/1" not in result.outlines
    assert result.ret == 0


def test_a_change_to_another_koan_leaves_a_solved_one_trusted(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "01_arithmetic")
    verdicts(two_lessons)
    koan = two_lessons.path / "koans" / "01_arithmetic.py"
    koan.write_text(koan.read_text().replace("3 * 2 == 6", "3 * 2 == 7"))
    found = verdicts(two_lessons)
    assert found["test_adding"] == "passed*"
    assert found["test_multiplying"] == "wrong"


@pytest.mark.parametrize("how", ["--koans-fresh", "CI", "solutions"])
def test_fresh_runs_ci_and_solutions_never_trust_the_cache(
    two_lessons: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    solve(two_lessons, "02_words")
    verdicts(two_lessons)
    if how == "CI":
        monkeypatch.setenv("CI", "true")
    args = [how] if how.startswith("--") else []
    if how == "solutions":
        two_lessons.runpytest("solutions/")
        two_lessons.runpytest("solutions/", "--junitxml=out.xml")
        cases = ET.parse(two_lessons.path / "out.xml").iter("property")
        assert sum(p.get("name") == "call_seconds" for p in cases) == 3
        return
    assert verdicts(two_lessons, *args)["test_joining"] == "passed"
