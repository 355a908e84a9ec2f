"""Restoring a lesson file as shipped, after keeping the learner's copy as a backup."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from dagster_koans.path import Lesson

STATE_FOLDER = ".koans"  # the one git-ignored folder at the root for what the plugin keeps


def shipped_text(root: Path, relative: str) -> str | None:
    """The file as the project shipped it: upstream's copy if known, else the last commit's."""
    for revision in ("origin/HEAD", "HEAD"):
        shown = subprocess.run(
            ["git", "show", f"{revision}:{relative}"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode == 0:
            return shown.stdout
    return None


def reset_lesson(root: Path, lesson: Lesson, confirmed: bool) -> tuple[int, str]:
    """Restore `koans/<lesson>`; returns pytest's exit status and what to tell the learner."""
    relative = f"koans/{lesson.filename}"
    shipped = shipped_text(root, relative)
    if shipped is None:
        return 4, f"Cannot find the shipped {relative}: is this a git clone of the project?"
    file = root / relative
    current = file.read_bytes() if file.exists() else None
    if current == shipped.encode():
        return 0, f"{relative} is already as shipped: nothing to do."
    if current is not None and not confirmed:
        return 4, (
            f"{relative} holds your answers. To restore it as shipped, run again with --yes "
            f"(your copy is kept in {STATE_FOLDER}/backups/ first)."
        )
    message = f"Restored {relative} as shipped."
    if current is not None:
        backups = root / STATE_FOLDER / "backups"
        backups.mkdir(parents=True, exist_ok=True)
        backup = backups / f"{lesson.stem}.{time.strftime('%Y%m%d-%H%M%S')}.py"
        backup.write_bytes(current)
        message += f" Your copy is kept at {backup.relative_to(root)}."
    file.write_text(shipped, encoding="utf-8")
    return 0, message
