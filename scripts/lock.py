"""The lock: `constraints.txt` pins every package of every extra, for Python 3.10 to 3.13.

    python scripts/lock.py            refresh the lock from pyproject.toml (newest that fit)
    python scripts/lock.py --check    fail if pyproject.toml and the lock disagree, or if this
                                      environment holds a version the lock does not pin

Both need the dev install (`pip install -e ".[dev]" -c constraints.txt`), which brings uv.
The refresh resolves once for every supported Python (`uv pip compile --universal`); a learner
then installs exactly those versions with plain pip: `pip install -e . -c constraints.txt`.
After a refresh, run `.ci/run`: it installs from the lock on Python 3.10 and 3.13 and runs the
whole path, so what it proves is what every learner gets.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
OLDEST_PYTHON = "3.10"  # the lower bound of `requires-python` in pyproject.toml
REFRESH = "python scripts/lock.py"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)\s*(?:;\s*(.+))?$")


def compile_lock(output: Path, upgrade: bool) -> None:
    """Resolve pyproject.toml (every extra) for every supported Python into `output`.

    Without `upgrade`, uv keeps each version already in `output` that still fits, so resolving
    an unchanged pyproject.toml against its own lock gives the same lock back.
    """
    uv = Path(sys.executable).parent / "uv"  # the locked uv, not whichever is on PATH
    if not uv.exists():
        sys.exit(f"{uv} is missing: install the dev extra first (pip install -e '.[dev]').")
    command = [str(uv), "pip", "compile", "pyproject.toml", "--all-extras", "--universal"]
    command += ["--python-version", OLDEST_PYTHON, "--custom-compile-command", REFRESH]
    command += ["--quiet", "--output-file", str(output)]
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=ROOT, check=True)


def pins(lock: Path) -> dict[str, str]:
    """Each package the lock pins for this Python, by its canonical name, to its version."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line.strip())
        if match and (match[3] is None or Marker(match[3]).evaluate()):
            found[canonicalize_name(match[1])] = match[2]
    return found


def unpinned_installs(lock: Path) -> list[str]:
    """Installed distributions whose version the lock does not pin (the project itself aside)."""
    locked = pins(lock)
    wrong = []
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in {"dagster-koans", "pip", "setuptools", "wheel"}:
            continue  # the project, and the venv's own tools, are not part of the lock
        if locked.get(name) != dist.version:
            wrong.append(f"{name}=={dist.version} (lock: {locked.get(name, 'not pinned')})")
    return sorted(wrong)


def check() -> int:
    """0 when the lock is what pyproject.toml resolves to and this environment matches it."""
    with tempfile.TemporaryDirectory() as scratch:
        again = Path(scratch) / "constraints.txt"
        shutil.copy(LOCK, again)
        compile_lock(again, upgrade=False)
        if not filecmp.cmp(LOCK, again, shallow=False):
            print("constraints.txt does not match pyproject.toml. The difference:")
            diff = ["diff", "-u", str(LOCK), str(again)]
            print(subprocess.run(diff, capture_output=True, text=True).stdout)
            print(f"Refresh it with `{REFRESH}`, then run .ci/run.")
            return 1
    wrong = unpinned_installs(LOCK)
    if wrong:
        print("This environment differs from constraints.txt:\n  " + "\n  ".join(wrong))
        print("Install from the lock: pip install -e '.[dev]' -c constraints.txt")
        return 1
    print(f"constraints.txt matches pyproject.toml and this Python {sys.version.split()[0]}.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check; change nothing")
    if parser.parse_args().check:
        return check()
    compile_lock(LOCK, upgrade=True)
    print(f"Wrote {LOCK.name}; now run .ci/run to prove it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
