"""A koan's first pass: the screen says what it showed, and a finished lesson what to read next."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ARITHMETIC, FIRST_PANEL, screen, solve, write_lesson

WORDS_READ_NEXT = '''
    """Words.

    Read next:
    - https://docs.dagster.io/guides/build/assets
    - https://docs.dagster.io/api/dagster/assets
    """

    from dagster_koans import __


    def test_joining() -> None:
        """Strings join with +."""
        assert "da" + "gster" == «"dagster"»
    '''

TAKEAWAYS = {
    "01_arithmetic": "## test_adding\nAn assertion compares what the code made with what you "
    "expect.\n\n## test_multiplying\nOperators work on numbers as arithmetic says.\n",
    "02_words": "# 02 words\n\n## test_joining\nStrings join end to end,\nwith nothing between.\n",
}


@pytest.fixture
def taught(project: pytest.Pytester) -> pytest.Pytester:
    """Two lessons with their takeaways; the second has links to read next."""
    write_lesson(project, "01_arithmetic", ARITHMETIC)
    write_lesson(project, "02_words", WORDS_READ_NEXT)
    (project.path / "takeaways").mkdir()
    for stem, text in TAKEAWAYS.items():
        (project.path / "takeaways" / f"{stem}.md").write_text(text)
    return project


def test_a_koans_first_pass_shows_its_takeaway_and_its_finished_lesson_what_to_read_next(
    taught: pytest.Pytester,
) -> None:
    assert "what it showed" not in screen(taught.runpytest("koans/"))
    solve(taught, "02_words")
    assert screen(taught.runpytest("koans/")) == (
        " Dagster Koans -- the path to enlightenment\n"
        " [##############--------------------------]  1/3 koans  33%\n"
        "\n"
        " > 01 arithmetic  0/2 <- you are here\n"
        " + 02 words       1/1\n"
        "\n"
        " + test_joining: what it showed\n"
        "   Strings join end to end, with nothing between.\n"
        " + 02 words finished. Read next:\n"
        "   https://docs.dagster.io/guides/build/assets\n"
        "   https://docs.dagster.io/api/dagster/assets\n"
        "\n" + FIRST_PANEL
    )


def test_a_takeaway_is_shown_once_even_when_the_koan_runs_again(taught: pytest.Pytester) -> None:
    solve(taught, "02_words")
    assert "test_joining: what it showed" in screen(taught.runpytest("koans/"))
    assert "what it showed" not in screen(taught.runpytest("koans/"))  # remembered, not run
    koan = taught.path / "koans" / "02_words.py"
    koan.write_text(koan.read_text().replace('"""Strings join with +."""', '"""Joined."""'))
    again = taught.runpytest("koans/")
    assert "1 passed" in again.stdout.str()  # it ran again, and passed
    assert "what it showed" not in screen(again) and "Read next" not in screen(again)


def test_a_koan_that_fails_shows_no_takeaway(taught: pytest.Pytester) -> None:
    koan = taught.path / "koans" / "02_words.py"
    koan.write_text(koan.read_text().replace("== __", '== "dagsters"'))
    assert "what it showed" not in screen(taught.runpytest("koans/"))
    solve(taught, "02_words")
    assert "test_joining: what it showed" in screen(taught.runpytest("koans/"))


def test_many_first_passes_show_a_few_takeaways_and_count_the_rest(
    taught: pytest.Pytester,
) -> None:
    write_lesson(taught, "03_more", ARITHMETIC.replace("Arithmetic", "More"))
    (taught.path / "takeaways" / "03_more.md").write_text(TAKEAWAYS["01_arithmetic"])
    for stem in ("01_arithmetic", "02_words", "03_more"):
        solve(taught, stem)
    shown = screen(taught.runpytest("koans/"))
    assert shown.count(": what it showed") == 3
    assert "   And 2 more koans passed for the first time: pytest koans/ --compare NN" in shown
    assert "what it showed" not in screen(taught.runpytest("koans/", "--koans-fresh"))


def test_a_koan_without_a_takeaway_passes_without_a_word(taught: pytest.Pytester) -> None:
    (taught.path / "takeaways" / "02_words.md").unlink()
    solve(taught, "02_words")
    shown = screen(taught.runpytest("koans/"))
    assert "what it showed" not in shown and "more koan" not in shown


def test_a_history_from_before_takeaways_shows_none_for_what_passed_then(
    taught: pytest.Pytester,
) -> None:
    solve(taught, "02_words")
    taught.runpytest("koans/", "-p", "no:dagster-koans-run")  # no screen, no history
    ledger = taught.path / ".pytest_cache" / "v" / "dagster_koans" / "ledger"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_text(
        json.dumps(
            {
                "passes": {},
                "ever_passed": ["02_words::test_joining"],
                "imported": {},
                "started": None,
            }
        )
    )
    assert "what it showed" not in screen(taught.runpytest("koans/"))


def test_compare_lists_the_lessons_takeaways_and_what_to_read_next(
    taught: pytest.Pytester,
) -> None:
    solve(taught, "02_words")
    shown = screen(taught.runpytest("koans/", "--compare", "02"))
    assert shown.endswith(
        " What each koan showed:\n"
        "   test_joining\n"
        "     Strings join end to end, with nothing between.\n"
        " Read next:\n"
        "   https://docs.dagster.io/guides/build/assets\n"
        "   https://docs.dagster.io/api/dagster/assets\n"
    ), shown


def test_a_run_of_the_solutions_shows_no_takeaways(taught: pytest.Pytester) -> None:
    shown = screen(taught.runpytest("solutions/"))
    assert "what it showed" not in shown and "Read next" not in shown


def test_a_terminal_shows_the_takeaway_with_its_glyphs_and_colour(
    taught: pytest.Pytester,
) -> None:
    from test_terminal import on_a_terminal

    solve(taught, "02_words")
    shown = on_a_terminal(taught, "koans/")
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert " ✔ test_joining: what it showed" in plain
    assert "\x1b[32m ✔ test_joining: what it showed" in shown  # green
