"""What earlier runs showed, and what this run can leave out because of it.

Like pytest's own `--lf` (`cacheprovider.py`): a lesson file whose koans all hold a blank or
passed before with the same code is not imported, such koans in an imported file are
deselected, and a line after "collected N items" says so. Each koan's final verdict is
remembered as soon as it is known.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Generator
from pathlib import Path

import pytest

from dagster_koans.ledger import Ledger
from dagster_koans.options import KoansOptions
from dagster_koans.path import Koan
from dagster_koans.reading import Reading
from dagster_koans.verdict import Outcome, Verdict, before_running

CANCELLED = "DAGSTER_KOANS_CANCELLED"  # pids of watch-mode runs the watcher ended on purpose


class History:
    """The ledger of earlier runs, and the koans and files this run leaves out."""

    def __init__(self, config: pytest.Config, options: KoansOptions, reading: Reading) -> None:
        self.options = options
        self.reading = reading
        # pytest's cache is None with -p no:cacheprovider: then nothing is remembered
        cache = getattr(config, "cache", None)
        self.ledger = Ledger(cache, cache_folder(config) if cache is not None else None)
        self._abrupt = self._abrupt_end()
        self.known: dict[str, Verdict] = {}  # by Koan.key: judged without running
        # by Koan.key: what stands if the koan does not run (-m, -k, --deselect, --ignore)
        self.failed_before: dict[str, Verdict] = {}
        self.unimported: set[str] = set()  # lesson files that need no import this time
        self.skipped_files = 0
        self.scope: set[str] = set()  # Koan.key of the koans this run covers
        koans = options.track.name == "koans"
        if koans and self.ledger.record.started is None and self.ledger.keeps:
            self.ledger.record = dataclasses.replace(self.ledger.record, started=time.time())
        self.started = self.ledger.record.started if koans else None
        self.passed_before = self.ledger.record.ever_passed
        self._judge_without_running()

    @property
    def notes(self) -> list[str]:
        """What the learner should know about the history: the ledger's notes come as late as
        the run's end (a cache that cannot be written)."""
        return [*self.ledger.notes, *self._abrupt]

    def _abrupt_end(self) -> list[str]:
        left = self.ledger.abrupt
        if left is None:
            return []
        nodeid, _, pid = left.rpartition("@")
        if pid in os.environ.get(CANCELLED, "").split(","):
            return []  # the watcher ended that run on purpose, for a newer save
        return [
            f"The previous run ended abruptly while {nodeid} was running "
            "(os._exit, a crash, or the process was killed): its screen was never drawn."
        ]

    def _judge_without_running(self) -> None:
        """What is known before anything runs, and which lesson files need no import at all.

        A file whose koans are all known need not be imported when its module-level code is
        known to import: it did before, or it is the solution's own (blanks never sit at module
        level, and the solutions are proven to import).
        """
        options, reading = self.options, self.reading
        if options.collect_only:
            return  # list every koan, as pytest would
        trust = options.trust_history
        for lesson in reading.path.lessons:
            scanned = reading.files.get(lesson.stem)
            if scanned is None or scanned.error is not None:
                self.unimported.add(lesson.stem)  # gone or unreadable: the scan says why
                continue
            for koan in lesson.koans:
                source = scanned.function(koan.name)
                if source is None or (koan.lesson, koan.name) in options.named:
                    continue
                fingerprint = reading.fingerprint(koan)
                known = before_running(
                    source,
                    fresh=options.fresh,
                    remembered=trust and self.ledger.passed_with(koan.key, fingerprint),
                    stuck=trust and self.ledger.stuck_with(koan.key, fingerprint),
                )
                if known is not None:
                    self.known[koan.key] = known
                elif trust and self.ledger.failed_with(koan.key, fingerprint):
                    self.failed_before[koan.key] = Verdict(Outcome.FAILED_BEFORE, source.first_line)
            all_known = all(koan.key in self.known for koan in lesson.koans)
            only_koans = {fn.name for fn in scanned.functions} <= {k.name for k in lesson.koans}
            module = scanned.module_fingerprint(reading.salt)
            imports = module in (
                self.ledger.record.imported.get(lesson.stem),
                lesson.solution.module_fingerprint(reading.salt),
            )
            # A file the compiler refuses is imported, so pytest reports it as it would.
            ready = all_known and only_koans and imports and scanned.compiles
            if trust and not options.narrowed and ready:
                self.unimported.add(lesson.stem)
        if not options.narrowed:
            self.scope.update(k.key for k in reading.path.koans if options.covers(k.lesson))

    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        stem = collection_path.stem
        if not self.options.track.holds(collection_path) or stem not in self.unimported:
            return None
        if not self.options.covers(stem):
            return None  # pytest walks a whole folder even for one file; it imports only that file
        if stem not in self.reading.problems:
            self.skipped_files += 1
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Remember which lesson files imported, so an unchanged one need not be next time."""
        report = yield
        scanned = self.reading.files.get(collector.path.stem)
        if isinstance(collector, pytest.Module) and self.options.track.holds(collector.path):
            if scanned is not None:
                fingerprint = scanned.module_fingerprint(self.reading.salt)
                self.ledger.record = self.ledger.record.with_import(
                    collector.path.stem, fingerprint if report.passed else None
                )
        return report

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Deselect the koans known without running."""
        if self.options.collect_only:
            return
        keep, deselected = [], []
        for item in items:
            koan = self.reading.koan_for(item)
            if koan is not None:
                self.scope.add(koan.key)
                if koan.key in self.known:
                    deselected.append(item)
                    continue
            keep.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = keep

    def pytest_report_collectionfinish(self) -> list[str]:
        lines = [f"koans: {note}" for note in self.notes]
        if not self.options.tracebacks and not self.options.collect_only:
            lines.append(
                "koans: tracebacks are off, each failure is told below (--tb=short shows them)"
            )
        known = [
            self.known[k.key]
            for k in self.reading.path.koans
            if k.key in self.known and k.key in self.scope
        ]
        if known:
            lines.append(f"koans: {not_run(known, self.skipped_files)}")
        return lines

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.ledger.running(f"{nodeid}@{os.getpid()}")

    def remember(self, koan: Koan, verdict: Verdict, some_cases: bool) -> None:
        """A koan's verdict is final: remember it now, so that a run the guard ends keeps it.
        `some_cases`: -k or a `koan[case]` id ran only some cases of a parametrized koan."""
        if self.options.track.name != "koans":
            return
        fingerprint = self.reading.fingerprint(koan)
        # None: neither a pass (only some cases ran) nor a failure (a skipped koan)
        if verdict.resolved:
            passed = None if some_cases else True
        else:
            passed = None if verdict.outcome is Outcome.SKIPPED else False
        self.ledger.remember(koan.key, fingerprint, passed)
        self.ledger.save()

    def pytest_sessionfinish(self) -> None:
        self.ledger.running(None)
        self.ledger.save()


def cache_folder(config: pytest.Config) -> Path:
    """The folder pytest keeps its cache in, as its `cache_dir` setting says."""
    setting = os.path.expanduser(os.path.expandvars(str(config.getini("cache_dir"))))
    return config.rootpath / setting


def not_run(known: list[Verdict], skipped_files: int) -> str:
    """The line after "collected N items": the koans left out, and why."""
    blank = sum(v.outcome is Outcome.BLANK for v in known)
    remembered = sum(v.outcome is Outcome.REMEMBERED for v in known)
    stuck = len(known) - blank - remembered
    parts = [f"{blank} still hold a blank"] if blank else []
    parts += [f"{remembered} passed before with this code"] if remembered else []
    parts += [f"{stuck} never finished last time"] if stuck else []
    files = f", skipped {skipped_files} file{'s' if skipped_files != 1 else ''}"
    return (
        f"{len(known)} not run ({', '.join(parts)}{files if skipped_files else ''}); "
        "--koans-fresh runs them all"
    )
