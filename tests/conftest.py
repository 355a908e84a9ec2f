"""Shared pieces of the project's own tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent  # the project's root, for every test file


# A suite started in the background of a script inherits Ctrl-C ignored, and every run it
# starts would too: these tests press Ctrl-C as a terminal does, so their runs must hear it.
for _signum in (signal.SIGINT, signal.SIGTERM):
    if signal.getsignal(_signum) is signal.SIG_IGN:
        signal.signal(_signum, signal.default_int_handler)  # its children start with the default

WIDTH = 80  # every screen in these tests is drawn at this width, whatever the terminal


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learner's screen depends on these; each test sets what it needs."""
    for name in ("CI", "NO_COLOR", "FORCE_COLOR", "PY_COLORS", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("TERM", "xterm-256color")


def screen(result: pytest.RunResult) -> str:
    """The learner's screen: what the plugin drew under pytest's own output."""
    lines = [line.rstrip() for line in result.outlines]
    starts = [n for n, line in enumerate(lines) if "Dagster Koans " in line]
    assert starts, "no screen was drawn:\n" + "\n".join(lines)
    return "\n".join(lines[starts[-1] :]).rstrip("\n") + "\n"


def junit_properties(report: Path) -> dict[str, dict[str, str]]:
    """Each test case of a --junitxml report, by name, with the properties the plugin gave it."""
    import xml.etree.ElementTree as ET

    return {
        str(case.get("name")): {
            str(p.get("name")): str(p.get("value")) for p in case.iter("property")
        }
        for case in ET.parse(report).iter("testcase")
    }


def output_above_screen(result: pytest.RunResult) -> str:
    """What pytest itself printed, above the screen."""
    lines = [line.rstrip() for line in result.outlines]
    starts = [n for n, line in enumerate(lines) if "Dagster Koans " in line]
    return "\n".join(lines[: starts[-1]] if starts else lines)


# The panel of the first koan of ARITHMETIC as shipped, at WIDTH columns in plain text.
FIRST_PANEL = (
    "+- koans/01_arithmetic.py:9 -- test_adding ------------------------------------+\n"
    "| One and one make two.                                                        |\n"
    "|                                                                              |\n"
    "|   6 | def test_adding() -> None:                                             |\n"
    '|   7 |     """One and one make two."""                                        |\n'
    "|   8 |     total = 1 + 1                                                      |\n"
    "| > 9 |     assert total == __                                                 |\n"
    "+------------------------------------------------------------------------------+\n"
    "  The blank on line 9 is still empty.\n"
    "  Stuck?  pytest koans/ --hint\n"
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """An empty koans project: the real config files, no lessons yet."""
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(ROOT / name, pytester.path / name)
    for folder in ("koans", "solutions", "hints"):
        (pytester.path / folder).mkdir()
    return pytester


def write_lesson(project: pytest.Pytester, stem: str, source: str, hints: bool = True) -> None:
    """Write a lesson from one source where each answer is marked «like this».

    The koan file gets a blank in place of each marked answer, the solution the answer itself.
    """
    import re
    import textwrap

    source = textwrap.dedent(source).lstrip()
    marked = re.compile(r"«(.*?)»")
    (project.path / "koans" / f"{stem}.py").write_text(marked.sub("__", source))
    (project.path / "solutions" / f"{stem}.py").write_text(marked.sub(r"\1", source))
    if hints:
        names = re.findall(r"^def (test\w+)", source, re.MULTILINE)
        text = "".join(f"## {name}\nThink about {name}.\n\n" for name in names)
        (project.path / "hints" / f"{stem}.md").write_text(f"# {stem}\n\n{text}")


ARITHMETIC = '''
    """Arithmetic, to learn the screen."""

    from dagster_koans import __


    def test_adding() -> None:
        """One and one make two."""
        total = 1 + 1
        assert total == «2»


    def test_multiplying() -> None:
        """Three twos make six."""
        assert 3 * 2 == «6»
    '''

WORDS = '''
    """Words."""

    from dagster_koans import __


    def test_joining() -> None:
        """Strings join with +."""
        assert "da" + "gster" == «"dagster"»
    '''


DAGSTER_LESSON = '''
    """Config."""

    import dagster as dg

    from dagster_koans import __


    def test_annotation() -> None:
        """A config class is an op's config parameter."""

        class Settings(dg.Config):
            url: str

        @dg.op
        def download(config: «Settings») -> str:
            return config.url

        assert download(Settings(url="u")) == "u"


    def test_cron() -> None:
        """A schedule takes a cron string."""

        @dg.job
        def nothing() -> None:
            pass

        schedule = dg.ScheduleDefinition(job=nothing, cron_schedule=«"0 6 * * *"»)
        assert schedule.cron_schedule == "0 6 * * *"
    '''


@pytest.fixture
def two_lessons(project: pytest.Pytester) -> pytest.Pytester:
    write_lesson(project, "01_arithmetic", ARITHMETIC)
    write_lesson(project, "02_words", WORDS)
    return project


def edit(file: Path, old: str, new: str) -> None:
    """Change a file as the learner's editor would. `old` must be there: an edit that changes
    nothing would let a test pass without testing what it says."""
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {file}"
    file.write_text(text.replace(old, new), encoding="utf-8")


def fill(project: pytest.Pytester, stem: str, old: str, new: str) -> None:
    """Edit the learner's copy of a lesson: `koans/<stem>.py`."""
    edit(project.path / "koans" / f"{stem}.py", old, new)


def record_shipped(project: pytest.Pytester) -> None:
    """What the project's maintainers run after writing a lesson."""
    subprocess.run(
        [sys.executable, "-m", "dagster_koans.reset", "--record"], cwd=project.path, check=True
    )


def solve(project: pytest.Pytester, stem: str) -> None:
    """Copy a solution over the learner's file, as if they had filled every blank."""
    koan = project.path / "koans" / f"{stem}.py"
    koan.write_text((project.path / "solutions" / f"{stem}.py").read_text())
