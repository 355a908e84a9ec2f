"""What the watcher tells each run it starts, and how that run draws on the learner's terminal.

As pytest-xdist's looponfail hands its child what to run, the watcher hands each run a
`Watched` object through `pytest.main(args, plugins=[watched])`: a plugin of that run, never an
environment variable (which `PYTEST_ADDOPTS` or a koan could leak into later runs). Where a run
is a new process (no fork), the same fields travel as JSON in the hidden `--koans-watched`.
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

import pytest

HOME, CLEAR_LINE, CLEAR_BELOW = "\x1b[H", "\x1b[K", "\x1b[J"


class Offscreen(io.StringIO):
    """pytest's own output in a watched run: kept off the screen, with the terminal's looks (so
    pytest and the screen decide colour and width as on the terminal itself)."""

    def __init__(self, terminal: TextIO) -> None:
        super().__init__()
        self._encoding = getattr(terminal, "encoding", None) or "utf-8"

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def isatty(self) -> bool:
        return True


@dataclass(eq=False)  # a plugin: pluggy keeps it in sets, by identity
class Watched:
    """The watcher's word to one run: registered in that run as a plugin."""

    cancelled: tuple[int, ...] = ()  # pids of earlier runs the watcher ended on purpose
    keys: bool = False  # single keys work: the footer lists them
    hint: bool = False  # `h`: the hint for the koan on screen
    compare: bool = False  # `c`: the lesson just finished beside the master's answers
    in_place: bool = False  # redraw the terminal in place, pytest's own output kept off it
    go: int | None = None  # a run forked ahead of its save waits for its word on this pipe
    drawn: bool = field(default=False, compare=False)
    _terminal: TextIO | None = field(default=None, compare=False, repr=False)
    _offscreen: Offscreen | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, object]:
        """Pickled with the screen's look for the process that draws a stuck run's screen,
        which writes below the last screen: no terminal goes with it."""
        return {**self.__dict__, "_terminal": None, "_offscreen": None, "go": None}

    def keep_pytest_output_offscreen(self) -> None:
        """In the run's process, before pytest starts: only the screen reaches the terminal."""
        if self.in_place:
            self._terminal = sys.stdout
            self._offscreen = Offscreen(sys.stdout)
            sys.stdout = self._offscreen

    def footer(self, fancy: bool) -> str:
        if not self.keys:
            return " Watching koans/: save a file to run again. Ctrl-C stops."
        dot, rule = (" · ", "──") if fancy else (", ", "--")
        hint = "h hide the hint" if self.hint else "h hint"
        compare = "c back to the path" if self.compare else "c compare"
        return f" Watching koans/ {rule} " + dot.join((hint, compare, "r run again", "q quit"))

    def show(self, text: str) -> bool:
        """Draw the screen over the last one; False when this run draws below pytest's output."""
        self.drawn = True
        if self._terminal is None:
            return False
        lines = text.rstrip("\n").split("\n")
        self._terminal.write(
            HOME + "".join(f"{line}{CLEAR_LINE}\n" for line in lines) + CLEAR_BELOW
        )
        self._terminal.flush()
        return True

    def word(self) -> str:
        """What a run forked ahead learns when its save comes (see `hear`)."""
        return json.dumps(
            {
                "cancelled": self.cancelled,
                "keys": self.keys,
                "hint": self.hint,
                "compare": self.compare,
            }
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self) -> None:
        """A run forked ahead waits here, with pytest's options parsed and its plugins loaded,
        before the koans' plugin reads a single lesson file."""
        if self.go is None:
            return
        with os.fdopen(self.go, "rb") as pipe:
            heard = pipe.read()
        if not heard:  # the watcher ended without a word for this run: nothing to draw
            os._exit(0)
        word = json.loads(heard)
        self.go = None
        self.cancelled = tuple(word.get("cancelled", ()))
        self.keys = bool(word.get("keys"))
        self.hint = bool(word.get("hint"))
        self.compare = bool(word.get("compare"))

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """A run that drew no screen (pytest stopped with an error): show what pytest said."""
        if self._terminal is not None and self._offscreen is not None:
            sys.stdout = self._terminal
            if not self.drawn:
                self._terminal.write(HOME + CLEAR_BELOW + self._offscreen.getvalue())
                self._terminal.flush()

    def as_argument(self) -> str:
        return "--koans-watched=" + self.word()

    @classmethod
    def from_argument(cls, value: str) -> Watched:
        fields = json.loads(value)
        return cls(**{**fields, "cancelled": tuple(fields.get("cancelled", ()))})


def watched(config: pytest.Config) -> Watched | None:
    """The watcher's word to this run, or None when no watcher started it."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, Watched):
            return plugin
    return None
