"""The pytest plugin that turns a run of `koans/` (or `solutions/`) into the learner's screen.

Hooks are module functions in the order pytest calls them. The plugin composes pytest's own
terminal reporter rather than replacing it: the reporter still runs (so `-x`, `--lf`, `-k`,
`--junitxml` behave as ever) but writes into a buffer, and the plugin draws the screen.
The project's own tests, and any run with `--koans-off`, get plain pytest.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from dagster_koans.fixtures import freeze_heap
from dagster_koans.ledger import Ledger
from dagster_koans.path import Koan, LearningPath, digest, load_path, scan_file
from dagster_koans.progress import FileProblem, Standing
from dagster_koans.verdict import Outcome, Verdict, judge_failure, last_line_in, plain_message

TRACKS = ("koans", "solutions")
DEFAULT_TIMEOUT = 5.0


@dataclass
class KoansRun:
    """Everything one koans run knows, kept in `config.stash`."""

    root: Path
    standing: Standing
    ledger: Ledger
    trust_history: bool  # may a koan that passed with unchanged code be counted without running?
    salt: str  # changes the fingerprints when Python, Dagster or the blanks and fixtures change
    known: dict[str, Verdict] = field(default_factory=dict)  # judged from source and history
    unimported: set[str] = field(default_factory=set)  # lessons that need no import this time
    # Koans judged without running, to report as pytest would: (node id, location, koan)
    unrun: list[tuple[str, tuple[str, int, str], Koan]] = field(default_factory=list)

    def koan_for(self, item: pytest.Item) -> Koan | None:
        if item.path.parent != self.root / self.standing.track:
            return None
        return self.standing.path.koan(item.path.stem, getattr(item, "originalname", item.name))

    def fingerprint(self, koan: Koan) -> str | None:
        return self.standing.files[koan.lesson].fingerprint(koan.name, self.salt)


run_key = pytest.StashKey[KoansRun]()


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
        "seconds after which a koan that has not finished is stopped (unless --timeout is given)",
        default=str(DEFAULT_TIMEOUT),
    )


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """`--watch` and `--reset NN` act instead of a plain run."""
    if config.getoption("watch"):
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
    track = chosen_track(config)
    if track is None or config.getoption("koans_off"):
        return
    root = config.rootpath
    path = load_path(root)
    check_options(config, path)
    standing = Standing(path=path, track=track)
    for lesson in path.lessons:
        file = root / track / lesson.filename
        if not file.exists():
            standing.problems[lesson.stem] = FileProblem(
                None, (f"{track}/{lesson.filename} is missing (deleted or renamed?).",)
            )
            continue
        scanned = scan_file(file)
        standing.files[lesson.stem] = scanned
        if scanned.error is not None:
            standing.problems[lesson.stem] = describe_unreadable(scanned.error)
    ledger = Ledger(getattr(config, "cache", None))  # None with -p no:cacheprovider
    if track == "koans" and ledger.started is None:
        ledger.started = time.time()
    standing.passed_before = ledger.ever_passed
    standing.started = ledger.started if track == "koans" else None
    trust = track == "koans" and not config.getoption("koans_fresh") and not os.environ.get("CI")
    run = KoansRun(root, standing, ledger, trust, version_salt())
    judge_without_running(
        run,
        fresh=config.getoption("koans_fresh"),
        narrowed_by_keyword=bool(config.getoption("keyword")),  # -k must see every koan
    )
    standing.verdicts.update(run.known)
    if not narrowed(config):
        standing.scope.update(k.key for k in path.koans if covered(config, track, k.lesson))
    config.stash[run_key] = run
    config.option.continue_on_collection_errors = True
    silence_terminal_reporter(config)


def judge_without_running(run: KoansRun, fresh: bool, narrowed_by_keyword: bool) -> None:
    """What is known before anything runs, and which lesson files need no import at all.

    A koan whose source holds a blank is unsolved. With history trusted, a koan that passed
    with exactly this code passed, and a file whose koans are all known need not be imported
    when its module-level code is known to import: it did before, or it is the solution's own
    (blanks never sit at module level, and the solutions are proven to import).
    """
    for lesson in run.standing.path.lessons:
        scanned = run.standing.files.get(lesson.stem)
        if scanned is None or scanned.error is not None:
            run.unimported.add(lesson.stem)  # gone or unreadable: the scan says why
            continue
        for koan in lesson.koans:
            source = scanned.function(koan.name)
            if source is None:
                continue
            if source.blanks and not fresh:
                run.known[koan.key] = Verdict(Outcome.BLANK, source.blanks[0])
            elif run.trust_history and run.ledger.passed_with(koan.key, run.fingerprint(koan)):
                run.known[koan.key] = Verdict(Outcome.PASSED, cached=True)
        all_known = all(koan.key in run.known for koan in lesson.koans)
        only_koans = {fn.name for fn in scanned.functions} <= {k.name for k in lesson.koans}
        module = scanned.module_fingerprint(run.salt)
        solution = scan_file(run.root / "solutions" / lesson.filename)
        imports = module in (
            run.ledger.imported.get(lesson.stem),
            solution.module_fingerprint(run.salt),
        )
        if run.trust_history and not narrowed_by_keyword and all_known and only_koans and imports:
            run.unimported.add(lesson.stem)


def arg_paths(config: pytest.Config) -> list[Path]:
    """The files and folders the run's arguments name, without any `::koan` part."""
    return [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]


def chosen_track(config: pytest.Config) -> str | None:
    """The folder of the run ("koans" or "solutions"), when every argument lies in one of them."""
    tracks = set()
    for target in arg_paths(config):
        for track in TRACKS:
            folder = config.rootpath / track
            if target == folder or folder in target.parents:
                tracks.add(track)
                break
        else:
            return None
    return tracks.pop() if len(tracks) == 1 else None


def narrowed(config: pytest.Config) -> bool:
    """True when the run picks koans by name (-k, or a `file::koan` id), not whole lessons."""
    return bool(config.getoption("keyword")) or any("::" in arg for arg in config.args)


def covered(config: pytest.Config, track: str, stem: str) -> bool:
    """True when an argument of the run names the lesson's file or a folder holding it."""
    file = config.rootpath / track / f"{stem}.py"
    return any(target == file or target in file.parents for target in arg_paths(config))


def check_options(config: pytest.Config, path: LearningPath) -> None:
    wanted = config.getoption("compare")
    if wanted is not None and path.lesson(wanted) is None:
        numbers = ", ".join(lesson.number for lesson in path.lessons)
        raise pytest.UsageError(f"--compare takes a lesson number ({numbers}), not {wanted!r}")
    if config.getoption("spoilers") and wanted is None:
        raise pytest.UsageError("--spoilers goes with --compare NN")


def describe_unreadable(error: SyntaxError | UnicodeDecodeError) -> FileProblem:
    if isinstance(error, UnicodeDecodeError):
        line = error.object[: error.start].count(b"\n") + 1
        return FileProblem(
            line, ("The file is not saved as UTF-8: save it as UTF-8 and run again.",)
        )
    kind = "Indentation error" if isinstance(error, IndentationError) else "Syntax error"
    return FileProblem(error.lineno, (f"{kind}: {error.msg}.",))


def version_salt() -> str:
    """What every koan's outcome also depends on: Python, Dagster, and the blanks and fixtures."""
    from importlib.metadata import version

    from dagster_koans import blanks, fixtures

    own = (Path(module.__file__).read_text(encoding="utf-8") for module in (blanks, fixtures))
    return digest(str(sys.version_info[:2]), version("dagster"), *own)


def silence_terminal_reporter(config: pytest.Config) -> None:
    standard = config.pluginmanager.getplugin("terminalreporter")
    if standard is None:
        return
    config.pluginmanager.unregister(standard)
    config.pluginmanager.register(TerminalReporter(config, io.StringIO()), "terminalreporter")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    run = config.stash.get(run_key, None)
    if run is None or collection_path.parent != run.root / run.standing.track:
        return None
    track = run.standing.track
    if collection_path.stem not in run.unimported or not covered(
        config, track, collection_path.stem
    ):
        return None  # pytest walks a whole folder even for one file; it imports only that file
    scanned = run.standing.files.get(collection_path.stem)
    lesson = run.standing.path.lesson(collection_path.stem)
    if scanned is not None and scanned.error is None and lesson is not None:
        file = f"{run.standing.track}/{lesson.filename}"
        for koan in lesson.koans:
            source = scanned.function(koan.name)
            if source is not None:
                location = (file, source.first_line - 1, koan.name)
                run.unrun.append((f"{file}::{koan.name}", location, koan))
    return True


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    """Remember which lesson files imported, and with which module-level code."""
    report = yield
    run = collector.config.stash.get(run_key, None)
    if run is None or not isinstance(collector, pytest.Module):
        return report
    scanned = run.standing.files.get(collector.path.stem)
    if collector.path.parent == run.root / run.standing.track and scanned is not None:
        if report.passed:
            run.ledger.imported[collector.path.stem] = scanned.module_fingerprint(run.salt)
        else:
            run.ledger.imported.pop(collector.path.stem, None)
    return report


def pytest_exception_interact(
    node: pytest.Item | pytest.Collector, call: pytest.CallInfo[object], report: object
) -> None:
    """A lesson file that raised while being imported: remember where and why."""
    run = node.config.stash.get(run_key, None)
    if run is None or not isinstance(node, pytest.Module) or call.excinfo is None:
        return
    stem = node.path.stem
    if node.path.parent != run.root / run.standing.track or stem in run.standing.problems:
        return
    error = call.excinfo.value
    cause = error.__cause__ or error
    if isinstance(cause, SyntaxError):
        run.standing.problems[stem] = describe_unreadable(cause)
    else:
        line = last_line_in(node.path, cause.__traceback__)
        run.standing.problems[stem] = FileProblem(line, plain_message(cause))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Judge without running what needs no run; give the rest a time limit."""
    run = config.stash.get(run_key, None)
    if run is None:
        return
    timeout = None if config.getoption("timeout", None) else float(config.getini("koans_timeout"))
    method = "signal" if hasattr(signal, "SIGALRM") else "thread"
    keep = []
    for item in items:
        koan = run.koan_for(item)
        if koan is not None:
            run.standing.scope.add(koan.key)
            if koan.key in run.known:
                run.unrun.append((item.nodeid, item.location, koan))
                continue
        if timeout:
            item.add_marker(pytest.mark.timeout(timeout, method=method))
        keep.append(item)
    items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    if run_key in session.config.stash:
        freeze_heap()  # what collection imported


def pytest_runtestloop(session: pytest.Session) -> None:
    """Report the koans judged without running, so --junitxml, --lf and -x still see them."""
    run = session.config.stash.get(run_key, None)
    if run is None:
        return
    for nodeid, location, koan in run.unrun:
        verdict = run.known[koan.key]
        longrepr = None if verdict.resolved else f"the blank on line {verdict.line} is still empty"
        outcome = "passed" if verdict.resolved else "failed"
        properties = [("koan", verdict.outcome.value)]
        # junitxml writes a test case's properties when its teardown is reported.
        for when, result in (("call", outcome), ("teardown", "passed")):
            report = pytest.TestReport(
                nodeid=nodeid,
                location=location,
                keywords={},
                outcome=result,  # type: ignore[arg-type]
                longrepr=longrepr if when == "call" else None,
                when=when,  # type: ignore[arg-type]
                user_properties=properties,
            )
            session.config.hook.pytest_runtest_logreport(report=report)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """A koan that changes the working directory or the environment changes them for itself."""
    if run_key not in item.config.stash:
        return (yield)
    cwd, environ = os.getcwd(), dict(os.environ)
    try:
        return (yield)
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    run = item.config.stash.get(run_key, None)
    koan = run.koan_for(item) if run else None
    if run is None or koan is None:
        return report
    earlier = run.standing.verdicts.get(koan.key)
    if report.when == "teardown" and earlier is not None and not earlier.resolved:
        return report  # a teardown never hides what the call showed
    source = run.standing.files[koan.lesson].function(koan.name)
    if report.failed and call.excinfo is not None:
        blanks = source.blanks if source else ()
        verdict = judge_failure(item.path, blanks, call.excinfo.value)
    elif report.skipped:
        verdict = Verdict(Outcome.SKIPPED)
    elif report.when == "call" and source is not None and source.blanks:
        verdict = Verdict(Outcome.BLANK, source.blanks[0])  # passed, but not by filling the blank
    elif report.when == "call":
        verdict = Verdict(Outcome.PASSED)
    else:
        return report
    run.standing.verdicts[koan.key] = verdict
    # Named in --junitxml, so tools (and the project's tests) can read each koan's verdict.
    item.user_properties[:] = [p for p in item.user_properties if p[0] != "koan"]
    item.user_properties.append(("koan", verdict.outcome.value))
    if report.when == "call":
        item.user_properties.append(("call_seconds", f"{report.duration:.4f}"))
    if run.standing.track == "koans":
        run.ledger.record(koan.key, run.fingerprint(koan), verdict.resolved)
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(run_key, None)
    if run is None:
        return
    run.ledger.save()
    from dagster_koans.screen import draw

    session.exitstatus = draw(session.config, run.standing, exitstatus)
