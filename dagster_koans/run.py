"""A run of `koans/` or `solutions/`: one plugin object per concern, as pytest's own plugins are.

pytest collects, runs and reports as ever; each object below adds one thing to it:
- `History` (history.py): what earlier runs showed, and what this run leaves out because of it;
- `Sandbox` (sandbox.py): each koan's working folder and environment;
- `TimeLimits` (limits.py): each koan's time limit, and the guard for code stuck in C;
- `Interrupts` (interrupts.py): Ctrl-C and SIGTERM;
- `Judge` (judge.py): each koan's verdict from its reports;
- `EndScreen` (end.py): the learner's screen after pytest's summary, and the exit status.
They share the options (options.py) and the lesson files as read before anything ran
(reading.py), and are registered in `pytest_configure` only for a run of the lessons.
"""

from __future__ import annotations

import pytest

from dagster_koans.end import EndScreen
from dagster_koans.guard import Guard
from dagster_koans.history import History
from dagster_koans.interrupts import Interrupts
from dagster_koans.judge import Judge
from dagster_koans.limits import TimeLimits
from dagster_koans.options import KoansOptions
from dagster_koans.path import LearningPath
from dagster_koans.reading import read_track
from dagster_koans.sandbox import Sandbox
from dagster_koans.screen import INTERRUPTED_LINE

PLUGIN_NAME = "dagster-koans-run"  # `-p no:dagster-koans-run` blocks every part of a run


def register_run(config: pytest.Config, options: KoansOptions, path: LearningPath) -> None:
    reading = read_track(options.track, path, config.getini("python_files"))
    history = History(config, options, reading)
    ledger = history.ledger
    guard = Guard(ledger.stuck_file, ledger.running_file, INTERRUPTED_LINE)
    interrupts = Interrupts(heard=guard.heard_interrupt)
    judge = Judge(reading, history, interrupts, options.narrowed)
    end = EndScreen(config, options, reading, history, judge, interrupts)
    limits = TimeLimits(config, options, reading, guard, end.standing)
    parts = {
        "dagster-koans-history": history,
        "dagster-koans-sandbox": Sandbox(reading, guard),
        "dagster-koans-limits": limits,
        "dagster-koans-interrupts": interrupts,
        "dagster-koans-judge": judge,
        PLUGIN_NAME: end,
    }
    for name, part in parts.items():
        config.pluginmanager.register(part, name)
