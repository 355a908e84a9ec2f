"""What lesson 16 says about failures once deployed, checked against the real thing.

- A run retry (the `dagster/max_retries` tag) is launched by `dagster-daemon` once `run_retries`
  is enabled in the instance's `dagster.yaml`, and it starts from the step that failed. A real
  daemon on a temporary `DAGSTER_HOME` runs a project written into a temporary folder, loaded by
  the code server the daemon starts itself (a local socket: nothing listens on a network address).
  A sensor that is on by default launches the job once; its load step fails the first time only.
- A `dg.RetryPolicy` retries a step under the multiprocess executor, each attempt in a new process.
"""

import importlib
import os
import textwrap
from pathlib import Path

import dagster as dg
import pytest
from daemon import Site, write_home

# Checks come every second rather than every five (the queue's `dequeue_interval_seconds` and the
# event log consumer's interval, which has no setting in dagster.yaml but an environment variable).
INSTANCE_YAML = """
run_retries:
  enabled: true
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
code_servers:
  local_startup_timeout: 180
"""

NIGHTLY = '''
"""A nightly import whose load step fails on its first run only."""

from pathlib import Path

import dagster as dg

HERE = Path(__file__).parent


@dg.op
def extract_orders() -> list[int]:
    with (HERE / "extract_runs.txt").open("a") as runs:
        runs.write("extracted\\n")
    return [120, 80]


@dg.op
def load_orders(orders: list[int]) -> None:
    marker = HERE / "load_failed_once"
    if not marker.exists():
        marker.write_text("")
        raise ConnectionError("the warehouse is restarting")


# In one process per run, so the test waits for two Python start-ups fewer per run.
@dg.job(tags={"dagster/max_retries": 1}, executor_def=dg.in_process_executor)
def nightly_import() -> None:
    load_orders(extract_orders())


@dg.sensor(
    job=nightly_import, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING
)
def start_nightly_import(context: dg.SensorEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key="tonight")


defs = dg.Definitions(jobs=[nightly_import], sensors=[start_nightly_import])
'''

RETRY_SECONDS = 300  # a loaded 2-core machine needs most of it: the run, then its retry


def test_the_daemon_launches_a_run_retry_from_the_failed_step(tmp_path: Path) -> None:
    site = Site.write(tmp_path, INSTANCE_YAML, NIGHTLY, "nightly.py", location_name="nightly")

    def settled() -> list[dg.DagsterRun] | None:
        """Every run finished, and either a retry was launched or the instance said none will be."""
        runs = list(instance.get_runs())
        if not runs or not all(run.is_finished for run in runs):
            return None
        refused = any(run.tags.get("dagster/will_retry") == "false" for run in runs)
        return runs if len(runs) >= 2 or refused else None

    with (
        dg.DagsterInstance.from_config(str(site.home)) as instance,
        site.daemon(DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS="1"),
    ):
        runs = site.wait_for("a failed run and its retry", settled, RETRY_SECONDS)

    assert len(runs) == 2, [(run.status, run.tags) for run in runs]
    [retry] = [run for run in runs if run.parent_run_id is not None]
    [failed] = [run for run in runs if run.parent_run_id is None]
    assert failed.status == dg.DagsterRunStatus.FAILURE
    assert failed.tags["dagster/max_retries"] == "1"
    assert failed.tags["dagster/will_retry"] == "true"
    assert failed.tags["dagster/auto_retry_run_id"] == retry.run_id
    assert retry.status == dg.DagsterRunStatus.SUCCESS
    assert retry.parent_run_id == failed.run_id
    assert retry.tags["dagster/retry_number"] == "1"
    # From the failed step: the retry loaded `extract_orders`'s stored output, not ran it again.
    assert retry.step_keys_to_execute == ["load_orders"]
    assert (tmp_path / "extract_runs.txt").read_text().split() == ["extracted"]


FLAKY_STEP = '''
"""A step that fails on its first two attempts, noting the process each attempt runs in."""

import os
from pathlib import Path

import dagster as dg


class AttemptLog(dg.Config):
    path: str


@dg.op(retry_policy=dg.RetryPolicy(max_retries=2))
def fetch_orders(config: AttemptLog) -> list[int]:
    log = Path(config.path)
    with log.open("a") as attempts:
        attempts.write(f"{os.getpid()}\\n")
    if len(log.read_text().split()) < 3:
        raise ConnectionError("the orders API is restarting")
    return [120, 80]


@dg.job
def flaky_import() -> None:
    fetch_orders()
'''


def test_a_retry_policy_retries_a_step_in_a_new_process_under_the_multiprocess_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt of the step runs in a process of its own, none of them the test's: an attempt
    keeps nothing in memory from the attempt before."""
    (tmp_path / "flaky_step_16.py").write_text(textwrap.dedent(FLAKY_STEP))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the step processes import the module from the working directory
    monkeypatch.setenv("HOME", str(tmp_path))
    home = write_home(tmp_path / "dagster_home")
    job = dg.reconstructable(importlib.import_module("flaky_step_16").flaky_import)
    attempts = tmp_path / "attempts.txt"
    config = {"ops": {"fetch_orders": {"config": {"path": str(attempts)}}}}

    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.execute_job(job, instance=instance, run_config=config)  # multiprocess
        kinds = [event.event_type for event in result.all_events if event.step_key]

    assert result.success
    assert kinds.count(dg.DagsterEventType.STEP_UP_FOR_RETRY) == 2
    assert kinds.count(dg.DagsterEventType.STEP_RESTARTED) == 2
    processes = attempts.read_text().split()
    assert len(processes) == 3
    assert len(set(processes)) == 3
    assert str(os.getpid()) not in processes
