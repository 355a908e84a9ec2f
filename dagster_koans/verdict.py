"""Judging a koan: from what happened when it ran to what the learner should read."""

from __future__ import annotations

import enum
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from dagster_koans.blanks import BlankError

MAX_MESSAGE_LINES = 6


class Outcome(enum.Enum):
    PASSED = "passed"
    BLANK = "blank"  # a blank is still empty
    WRONG = "wrong"  # the koan's assertion failed
    ERROR = "error"  # an exception other than an assertion
    TIMEOUT = "timeout"
    SKIPPED = "skipped"
    MISSING = "missing"  # the path has it, the learner's file does not
    BROKEN = "broken"  # its file does not import
    NOT_RUN = "not run"  # deselected, or the run stopped before it

    @property
    def resolved(self) -> bool:
        return self is Outcome.PASSED


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    line: int | None = None  # the line of the koan's file to look at
    message: tuple[str, ...] = ()
    cached: bool = field(default=False, compare=False)  # known from an earlier run

    @property
    def resolved(self) -> bool:
        return self.outcome.resolved


def exception_chain(error: BaseException) -> list[BaseException]:
    """The error and its causes, each once: Dagster's errors can chain in a cycle."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    pending: BaseException | None = error
    while pending is not None and id(pending) not in seen:
        seen.add(id(pending))
        chain.append(pending)
        pending = pending.__cause__ or pending.__context__
    return chain


def last_line_in(file: Path, tb: TracebackType | None) -> int | None:
    """The deepest line of `tb` that runs in `file`."""
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if Path(frame.f_code.co_filename) == file:
            line = lineno
    return line


def plain_message(error: BaseException, limit: int = 2) -> tuple[str, ...]:
    """An error as one or two plain lines: its type, then what it says."""
    text = str(error).strip()
    lines = [line.rstrip() for line in text.splitlines() if line.strip()][:limit]
    if not lines:
        return (type(error).__name__,)
    first = f"{type(error).__name__}: {lines[0].strip()}"
    return tuple(shorten(line) for line in (first, *lines[1:]))


def shorten(line: str, width: int = 160) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def judge_failure(file: Path, blanks: tuple[int, ...], error: BaseException) -> Verdict:
    """What a failed koan tells the learner."""
    if blanks:
        return Verdict(Outcome.BLANK, blanks[0])
    chain = exception_chain(error)
    for link in chain:
        if isinstance(link, BlankError):
            return Verdict(Outcome.BLANK, last_line_in(file, link.__traceback__))
    surfaced = last_line_in(file, error.__traceback__)
    if type(error).__name__ == "Failed" and "Timeout" in str(error):
        seconds = str(error).split("(>")[-1].split("s)")[0]
        return Verdict(
            Outcome.TIMEOUT,
            surfaced,
            (f"Stopped after {seconds} seconds: the koan did not finish.",),
        )
    if isinstance(error, AssertionError) and surfaced is not None:
        lines = [line.rstrip() for line in str(error).splitlines() if line.strip()]
        return Verdict(Outcome.WRONG, surfaced, tuple(map(shorten, lines[:MAX_MESSAGE_LINES])))
    # Dagster wraps errors raised in a koan's op or asset: the first cause is what went wrong.
    root, seen = error, {id(error)}
    while root.__cause__ is not None and id(root.__cause__) not in seen:
        root = root.__cause__
        seen.add(id(root))
    line = last_line_in(file, root.__traceback__) or surfaced
    return Verdict(Outcome.ERROR, line, plain_message(root))
