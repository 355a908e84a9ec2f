"""How fast the koans answer, as ratios to `python -c "import dagster"` measured in the same run.

    python scripts/benchmark.py [--rounds 5]

Works on fresh clones of this repository in a temporary folder, with this interpreter. Each
figure is the median of the rounds, interleaved with the `import dagster` baseline. It reports;
it does not fail: these machines are noisy.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FOOTER = "Watching koans/"


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(REPO), str(into)], check=True)
    return into


def solve_half(clone_dir: Path) -> None:
    lessons = sorted((clone_dir / "solutions").glob("[0-9][0-9]_*.py"))
    for solution in lessons[: len(lessons) // 2]:
        shutil.copy(solution, clone_dir / "koans" / solution.name)


class Watcher:
    """`pytest koans/ --watch` in a clone, read as a learner sees it: until the footer shows."""

    def __init__(self, clone_dir: Path) -> None:
        self.clone_dir = clone_dir
        self.screens = 0
        self._seen = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "koans/", "--watch"],
            cwd=clone_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self._wait_for(1, timeout=120)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if FOOTER in line:
                with self._seen:
                    self.screens += 1
                    self._seen.notify_all()

    def _wait_for(self, count: int, timeout: float) -> None:
        with self._seen:
            if not self._seen.wait_for(lambda: self.screens >= count, timeout):
                raise RuntimeError("the watcher drew no screen in time")

    def save_to_screen(self, edit: Callable[[], object]) -> float:
        """Seconds from a save to the new screen fully drawn and still."""
        before = self.screens
        start = time.perf_counter()
        edit()
        self._wait_for(before + 1, timeout=60)
        elapsed = time.perf_counter() - start
        time.sleep(0.3)
        if self.screens != before + 1:
            raise RuntimeError("the screen was drawn more than once for one save")
        return elapsed

    def stop(self) -> None:
        """Ctrl-C, as a learner stops it; killed if it has not ended a minute later."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def solution_times(clone_dir: Path) -> dict[str, list[float]]:
    """Each lesson's solution koans' call times, from junit (Dagster already imported)."""
    xml = clone_dir / ".koans" / "solutions.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "solutions/", "--koans-fresh", f"--junitxml={xml}"],
        cwd=clone_dir,
        stdout=subprocess.DEVNULL,
    )
    times: dict[str, list[float]] = {}
    for case in ET.parse(xml).iter("testcase"):
        lesson = case.get("classname", "").split(".")[-1]
        for prop in case.iter("property"):
            if prop.get("name") == "call_seconds":
                times.setdefault(lesson, []).append(float(prop.get("value", "0")))
    return times


def fill_first_blank(shipped: str, solved: str) -> str:
    """The shipped lesson with only its first blank line filled, as one save would do."""
    ship, sol = shipped.splitlines(keepends=True), solved.splitlines(keepends=True)
    first = next(n for n, (a, b) in enumerate(zip(ship, sol, strict=True)) if a != b)
    return "".join(ship[:first] + sol[first : first + 1] + ship[first + 1 :])


def each_lesson_once(watcher: Watcher, clone_dir: Path) -> list[float]:
    """A save that fills the first blank of each lesson in turn, each the first of its kind (so
    nothing about it is remembered), then the lesson put back as shipped."""
    seconds = []
    for solution in sorted((clone_dir / "solutions").glob("[0-9][0-9]_*.py")):
        koan = clone_dir / "koans" / solution.name
        shipped = koan.read_text()
        filled = fill_first_blank(shipped, solution.read_text())
        seconds.append(watcher.save_to_screen(lambda k=koan, t=filled: k.write_text(t)))
        watcher.save_to_screen(lambda k=koan, t=shipped: k.write_text(t))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="koans-bench-") as tmp:
        base = Path(tmp)
        fresh, half, watched = (clone(base / name) for name in ("fresh", "half", "watched"))
        solve_half(half)
        subprocess.run([python, "-m", "pytest", "koans/"], cwd=half, capture_output=True)
        figures: dict[str, list[float]] = {
            "import": [],
            "fresh": [],
            "half": [],
            "half, first run": [],
            "watch": [],
            "watch, one blank": [],
            "import (watch)": [],
            "watch, each lesson": [],
        }
        for _ in range(rounds):
            figures["import"].append(timed([python, "-c", "import dagster"], base))
            shutil.rmtree(fresh / ".pytest_cache", ignore_errors=True)  # a fresh clone, again
            figures["fresh"].append(timed([python, "-m", "pytest", "koans/"], fresh))
            figures["half"].append(timed([python, "-m", "pytest", "koans/"], half))
            shutil.rmtree(half / ".pytest_cache", ignore_errors=True)  # nothing remembered
            figures["half, first run"].append(timed([python, "-m", "pytest", "koans/"], half))

        watcher = Watcher(watched)
        koan = watched / "koans" / "01_assets.py"
        shipped = koan.read_text()
        solved = (watched / "solutions" / "01_assets.py").read_text()
        one_blank = fill_first_blank(shipped, solved)
        try:
            for index in range(rounds * 2):
                text = solved if index % 2 == 0 else shipped
                figures["watch"].append(watcher.save_to_screen(lambda t=text: koan.write_text(t)))
                figures["import (watch)"].append(timed([python, "-c", "import dagster"], base))
            for index in range(rounds * 2):
                text = one_blank if index % 2 == 0 else shipped
                seconds = watcher.save_to_screen(lambda t=text: koan.write_text(t))
                figures["watch, one blank"].append(seconds)
            figures["watch, each lesson"] = each_lesson_once(watcher, watched)
        finally:
            watcher.stop()
        times = solution_times(fresh)

    medians = {name: statistics.median(values) for name, values in figures.items()}
    floor = statistics.median(figures["import"] + figures["import (watch)"])
    print(f"python -c 'import dagster': median {floor:.3f} s over {rounds * 3} runs\n")
    print(f"{'figure':<44} {'median':>8} {'ratio':>7} {'target':>8}")
    rows = [
        ("watch mode, save to new screen drawn", medians["watch"], "<= 0.5x"),
        ("watch mode, a save that fills one blank", medians["watch, one blank"], "<= 0.2x"),
        ("  the same, first blank of each lesson", medians["watch, each lesson"], "<= 0.2x"),
        ("  the same, slowest lesson", max(figures["watch, each lesson"]), "<= 0.2x"),
        ("pytest koans/ on a fresh clone", medians["fresh"], "<= 2.5x"),
        ("pytest koans/ with half the lessons solved", medians["half"], "<= 3x"),
        ("  the same, nothing remembered from before", medians["half, first run"], ""),
    ]
    for name, seconds, target in rows:
        print(f"{name:<44} {seconds:>7.3f}s {seconds / floor:>6.2f}x {target:>8}")
    print(f"\n{'solution koans, call time per lesson':<44} {'p90':>8} {'max':>7} {'target':>8}")
    for lesson, seconds in sorted(times.items()):
        p90 = statistics.quantiles(seconds, n=10)[-1] if len(seconds) > 1 else seconds[0]
        target = "< 100 ms" if lesson < "20" else "reported"  # 20 runs dbt and subprocesses
        print(f"  {lesson:<42} {p90 * 1000:>6.0f}ms {max(seconds) * 1000:>5.0f}ms {target:>8}")


if __name__ == "__main__":
    main()
