"""The path: its lessons and koans, in order, read from `solutions/` without importing it.

The learner's files are read the same way, so a koan they deleted, renamed or broke is still
known to the path and shown as unresolved.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dagster_koans.blanks import blank_lines
from dagster_koans.track import Track

LESSON_FILE = re.compile(r"^(\d\d)_(\w+)\.py$")
HINT_HEADING = re.compile(r"^## (\w+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Koan:
    """One koan of the path, as its solution defines it."""

    lesson: str  # the lesson's file stem, e.g. "03_op_config"
    name: str  # the test function's name
    docstring: str
    hint: str | None

    @property
    def key(self) -> str:
        return f"{self.lesson}::{self.name}"


@dataclass(frozen=True)
class LearningPath:
    lessons: tuple[Lesson, ...]
    notes: tuple[str, ...] = ()  # what is wrong with the files the path is read from

    @property
    def koans(self) -> list[Koan]:
        return [koan for lesson in self.lessons for koan in lesson.koans]

    @cached_property
    def _by_name(self) -> dict[tuple[str, str], Koan]:
        return {(koan.lesson, koan.name): koan for koan in self.koans}

    def koan(self, stem: str, name: str) -> Koan | None:
        return self._by_name.get((stem, name))

    def lesson(self, number_or_stem: str) -> Lesson | None:
        for lesson in self.lessons:
            if number_or_stem in (lesson.stem, lesson.number, lesson.number.lstrip("0")):
                return lesson
        return None


def load_path(root: Path) -> LearningPath:
    """Read the path from `root/solutions` and the hints from `root/hints`.

    A solution file that does not parse (a line typed into the wrong editor tab) is named in a
    note, and its lesson's koans are read from the learner's copy instead, so the path keeps its
    length.
    """
    solutions = Track(root, "solutions")
    lessons, notes = [], []
    for file in sorted(solutions.folder.glob("[0-9][0-9]_*.py")):
        if not LESSON_FILE.match(file.name):
            continue
        hints = read_hints(solutions.hints(file.stem))
        scanned = koans_from = scan_file(file)
        if scanned.error is not None:
            notes.append(
                f"{solutions.shown(file.stem)}{at_line(scanned.error)} does not parse "
                f"({describe_error(scanned.error)}), and the path is read from it: undo what was "
                "typed there, then run again."
            )
            koans_from = scan_file(Track(root, "koans").file(file.stem))
        koans = tuple(
            Koan(file.stem, fn.name, fn.docstring, hints.get(fn.name))
            for fn in koans_from.functions
        )
        lessons.append(Lesson(file.stem, koans, scanned))
    return LearningPath(tuple(lessons), tuple(notes))


def at_line(error: FileError) -> str:
    """`, line 12,` where reading a file as Python failed, when a line is known."""
    line = error_line(error)
    return f", line {line}," if line else ""


def error_line(error: FileError) -> int | None:
    """The line of the file where reading it as Python failed, when there is one."""
    if isinstance(error, UnicodeDecodeError):
        return error.object[: error.start].count(b"\n") + 1
    return error.lineno if isinstance(error, SyntaxError) else None


def describe_error(error: FileError) -> str:
    """Why a file cannot be read as Python, in a few plain words."""
    if isinstance(error, UnicodeDecodeError):
        return "it is not saved as UTF-8"
    if isinstance(error, OSError):
        return f"it cannot be read: {(error.strerror or type(error).__name__).lower()}"
    kind = "indentation error" if isinstance(error, IndentationError) else "syntax error"
    return f"{kind}: {error.msg}"


def read_hints(file: Path) -> dict[str, str]:
    """`## test_name` sections of a hints file, each to its text."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:  # none, or not a file: the koans go without hints
        return {}
    parts = HINT_HEADING.split(text)
    return {name: text.strip() for name, text in zip(parts[1::2], parts[2::2], strict=False)}


@dataclass(frozen=True)
class KoanSource:
    """Where a test function sits in a lesson file, and what it holds."""

    name: str
    first_line: int  # its first decorator, or the `def`
    last_line: int
    docstring: str
    blanks: tuple[int, ...]  # lines naming a blank, counted in the file
    broad_raises: tuple[int, ...] = ()  # lines of `pytest.raises(Exception)` and the like


FileError = SyntaxError | UnicodeDecodeError | OSError  # why a file cannot be read as Python


@dataclass(frozen=True)
class ScannedFile:
    """A lesson file read as text: its koans, or why it can't be read."""

    lines: tuple[str, ...] = ()
    functions: tuple[KoanSource, ...] = ()
    error: FileError | None = None
    duplicates: tuple[str, ...] = field(default=())

    def function(self, name: str) -> KoanSource | None:
        # Python keeps the last of two functions with one name, and so does pytest.
        found = [fn for fn in self.functions if fn.name == name]
        return found[-1] if found else None

    @cached_property
    def _outside_tests(self) -> str:
        inside = {n for fn in self.functions for n in range(fn.first_line, fn.last_line + 1)}
        return "\n".join(line for n, line in enumerate(self.lines, 1) if n not in inside)

    def fingerprint(self, name: str, salt: str) -> str | None:
        """A digest of the koan's code and of everything in its file that is not another koan."""
        fn = self.function(name)
        if fn is None:
            return None
        own = "\n".join(self.lines[fn.first_line - 1 : fn.last_line])
        return digest(salt, self._outside_tests, own)

    @cached_property
    def compiles(self) -> bool:
        """False for what only the compiler refuses (`return` outside a function, a duplicate
        argument, a `nonlocal` with no binding): importing the file stops there as surely as on
        a typo. Asked only of a file the run would otherwise leave unimported."""
        try:
            compile("\n".join(self.lines), "<lesson>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
        return self.error is None

    def module_fingerprint(self, salt: str) -> str:
        """A digest of what importing the file runs: everything but the koans' bodies."""
        return digest(salt, self._outside_tests)


@dataclass(frozen=True)
class Lesson:
    stem: str  # "03_op_config"
    koans: tuple[Koan, ...]
    solution: ScannedFile = field(default_factory=lambda: ScannedFile(), compare=False)

    @property
    def number(self) -> str:
        return self.stem[:2]

    @property
    def title(self) -> str:
        return self.stem[3:].replace("_", " ")

    @property
    def filename(self) -> str:
        return f"{self.stem}.py"


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def scan_file(file: Path) -> ScannedFile:
    """Read a lesson file as text, without importing it."""
    try:
        # utf-8-sig: a file saved with a byte-order mark (Windows Notepad) imports in Python.
        return scan_source(file.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, OSError) as error:  # not UTF-8, a folder, gone, unreadable
        return ScannedFile(error=error)


BROAD = frozenset({"Exception", "BaseException", "DagsterError"})


def broad_raises(node: ast.AST) -> tuple[int, ...]:
    """The lines of a koan where `pytest.raises` is given a class that would catch almost any
    error."""
    broad = set()
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr == "raises"
            and child.args
        ):
            caught = child.args[0]
            for name in caught.elts if isinstance(caught, ast.Tuple) else [caught]:
                final = name.attr if isinstance(name, ast.Attribute) else getattr(name, "id", "")
                if final in BROAD:
                    broad.add(child.lineno)
    return tuple(sorted(broad))


def scan_source(text: str) -> ScannedFile:
    lines = tuple(text.splitlines())
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        return ScannedFile(lines=lines, error=error)
    except ValueError as error:  # Python 3.10's word for a null byte in the file
        return ScannedFile(lines=lines, error=SyntaxError(str(error)))
    blanks = blank_lines(text)
    functions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            last = node.end_lineno or node.lineno
            functions.append(
                KoanSource(
                    name=node.name,
                    first_line=first,
                    last_line=last,
                    docstring=ast.get_docstring(node) or "",
                    blanks=tuple(line for line in blanks if first <= line <= last),
                    broad_raises=broad_raises(node),
                )
            )
    names = [fn.name for fn in functions]
    duplicates = tuple(sorted({n for n in names if names.count(n) > 1}))
    return ScannedFile(lines=lines, functions=tuple(functions), duplicates=duplicates)
