"""The run's arguments, read and checked once: which track, which lessons, which of our options.

Everything that can be wrong with an option is a usage error (pytest's exit 4) naming it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from dagster_koans.path import LearningPath, Lesson
from dagster_koans.track import TRACKS, Track

DEFAULT_TIMEOUT = 5.0
ONCE_ONLY = ("reset", "yes", "compare", "hint", "collectonly")  # refused with --watch


@dataclass(frozen=True)
class KoansOptions:
    track: Track  # `koans/` or `solutions/`: the folder every argument lies in
    invocation_dir: Path
    targets: tuple[Path, ...]  # what the arguments name, without any `::koan` part
    named: frozenset[tuple[str, str]]  # (lesson stem, koan name) named by a `file::koan` id
    keyword: bool  # -k or -m picks koans by name or mark
    hint: bool
    compare: Lesson | None
    spoilers: bool
    fresh: bool  # run every koan, trusting nothing known before running
    trust_history: bool  # may a koan that passed with unchanged code be counted without running?
    timeout: float | None  # koans_timeout in seconds (None: no limit); pytest-timeout's decides
    collect_only: bool
    tracebacks: bool  # the learner chose a --tb style: pytest's tracebacks stay

    @property
    def root(self) -> Path:
        return self.track.root

    @property
    def narrowed(self) -> bool:
        """True when the run picks koans by name, not whole lessons."""
        return self.keyword or bool(self.named)

    def covers(self, stem: str) -> bool:
        """True when an argument names the lesson's file or a folder holding it."""
        file = self.track.file(stem)
        return any(target == file or target in file.parents for target in self.targets)

    @property
    def command(self) -> str:
        """The track folder as the learner would type it from where they ran pytest."""
        folder = self.track.folder
        try:
            relative = folder.relative_to(self.invocation_dir)
        except ValueError:
            return str(folder)
        return f"{relative}/" if str(relative) != "." else "."


def arg_targets(config: pytest.Config) -> tuple[Path, ...]:
    return tuple(
        (config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args
    )


def chosen_track(config: pytest.Config) -> Track | None:
    """The folder of the run, when every argument lies in `koans/` or in `solutions/`."""
    refuse_another_rootdir(config)
    tracks = set()
    for target in arg_targets(config):
        for track in TRACKS:
            folder = config.rootpath / track
            if target == folder or folder in target.parents:
                tracks.add(track)
                break
        else:
            return None
    if len(tracks) > 1:
        raise pytest.UsageError(
            "run koans/ or solutions/, not both at once: their files share names, so pytest "
            "cannot import them in one run."
        )
    return Track(config.rootpath, tracks.pop()) if tracks else None


def refuse_another_rootdir(config: pytest.Config) -> None:
    """`--rootdir` elsewhere than the project's folder: pytest would name every koan, and keep
    its cache, from there, and the koans' screen could not find its lessons."""
    project = config.inipath.parent if config.inipath is not None else None
    if project is None or not config.getoption("rootdir", None) or config.rootpath == project:
        return
    lessons = [project / track for track in TRACKS]
    targets = arg_targets(config)
    if project in targets or any(t == f or f in t.parents for t in targets for f in lessons):
        raise pytest.UsageError(
            f"--rootdir {config.getoption('rootdir')} is not this project's folder ({project}), "
            "where the koans find their lessons and history: run without --rootdir."
        )


def read_timeout(config: pytest.Config) -> float | None:
    raw = str(config.getini("koans_timeout")).strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise pytest.UsageError(
            f"koans_timeout must be a number of seconds, such as 10 (0 for no limit), not {raw!r}"
        )
    return seconds or None


def read_options(config: pytest.Config, track: Track, path: LearningPath) -> KoansOptions:
    """Read and check the options of a koans run; raise a usage error naming what is wrong."""
    wanted = config.getoption("compare")
    compare = path.lesson(wanted) if wanted is not None else None
    if wanted is not None and compare is None:
        numbers = ", ".join(lesson.number for lesson in path.lessons)
        raise pytest.UsageError(f"--compare takes a lesson number ({numbers}), not {wanted!r}")
    if config.getoption("spoilers") and wanted is None:
        raise pytest.UsageError("--spoilers goes with --compare NN")
    if config.getoption("numprocesses", None):
        raise pytest.UsageError(
            "-n (pytest-xdist) is not for the koans: the path is one screen drawn by one process, "
            "and a run takes about a second. Run without -n."
        )
    named = set()
    for arg in config.args:
        file, _, name = arg.partition("::")
        if name:
            named.add((Path(file).stem, name.split("[")[0].split("::")[0]))
    fresh = bool(config.getoption("koans_fresh"))
    return KoansOptions(
        track=track,
        invocation_dir=config.invocation_params.dir,
        targets=arg_targets(config),
        named=frozenset(named),
        keyword=bool(config.getoption("keyword") or config.getoption("markexpr")),
        hint=bool(config.getoption("hint")),
        compare=compare,
        spoilers=bool(config.getoption("spoilers")),
        fresh=fresh,
        trust_history=track.name == "koans" and not fresh and not os.environ.get("CI"),
        timeout=read_timeout(config),
        collect_only=bool(config.getoption("collectonly")),
        # --tb given anywhere: the command line, PYTEST_ADDOPTS, the ini file's addopts
        tracebacks=getattr(config.option, "tbstyle", "auto") != "auto",
    )


def refuse_with_watch(config: pytest.Config) -> None:
    """Options that act once make no sense in a watcher that runs again after every save."""
    for name in ONCE_ONLY:
        if config.getoption(name, None):
            flag = {"collectonly": "--collect-only"}.get(name, f"--{name}")
            raise pytest.UsageError(
                f"{flag} acts once and cannot go with --watch: run it on its own, then watch."
            )
    if config.getoption("numprocesses", None):
        raise pytest.UsageError("-n (pytest-xdist) cannot go with --watch.")
