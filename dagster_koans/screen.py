"""Putting the screen on the learner's terminal at the end of a run, and the exit status."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from rich.console import Console, Group, RenderableType
from rich.text import Text

from dagster_koans.compare import render_compare
from dagster_koans.progress import Standing
from dagster_koans.render import render_progress, render_screen

INTERRUPTED, USAGE_ERROR, NO_TESTS = 2, 4, 5
WATCHING = "DAGSTER_KOANS_WATCHING"  # set by the watcher for the runs it starts


def make_console(config: pytest.Config) -> Console:
    color = config.getoption("color", "auto")
    terminal = {"yes": True, "no": False}.get(color)
    if os.environ.get("CI") and color != "yes":
        terminal = False
    return Console(file=sys.stdout, force_terminal=terminal, highlight=False, soft_wrap=False)


def draw(config: pytest.Config, standing: Standing, exitstatus: int) -> int:
    console = make_console(config)
    watching = bool(os.environ.get(WATCHING))
    if watching:
        console.clear()
    status = draw_screen(console, config, standing, exitstatus)
    if watching:
        console.print(" Watching koans/: save a file to run again. Ctrl-C stops.", style="dim")
    return status


def draw_screen(
    console: Console, config: pytest.Config, standing: Standing, exitstatus: int
) -> int:
    if exitstatus == INTERRUPTED:
        console.print("\n Interrupted: the run stopped before the end. Run it again when ready.")
        return exitstatus
    wanted = config.getoption("compare")
    if config.getoption("hint") and standing.current() is None:
        sys.stderr.write("ERROR: --hint: every koan of this run is solved, nothing to hint at.\n")
        return USAGE_ERROR
    if wanted is not None:
        console.print(compare_view(console, config, standing, wanted))
    else:
        console.print(render_screen(console, standing, hint=config.getoption("hint")))
    return final_status(config, standing, exitstatus)


def compare_view(
    console: Console, config: pytest.Config, standing: Standing, wanted: str
) -> RenderableType:
    lesson = standing.path.lesson(wanted)
    assert lesson is not None  # checked when the run was configured
    progress = render_progress(console, standing.solved(), standing.total)
    if not standing.complete(lesson) and not config.getoption("spoilers"):
        message = Text(
            f"  Lesson {lesson.number} {lesson.title} is not complete yet "
            f"({standing.solved(lesson)}/{len(lesson.koans)}): finish it first, or add "
            "--spoilers to see the master's answers anyway.\n"
        )
        return Group(progress, message)
    root = config.rootpath
    yours = read_lines(root / standing.track / lesson.filename)
    masters = read_lines(root / "solutions" / lesson.filename)
    title = f"{standing.track}/{lesson.filename}  beside  solutions/{lesson.filename}"
    return Group(progress, render_compare(console, title, yours, masters))


def read_lines(file: Path) -> list[str]:
    try:
        return file.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def final_status(config: pytest.Config, standing: Standing, exitstatus: int) -> int:
    """Follow pytest, but a koan judged without running counts as run, and nothing is missed."""
    if exitstatus not in (0, 1, NO_TESTS):
        return exitstatus
    in_scope = [koan for koan in standing.path.koans if koan.key in standing.scope]
    if any(not standing.verdict(koan).resolved for koan in in_scope):
        return 1
    return 0 if exitstatus == NO_TESTS and in_scope else exitstatus
