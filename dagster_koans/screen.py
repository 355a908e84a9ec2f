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

from dagster_koans.compare import render_compare
from dagster_koans.options import KoansOptions
from dagster_koans.progress import SCREEN_STATUSES, Standing
from dagster_koans.render import render_progress, render_screen

WATCHING = "DAGSTER_KOANS_WATCHING"  # set by the watcher for the runs it starts
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
    watching: bool  # a run the watcher started


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
        watching=bool(os.environ.get(WATCHING)),
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


def draw(config: pytest.Config, options: KoansOptions, standing: Standing, status: int) -> None:
    """Draw the screen for a run that ends with `status` (see `Standing.exit_status`)."""
    if options.collect_only or standing.exited:
        return  # pytest's list of node ids, or a test's `pytest.exit()`, is the whole answer
    if config.pluginmanager.get_plugin("terminalreporter") is None:
        return  # -p no:terminal: pytest shows nothing, and neither does the screen
    if status == pytest.ExitCode.USAGE_ERROR and options.hint and not standing.interrupted:
        sys.stderr.write("ERROR: --hint: every koan of this run is solved, nothing to hint at.\n")
        return
    writer = config.get_terminal_writer()
    writer.write(screen_text(look_of(config), options, standing, status))
    writer.flush()


def screen_text(look: Look, options: KoansOptions, standing: Standing, status: int) -> str:
    """The screen as text, in the glyphs the output can show."""
    console = make_console(look)
    if standing.interrupted:
        console.print(INTERRUPTED_LINE)
    elif status in SCREEN_STATUSES:
        if options.compare is not None:
            console.print(compare_view(console, options, standing))
        else:
            console.print(
                render_screen(console, standing, options.command, options.hint, look.quiet)
            )
    if look.watching:
        console.print(" Watching koans/: save a file to run again. Ctrl-C stops.", style="dim")
    text = console.file.getvalue()  # type: ignore[attr-defined]
    if look.encoding == "ascii":
        text = text.translate(ASCII_FOR).encode("ascii", "replace").decode("ascii")
    return str(text)


def compare_view(console: Console, options: KoansOptions, standing: Standing) -> RenderableType:
    lesson = options.compare
    assert lesson is not None
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
    return Group(progress, render_compare(console, title, yours, masters))


def read_lines(file: os.PathLike[str]) -> list[str]:
    try:
        with open(file, encoding="utf-8-sig", errors="replace") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        return []
