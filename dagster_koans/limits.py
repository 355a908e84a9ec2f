"""Time limits: each koan gets one, and the guard process watches the koan's own code."""

from __future__ import annotations

import signal
from collections.abc import Generator

import pytest

from dagster_koans.guard import Guard
from dagster_koans.ledger import Ledger
from dagster_koans.options import KoansOptions
from dagster_koans.reading import Reading
from dagster_koans.screen import INTERRUPTED_LINE


class TimeLimits:
    def __init__(self, options: KoansOptions, reading: Reading, ledger: Ledger) -> None:
        self.options = options
        self.reading = reading
        self.guard = Guard(ledger.stuck_file, ledger.running_file, INTERRUPTED_LINE)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Each item without a limit of its own gets the plugin's (a dbt koan sets a longer one)."""
        timeout = self.options.timeout
        if self.options.collect_only or not timeout:
            return
        method = "signal" if hasattr(signal, "SIGALRM") else "thread"
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(timeout, method=method, func_only=True))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """The guard watches the koan's own code (as the time limit does), not its fixtures."""
        koan = self.reading.koan_for(item)
        seconds = time_limit(item)
        if koan is None or not seconds:
            return (yield)
        self.guard.start(item.nodeid, koan.key, self.reading.fingerprint(koan) or "-", seconds)
        try:
            return (yield)
        finally:
            self.guard.done()

    def pytest_enter_pdb(self) -> None:
        """A learner in the debugger is not stuck: the guard stops watching this koan."""
        self.guard.done()

    def pytest_sessionfinish(self) -> None:
        self.guard.stop()


def time_limit(item: pytest.Item) -> float | None:
    """The seconds pytest-timeout gives this item, from its closest timeout mark."""
    marker = item.get_closest_marker("timeout")
    if marker is None:
        return None
    seconds = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    return float(seconds) if seconds else None
