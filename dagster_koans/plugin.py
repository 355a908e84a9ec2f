"""The pytest plugin: its options, and one `KoansRun` registered for a run of the lessons.

Like pytest's own `stepwise` and `cacheprovider`, the work is done by a plugin object that is
registered in `pytest_configure` only for a run of `koans/` or `solutions/` (see `run.py`). The
project's own tests, and any run with `--koans-off`, are plain pytest.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import pytest

from dagster_koans.options import DEFAULT_TIMEOUT, chosen_track, read_options, refuse_with_watch
from dagster_koans.path import load_path

PLUGIN_NAME = "dagster-koans-run"


def interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C before pytest's session starts: pytest itself would print a traceback."""
    sys.stderr.write("\nInterrupted while pytest was starting. Run it again when ready.\n")
    raise SystemExit(2)


if threading.current_thread() is threading.main_thread():
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupted_while_starting)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("koans", "Dagster Koans")
    group.addoption("--hint", action="store_true", help="show a hint for the current koan")
    group.addoption(
        "--watch", action="store_true", help="run again after every save in koans/ (Ctrl-C stops)"
    )
    group.addoption(
        "--compare",
        metavar="NN",
        help="show a completed lesson's file beside the master's answers (e.g. --compare 03)",
    )
    group.addoption(
        "--spoilers",
        action="store_true",
        help="with --compare: show the answers of a lesson you have not finished yet",
    )
    group.addoption(
        "--reset",
        metavar="NN",
        help="restore a lesson file as shipped, keeping your copy as a backup (with --yes)",
    )
    group.addoption("--yes", action="store_true", help="confirm --reset")
    group.addoption(
        "--koans-fresh",
        action="store_true",
        help="run every koan, even those known from their source or from earlier runs",
    )
    group.addoption(
        "--koans-off", action="store_true", help="plain pytest output, no learner's screen"
    )
    parser.addini(
        "koans_timeout",
        "seconds after which a koan that has not finished is stopped (0: no limit; "
        "pytest-timeout's --timeout, when given, decides instead)",
        default=str(DEFAULT_TIMEOUT),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """`--watch` and `--reset NN` act instead of a plain run. From here pytest handles Ctrl-C."""
    if signal.getsignal(signal.SIGINT) is interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if config.getoption("watch"):
        refuse_with_watch(config)
        from dagster_koans.watch import watch

        return watch(config)
    wanted = config.getoption("reset")
    if wanted is None:
        return None
    from dagster_koans.reset import reset_lesson

    lesson = load_path(config.rootpath).lesson(wanted)
    if lesson is None:
        raise pytest.UsageError(f"--reset takes a lesson number, not {wanted!r}")
    status, message = reset_lesson(config.rootpath, lesson, config.getoption("yes"))
    print(message)
    return status


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("koans_off"):
        return
    track = chosen_track(config)
    if track is None:
        return
    path = load_path(config.rootpath)
    options = read_options(config, track, path)
    from dagster_koans.run import KoansRun

    config.pluginmanager.register(KoansRun(config, options, path), PLUGIN_NAME)
