"""What the learner sees after `pytest koans/`, verdict by verdict (plain text, as when piped)."""

from __future__ import annotations

import json
import time

import pytest

from conftest import ARITHMETIC, FIRST_PANEL, WORDS, fill, screen, solve, write_lesson


def test_a_fresh_path_shows_the_progress_the_lessons_and_the_first_blank(
    two_lessons: pytest.Pytester,
) -> None:
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert screen(result) == (
        " Dagster Koans -- the path to enlightenment\n"
        " [----------------------------------------]  0/3 koans  0%\n"
        "\n"
        " > 01 arithmetic  0/2 <- you are here\n"
        "   02 words       0/1\n"
        "\n" + FIRST_PANEL
    )


def test_a_wrong_answer_shows_what_the_koan_expected_and_what_it_got(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 3")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    text = screen(result)
    assert "  Not yet: the assertion on line 9 failed.\n  assert 2 == 3" in text
    assert "Traceback" not in text and "_pytest" not in text


def test_an_error_is_told_in_plain_words_with_the_koans_line_and_no_traceback(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total.upper() == 2")
    result = two_lessons.runpytest("koans/")
    text = screen(result)
    assert (
        "  Line 9 raised an error:\n  AttributeError: 'int' object has no attribute 'upper'" in text
    )
    assert "Traceback" not in text and "site-packages" not in text


def test_a_solved_lesson_turns_complete_and_the_learner_may_compare(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "01_arithmetic")
    text = screen(two_lessons.runpytest("koans/"))
    assert " + 01 arithmetic  2/2\n > 02 words       0/1 <- you are here" in text
    assert "2/3 koans  66%" in text
    assert (
        " + 01 arithmetic  2/2: enlightened.\n"
        "   Compare with the master's answers:  pytest koans/ --compare 01"
    ) in text
    assert "koans/02_words.py:8 -- test_joining" in text


def test_the_next_koan_is_the_first_unresolved_in_path_order(project: pytest.Pytester) -> None:
    write_lesson(project, "01_arithmetic", ARITHMETIC)
    write_lesson(project, "02_words", WORDS)
    solve(project, "02_words")
    fill(project, "01_arithmetic", "total == __", "total == 2")
    text = screen(project.runpytest("koans/"))
    assert "koans/01_arithmetic.py:14 -- test_multiplying" in text


def test_the_whole_path_solved_shows_the_closing_screen_and_exits_0(
    two_lessons: pytest.Pytester,
) -> None:
    result = two_lessons.runpytest("solutions/")
    assert result.ret == 0
    text = screen(result)
    assert "3/3 koans  100%" in text
    assert "Every koan on the path is solved: 3 koans in 2 lessons." in text
    assert "Where next:" in text


def test_the_hint_flag_shows_the_current_koans_hint(two_lessons: pytest.Pytester) -> None:
    text = screen(two_lessons.runpytest("koans/", "--hint"))
    assert "  Hint: Think about test_adding." in text
    assert "Stuck?" not in text


def test_a_deleted_koan_counts_as_missing_and_never_as_done(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "01_arithmetic")
    fill(two_lessons, "01_arithmetic", "def test_multiplying", "def multiplying")
    result = two_lessons.runpytest("koans/01_arithmetic.py")
    assert result.ret == 1
    text = screen(result)
    assert "1/3 koans" in text
    assert "koans/01_arithmetic.py has no `def test_multiplying` any more" in text


def test_a_deleted_lesson_file_is_named_and_counts_as_not_done(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    (two_lessons.path / "koans" / "01_arithmetic.py").unlink()
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    text = screen(result)
    assert "1/3 koans" in text
    assert "koans/01_arithmetic.py is missing (deleted or renamed?)" in text


def test_a_syntax_error_names_file_and_line_and_other_lessons_still_count(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "02_words")
    fill(two_lessons, "01_arithmetic", "total = 1 + 1", "total = (1 + 1")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    text = screen(result)
    assert " x 01 arithmetic  0/2 <- does not import  <- you are here" in text
    assert " + 02 words       1/1" in text
    assert "koans/01_arithmetic.py, line 8 does not import" in text
    assert "Syntax error: '(' was never closed." in text


def test_a_name_error_at_module_level_is_named_with_its_line(two_lessons: pytest.Pytester) -> None:
    fill(two_lessons, "01_arithmetic", "from dagster_koans", "dg.x\nfrom dagster_koans")
    text = screen(two_lessons.runpytest("koans/"))
    assert "koans/01_arithmetic.py, line 3 does not import" in text
    assert "NameError: name 'dg' is not defined" in text
    assert "02 words       0/1" in text


def test_compare_shows_a_completed_lesson_beside_the_solution_and_writes_nothing(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "02_words", "== __", '== "da" "gster"')
    before = {p: p.read_bytes() for p in two_lessons.path.rglob("*.py")}
    text = screen(two_lessons.runpytest("koans/", "--compare", "02"))
    assert "koans/02_words.py  beside  solutions/02_words.py" in text
    assert (
        '| *  8     assert "da" + "gster" ==     | *  8     assert "da" + "gster" ==    |' in text
    )
    assert (
        '| "da" "gster"                          | "dagster"                            |' in text
    )
    assert {p: p.read_bytes() for p in two_lessons.path.rglob("*.py")} == before


def test_compare_asks_for_spoilers_before_showing_an_unfinished_lesson(
    two_lessons: pytest.Pytester,
) -> None:
    text = screen(two_lessons.runpytest("koans/", "--compare", "1"))
    assert "Lesson 01 arithmetic is not complete yet (0/2)" in text
    assert "beside" not in text
    text = screen(two_lessons.runpytest("koans/", "--compare", "1", "--spoilers"))
    assert "koans/01_arithmetic.py  beside  solutions/01_arithmetic.py" in text


@pytest.mark.parametrize("wanted", ["99", "abc"])
def test_compare_with_no_such_lesson_is_a_usage_error(
    two_lessons: pytest.Pytester, wanted: str
) -> None:
    result = two_lessons.runpytest("koans/", "--compare", wanted)
    assert result.ret == 4
    assert f"--compare takes a lesson number (01, 02), not '{wanted}'" in "\n".join(result.errlines)


def test_a_koan_that_passed_before_says_so_when_it_fails_again(
    two_lessons: pytest.Pytester,
) -> None:
    solve(two_lessons, "01_arithmetic")
    two_lessons.runpytest("koans/")
    fill(two_lessons, "01_arithmetic", "total == 2", "total == 5")
    text = screen(two_lessons.runpytest("koans/"))
    assert "This koan passed before: something you changed undid it." in text


@pytest.mark.parametrize(("hours_ago", "walked"), [(1, "1 day"), (10 * 24 + 3, "10 days")])
def test_the_closing_screen_counts_the_days_along_the_path(
    two_lessons: pytest.Pytester, hours_ago: int, walked: str
) -> None:
    two_lessons.runpytest("koans/")  # the first run: the path starts now
    ledger = two_lessons.path / ".pytest_cache" / "v" / "dagster_koans" / "ledger"
    record = json.loads(ledger.read_text())
    assert abs(record["started"] - time.time()) < 3600
    record["started"] -= hours_ago * 3600  # as if that first run was this long ago
    ledger.write_text(json.dumps(record))
    solve(two_lessons, "01_arithmetic")
    solve(two_lessons, "02_words")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 0
    assert " + Every koan on the path is solved: 3 koans in 2 lessons." in result.outlines
    assert f"   You walked the path in {walked}." in result.outlines
