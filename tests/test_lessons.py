"""The proof that the path holds: every koan fails blank, passes solved, and is well formed."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ROOT
from dagster_koans.blanks import blank_lines
from dagster_koans.path import LearningPath, Lesson, load_path, scan_file

PATH = load_path(ROOT)
KOAN_IDS = [koan.key for koan in PATH.koans]
# Here the proof is correctness, not speed: a koan taking 1.5 s on a quiet machine can pass the
# learner's 5 s limit there and not on a busy one, so each koan (and lesson import) gets minutes.
KOAN_LIMIT = ["-o", "koans_timeout=120"]
TRACK_SECONDS = 3600  # both tracks side by side: minutes on a quiet machine, far more on a busy one


def start_track(track: str, xml: Path, home: Path) -> subprocess.Popen[bytes]:
    """Run a whole track as a learner would, fresh, writing each koan's verdict to junit."""
    home.mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", f"{track}/", "--koans-fresh", "-p", "no:cacheprovider"]
        + KOAN_LIMIT
        # The solutions raise no deprecation: any would fail its koan here.
        + (["-W", "error::DeprecationWarning"] if track == "solutions" else [])
        + [f"--junitxml={xml}"],
        cwd=ROOT,
        env={**os.environ, "HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def read_verdicts(xml: Path) -> dict[str, dict[str, str]]:
    verdicts = {}
    for case in ET.parse(xml).iter("testcase"):
        key = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
        verdicts[key] = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    return verdicts


@pytest.fixture(scope="module")
def track_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tracks")


@pytest.fixture(scope="module")
def tracks(track_folder: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Both tracks, run side by side, each with a home of its own: the koans and the solutions."""
    running = {
        track: start_track(track, track_folder / f"{track}.xml", track_folder / f"{track}-home")
        for track in ("koans", "solutions")
    }
    for track, process in running.items():
        try:
            _, stderr = process.communicate(timeout=TRACK_SECONDS)
        except subprocess.TimeoutExpired:
            for each in running.values():
                each.kill()
            _, stderr = process.communicate()  # what it wrote before the kill
            pytest.fail(
                f"gave up after {TRACK_SECONDS} s waiting for the {track} track to finish; "
                f"its stderr ends:\n{stderr.decode()[-3000:]}"
            )
        assert (track_folder / f"{track}.xml").exists(), stderr.decode()[-3000:]
    return {track: read_verdicts(track_folder / f"{track}.xml") for track in running}


@pytest.mark.parametrize("track", ["koans", "solutions"])
def test_a_whole_track_writes_nothing_into_home(
    tracks: dict[str, dict[str, dict[str, str]]], track_folder: Path, track: str
) -> None:
    assert sorted(str(p) for p in (track_folder / f"{track}-home").rglob("*")) == []


@pytest.fixture(scope="module")
def shipped(tracks: dict[str, dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    return tracks["koans"]


@pytest.fixture(scope="module")
def solved(tracks: dict[str, dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    return tracks["solutions"]


def test_the_path_has_lessons_in_order_each_with_eight_or_more_koans() -> None:
    numbers = [int(lesson.number) for lesson in PATH.lessons]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))
    assert PATH.lessons[-1].stem == "21_capstone"  # the capstone stays last
    assert all(len(lesson.koans) >= 8 for lesson in PATH.lessons)


@pytest.mark.parametrize("lesson", PATH.lessons, ids=lambda lesson: lesson.stem)
def test_reset_rebuilds_each_koan_file_exactly_as_shipped(lesson) -> None:
    from dagster_koans.reset import shipped_text

    shipped = shipped_text(ROOT, lesson)
    assert shipped == (ROOT / "koans" / lesson.filename).read_text(encoding="utf-8"), (
        "run `python -m dagster_koans.reset --record` after changing a lesson"
    )


@pytest.mark.parametrize("key", KOAN_IDS)
def test_every_koan_fails_as_shipped_because_its_blank_is_empty(
    shipped: dict[str, dict[str, str]], key: str
) -> None:
    """The real failure: the empty blank refused to be used, or Dagster rejected it on its own
    line. A koan that fails earlier for another reason, or passes blank, fails this test."""
    assert shipped[key].get("koan") == "blank"
    assert shipped[key].get("blank_reason") in ("used", "rejected"), shipped[key]


@pytest.mark.parametrize("key", KOAN_IDS)
def test_every_solution_passes(solved: dict[str, dict[str, str]], key: str) -> None:
    assert solved[key].get("koan") == "passed"


@pytest.mark.parametrize("lesson", PATH.lessons, ids=lambda lesson: lesson.stem)
def test_a_koan_file_differs_from_its_solution_only_on_lines_holding_a_blank(lesson) -> None:
    koan_lines = (ROOT / "koans" / lesson.filename).read_text(encoding="utf-8").splitlines()
    solution_lines = (ROOT / "solutions" / lesson.filename).read_text(encoding="utf-8").splitlines()
    assert len(koan_lines) == len(solution_lines)
    for number, (koan, solution) in enumerate(zip(koan_lines, solution_lines, strict=True), 1):
        if koan != solution:
            assert blank_lines(koan), f"line {number} differs but holds no blank: {koan!r}"
            assert not blank_lines(solution), f"line {number} of the solution holds a blank"


@pytest.mark.parametrize("lesson", PATH.lessons, ids=lambda lesson: lesson.stem)
def test_blanks_sit_only_inside_koans_and_every_koan_has_one(lesson) -> None:
    scanned = scan_file(ROOT / "koans" / lesson.filename)
    assert scanned.error is None
    tree = ast.parse("\n".join(scanned.lines))
    imports = {node.lineno for node in tree.body if isinstance(node, ast.ImportFrom)}
    inside = {n for fn in scanned.functions for n in range(fn.first_line, fn.last_line + 1)}
    assert set(blank_lines("\n".join(scanned.lines))) <= inside | imports
    assert [fn.name for fn in scanned.functions] == [koan.name for koan in lesson.koans]
    assert all(fn.blanks for fn in scanned.functions)
    assert not scanned.duplicates


@pytest.mark.parametrize("track", ["koans", "solutions"])
def test_every_lesson_and_koan_has_a_docstring_and_every_koan_a_hint(track: str) -> None:
    path: LearningPath = load_path(ROOT)
    for lesson in path.lessons:
        scanned = scan_file(ROOT / track / lesson.filename)
        assert scanned.lines[0].startswith('"""'), f"{lesson.stem} has no module docstring"
        for fn in scanned.functions:
            assert fn.docstring.strip(), f"{track}/{lesson.filename}::{fn.name} has no docstring"
        hinted = [koan.name for koan in lesson.koans if koan.hint]
        assert hinted == [koan.name for koan in lesson.koans], f"{lesson.stem}: a koan lacks a hint"


def test_hint_files_name_only_koans_of_the_path() -> None:
    from dagster_koans.path import read_hints

    for lesson in PATH.lessons:
        hints = read_hints(ROOT / "hints" / f"{lesson.stem}.md")
        assert list(hints) == [koan.name for koan in lesson.koans]


@pytest.mark.parametrize("lesson", PATH.lessons, ids=[lesson.stem for lesson in PATH.lessons])
def test_every_koan_has_a_takeaway_and_every_lesson_links_to_read_next(lesson: Lesson) -> None:
    from dagster_koans.takeaways import lesson_takeaways, read_next
    from dagster_koans.track import Track

    track = Track(ROOT, "koans")
    takeaways = lesson_takeaways(track, lesson.stem)
    assert list(takeaways) == [koan.name for koan in lesson.koans], (
        f"takeaways/{lesson.stem}.md: one section per koan, in file order"
    )
    assert all(text.strip() for text in takeaways.values())
    for folder in ("koans", "solutions"):
        links = read_next(ROOT / folder / lesson.filename)
        assert 1 <= len(links) <= 3, f"{folder}/{lesson.filename}: no Read next paragraph"
        assert all(link.startswith("https://docs.dagster.io/") for link in links)
