"""On a real terminal: colour and box drawing where they work, plain ASCII wherever they don't.

pytester's output is never a terminal, so these runs get a pseudo-terminal of their own.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest
from daemon import PATIENCE

from conftest import ROOT, WIDTH, fill, solve

ESCAPE = "\x1b["


def on_a_terminal(project: pytest.Pytester, *args: str, **env: str) -> str:
    """Run pytest on a pseudo-terminal WIDTH columns wide; return all it wrote."""
    leader, follower = pty.openpty()
    environment = {
        **os.environ,
        "COLUMNS": str(WIDTH),
        "TERM": "xterm-256color",
        "PYTHONPATH": str(ROOT),  # this checkout's plugin, not the one installed
        **env,
    }
    for name in ("CI", "NO_COLOR", "FORCE_COLOR", "PY_COLORS"):
        if name not in env:
            environment.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=project.path,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environment,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        chunks.append(chunk)
    try:
        process.wait(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the run on the terminal did not end within {PATIENCE} s of closing it")
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_colour_and_box_drawing(two_lessons: pytest.Pytester) -> None:
    shown = on_a_terminal(two_lessons, "koans/")
    assert ESCAPE in shown
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert "╭─ koans/01_arithmetic.py:9 ── test_adding" in plain and "▶ 9 │" in plain


@pytest.mark.parametrize(
    "env",
    [{"NO_COLOR": "1"}, {"CI": "true"}, {"TERM": "dumb"}],
    ids=["NO_COLOR", "CI", "TERM=dumb"],
)
def test_no_color_ci_and_a_dumb_terminal_get_plain_ascii(
    two_lessons: pytest.Pytester, env: dict[str, str]
) -> None:
    fill(two_lessons, "01_arithmetic", "One and one make two.", "One and one — two → ✔.")
    shown = on_a_terminal(two_lessons, "koans/", **env)
    screen = shown.split(" Dagster Koans")[-1]
    assert "+- koans/01_arithmetic.py:9 -- test_adding" in shown
    assert ESCAPE not in screen  # no colour, no bold, no dim
    assert not set("╭│▶━") & set(screen)  # no box drawing, no glyphs
    if env.get("TERM") == "dumb":  # a dumb terminal shows no Unicode at all, not even a lesson's
        assert "One and one -- two -> +." in screen


def test_an_output_that_cannot_encode_unicode_gets_ascii_glyphs(
    two_lessons: pytest.Pytester,
) -> None:
    fill(two_lessons, "01_arithmetic", "One and one make two.", "One and one — two → ✔.")
    shown = on_a_terminal(two_lessons, "koans/", "--color=yes", PYTHONIOENCODING="ascii")
    assert "UnicodeEncodeError" not in shown and "Traceback" not in shown
    screen = shown.split(" Dagster Koans")[-1]
    assert "One and one -- two -> +." in screen
    assert not any(ord(char) > 127 for char in screen)


def test_a_long_line_never_hides_its_blank(project: pytest.Pytester) -> None:
    from conftest import write_lesson

    long_name = "a_rather_long_variable_name_that_fills_the_line"
    write_lesson(
        project,
        "01_long",
        f'''
        """Long lines."""

        from dagster_koans import __


        def test_long() -> None:
            """A long line."""
            {long_name} = {{"first": 1, "second": 2, "third": 3}}
            assert {long_name}["second"] + {long_name}["third"] == «5»
        ''',
    )
    for args in (["koans/"], ["koans/", "--color=yes"]):
        shown = on_a_terminal(project, *args)
        marked = [
            line for line in shown.splitlines() if " 9 " in line and ("▶" in line or ">" in line)
        ]
        assert marked and "== __" in marked[-1], shown


def test_a_narrow_terminal_keeps_every_lessons_count(two_lessons: pytest.Pytester) -> None:
    solve(two_lessons, "02_words")
    shown = on_a_terminal(two_lessons, "koans/", COLUMNS="40")
    assert " 0/2" in shown and " 1/1" in shown


def test_the_commands_suggested_work_from_where_pytest_was_run(
    two_lessons: pytest.Pytester,
) -> None:
    def inside_koans(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "pytest", ".", *args],
            cwd=two_lessons.path / "koans",
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": str(WIDTH)},
            check=False,
        ).stdout

    assert "  Stuck?  pytest . --hint" in inside_koans()
    assert "  Hint: Think about test_adding." in inside_koans("--hint")
