"""Editors see the whole path: their test panels discover koans with `--collect-only`.

VS Code's Testing view and PyCharm both ask pytest for node ids this way, then run single ids.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from dagster_koans.path import load_path

PATH = load_path(ROOT)


COLLECT_SECONDS = 600  # every lesson imported: seconds on a quiet machine, minutes on a busy one


def collect(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *args, "--collect-only", "-q", "-p", "no:cacheprovider"]
        # Each lesson's import is bounded by the koan limit (5 s): a busy machine can exceed it
        # where a learner's would not. What is proven here is the listing, not the speed.
        + ["-o", "koans_timeout=120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def listed() -> dict[str, tuple[int, list[str]]]:
    """Each target's exit status and the node ids pytest listed, collected side by side."""
    first = PATH.lessons[0].filename
    targets = {"koans": ["koans/"], "solutions": ["solutions/"], "one file": [f"koans/{first}"]}
    running = {name: collect(*args) for name, args in targets.items()}
    found = {}
    for name, process in running.items():
        try:
            out, _ = process.communicate(timeout=COLLECT_SECONDS)
        except subprocess.TimeoutExpired:
            for each in running.values():
                each.kill()
            out, err = process.communicate()
            pytest.fail(
                f"gave up after {COLLECT_SECONDS} s waiting for pytest to collect {name}; "
                f"its output ends:\n{(out + err)[-3000:]}"
            )
        found[name] = (process.returncode, [line for line in out.splitlines() if "::" in line])
    return found


@pytest.mark.parametrize("track", ["koans", "solutions"])
def test_collect_only_lists_every_koan_of_the_path_and_exits_0(
    listed: dict[str, tuple[int, list[str]]], track: str
) -> None:
    status, ids = listed[track]
    assert status == 0
    assert ids == [f"{track}/{koan.lesson}.py::{koan.name}" for koan in PATH.koans]


def test_collect_only_of_one_lesson_lists_its_koans(
    listed: dict[str, tuple[int, list[str]]],
) -> None:
    status, ids = listed["one file"]
    lesson = PATH.lessons[0]
    assert status == 0
    assert ids == [f"koans/{lesson.filename}::{koan.name}" for koan in lesson.koans]


def test_the_vs_code_settings_point_its_testing_view_at_the_koans() -> None:
    import json

    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert settings["python.testing.pytestEnabled"] is True
    assert settings["python.testing.pytestArgs"] == ["koans"]
