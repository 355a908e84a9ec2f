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

from dagster_koans.blanks import blank_spans
from dagster_koans.path import Koan, Lesson
from dagster_koans.progress import Standing
from dagster_koans.verdict import Outcome, Verdict, shorten

BAR_WIDTH = 40
MAX_OUTPUT_LINES = 12
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
    fancy = console.is_terminal and not console.no_color and not console.options.ascii_only
    return FANCY if fancy else PLAIN


def render_screen(
    console: Console, standing: Standing, command: str, hint: bool = False, quiet: bool = False
) -> RenderableType:
    """The whole screen after a run: progress, lessons, and the one koan to work on next.

    `command` is the track folder as the learner types it; `quiet` (pytest's -q) keeps only
    the progress line, the koan to work on and what to do next.
    """
    progress = render_progress(console, standing.solved(), standing.total)
    parts: list[RenderableType] = (
        [progress] if quiet else [progress, render_lessons(console, standing)]
    )
    parts += render_notes(console, standing)
    current = standing.current()
    if current is None:
        parts.append(render_enlightenment(console, standing, command))
        return Group(*parts)
    done = standing.just_completed()
    if done is not None and not quiet:
        parts.append(render_compare_prompt(console, command, done))
    parts.append(render_panel(console, standing, current, command))
    parts.append(render_next_step(console, standing, current, command, hint))
    return Group(*parts)


def render_notes(console: Console, standing: Standing) -> list[RenderableType]:
    """What else the learner should know: the run stopped early, their own tests, odd files."""
    parts: list[RenderableType] = []
    for note in standing.notes:
        parts.append(Text(f" {note}", style="yellow"))
    if standing.stopped_early:
        parts.append(
            Text(
                f" The run stopped early ({standing.stopped_early}): koans after it did not run.",
                style="yellow",
            )
        )
    for name in standing.strays:
        parts.append(
            Text(
                f" {standing.track.name}/{name} is not on the path (a copy of a lesson, or your own"
                " file?): its tests run as your own.",
                style="yellow",
            )
        )
    if standing.own:
        failed = [test for test in standing.own.values() if test.outcome == "failed"]
        passed = sum(test.outcome == "passed" for test in standing.own.values())
        heading = Text(f" Your own tests: {passed} passed", style="bold")
        if failed:
            heading.append(f", {len(failed)} failed", style="bold red")
        parts.append(heading)
        for test in failed:
            parts.append(Text(f"   {glyphs(console).broken} {test.nodeid}  {test.message}"))
        if failed:
            parts.append(Text(f"   (pytest {failed[0].nodeid} --tb=short shows the traceback)"))
    if parts:
        parts.append(Text())
    return parts


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


def render_compare_prompt(console: Console, command: str, lesson: Lesson) -> RenderableType:
    g = glyphs(console)
    text = Text(f" {g.done} {lesson.number} {lesson.title}  ", style="green")
    text.append(f"{len(lesson.koans)}/{len(lesson.koans)}: enlightened.\n", style="bold green")
    text.append("   Compare with the master's answers:  ")
    text.append(f"pytest {command} --compare {lesson.number}", style="bold")
    return Group(text, Text())


def typed(command: str, stem: str) -> str:
    """A lesson's file as the learner types it where they ran pytest (`command`: its folder)."""
    return f"{stem}.py" if command == "." else f"{command.rstrip('/')}/{stem}.py"


def render_panel(console: Console, standing: Standing, koan: Koan, command: str) -> RenderableType:
    """The current koan: its docstring, the lines around the spot to look at, marked."""
    g = glyphs(console)
    verdict = standing.verdict(koan)
    scanned = standing.files.get(koan.lesson)
    source = scanned.function(koan.name) if scanned and not scanned.error else None
    location = typed(command, koan.lesson)
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
    room = console.width - 4 - (width + 5)  # the panel's borders and padding, then the gutter
    focus_index = focus - start
    if 0 <= focus_index < len(code_lines):
        code_lines[focus_index] = keep_blank_in_view(code_lines[focus_index], room, g)
    table = Table.grid(expand=True)
    table.add_column(no_wrap=True, min_width=width + 5)
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    bar = "│" if g is FANCY else "|"
    for number, code_line in zip(range(start, end + 1), code_lines, strict=False):
        marked = number == focus
        gutter = f"{g.here if marked else ' '} {number:>{width}} {bar} "
        table.add_row(Text(gutter, style="bold yellow" if marked else "dim"), code_line)
    return table


def keep_blank_in_view(line: Text, room: int, g: Glyphs) -> Text:
    """A line too long for the panel is cut at its start rather than hide its blank."""
    ends = [end for _, _, end in blank_spans(line.plain)]
    if not ends or ends[-1] <= room or room < 10:
        return line
    dots = "…" if g is FANCY else "..."
    cut = min(ends[-1] + 8, len(line.plain)) - room + len(dots)
    return Text(dots, style="dim") + line[cut:]


def outcome_style(verdict: Verdict) -> str:
    if verdict.outcome in (Outcome.BLANK, Outcome.NOT_RUN):
        return "yellow"
    return "green" if verdict.resolved else "red"


def describe(verdict: Verdict, koan: Koan, command: str) -> list[str]:
    """What happened to the koan, in plain words."""
    file = typed(command, koan.lesson)
    outcome, line = verdict.outcome, verdict.line
    if outcome is Outcome.BLANK:
        return [f"The blank on line {line} is still empty."]
    if outcome is Outcome.WRONG:
        return [f"Not yet: the assertion on line {line} failed.", *verdict.message]
    if outcome is Outcome.TOO_BROAD:
        return [
            f"Too broad: line {line} catches more than the error this koan is about.",
            *verdict.message,
        ]
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
    if outcome is Outcome.FAILED_BEFORE:
        return [
            "It failed last time with this same code, and did not run this time.",
            f"Run it: pytest {file}",
        ]
    if outcome is Outcome.BROKEN:
        where = f"{file}, line {line}" if line else file
        return [f"{where} does not import, so none of its koans can run:", *verdict.message]
    return [f"This koan did not run this time. Run it: pytest {file}"]


def render_next_step(
    console: Console, standing: Standing, koan: Koan, command: str, hint: bool
) -> RenderableType:
    verdict = standing.verdict(koan)
    lines = describe(verdict, koan, command)
    text = Text()
    for index, line in enumerate(lines):
        text.append(f"  {line}\n", style="bold" if index == 0 else "")
    for heading, output in verdict.output:
        kept = output.rstrip().splitlines()
        stream = heading.split()[1] if len(heading.split()) > 1 else "output"
        said = "logged" if stream == "log" else f"printed to {stream}"
        text.append(f"  What the koan {said}", style="dim")
        text.append(
            f" (the last {MAX_OUTPUT_LINES} lines):\n" if len(kept) > MAX_OUTPUT_LINES else ":\n",
            style="dim",
        )
        for line in kept[-MAX_OUTPUT_LINES:]:
            text.append(f"    {shorten(line, max(20, console.width - 4))}\n")
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
        text.append(f"pytest {command} --hint\n", style="bold")
    return text


def render_enlightenment(console: Console, standing: Standing, command: str) -> RenderableType:
    g = glyphs(console)
    lessons = len(standing.path.lessons)
    text = Text(f" {g.done} Every koan on the path is solved: ", style="bold green")
    text.append(f"{standing.total} koans in {lessons} lessons.\n", style="bold green")
    if standing.started is not None:
        days = max(1, round((time.time() - standing.started) / 86400))
        text.append(f"   You walked the path in {days} day{'s' if days > 1 else ''}.\n")
    text.append("\n")
    text.append("  Where next:\n")
    text.append(f"  - Compare your answers with the master's:  pytest {command} --compare NN\n")
    text.append('  - Open the capstone in the Dagster UI: pip install -e ".[ui]", then\n')
    text.append("    cd capstone && dg dev (the README has the details).\n")
    text.append("  - Read the Dagster docs: https://docs.dagster.io\n")
    return text
