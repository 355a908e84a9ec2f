"""Putting the screen under pytest's own output at the end of a run, and the exit status.

The screen is drawn with rich into text, then written through pytest's terminal writer: the
same stream, width and colour decision as the rest of pytest's output. Colour and box drawing
need a terminal that takes them (pytest's `--color`, `NO_COLOR`, `TERM=dumb`, `CI`) and an
output stream that can encode them; otherwise the screen is plain ASCII.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass

import pytest
from rich.console import Console, Group, RenderableType
from rich.text import Text

from dagster_koans.compare import render_compare, render_lesson_takeaways
from dagster_koans.options import KoansOptions
from dagster_koans.path import Lesson
from dagster_koans.progress import SCREEN_STATUSES, Standing
from dagster_koans.render import FANCY, glyphs, render_progress, render_screen
from dagster_koans.takeaways import read_next, takeaways_of
from dagster_koans.watched import Watched, watched

ASCII_FOR = str.maketrans(
    {
        "…": "...",
        "—": "--",
        "–": "-",
        "→": "->",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "×": "x",
        "✔": "+",
        "▶": ">",
        "✘": "x",
    }
)


class Sink(io.StringIO):
    """Where rich draws: a string, carrying the real stream's encoding so rich picks glyphs."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


@dataclass(frozen=True)
class Look:
    """How the screen is drawn: the width, colour and glyphs of pytest's own output here."""

    width: int
    markup: bool  # colour and box drawing
    encoding: str  # "utf-8", or "ascii" where Unicode cannot be shown
    quiet: bool  # pytest's -q
    watching: Watched | None  # the watcher's word to a run it started


def stream_encoding() -> str:
    """ "ascii" where Unicode cannot be shown: a stream that can't encode it, or `TERM=dumb`."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "╭─✔…".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "ascii"
    return "ascii" if os.environ.get("TERM") == "dumb" else "utf-8"


def look_of(config: pytest.Config) -> Look:
    writer = config.get_terminal_writer()
    markup = writer.hasmarkup
    if os.environ.get("CI") and config.getoption("color", "auto") != "yes":
        markup = False
    return Look(
        width=writer.fullwidth,
        markup=markup,
        encoding=stream_encoding(),
        quiet=config.get_verbosity() < 0,
        watching=watched(config),
    )


def make_console(look: Look) -> Console:
    return Console(
        file=Sink(look.encoding),
        width=look.width,
        force_terminal=look.markup,
        no_color=not look.markup,
        color_system="standard" if look.markup else None,
        highlight=False,
        soft_wrap=False,
    )


INTERRUPTED_LINE = " Interrupted: the run stopped before the end. Run it again when ready."


def draw(config: pytest.Config, options: KoansOptions, standing: Standing, status: int) -> bool:
    """Draw the screen for a run that ends with `status` (see `Standing.exit_status`); True
    when it showed the takeaways of the koans that passed for the first time."""
    if options.collect_only or standing.exited:
        return False  # pytest's list of node ids, or a test's `pytest.exit()`, is the answer
    if config.pluginmanager.get_plugin("terminalreporter") is None:
        return False  # -p no:terminal: pytest shows nothing, and neither does the screen
    if status == pytest.ExitCode.USAGE_ERROR and options.hint and not standing.interrupted:
        sys.stderr.write("ERROR: --hint: every koan of this run is solved, nothing to hint at.\n")
        return False
    look = look_of(config)
    text = screen_text(look, options, standing, status)
    if look.watching is None or not look.watching.show(text):  # else drawn in place
        writer = config.get_terminal_writer()
        writer.write(text)
        writer.flush()
    return shows_the_path(look, options, standing, status) and not look.quiet


def shows_the_path(look: Look, options: KoansOptions, standing: Standing, status: int) -> bool:
    """True for the path's own screen; False for a comparison or a run that was interrupted."""
    comparing = options.compare is not None or (look.watching is not None and look.watching.compare)
    return not standing.interrupted and status in SCREEN_STATUSES and not comparing


def screen_text(look: Look, options: KoansOptions, standing: Standing, status: int) -> str:
    """The screen as text, in the glyphs the output can show."""
    console = make_console(look)
    watcher = look.watching
    if standing.interrupted:
        console.print(INTERRUPTED_LINE)
    elif status in SCREEN_STATUSES:
        if options.compare is not None:
            console.print(compare_view(console, options, standing, options.compare))
        elif watcher is not None and watcher.compare:
            console.print(compare_just_finished(console, options, standing))
        else:
            hint = options.hint or (watcher is not None and watcher.hint)
            console.print(render_screen(console, standing, options.command, hint, look.quiet))
    if watcher is not None:
        console.print(watcher.footer(glyphs(console) is FANCY), style="dim")
    text = console.file.getvalue()  # type: ignore[attr-defined]
    if look.encoding == "ascii":
        text = text.translate(ASCII_FOR).encode("ascii", "replace").decode("ascii")
    return str(text)


def compare_just_finished(
    console: Console, options: KoansOptions, standing: Standing
) -> RenderableType:
    """Watch mode's `c`: the lesson finished last, or a line saying none is finished yet."""
    lesson = standing.just_completed()
    if lesson is None and standing.current() is None and standing.path.lessons:
        lesson = standing.path.lessons[-1]  # the whole path is done: the last lesson
    if lesson is None:
        progress = render_progress(console, standing.solved(), standing.total)
        message = Text(
            "  No lesson finished just now: c shows a lesson beside the master's answers once "
            "its last koan passes. Press c again to go back.\n"
        )
        return Group(progress, message)
    return compare_view(console, options, standing, lesson)


def compare_view(
    console: Console, options: KoansOptions, standing: Standing, lesson: Lesson
) -> RenderableType:
    progress = render_progress(console, standing.solved(), standing.total)
    if not standing.complete(lesson) and not options.spoilers:
        message = Text(
            f"  Lesson {lesson.number} {lesson.title} is not complete yet "
            f"({standing.solved(lesson)}/{len(lesson.koans)}): finish it first, or add "
            "--spoilers to see the master's answers anyway.\n"
        )
        return Group(progress, message)
    track = standing.track
    yours = read_lines(track.file(lesson.stem))
    masters = read_lines(track.solution(lesson.stem))
    title = f"{track.shown(lesson.stem)}  beside  {track.shown_solution(lesson.stem)}"
    takeaways = takeaways_of(track, list(lesson.koans))
    links = read_next(track.solution(lesson.stem))
    return Group(
        progress,
        render_compare(console, title, yours, masters),
        render_lesson_takeaways(console, takeaways, links),
    )


def read_lines(file: os.PathLike[str]) -> list[str]:
    try:
        with open(file, encoding="utf-8-sig", errors="replace") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        return []
