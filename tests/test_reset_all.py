"""`--reset all`: every lesson back as shipped, each changed file kept first; asked before."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ARITHMETIC, solve, write_lesson


@pytest.fixture
def three_lessons(two_lessons: pytest.Pytester) -> pytest.Pytester:
    """Three lessons, their blanks recorded as shipped."""
    write_lesson(two_lessons, "03_more", ARITHMETIC.replace("Arithmetic", "More"))
    subprocess.run(
        [sys.executable, "-m", "dagster_koans.reset", "--record"],
        cwd=two_lessons.path,
        check=True,
    )
    return two_lessons


def said(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def test_reset_all_without_yes_says_what_it_would_do_and_changes_nothing(
    three_lessons: pytest.Pytester,
) -> None:
    koans = three_lessons.path / "koans"
    solve(three_lessons, "01_arithmetic")
    solve(three_lessons, "03_more")
    before = {file.name: file.read_text() for file in koans.glob("*.py")}
    asked = three_lessons.runpytest("koans/", "--reset", "all")
    assert asked.ret == 4
    assert said(asked).strip() == (
        "2 lessons (01, 03) differ from how they were shipped. To restore every lesson as "
        "shipped, run again with --yes (each of your copies is kept in .koans/backups/ first)."
    )
    assert {file.name: file.read_text() for file in koans.glob("*.py")} == before
    assert not (three_lessons.path / ".koans").exists()


def test_reset_all_restores_every_lesson_and_keeps_each_changed_file_first(
    three_lessons: pytest.Pytester,
) -> None:
    koans = three_lessons.path / "koans"
    shipped = {file.name: file.read_text() for file in koans.glob("*.py")}
    solve(three_lessons, "01_arithmetic")
    (koans / "03_more.py").unlink()  # deleted: restored, nothing to keep
    mine = (koans / "01_arithmetic.py").read_text()
    done = three_lessons.runpytest("koans/", "--reset", "all", "--yes")
    assert done.ret == 0
    assert said(done).strip() == (
        "Restored 2 lessons (01, 03) as shipped; your copies are kept in .koans/backups/."
    )
    assert {file.name: file.read_text() for file in koans.glob("*.py")} == shipped
    backups = list((three_lessons.path / ".koans" / "backups").iterdir())
    assert [(b.name.split(".")[0], b.read_text()) for b in backups] == [("01_arithmetic", mine)]
    again = three_lessons.runpytest("koans/", "--reset", "all", "--yes")
    assert again.ret == 0
    assert said(again).strip() == "Every lesson in koans/ is already as shipped: nothing to do."


def test_reset_all_stops_at_a_lesson_it_cannot_restore_and_says_what_it_did(
    three_lessons: pytest.Pytester,
) -> None:
    koans = three_lessons.path / "koans"
    solve(three_lessons, "01_arithmetic")
    solve(three_lessons, "02_words")
    (three_lessons.path / "solutions" / "02_words.py").write_text("# no longer the solution\n")
    done = three_lessons.runpytest("koans/", "--reset", "all", "--yes")
    assert done.ret == 4
    assert said(done).strip().startswith("Restored 01 as shipped; then: Cannot rebuild koans/02")
    assert "__" in (koans / "01_arithmetic.py").read_text()


def test_reset_takes_a_lesson_number_or_all(three_lessons: pytest.Pytester) -> None:
    result = three_lessons.runpytest("koans/", "--reset", "everything")
    assert result.ret == 4
    assert "--reset takes a lesson number or all, not 'everything'" in said(result)
