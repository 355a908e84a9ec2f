"""Drawing the learner's screen: functions that take the Console and return renderables.

Color and box drawing only on a terminal (`fancy`); plain ASCII text when piped, in CI or with
NO_COLOR, so the same functions serve both and tests can read the text exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from dagster_koans.path import Koan, Lesson
from dagster_koans.progress import Standing
from dagster_koans.verdict import Outcome, Verdict

BAR_WIDTH = 40
CONTEXT_BEFORE, CONTEXT_AFTER = 8, 2


@dataclass(frozen=True)
class Glyphs:
    done: str
    here: str
    broken: str
    arrow: str
    rule: str
    bar_done: str
    bar_tip: str
    bar_todo: str
    box: box.Box


FANCY = Glyphs("✔", "▶", "✘", "←", "──", "━", "╸", "─", box.ROUNDED)
PLAIN = Glyphs("+", ">", "x", "<-", "--", "#", "#", "-", box.ASCII)


def glyphs(console: Console) -> Glyphs:
    return FANCY if console.is_terminal and not console.no_color else PLAIN


def render_screen(console: Console, standing: Standing, hint: bool = False) -> RenderableType:
    """The whole screen after a run: progress, lessons, and the one koan to work on next."""
    parts: list[RenderableType] = [
        render_progress(console, standing.solved(), standing.total),
        render_lessons(console, standing),
    ]
    current = standing.current()
    if current is None:
        parts.append(render_enlightenment(console, standing))
        return Group(*parts)
    done = standing.just_completed()
    if done is not None:
        parts.append(render_compare_prompt(console, standing, done))
    parts.append(render_panel(console, standing, current))
    parts.append(render_next_step(console, standing, current, hint))
    return Group(*parts)


def render_progress(console: Console, solved: int, total: int) -> RenderableType:
    g = glyphs(console)
    filled = BAR_WIDTH * solved // total if total else BAR_WIDTH
    bar = Text()
    bar.append(g.bar_done * filled, style="green")
    if filled < BAR_WIDTH:
        tip = g.bar_tip if filled else g.bar_todo
        bar.append(tip, style="green" if filled else "dim")
        bar.append(g.bar_todo * (BAR_WIDTH - filled - 1), style="dim")
    percent = 100 * solved // total if total else 100
    title = Text(f" Dagster Koans {g.rule} the path to enlightenment", style="bold")
    line = Text(" ")
    line.append_text(bar if g is FANCY else Text("[") + bar + Text("]"))
    line.append(f"  {solved}/{total} koans  {percent}%")
    return Group(title, line, Text())


def render_lessons(console: Console, standing: Standing) -> RenderableType:
    g = glyphs(console)
    current = standing.current()
    table = Table.grid(padding=(0, 1))
    for _ in range(4):
        table.add_column(no_wrap=True)
    for lesson in standing.path.lessons:
        solved, size = standing.solved(lesson), len(lesson.koans)
        here = current is not None and current.lesson == lesson.stem
        problem = standing.problems.get(lesson.stem)
        if problem is not None:
            mark, style, note = g.broken, "red", f"{g.arrow} does not import"
        elif solved == size:
            mark, style, note = g.done, "green", ""
        else:
            mark, style, note = (g.here, "bold yellow", "") if here else (" ", "", "")
        if here:
            note = f"{note}  {g.arrow} you are here" if note else f"{g.arrow} you are here"
        table.add_row(
            Text(f" {mark}", style=style),
            Text(f"{lesson.number} {lesson.title}", style=style or "default"),
            Text(f"{solved:>2}/{size}", style=style),
            Text(note, style="yellow" if here else "red"),
        )
    return Group(table, Text())


def render_compare_prompt(console: Console, standing: Standing, lesson: Lesson) -> RenderableType:
    g = glyphs(console)
    text = Text(f" {g.done} {lesson.number} {lesson.title}  ", style="green")
    text.append(f"{len(lesson.koans)}/{len(lesson.koans)}: enlightened.\n", style="bold green")
    text.append("   Compare with the master's answers:  ")
    text.append(f"pytest {standing.track}/ --compare {lesson.number}", style="bold")
    return Group(text, Text())


def render_panel(console: Console, standing: Standing, koan: Koan) -> RenderableType:
    """The current koan: its docstring, the lines around the spot to look at, marked."""
    g = glyphs(console)
    verdict = standing.verdict(koan)
    scanned = standing.files.get(koan.lesson)
    source = scanned.function(koan.name) if scanned and not scanned.error else None
    location = f"{standing.track}/{koan.lesson}.py"
    line = verdict.line or (source.first_line if source else None)
    title = f"{location}:{line}" if line else location
    body: list[RenderableType] = [Text(koan.docstring.split("\n\n")[0].replace("\n", " "))]
    if scanned is not None and scanned.lines and line is not None:
        first = source.first_line if source and verdict.outcome is not Outcome.BROKEN else 1
        last = (
            source.last_line
            if source and verdict.outcome is not Outcome.BROKEN
            else len(scanned.lines)
        )
        body += [Text(), render_source(console, scanned.lines, line, first, last)]
    return Panel(
        Group(*body),
        title=f"{title} {g.rule} {koan.name}",
        title_align="left",
        box=g.box,
        border_style=outcome_style(verdict),
        padding=(0, 1),
    )


def render_source(
    console: Console, lines: tuple[str, ...], focus: int, first: int, last: int
) -> RenderableType:
    g = glyphs(console)
    start = max(first, focus - CONTEXT_BEFORE)
    end = min(last, focus + CONTEXT_AFTER, len(lines))
    excerpt = lines[start - 1 : end]
    if g is FANCY:
        joined = "\n".join(excerpt)
        code_lines = list(
            Syntax(joined, "python", theme="ansi_dark")
            .highlight(joined)
            .split("\n", allow_blank=True)
        )
    else:
        code_lines = [Text(line) for line in excerpt]
    width = len(str(end))
    table = Table.grid(expand=True)
    table.add_column(no_wrap=True, min_width=width + 5)
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    bar = "│" if g is FANCY else "|"
    for number, code_line in zip(range(start, end + 1), code_lines, strict=False):
        marked = number == focus
        gutter = f"{g.here if marked else ' '} {number:>{width}} {bar} "
        table.add_row(Text(gutter, style="bold yellow" if marked else "dim"), code_line)
    return table


def outcome_style(verdict: Verdict) -> str:
    if verdict.outcome in (Outcome.BLANK, Outcome.NOT_RUN):
        return "yellow"
    return "green" if verdict.resolved else "red"


def describe(verdict: Verdict, koan: Koan, standing: Standing) -> list[str]:
    """What happened to the koan, in plain words."""
    file = f"{standing.track}/{koan.lesson}.py"
    outcome, line = verdict.outcome, verdict.line
    if outcome is Outcome.BLANK:
        return [f"The blank on line {line} is still empty."]
    if outcome is Outcome.WRONG:
        return [f"Not yet: the assertion on line {line} failed.", *verdict.message]
    if outcome is Outcome.ERROR:
        return [
            f"Line {line} raised an error:" if line else "The koan raised an error:",
            *verdict.message,
        ]
    if outcome is Outcome.TIMEOUT:
        return [*verdict.message, f"Look for a loop or a wait that never ends near line {line}."]
    if outcome is Outcome.SKIPPED:
        return ["This koan was skipped, and a skipped koan is not solved: remove the skip."]
    if outcome is Outcome.MISSING:
        return [
            f"{file} has no `def {koan.name}` any more (deleted or renamed?).",
            "The path still counts it: give the function its name back, or restore the lesson.",
        ]
    if outcome is Outcome.BROKEN:
        where = f"{file}, line {line}" if line else file
        return [f"{where} does not import, so none of its koans can run:", *verdict.message]
    return [f"This koan did not run this time. Run it: pytest {file}"]


def render_next_step(
    console: Console, standing: Standing, koan: Koan, hint: bool
) -> RenderableType:
    verdict = standing.verdict(koan)
    lines = describe(verdict, koan, standing)
    text = Text()
    for index, line in enumerate(lines):
        text.append(f"  {line}\n", style="bold" if index == 0 else "")
    if koan.key in standing.passed_before and not verdict.resolved:
        text.append("  This koan passed before: something you changed undid it.\n", style="yellow")
    if hint:
        text.append("\n  Hint: ", style="bold cyan")
        hint_text = " ".join(
            (koan.hint or "No hint for this one: read the docstring again.").split()
        )
        text.append(f"{hint_text}\n")
    elif verdict.outcome not in (Outcome.MISSING, Outcome.BROKEN, Outcome.NOT_RUN):
        text.append("  Stuck?  ", style="dim")
        text.append(f"pytest {standing.track}/ --hint\n", style="bold")
    return text


def render_enlightenment(console: Console, standing: Standing) -> RenderableType:
    g = glyphs(console)
    lessons = len(standing.path.lessons)
    text = Text(f" {g.done} Every koan on the path is solved: ", style="bold green")
    text.append(f"{standing.total} koans in {lessons} lessons.\n", style="bold green")
    if standing.started is not None:
        days = max(1, round((time.time() - standing.started) / 86400))
        text.append(f"   You walked the path in {days} day{'s' if days > 1 else ''}.\n")
    text.append("\n")
    text.append("  Where next:\n")
    text.append("  - Compare your answers with the master's:  pytest koans/ --compare NN\n")
    text.append('  - Open the capstone in the Dagster UI: pip install -e ".[ui]", then\n')
    text.append("    dagster dev -f capstone/definitions.py (the README has the details).\n")
    text.append("  - Read the Dagster docs: https://docs.dagster.io\n")
    return text
