"""Fixtures the koans may ask for by name, registered for every run (plugin on or off)."""

from __future__ import annotations

import gc
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import dagster as dg

QUIET = {"python_logs": {"python_log_level": "WARNING"}}


_prepared: dg.DagsterInstance | None = None  # made once by a warm watcher, shared by its runs


def quiet_instance(folder: Path) -> dg.DagsterInstance:
    import dagster as dg

    # Creating an ephemeral instance costs about 45 ms (Dagster stamps its schema each time),
    # so the koans share one and wipe it between uses.
    instance = dg.DagsterInstance.ephemeral(tempdir=str(folder), settings=QUIET)
    warm_up(instance)
    return instance


def prepare_instance(folder: Path) -> None:
    """Make the instance ahead of the runs (the watcher does, before it forks each run)."""
    global _prepared
    _prepared = quiet_instance(folder)


@pytest.fixture(scope="session")
def _shared_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    if _prepared is not None:
        yield _prepared
        return
    with quiet_instance(tmp_path_factory.mktemp("dagster_instance")) as instance:
        yield instance


@pytest.fixture(scope="session", autouse=True)
def _warm_dagster(request: pytest.FixtureRequest) -> None:
    """When the lessons imported Dagster, warm it up before the first koan, not inside it."""
    if "dagster" in sys.modules:
        request.getfixturevalue("_shared_instance")


@pytest.fixture
def instance(_shared_instance: dg.DagsterInstance) -> dg.DagsterInstance:
    """A quiet, temporary Dagster instance with no runs and no stored outputs."""
    _shared_instance.wipe()
    storage = Path(_shared_instance.storage_directory())
    if storage.exists():
        shutil.rmtree(storage)
    return _shared_instance


def warm_up(instance: dg.DagsterInstance) -> None:
    """Pay for Dagster's lazy imports once (about 0.5 s), not in the first koan that runs."""
    import dagster as dg

    @dg.asset
    def warm_up() -> int:
        return 1

    dg.materialize([warm_up], instance=instance)
    warm_parquet(Path(instance.storage_directory()))


def warm_parquet(folder: Path) -> None:
    """Pay for pyarrow's parquet machinery (about 0.1 s) here, not in the first koan that
    writes a file."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "warm_up.parquet"
    pd.DataFrame({"n": [1]}).to_parquet(path)
    pd.read_parquet(path)
    path.unlink()


def freeze_heap() -> None:
    """Keep what is loaded so far out of every later garbage collection.

    Dagster's heap is large: a full collection costs about 100 ms and would land in whichever
    koan happened to trigger it.
    """
    gc.collect()
    gc.freeze()
