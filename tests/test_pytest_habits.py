"""A learner's pytest habits keep working: options that pick tests, show things or move the
root, and running from inside `koans/`."""

from __future__ import annotations

import pytest

from conftest import fill, screen, solve


def test_a_rootdir_outside_the_project_is_refused_in_one_line(
    two_lessons: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = two_lessons.runpytest("koans/", f"--rootdir={elsewhere}")
    assert result.ret == 4
    assert [line for line in result.errlines if line] == [
        f"ERROR: --rootdir {elsewhere} is not this project's folder ({two_lessons.path}), where "
        "the koans find their lessons and history: run without --rootdir."
    ]
    assert result.outlines == []


def test_from_inside_koans_the_screen_names_files_and_commands_as_typed_there(
    two_lessons: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 3")
    two_lessons.runpytest("koans/")  # test_adding fails, and is remembered so
    monkeypatch.chdir(two_lessons.path / "koans")
    result = two_lessons.runpytest("-k", "not adding")
    assert result.ret == 1
    assert screen(result).splitlines()[-10:] == [
        "+- 01_arithmetic.py:6 -- test_adding ------------------------------------------+",
        "| One and one make two.                                                        |",
        "|                                                                              |",
        "| > 6 | def test_adding() -> None:                                             |",
        '|   7 |     """One and one make two."""                                        |',
        "|   8 |     total = 1 + 1                                                      |",
        "+------------------------------------------------------------------------------+",
        "  It failed last time with this same code, and did not run this time.",
        "  Run it: pytest 01_arithmetic.py",
        "  Stuck?  pytest . --hint",
    ]
    for suggested in (["01_arithmetic.py"], [".", "--hint"]):  # each works from here
        ran = two_lessons.runpytest(*suggested)
        assert ran.ret == 1
        assert "  Not yet: the assertion on line 9 failed." in screen(ran)
    assert "  Hint: Think about test_adding." in screen(ran)


@pytest.mark.parametrize(
    ("leaving_out", "status"),
    [
        # picking koans by mark or name: the koans picked all passed, as pytest would say
        (["-m", "slow"], 0),
        (["-k", "multiplying"], 0),
        # leaving koans out of a whole lesson: they still count, unresolved
        (["--deselect", "koans/01_arithmetic.py::test_adding"], 1),
        (["--ignore", "koans/01_arithmetic.py"], 1),
    ],
)
def test_a_koan_known_to_be_wrong_is_never_skipped_when_a_run_leaves_it_out(
    two_lessons: pytest.Pytester, leaving_out: list[str], status: int
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 3")
    fill(two_lessons, "01_arithmetic", "3 * 2 == __", "3 * 2 == 6")
    fill(
        two_lessons,
        "01_arithmetic",
        "def test_multiplying",
        "@pytest.mark.slow\ndef test_multiplying",
    )
    fill(two_lessons, "01_arithmetic", "from dagster_koans", "import pytest\n\nfrom dagster_koans")
    solve(two_lessons, "02_words")
    assert two_lessons.runpytest("koans/").ret == 1  # test_adding fails: remembered
    result = two_lessons.runpytest("koans/", *leaving_out)
    assert result.ret == status
    assert screen(result).splitlines()[-13:] == [
        " > 01 arithmetic  1/2 <- you are here",
        " + 02 words       1/1",
        "",
        "+- koans/01_arithmetic.py:8 -- test_adding ------------------------------------+",
        "| One and one make two.                                                        |",
        "|                                                                              |",
        "| >  8 | def test_adding() -> None:                                            |",
        '|    9 |     """One and one make two."""                                       |',
        "|   10 |     total = 1 + 1                                                     |",
        "+------------------------------------------------------------------------------+",
        "  It failed last time with this same code, and did not run this time.",
        "  Run it: pytest koans/01_arithmetic.py",
        "  Stuck?  pytest koans/ --hint",
    ]


def test_cache_show_shows_pytests_cache_and_exits_as_pytest_does(
    two_lessons: pytest.Pytester,
) -> None:
    two_lessons.runpytest("koans/")
    for args in (["--cache-show"], ["koans/", "--cache-show"], ["--fixtures"]):
        result = two_lessons.runpytest(*args)
        assert result.ret == 0
        assert not any("Dagster Koans" in line for line in result.outlines)
    assert "dagster_koans/ledger contains:" in two_lessons.runpytest("--cache-show").outlines


def test_verbose_lists_the_koans_that_ran_and_counts_those_left_out(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "total == __", "total == 3")
    result = two_lessons.runpytest("koans/", "-v")
    assert result.ret == 1
    listed = [line.split(" ", 1) for line in result.outlines if line.startswith("koans/")]
    assert [(test, verdict.split("[")[0].strip()) for test, verdict in listed] == [
        ("koans/01_arithmetic.py::test_adding", "FAILED (wrong)")
    ]
    assert (
        "koans: 2 not run (2 still hold a blank, skipped 1 file); --koans-fresh runs them all"
        in result.outlines
    )
    fresh = two_lessons.runpytest("koans/", "-v", "--koans-fresh")
    listed = [line.split(" ", 1) for line in fresh.outlines if line.startswith("koans/")]
    assert [(test, verdict.split("[")[0].strip()) for test, verdict in listed] == [
        ("koans/01_arithmetic.py::test_adding", "FAILED (wrong)"),
        ("koans/01_arithmetic.py::test_multiplying", "FAILED (blank)"),
        ("koans/02_words.py::test_joining", "FAILED (blank)"),
    ]
