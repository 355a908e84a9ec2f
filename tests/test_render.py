"""The render functions, drawn at a fixed width with box drawing and no color codes."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from dagster_koans.path import Koan, LearningPath, Lesson, scan_source
from dagster_koans.progress import Standing
from dagster_koans.render import render_panel, render_progress
from dagster_koans.track import Track
from dagster_koans.verdict import Outcome, Verdict

SOURCE = '''"""Config."""


def test_an_op_reads_a_config_class() -> None:
    """An op declares its run-time settings as a Config class parameter."""

    class DownloadConfig(dg.Config):
        url: str

    def download(config: __) -> str:
        return config.url
'''


def terminal(width: int = 60) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)


def drawn(console: Console, renderable: object) -> str:
    console.print(renderable)
    assert isinstance(console.file, io.StringIO)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def test_the_panel_marks_the_blank_line_with_boxes_on_a_terminal() -> None:
    koan = Koan(
        "03_op_config",
        "test_an_op_reads_a_config_class",
        "An op declares its run-time settings as a Config class parameter.",
        None,
    )
    standing = Standing(
        LearningPath((Lesson("03_op_config", (koan,)),)),
        Track(Path("."), "koans"),
        verdicts={koan.key: Verdict(Outcome.BLANK, 10)},
        files={"03_op_config": scan_source(SOURCE)},
    )
    console = terminal()
    assert drawn(console, render_panel(console, standing, koan, "koans/")) == (
        "╭─ koans/03_op_config.py:10 ── test_an_op_reads_a_config_c─╮\n"
        "│ An op declares its run-time settings as a Config class   │\n"
        "│ parameter.                                               │\n"
        "│                                                          │\n"
        "│    4 │ def test_an_op_reads_a_config_class() -> None:    │\n"
        '│    5 │     """An op declares its run-time settings as a… │\n'
        "│    6 │                                                   │\n"
        "│    7 │     class DownloadConfig(dg.Config):              │\n"
        "│    8 │         url: str                                  │\n"
        "│    9 │                                                   │\n"
        "│ ▶ 10 │     def download(config: __) -> str:              │\n"
        "│   11 │         return config.url                         │\n"
        "╰──────────────────────────────────────────────────────────╯"
    )


def test_the_progress_bar_counts_the_whole_path() -> None:
    console = terminal()
    assert drawn(console, render_progress(console, 23, 96)) == (
        " Dagster Koans ── the path to enlightenment\n"
        " ━━━━━━━━━╸──────────────────────────────  23/96 koans  23%\n"
        ""
    )
