"""What each koan showed, said once it first passes, and where a finished lesson says to read next.

`takeaways/NN_topic.md` holds one `## test_name` section per koan, as `hints/` does. Each
lesson's module docstring in `solutions/` ends with a paragraph

    Read next:
    - https://docs.dagster.io/...

read here with `ast`, never imported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from dagster_koans.path import Koan, read_hints
from dagster_koans.track import Track

READ_NEXT = "Read next:"
MAX_SHOWN = 3  # takeaways on one screen; --compare NN lists every one of a lesson


@dataclass(frozen=True)
class Takeaway:
    koan: Koan
    text: str


def lesson_takeaways(track: Track, stem: str) -> dict[str, str]:
    """A lesson's takeaways by koan name, each on one line."""
    texts = read_hints(track.takeaways(stem))
    return {name: " ".join(text.split()) for name, text in texts.items()}


def takeaways_of(track: Track, koans: list[Koan]) -> tuple[Takeaway, ...]:
    """The takeaways of these koans, in their order; a koan without one is left out."""
    by_lesson = {stem: lesson_takeaways(track, stem) for stem in {koan.lesson for koan in koans}}
    return tuple(
        Takeaway(koan, by_lesson[koan.lesson][koan.name])
        for koan in koans
        if by_lesson[koan.lesson].get(koan.name)
    )


def read_next(solution: Path) -> tuple[str, ...]:
    """The links of the "Read next:" paragraph of a lesson's module docstring."""
    try:
        docstring = ast.get_docstring(ast.parse(solution.read_bytes())) or ""
    except (OSError, SyntaxError, ValueError):
        return ()
    for paragraph in docstring.split("\n\n"):
        lines = [line.strip() for line in paragraph.strip().splitlines()]
        if lines and lines[0] == READ_NEXT:
            return tuple(line[2:].strip() for line in lines[1:] if line.startswith("- "))
    return ()
