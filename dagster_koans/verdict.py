"""Every koan's outcome is decided here: from its source, its history, or what happened when it ran.

`before_running` judges what needs no run, `after_running` what a run showed, and `settle` a
koan that has neither (its file is gone or broken, or it did not run this time).
"""

from __future__ import annotations

import enum
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from dagster_koans.blanks import BlankError
from dagster_koans.path import FileError, KoanSource, error_line

MAX_MESSAGE_LINES = 6
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


class Outcome(enum.Enum):
    PASSED = "passed"
    REMEMBERED = "remembered"  # passed before with exactly this code: not run again
    BLANK = "blank"  # a blank is still empty
    TOO_BROAD = "too broad"  # passed by catching a parent class of the exception really raised
    WRONG = "wrong"  # the koan's assertion failed
    ERROR = "error"  # an exception other than an assertion
    TIMEOUT = "timeout"
    SKIPPED = "skipped"
    MISSING = "missing"  # the path has it, the learner's file does not
    BROKEN = "broken"  # its file does not import
    NOT_RUN = "not run"  # deselected, or the run stopped before it
    FAILED_BEFORE = "failed before"  # not run, but it failed last time with exactly this code

    @property
    def resolved(self) -> bool:
        return self in (Outcome.PASSED, Outcome.REMEMBERED)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    line: int | None = None  # the line of the koan's file to look at
    message: tuple[str, ...] = ()
    output: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # (heading, text)
    # For BLANK, how the empty blank showed: "used" (it refused an operation), "rejected" (an
    # error on the blank's own line), "source" (known from the source, the koan failed elsewhere)
    reason: str = field(default="source", compare=False)

    @property
    def resolved(self) -> bool:
        return self.outcome.resolved


@dataclass(frozen=True)
class FileProblem:
    """Why a lesson file gives no koans: it is gone, or it does not import."""

    line: int | None
    message: tuple[str, ...]


def before_running(
    source: KoanSource, *, fresh: bool, remembered: bool, stuck: bool
) -> Verdict | None:
    """What is known without running: a blank still in the source, or this code's history."""
    if fresh:
        return None
    if source.blanks:
        return Verdict(Outcome.BLANK, source.blanks[0])
    if stuck:
        return Verdict(
            Outcome.TIMEOUT,
            source.first_line,
            ("Last time this koan never finished and the run had to be ended.",),
        )
    if remembered:
        return Verdict(Outcome.REMEMBERED)
    return None


def after_running(
    file: Path,
    source: KoanSource | None,
    solution: KoanSource | None,
    outcome: str,
    error: BaseException | None,
    output: tuple[tuple[str, str], ...] = (),
) -> Verdict:
    """What one phase of a koan's run showed (`outcome` is pytest's: passed, failed, skipped)."""
    if outcome == "skipped":
        return Verdict(Outcome.SKIPPED)
    if outcome == "failed" and error is not None:
        return judge_failure(file, source.blanks if source else (), error, output)
    if outcome == "failed":  # pytest failed it without an error: a strict xfail that passed
        return Verdict(
            Outcome.ERROR,
            source.first_line if source else None,
            ("It passed, but it is marked to fail (xfail): remove the mark.",),
        )
    if source is not None and source.blanks:
        return Verdict(Outcome.BLANK, source.blanks[0])  # passed, but not by filling the blank
    broad = source.broad_raises if source else ()
    if len(broad) > len(solution.broad_raises if solution else ()):
        return Verdict(
            Outcome.TOO_BROAD,
            broad[0],
            (
                "It passes, but only because `pytest.raises` catches a parent class of every",
                "error. Name the exact class Dagster raises here.",
            ),
        )
    return Verdict(Outcome.PASSED)


def settle(problem: FileProblem | None, source_exists: bool, found: Verdict | None) -> Verdict:
    """The verdict shown for a koan: its file's problem first, else what was found, else why not."""
    if problem is not None:
        return Verdict(Outcome.BROKEN, problem.line, problem.message)
    if found is not None:
        return found
    return Verdict(Outcome.NOT_RUN if source_exists else Outcome.MISSING)


def first_failure(old: Verdict | None, new: Verdict) -> Verdict:
    """Several results for one koan (its phases, its parametrized cases): the first failure wins."""
    return new if old is None or old.resolved else old


def is_interrupt(error: BaseException) -> bool:
    """Ctrl-C, or SIGTERM: Dagster turns both into its own error inside a run."""
    return any(
        isinstance(link, KeyboardInterrupt)
        or type(link).__name__ == "DagsterExecutionInterruptedError"
        for link in exception_chain(error)
    )


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


def safe_text(error: BaseException) -> str:
    """What an error says, even when its `__str__` itself raises."""
    try:
        return ANSI.sub("", str(error))
    except Exception as broken:  # the learner's exception class may be broken in any way
        return f"(its message could not be shown: {type(broken).__name__} in __str__)"


def plain_message(error: BaseException, limit: int = 2) -> tuple[str, ...]:
    """An error as one or two plain lines: its type, then what it says."""
    lines = [line.rstrip() for line in safe_text(error).strip().splitlines() if line.strip()]
    if not lines:
        return (type(error).__name__,)
    first = f"{type(error).__name__}: {lines[0].strip()}"
    return tuple(shorten(line) for line in (first, *lines[1:limit]))


def shorten(line: str, width: int = 160) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def kept_output(sections: list[tuple[str, str]], lines: int = 50) -> tuple[tuple[str, str], ...]:
    """What a koan printed, as pytest captured it: the last lines of each part, never megabytes."""
    return tuple(
        (heading, "\n".join(shorten(line, 500) for line in text.splitlines()[-lines:]))
        for heading, text in sections
        if text.strip()
    )


def judge_failure(
    file: Path,
    blanks: tuple[int, ...],
    error: BaseException,
    output: tuple[tuple[str, str], ...] = (),
) -> Verdict:
    """What a failed koan tells the learner."""
    for link in exception_chain(error):
        if isinstance(link, BlankError):
            # Used where it went (an asset's body, deep inside Dagster): show where it was put.
            line = last_line_in(file, link.__traceback__)
            if line not in blanks:
                line = blanks[0] if blanks else line
            return Verdict(Outcome.BLANK, line, reason="used")
    surfaced = last_line_in(file, error.__traceback__)
    if surfaced in blanks:
        return Verdict(Outcome.BLANK, surfaced, reason="rejected")
    if blanks:
        return Verdict(Outcome.BLANK, blanks[0])
    text = safe_text(error)
    seconds = timeout_seconds(error)
    if seconds is not None:
        return Verdict(
            Outcome.TIMEOUT,
            surfaced,
            (f"Stopped after {seconds} seconds: the koan did not finish.",),
            output,
        )
    if isinstance(error, AssertionError) and surfaced is not None:
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        return Verdict(
            Outcome.WRONG, surfaced, tuple(map(shorten, lines[:MAX_MESSAGE_LINES])), output
        )
    # Dagster wraps errors raised in a koan's op or asset: the first cause is what went wrong.
    root = error
    for link in exception_chain(error)[1:]:
        if link is not root.__cause__:
            break
        root = link
    line = last_line_in(file, root.__traceback__) or surfaced
    return Verdict(Outcome.ERROR, line, plain_message(root), output)


def timeout_seconds(error: BaseException) -> str | None:
    """The limit a time limit's failure names (see limits.py), or None for any other error."""
    text = safe_text(error)
    if type(error).__name__ != "Failed" or not text.startswith("Timeout (>"):
        return None
    return text.split("(>")[-1].split("s)")[0]


def import_problem(file: Path, error: BaseException) -> FileProblem:
    """Why a lesson file did not import, at its line, in plain words."""
    cause = error.__cause__ or error  # pytest wraps syntax and import errors
    if isinstance(cause, SyntaxError | UnicodeDecodeError):
        return unreadable(cause)
    line = last_line_in(file, cause.__traceback__)
    seconds = timeout_seconds(cause)
    if seconds is not None:
        return FileProblem(
            line,
            (
                f"Importing the file did not finish within {seconds} seconds: it was stopped",
                f"on line {line}. Look for a loop that never ends at the file's top level.",
            ),
        )
    if isinstance(cause, SystemExit | KeyboardInterrupt):
        name = type(cause).__name__
        return FileProblem(
            line, (f"The file raises {name} while it is imported: remove that line.",)
        )
    return FileProblem(line, plain_message(cause))


def unreadable(error: FileError) -> FileProblem:
    line = error_line(error)
    if isinstance(error, UnicodeDecodeError):
        return FileProblem(
            line, ("The file is not saved as UTF-8: save it as UTF-8 and run again.",)
        )
    if isinstance(error, OSError):
        reason = (error.strerror or type(error).__name__).lower()
        return FileProblem(None, (f"The file cannot be read ({reason}).",))
    kind = "Indentation error" if isinstance(error, IndentationError) else "Syntax error"
    return FileProblem(line, (f"{kind}: {error.msg}.",))
