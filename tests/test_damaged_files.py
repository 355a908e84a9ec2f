"""Files the learner can damage: each gets one plain line naming the file and what to do, the
run goes on where it can (plain pytest only warns), and nothing of the learner's is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import solve


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


def record_shipped(project: pytest.Pytester) -> None:
    """What the project's maintainers run after writing a lesson."""
    subprocess.run(
        [sys.executable, "-m", "dagster_koans.reset", "--record"], cwd=project.path, check=True
    )


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
