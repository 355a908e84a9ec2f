"""Comparing a learner's lesson file with the master's answers, side by side; it never writes."""

from __future__ import annotations

import difflib

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from dagster_koans.render import PLAIN, glyphs
from dagster_koans.takeaways import Takeaway

CONTEXT = 2


def render_compare(
    console: Console, title: str, yours: list[str], masters: list[str]
) -> RenderableType:
    """Only the places where the two files differ, with a little context, yours on the left."""
    g = glyphs(console)
    matcher = difflib.SequenceMatcher(a=yours, b=masters, autojunk=False)
    groups = list(matcher.get_grouped_opcodes(CONTEXT))
    heading = Text(f" {title}", style="bold")
    if not groups:
        return Group(heading, Text("  Your file and the master's are the same.\n"))
    table = Table(box=g.box, expand=True, show_lines=False, padding=(0, 1))
    table.add_column("yours", ratio=1, overflow="fold")
    table.add_column("the master's", ratio=1, overflow="fold")
    for index, group in enumerate(groups):
        if index:
            table.add_row(Text("…" if g is not PLAIN else "...", style="dim"), Text(""))
        for tag, a1, a2, b1, b2 in group:
            left, right = yours[a1:a2], masters[b1:b2]
            for row in range(max(len(left), len(right))):
                table.add_row(
                    cell(left, row, a1, tag, "red", g is PLAIN),
                    cell(right, row, b1, tag, "green", g is PLAIN),
                )
    return Group(heading, table, Text())


def cell(lines: list[str], row: int, start: int, tag: str, color: str, plain: bool) -> Text:
    if row >= len(lines):
        return Text("")
    changed = tag != "equal"
    mark = ("*" if changed else " ") if plain else ""
    return Text(
        f"{mark}{start + row + 1:>3} {lines[row]}",
        style=f"bold {color}" if changed else "dim",
    )


def render_lesson_takeaways(
    console: Console, takeaways: tuple[Takeaway, ...], links: tuple[str, ...]
) -> RenderableType:
    """Under the comparison: what each koan of the lesson showed, and where to read next."""
    parts: list[RenderableType] = []
    if takeaways:
        parts.append(Text(" What each koan showed:", style="bold"))
        for takeaway in takeaways:
            parts.append(Text(f"   {takeaway.koan.name}", style="green"))
            parts.append(Padding(Text(takeaway.text), (0, 0, 0, 5)))
    if links:
        parts.append(Text(" Read next:", style="bold"))
        parts += [Text(f"   {link}") for link in links]
    return Group(*parts, Text()) if parts else Group()
