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
    """Read the path from `root/solutions` and the hints from `root/hints`."""
    solutions = Track(root, "solutions")
    lessons = []
    for file in sorted(solutions.folder.glob("[0-9][0-9]_*.py")):
        if not LESSON_FILE.match(file.name):
            continue
        hints = read_hints(solutions.hints(file.stem))
        scanned = scan_file(file)
        koans = tuple(
            Koan(file.stem, fn.name, fn.docstring, hints.get(fn.name)) for fn in scanned.functions
        )
        lessons.append(Lesson(file.stem, koans, scanned))
    return LearningPath(tuple(lessons))


def read_hints(file: Path) -> dict[str, str]:
    """`## test_name` sections of a hints file, each to its text."""
    if not file.exists():
        return {}
    parts = HINT_HEADING.split(file.read_text(encoding="utf-8"))
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


@dataclass(frozen=True)
class ScannedFile:
    """A lesson file read as text: its koans, or why it can't be read."""

    lines: tuple[str, ...] = ()
    functions: tuple[KoanSource, ...] = ()
    error: SyntaxError | UnicodeDecodeError | None = None
    duplicates: tuple[str, ...] = field(default=())
    # (koan name or None for the module, salt) -> digest; a watcher's runs inherit its digests
    _digests: dict[tuple[str | None, str], str] = field(
        default_factory=dict, compare=False, repr=False
    )

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
        if (name, salt) not in self._digests:
            own = "\n".join(self.lines[fn.first_line - 1 : fn.last_line])
            self._digests[name, salt] = digest(salt, self._outside_tests, own)
        return self._digests[name, salt]

    def module_fingerprint(self, salt: str) -> str:
        """A digest of what importing the file runs: everything but the koans' bodies."""
        if (None, salt) not in self._digests:
            self._digests[None, salt] = digest(salt, self._outside_tests)
        return self._digests[None, salt]


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


# Scans by file and exact content: a warm watcher scans the lessons before it forks each run,
# and the run finds them here (reading every file is cheap, parsing them is not).
_scanned: dict[tuple[Path, bytes], ScannedFile] = {}


def scan_file(file: Path) -> ScannedFile:
    """Read a lesson file as text, without importing it."""
    data = file.read_bytes()
    found = _scanned.get((file, data))
    if found is None:
        try:
            # utf-8-sig: a file saved with a byte-order mark (Windows Notepad) imports in Python.
            found = scan_source(data.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            found = ScannedFile(error=error)
        if len(_scanned) > 200:
            _scanned.clear()
        _scanned[(file, data)] = found
    return found


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
