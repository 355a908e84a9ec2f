"""What lesson 11 says of an IO manager's keys, checked where deployed code runs.

Lesson 11 says an IO manager writes each partition to a path built from its key, and reads an
input from the paths of `context.asset_partition_keys`: in `load_input`, `context.partition_key`
is the partition of the run, not the upstream partition being read. Deployed, each step runs in a
process of its own under the multiprocess executor, and `load_input` runs in the downstream
step's process. These tests run a real job that way, twice: once with a manager that builds its
input path from `asset_partition_keys`, once with one that uses `partition_key`.
"""

from __future__ import annotations

import json
import os
import pickle
import textwrap
from dataclasses import dataclass

import dagster as dg
import pytest
from daemon import write_home

PROJECT = '''
"""A daily asset and the one that reads the day before, stored one file per partition."""

import json
import os
import pickle
from pathlib import Path

import dagster as dg

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")


class PartitionFiles(dg.ConfigurableIOManager):
    """One pickle per partition; reads by `asset_partition_keys`, or by `partition_key` when
    `by_run_partition` is set. Each `load_input` notes its keys and process in `notes`."""

    base_dir: str
    notes: str
    by_run_partition: bool = False

    def _path(self, key: dg.AssetKey, partition: str) -> Path:
        return Path(self.base_dir, *key.path, partition)

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        path = self._path(context.asset_key, context.partition_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(obj))

    def load_input(self, context: dg.InputContext) -> object:
        note = {
            "pid": os.getpid(),
            "partition_key": context.partition_key,
            "asset_partition_keys": list(context.asset_partition_keys),
        }
        with open(self.notes, "a") as file:
            file.write(json.dumps(note) + "\\n")
        [upstream] = context.asset_partition_keys
        partition = context.partition_key if self.by_run_partition else upstream
        return pickle.loads(self._path(context.asset_key, partition).read_bytes())


@dg.asset(partitions_def=DAILY)
def signups(context: dg.AssetExecutionContext) -> str:
    return f"sign-ups of {context.partition_key}"


@dg.asset(
    partitions_def=DAILY,
    ins={"signups": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(-1, -1))},
)
def signups_yesterday(signups: str) -> str:
    return signups


def daily_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=[signups, signups_yesterday],
        jobs=[dg.define_asset_job("daily")],
        resources={"io_manager": PartitionFiles.configure_at_launch()},
    )
    return defs.resolve_job_def("daily")
'''


@dataclass
class Read:
    """What the downstream step of one run did: its result, the notes of `load_input`, and the
    value its IO manager stored (None when it stored nothing)."""

    result: dg.JobExecutionResult
    notes: list[dict[str, object]]
    stored: object


@pytest.fixture(scope="module")
def reads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Read]:
    """`signups` built for 2 January, then `signups_yesterday` alone for 3 January, by the
    multiprocess executor (a job's default): once per way of building the input path."""
    folder = tmp_path_factory.mktemp("partition_keys")
    (folder / "partition_keys_project.py").write_text(textwrap.dedent(PROJECT))
    home = write_home(folder / "dagster_home")
    found = {}
    with (
        pytest.MonkeyPatch.context() as patch,
        dg.DagsterInstance.from_config(str(home)) as instance,
    ):
        patch.syspath_prepend(str(folder))
        patch.setenv("HOME", str(folder))  # the step processes inherit it
        job = dg.build_reconstructable_job(
            "partition_keys_project", "daily_job", reconstructor_working_directory=str(folder)
        )
        for way, by_run_partition in [("asset_partition_keys", False), ("partition_key", True)]:
            notes = folder / f"{way}.jsonl"
            config = {
                "resources": {
                    "io_manager": {
                        "config": {
                            "base_dir": str(folder / way),
                            "notes": str(notes),
                            "by_run_partition": by_run_partition,
                        }
                    }
                }
            }
            upstream = dg.execute_job(
                job,
                instance=instance,
                run_config=config,
                tags={"dagster/partition": "2024-01-02"},
                asset_selection=[dg.AssetKey("signups")],
            )
            assert upstream.success, f"building signups for 2 January failed ({way})"
            result = dg.execute_job(
                job,
                instance=instance,
                run_config=config,
                tags={"dagster/partition": "2024-01-03"},
                asset_selection=[dg.AssetKey("signups_yesterday")],
                raise_on_error=False,
            )
            lines = notes.read_text().splitlines() if notes.exists() else []
            stored = folder / way / "signups_yesterday" / "2024-01-03"
            value = pickle.loads(stored.read_bytes()) if stored.exists() else None
            found[way] = Read(result, [json.loads(line) for line in lines], value)
    return found


def test_load_input_in_a_step_process_gets_the_run_partition_and_the_upstream_keys(
    reads: dict[str, Read],
) -> None:
    """In the downstream step's own process, `partition_key` is the run's day (3 January) and
    `asset_partition_keys` the day the mapping reads (2 January)."""
    [note] = reads["asset_partition_keys"].notes

    assert note["pid"] != os.getpid()
    assert (note["partition_key"], note["asset_partition_keys"]) == ("2024-01-03", ["2024-01-02"])


def test_a_manager_reading_by_asset_partition_keys_loads_the_upstream_day(
    reads: dict[str, Read],
) -> None:
    """Built from `asset_partition_keys`, the input path is the one `handle_output` wrote for
    2 January, and the run stores that day's data as 3 January of `signups_yesterday`."""
    read = reads["asset_partition_keys"]

    assert read.result.success
    assert read.stored == "sign-ups of 2024-01-02"


def test_a_manager_reading_by_partition_key_looks_for_the_runs_own_day(
    reads: dict[str, Read],
) -> None:
    """Built from `partition_key`, the input path is 3 January of `signups`, a day never built:
    the step fails to load its input."""
    read = reads["partition_key"]
    result = read.result

    [failure] = result.get_step_failure_events()
    assert not result.success
    assert read.stored is None
    assert failure.step_key == "signups_yesterday"
    assert "FileNotFoundError" in failure.step_failure_data.error.to_string()
