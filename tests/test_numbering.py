"""The lessons are numbered 01, 02, ... N without a gap, and every folder a learner reads holds
the same lessons: a missing number looks like a file lost from the checkout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dagster_koans.path import load_path

ROOT = Path(__file__).resolve().parent.parent
LESSON = re.compile(r"^(\d\d)_\w+$")


def lesson_stems(folder: str, suffix: str) -> list[str]:
    """The stems of the lesson files in `folder` (`NN_topic` + `suffix`), sorted."""
    return sorted(
        file.name.removesuffix(suffix)
        for file in (ROOT / folder).glob(f"*{suffix}")
        if LESSON.match(file.name.removesuffix(suffix))
    )


def test_the_path_numbers_its_lessons_from_01_without_a_gap() -> None:
    numbers = [int(lesson.number) for lesson in load_path(ROOT).lessons]
    assert numbers == list(range(1, len(numbers) + 1)), f"lessons are numbered {numbers}"


@pytest.mark.parametrize(("folder", "suffix"), [("koans", ".py"), ("hints", ".md")])
def test_every_folder_a_learner_reads_holds_the_same_lessons_as_the_solutions(
    folder: str, suffix: str
) -> None:
    assert lesson_stems(folder, suffix) == lesson_stems("solutions", ".py")


def test_takeaways_exist_only_for_lessons_of_the_path() -> None:
    assert set(lesson_stems("takeaways", ".md")) <= set(lesson_stems("solutions", ".py"))
