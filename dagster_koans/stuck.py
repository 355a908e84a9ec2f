"""Draws the screen of a run the guard had to end: `python -m dagster_koans.stuck FOLDER`.

The run left in FOLDER how it draws (`base.pickle`) and the screen as it is if the koan it
runs never gets back to Python (`now.pickle`); see limits.py. Only the guard runs this.
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path

import pytest

from dagster_koans.screen import screen_text


def main(folder: Path) -> None:
    with open(folder / "base.pickle", "rb") as file:
        look, options, base = pickle.load(file)
    with open(folder / "now.pickle", "rb") as file:
        now = pickle.load(file)
    standing = dataclasses.replace(base, **now)
    sys.stdout.write("\n" + screen_text(look, options, standing, pytest.ExitCode.TESTS_FAILED))
    sys.stdout.flush()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
