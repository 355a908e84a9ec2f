"""Files the learner can damage: each gets one plain line naming the file and what to do, the
run goes on where it can (plain pytest only warns), and nothing of the learner's is lost."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from daemon import PATIENCE

from conftest import edit, record_shipped, screen, solve


def writes_read_only_files() -> bool:
    """True for root (or any user who may ignore a file's mode): no file is read-only to them."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("")
        probe.chmod(0o444)
        try:
            probe.write_text("x")
        except PermissionError:
            return False
        return True


@pytest.fixture
def answered(two_lessons: pytest.Pytester) -> pytest.Pytester:
    """A project whose lesson 01 holds the learner's answers."""
    record_shipped(two_lessons)
    solve(two_lessons, "01_arithmetic")
    return two_lessons


def reset(project: pytest.Pytester) -> tuple[int, list[str]]:
    result = project.runpytest("koans/", "--reset", "01", "--yes")
    return result.ret, [line for line in result.outlines if line.strip()]


def test_reset_with_koans_state_a_file_names_it_and_changes_nothing(
    answered: pytest.Pytester,
) -> None:
    mine = (answered.path / "koans" / "01_arithmetic.py").read_text()
    (answered.path / ".koans").write_text("not a folder")
    assert reset(answered) == (
        4,
        [
            "Cannot keep a backup of koans/01_arithmetic.py in .koans/backups/ (.koans is a file "
            "where a folder belongs), so koans/01_arithmetic.py was left as it is. Make "
            ".koans/backups/ a folder you can write to (move away what is in the way), then run "
            "this again."
        ],
    )
    assert (answered.path / "koans" / "01_arithmetic.py").read_text() == mine


def test_reset_with_the_backups_folder_a_file_names_it_and_changes_nothing(
    answered: pytest.Pytester,
) -> None:
    mine = (answered.path / "koans" / "01_arithmetic.py").read_text()
    (answered.path / ".koans").mkdir()
    (answered.path / ".koans" / "backups").write_text("not a folder")
    status, lines = reset(answered)
    assert status == 4
    assert lines[0].startswith(
        "Cannot keep a backup of koans/01_arithmetic.py in .koans/backups/ (.koans/backups is a "
        "file where a folder belongs)"
    )
    assert (answered.path / "koans" / "01_arithmetic.py").read_text() == mine


@pytest.mark.skipif(writes_read_only_files(), reason="this user writes into read-only files")
def test_reset_of_a_read_only_lesson_names_it_and_keeps_the_learners_copy(
    answered: pytest.Pytester,
) -> None:
    lesson = answered.path / "koans" / "01_arithmetic.py"
    mine = lesson.read_text()
    lesson.chmod(0o444)
    status, lines = reset(answered)
    assert status == 4
    kept = next((answered.path / ".koans" / "backups").glob("01_arithmetic.*.py"))
    assert lines == [
        "Cannot write koans/01_arithmetic.py (permission denied): it is unchanged; your copy is "
        f"also kept at .koans/backups/{kept.name}. Make it writable (chmod u+w "
        "koans/01_arithmetic.py), then run this again."
    ]
    assert lesson.read_text() == mine == kept.read_text()


def test_reset_refuses_to_write_blanks_through_a_link_into_the_solutions(
    answered: pytest.Pytester,
) -> None:
    lesson = answered.path / "koans" / "01_arithmetic.py"
    solution = answered.path / "solutions" / "01_arithmetic.py"
    answers = solution.read_text()
    lesson.unlink()
    lesson.symlink_to(os.path.join("..", "solutions", "01_arithmetic.py"))
    assert reset(answered) == (
        4,
        [
            "koans/01_arithmetic.py is a link to solutions/01_arithmetic.py: restoring it would "
            "write blanks into the master's answers. Delete the link (rm koans/01_arithmetic.py), "
            "then run this again to get the lesson back as shipped."
        ],
    )
    assert solution.read_text() == answers
    assert not (answered.path / ".koans").exists()
    lesson.unlink()  # as the message says
    assert reset(answered)[0] == 0
    assert "__" in lesson.read_text() and solution.read_text() == answers


def put_in_the_way(path: Path, kind: str) -> None:
    """Replace whatever is at `path` with an empty folder, or a file of a few words."""
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        path.mkdir()
    else:
        path.write_text("in the way")


def paragraph(text: str, first_words: str) -> str:
    """The paragraph of the screen that starts with `first_words`, its wrapped lines joined."""
    start = text.index(first_words)
    end = text.find("\n\n", start)
    return " ".join(text[start : end if end >= 0 else None].split())


@pytest.mark.parametrize(
    ("damaged", "kind", "named"),
    [
        ("d/dagster_koans/running", "folder", "/d/dagster_koans/running is a folder where a file"),
        (
            "d/dagster_koans/stuck.json",
            "folder",
            "/d/dagster_koans/stuck.json is a folder where a file",
        ),
        ("d/dagster_koans", "file", "/d/dagster_koans is a file where a folder"),
        ("v/dagster_koans/ledger", "folder", "/v/dagster_koans/ledger is a folder where a file"),
        ("v/dagster_koans", "file", "/v/dagster_koans is a file where a folder"),
        (".", "file", " is a file where a folder"),
    ],
)
def test_a_damaged_cache_is_named_with_what_to_do_and_the_run_goes_on(
    two_lessons: pytest.Pytester, damaged: str, kind: str, named: str
) -> None:
    two_lessons.runpytest("koans/")  # the cache as a run leaves it
    put_in_the_way(two_lessons.path / ".pytest_cache" / damaged, kind)
    solve(two_lessons, "02_words")
    note = (
        f"Cannot keep the koans' history: .pytest_cache{named} belongs. Delete .pytest_cache "
        "(it holds only that history) and run again."
    )
    for _ in range(2):  # the next run says the same, until the learner deletes it
        # 02 words must pass: a limit no busy machine reaches
        result = two_lessons.runpytest_subprocess(
            "koans/", "-o", "koans_timeout=120", timeout=PATIENCE
        )
        assert result.ret == 1
        assert "INTERNALERROR" not in "\n".join(result.outlines + result.errlines)
        assert " + 02 words       1/1" in screen(result)  # it ran, and passed
        assert paragraph(screen(result), "Cannot keep") == note


def test_a_damaged_cache_note_fits_the_screen(two_lessons: pytest.Pytester) -> None:
    put_in_the_way(two_lessons.path / ".pytest_cache" / "d" / "dagster_koans" / "running", "folder")
    result = two_lessons.runpytest_subprocess("koans/", timeout=PATIENCE)
    assert result.ret == 1
    assert screen(result).splitlines()[6:10] == [
        " Cannot keep the koans' history: .pytest_cache/d/dagster_koans/running is a",
        "folder where a file belongs. Delete .pytest_cache (it holds only that history)",
        "and run again.",
        "",
    ]


def test_a_half_typed_line_in_a_solution_is_named_and_the_path_keeps_its_length(
    two_lessons: pytest.Pytester,
) -> None:
    record_shipped(two_lessons)
    edit(two_lessons.path / "solutions" / "01_arithmetic.py", "total = 1 + 1", "total = 1 +")
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert screen(result).splitlines()[:10] == [
        " Dagster Koans -- the path to enlightenment",
        " [----------------------------------------]  0/3 koans  0%",
        "",
        " > 01 arithmetic  0/2 <- you are here",
        "   02 words       0/1",
        "",
        " solutions/01_arithmetic.py, line 8, does not parse (syntax error: invalid",
        "syntax), and the path is read from it: undo what was typed there, then run",
        "again.",
        "",
    ]
    reset = two_lessons.runpytest("koans/", "--reset", "01", "--yes")
    assert reset.ret == 4
    assert reset.outlines[-1] == (
        "Cannot rebuild koans/01_arithmetic.py as shipped: solutions/01_arithmetic.py, line 8, "
        "does not parse (syntax error: invalid syntax). Undo what was typed there, then run "
        "this again."
    )


def test_a_lesson_the_compiler_refuses_is_named_at_once_though_every_koan_holds_a_blank(
    two_lessons: pytest.Pytester,
) -> None:
    two_lessons.runpytest("koans/")  # known: every koan holds a blank, and the file imports
    edit(
        two_lessons.path / "koans" / "01_arithmetic.py",
        "total = 1 + 1",
        "total = 1 + 1\n\n    def twice(n, n):\n        return n + n",
    )
    result = two_lessons.runpytest("koans/")
    assert result.ret == 1
    assert screen(result).splitlines()[-2:] == [
        "  koans/01_arithmetic.py, line 10 does not import, so none of its koans can run:",
        "  Syntax error: duplicate argument 'n' in function definition.",
    ]
