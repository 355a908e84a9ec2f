"""The pytest plugin: its options, and the parts of a run registered for a run of the lessons.

Like pytest's own `stepwise` and `cacheprovider`, the work is done by plugin objects that are
registered in `pytest_configure` only for a run of `koans/` or `solutions/` (see `run.py`). The
project's own tests, and any run with `--koans-off`, are plain pytest.
"""

from __future__ import annotations

import pytest

from dagster_koans.options import DEFAULT_TIMEOUT, chosen_track, read_options, refuse_with_watch
from dagster_koans.path import load_path

# pytest's options that show something instead of running tests: --cache-show, --fixtures,
# --fixtures-per-test
SHOW_ONLY = ("cacheshow", "showfixtures", "show_fixtures_per_test")


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
    """`--watch` and `--reset NN` act instead of a plain run."""
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
    from dagster_koans.run import PLUGIN_NAME, register_run

    if config.getoption("koans_off") or config.pluginmanager.is_blocked(PLUGIN_NAME):
        return
    if any(config.getoption(name, None) for name in SHOW_ONLY):
        return  # pytest shows what was asked for, and exits as it does
    track = chosen_track(config)
    if track is None:
        return
    path = load_path(config.rootpath)
    register_run(config, read_options(config, track, path), path)
