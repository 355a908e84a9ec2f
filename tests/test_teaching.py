"""What the lessons say holds together: the learner is never sent to a document they don't
have, and every exception a koan asks for has been named by the lessons before it is asked."""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from conftest import ROOT
from dagster_koans.path import load_path, scan_file

PATH = load_path(ROOT)

# The learner has this project and nothing else: no seed project, no tutorial to point back to.
# Not a letter before: "the seed's", `test_the_seed_project`, "seeded", "Tutorials" all count.
ABSENT_SOURCES = re.compile(r"(?<![a-z])(seed|tutorial)", re.IGNORECASE)


def learner_facing_files() -> list[Path]:
    """Every file a learner reads: the lessons, their solutions and hints, the README and the
    capstone project (its text files, without caches or tool folders)."""
    files = [
        *sorted((ROOT / "koans").glob("*.py")),
        *sorted((ROOT / "solutions").glob("*.py")),
        *sorted((ROOT / "hints").glob("*.md")),
        ROOT / "README.md",
    ]
    for file in sorted((ROOT / "capstone").rglob("*")):
        parts = file.relative_to(ROOT).parts
        hidden = any(part.startswith(".") or part == "__pycache__" for part in parts)
        if file.is_file() and not hidden and not any(p.endswith(".egg-info") for p in parts):
            files.append(file)
    return [file for file in files if file.exists()]


def read_text(file: Path) -> str | None:
    """The file's text, or None for a binary file (a database, a parquet file)."""
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


@pytest.mark.parametrize(
    "file", learner_facing_files(), ids=lambda file: file.relative_to(ROOT).as_posix()
)
def test_no_learner_facing_file_mentions_a_seed_or_a_tutorial(file: Path) -> None:
    text = read_text(file)
    if text is None:
        pytest.skip("not a text file")
    mentions = [
        f"line {number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if ABSENT_SOURCES.search(line)
    ]
    assert not mentions, "the learner has no seed or tutorial to refer to:\n" + "\n".join(mentions)


@dataclass(frozen=True)
class ExceptionBlank:
    """A `___` in a koan: the exception class the learner must name there."""

    lesson: str
    koan: str
    koan_line: int  # the koan's first line: the lesson's text must name the class above it
    line: int
    classes: tuple[str, ...]  # the class names the solution fills in

    @property
    def id(self) -> str:
        return f"{self.lesson}::{self.koan}:{self.line}"


def line_tokens(line: str) -> list[str]:
    """The tokens of one line of code, as far as they can be read on their own."""
    tokens = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(line.strip()).readline):
            if token.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
                tokens.append(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # one line of a longer statement: what was read before the break is enough
    return tokens


def filled_classes(koan_line: str, solution_line: str) -> list[tuple[str, ...]]:
    """For each `___` on a koan's line, the class names its solution writes in its place: the
    last name of each dotted name (`dg.DagsterInvalidConfigError` gives its class name)."""
    koan, solution = line_tokens(koan_line), line_tokens(solution_line)
    found = []
    matcher = difflib.SequenceMatcher(a=koan, b=solution, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or "___" not in koan[i1:i2]:
            continue
        filled = solution[j1:j2] if koan[i1:i2] == ["___"] else []
        names = [
            token
            for position, token in enumerate(filled)
            if token.isidentifier() and filled[position + 1 : position + 2] != ["."]
        ]
        found.append(tuple(names))
    return found


def exception_blanks() -> list[ExceptionBlank]:
    blanks = []
    for lesson in PATH.lessons:
        if not (ROOT / "koans" / lesson.filename).exists():
            continue  # a lesson still being written; tests/test_lessons.py reports it
        koan_lines = (ROOT / "koans" / lesson.filename).read_text(encoding="utf-8").splitlines()
        solution_lines = (ROOT / "solutions" / lesson.filename).read_text(encoding="utf-8")
        solution_lines = solution_lines.splitlines()
        for function in scan_file(ROOT / "koans" / lesson.filename).functions:
            for line in function.blanks:
                if "___" not in line_tokens(koan_lines[line - 1]):
                    continue
                solution_line = solution_lines[line - 1] if line <= len(solution_lines) else ""
                for classes in filled_classes(koan_lines[line - 1], solution_line):
                    blanks.append(
                        ExceptionBlank(
                            lesson.stem, function.name, function.first_line, line, classes
                        )
                    )
    return blanks


EXCEPTION_BLANKS = exception_blanks()


@cache
def prose(file: Path) -> tuple[tuple[int, str], ...]:
    """What a lesson file says in words, as (line, text): its docstrings and its comments."""
    if not file.exists():
        return ()
    source = file.read_text(encoding="utf-8")
    pieces = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                pieces.append((first.lineno, first.value.value))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            pieces.append((token.start[0], token.string))
    return tuple(sorted(pieces))


def text_before(lesson: str, line: int) -> str:
    """All the prose a learner has read on the path before `line` of `lesson`, in path order."""
    read = []
    for earlier in PATH.lessons:
        pieces = prose(ROOT / "koans" / earlier.filename)
        if earlier.stem == lesson:
            read += [text for number, text in pieces if number < line]
            break
        read += [text for _, text in pieces]
    return "\n".join(read)


def test_the_path_asks_for_exceptions_by_class() -> None:
    """Guards the next test against passing on nothing: the path does hold `___` blanks."""
    assert EXCEPTION_BLANKS
    assert all(blank.classes for blank in EXCEPTION_BLANKS), [
        blank.id for blank in EXCEPTION_BLANKS if not blank.classes
    ]


@pytest.mark.parametrize("blank", EXCEPTION_BLANKS, ids=lambda blank: blank.id)
def test_every_exception_a_koan_asks_for_is_named_in_the_lessons_before_it(
    blank: ExceptionBlank,
) -> None:
    # Named in a docstring or a comment of this lesson above the koan, or of an earlier lesson,
    # or raised by the koan's own code above the blank: the hints and the koan's own docstring
    # don't count.
    assert blank.classes, f"the solution fills line {blank.line} with no class name"
    koan = (ROOT / "koans" / f"{blank.lesson}.py").read_text(encoding="utf-8").splitlines()
    raised = [line for line in koan[blank.koan_line - 1 : blank.line - 1] if "raise " in line]
    text = "\n".join([text_before(blank.lesson, blank.koan_line), *raised])
    unnamed = [name for name in blank.classes if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not unnamed, f"{blank.id} asks for {unnamed}, never named in the path before it"
