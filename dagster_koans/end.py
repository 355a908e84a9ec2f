"""The end of a run: the learner's screen under pytest's own summary, and the exit status."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Generator

import pytest

from dagster_koans.history import History
from dagster_koans.interrupts import Interrupts
from dagster_koans.judge import Judge
from dagster_koans.options import KoansOptions
from dagster_koans.progress import Standing
from dagster_koans.reading import Reading
from dagster_koans.screen import INTERRUPTED_LINE


class EndScreen:
    def __init__(
        self,
        config: pytest.Config,
        options: KoansOptions,
        reading: Reading,
        history: History,
        judge: Judge,
        interrupts: Interrupts,
    ) -> None:
        self.config = config
        self.options = options
        self.reading = reading
        self.history = history
        self.judge = judge
        self.interrupts = interrupts
        self.exitstatus: int | None = None  # set once the session has finished

    def pytest_configure(self, config: pytest.Config) -> None:
        """Called when this object is registered."""
        if not self.options.tracebacks:
            config.option.tbstyle = "no"  # the screen tells each failure; --tb brings them back
        # One lesson that does not import must not stop the others (pytest would stop the run).
        config.option.continue_on_collection_errors = True

    def standing(self, session: pytest.Session | None = None) -> Standing:
        """Where the learner stands, made once from what each part of the run found."""
        history, judge, reading = self.history, self.judge, self.reading
        return Standing(
            path=reading.path,
            track=reading.track,
            verdicts={**history.failed_before, **history.known, **judge.verdicts},
            files=reading.files,
            problems=judge.problems,
            passed_before=history.passed_before,
            scope=frozenset(history.scope),
            started=history.started,
            own=judge.own,
            strays=reading.strays,
            notes=(*reading.path.notes, *history.notes),
            stopped_early=str(session and (session.shouldstop or session.shouldfail) or ""),
            interrupted=self.interrupts.interrupted,
            exited=self.interrupts.exited,
        )

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """After pytest's own summary: draw the screen, and agree on the exit status."""
        yield
        from dagster_koans.screen import draw

        standing = self.standing(session)
        status = standing.exit_status(int(session.exitstatus), self.options.hint)
        try:
            draw(self.config, self.options, standing, status)
        except Exception as error:  # a bug of ours: one plain line, never a wrong screen
            sys.stderr.write(
                f"dagster-koans: the koans plugin failed while drawing the screen "
                f"({type(error).__name__}: {error}). Please report it; `--koans-off` runs "
                "plain pytest meanwhile.\n"
            )
            status = pytest.ExitCode.INTERNAL_ERROR
        if self.interrupts.interrupted and not standing.interrupted:  # Ctrl-C as it was drawn
            sys.stdout.write(f"\n{INTERRUPTED_LINE}\n")
            status = pytest.ExitCode.INTERRUPTED
        session.exitstatus = self.exitstatus = int(status)

    def pytest_internalerror(self) -> None:
        sys.stderr.write(
            "dagster-koans: the koans plugin failed inside pytest (INTERNALERROR above). "
            "Please report it with that output; `--koans-off` runs plain pytest meanwhile.\n"
        )

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """End at once after Ctrl-C, or when a koan left a thread running."""
        if self.config.invocation_params.plugins:
            return  # pytest.main() called with plugins of its own (a test harness): return to it
        left = [
            t.name
            for t in threading.enumerate()
            if not t.daemon and t is not threading.main_thread()
        ]
        if left:
            sys.stdout.write(
                f"A koan left a thread running ({', '.join(left)}): the run ends without it.\n"
            )
        if self.exitstatus is not None and (left or self.interrupts.interrupted):
            # Unwinding Dagster's large heap takes seconds on a busy machine; nothing is left to do.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(self.exitstatus)
