"""Restoring a lesson file as shipped, after keeping the learner's copy as a backup.

"As shipped" never depends on git: a learner may have committed their answers, pushed them to
a fork, or have no git at all. A koan file is its solution with the blank lines put back, and
those lines are kept in `solutions/shipped_blanks.json` (a test in `tests/` proves that it
rebuilds every file in `koans/` exactly; `python -m dagster_koans.reset --record`, run at the
project's root, writes it after a lesson changes).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from dagster_koans.path import LearningPath, Lesson, at_line, describe_error
from dagster_koans.track import Track

STATE_FOLDER = ".koans"  # the one git-ignored folder at the root for what the plugin keeps
SHIPPED = "solutions/shipped_blanks.json"


def shipped_text(root: Path, lesson: Lesson) -> str | None:
    """The koan file as shipped: the solution, with each blank line as it was."""
    try:
        blanks: dict[str, str] = json.loads((root / SHIPPED).read_text(encoding="utf-8"))[
            lesson.stem
        ]
        solution = Track(root, "koans").solution(lesson.stem).read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError):
        return None
    lines = solution.splitlines(keepends=True)
    for number, text in blanks.items():
        index = int(number) - 1
        if index >= len(lines):
            return None
        ending = lines[index][len(lines[index].rstrip("\r\n")) :]
        lines[index] = text + ending
    return "".join(lines)


def record(root: Path) -> dict[str, dict[str, str]]:
    """The blank lines of every koan file, by lesson and line number (for maintainers)."""
    found: dict[str, dict[str, str]] = {}
    for koan in sorted((root / "koans").glob("[0-9][0-9]_*.py")):
        solution = root / "solutions" / koan.name
        if not solution.exists():
            continue
        pairs = zip(
            koan.read_text(encoding="utf-8").splitlines(),
            solution.read_text(encoding="utf-8").splitlines(),
            strict=False,
        )
        found[koan.stem] = {str(n): k for n, (k, s) in enumerate(pairs, 1) if k != s}
    return found


def backup(root: Path, lesson: Lesson, current: bytes) -> Path:
    """Keep the learner's copy under a name no other backup has, not even one a second ago."""
    backups = root / STATE_FOLDER / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        kept = backups / f"{lesson.stem}.{stamp}{suffix}.py"
        try:
            with open(kept, "xb") as file:
                file.write(current)
                return kept
        except FileExistsError:
            continue
    raise FileExistsError(f"no free backup name for {lesson.stem} in {backups}")


def why(error: OSError, root: Path, folders: tuple[Path, ...] = ()) -> str:
    """An error of the file system in a few plain words: a file standing where one of
    `folders` belongs, or what the system said."""
    for folder in folders:
        if os.path.lexists(folder) and not folder.is_dir():
            return f"{folder.relative_to(root)} is a file where a folder belongs"
    return (error.strerror or type(error).__name__).lower()


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def reset_lesson(root: Path, lesson: Lesson, confirmed: bool) -> tuple[pytest.ExitCode, str]:
    """Restore `koans/<lesson>`; returns pytest's exit status and what to tell the learner.

    Whatever cannot be read or written is named with what to do, and nothing is lost: the
    learner's file is replaced only after their copy is kept.
    """
    track = Track(root, "koans")
    relative, master = track.shown(lesson.stem), track.shown_solution(lesson.stem)
    shipped = shipped_text(root, lesson)
    if shipped is None:
        return pytest.ExitCode.USAGE_ERROR, (
            f"Cannot rebuild {relative} as shipped: {master} or {SHIPPED} is missing or changed."
        )
    file, solution = track.file(lesson.stem), track.solution(lesson.stem)
    broken = lesson.solution.error
    if broken is not None:
        return pytest.ExitCode.USAGE_ERROR, (
            f"Cannot rebuild {relative} as shipped: {master}{at_line(broken)} "
            f"does not parse ({describe_error(broken)}). Undo what was typed there, then run "
            "this again."
        )
    target = file.resolve()
    if (root / "solutions").resolve() in target.parents or same_file(file, solution):
        where = os.path.relpath(target, root) if file.is_symlink() else solution.relative_to(root)
        return pytest.ExitCode.USAGE_ERROR, (
            f"{relative} is a link to {where}: restoring it would write blanks into the "
            f"master's answers. Delete the link (rm {relative}), then run this again to get the "
            "lesson back as shipped."
        )
    try:
        current = file.read_bytes() if os.path.lexists(file) else None
    except OSError as error:
        return pytest.ExitCode.USAGE_ERROR, (
            f"Cannot read {relative} ({why(error, root)}). Move it out of koans/, then run "
            "this again to get the lesson back as shipped."
        )
    if current == shipped.encode():
        return pytest.ExitCode.OK, f"{relative} is already as shipped: nothing to do."
    if current is not None and not confirmed:
        return pytest.ExitCode.USAGE_ERROR, (
            f"{relative} holds your answers. To restore it as shipped, run again with --yes "
            f"(your copy is kept in {STATE_FOLDER}/backups/ first)."
        )
    kept = None
    if current is not None:
        try:
            kept = backup(root, lesson, current)
        except OSError as error:
            state = root / STATE_FOLDER
            return pytest.ExitCode.USAGE_ERROR, (
                f"Cannot keep a backup of {relative} in {STATE_FOLDER}/backups/ "
                f"({why(error, root, (state, state / 'backups'))}), so {relative} was left as it "
                f"is. Make {STATE_FOLDER}/backups/ a folder you can write to (move away what is "
                "in the way), then run this again."
            )
    try:
        file.parent.mkdir(exist_ok=True)  # a koans/ folder deleted as a whole comes back
        file.write_text(shipped, encoding="utf-8")
    except OSError as error:
        copy = f"; your copy is also kept at {kept.relative_to(root)}" if kept else ""
        remedy = (
            f"Make it writable (chmod u+w {relative})"
            if isinstance(error, PermissionError)
            else "Move away what is in the way"
        )
        return pytest.ExitCode.USAGE_ERROR, (
            f"Cannot write {relative} ({why(error, root, (file.parent,))}): it is unchanged"
            f"{copy}. {remedy}, then run this again."
        )
    message = f"Restored {relative} as shipped."
    if kept is not None:
        message += f" Your copy is kept at {kept.relative_to(root)}."
    return pytest.ExitCode.OK, message


def reset_all(root: Path, path: LearningPath, confirmed: bool) -> tuple[pytest.ExitCode, str]:
    """`--reset all`: every lesson of `koans/` as shipped, each changed file kept first (see
    `reset_lesson`, which restores each and says what stands in the way)."""
    changed = [lesson for lesson in path.lessons if not as_shipped(root, lesson)]
    if not changed:
        return pytest.ExitCode.OK, "Every lesson in koans/ is already as shipped: nothing to do."
    numbers = ", ".join(lesson.number for lesson in changed)
    lessons = f"{len(changed)} lesson{'s' if len(changed) > 1 else ''} ({numbers})"
    if not confirmed:
        return pytest.ExitCode.USAGE_ERROR, (
            f"{lessons} differ from how they were shipped. To restore every lesson as shipped, "
            f"run again with --yes (each of your copies is kept in {STATE_FOLDER}/backups/ first)."
        )
    done: list[str] = []
    for lesson in changed:
        status, message = reset_lesson(root, lesson, confirmed=True)
        if status != pytest.ExitCode.OK:
            restored = f"Restored {', '.join(done)} as shipped; then: " if done else ""
            return status, restored + message
        done.append(lesson.number)
    return pytest.ExitCode.OK, (
        f"Restored {lessons} as shipped; your copies are kept in {STATE_FOLDER}/backups/."
    )


def as_shipped(root: Path, lesson: Lesson) -> bool:
    """True when the lesson's file in `koans/` is exactly as shipped."""
    shipped = shipped_text(root, lesson)
    try:
        return shipped is not None and Track(root, "koans").file(lesson.stem).read_bytes() == (
            shipped.encode()
        )
    except OSError:
        return False


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    project = Path.cwd()
    (project / SHIPPED).write_text(json.dumps(record(project), indent=1, sort_keys=True) + "\n")
    print(f"Wrote {SHIPPED} from koans/ and solutions/.")
