"""What lesson 17 says of a deployment, checked against a real `dagster-daemon`.

The lesson says that, deployed, the daemon adds the partitions a sensor asks for and launches the
sensor's runs, and that it carries out backfills: one run per partition, or one run for the whole
range when the asset has `BackfillPolicy.single_run()`, tagged as the lesson's `range_tags` tags
a run (`multi_run(n)`: runs of n partitions). The backfills are launched as the UI launches them,
through the webserver's GraphQL API, before the daemon starts; then the daemon runs against the
same instance. Its run queue is closed (`max_concurrent_runs: 0`), so the test reads the runs the
daemon creates without paying for executing them.

The lesson also says that a dependency between a daily and a static partitioned asset that no
mapping explains fails when the definitions load, before any run: `dg check defs`, the gate a
project's CI runs, fails on it, and passes once an `AllPartitionMapping` says what a day needs.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from daemon import (
    PATIENCE,
    VENV_BIN,
    dagster_daemon,
    environment,
    running,
    wait_for,
    write_home,
)

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
DEFINITIONS = """
from pathlib import Path

import dagster as dg

INBOX = Path({inbox!r})
DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
ORDER_FILES = dg.DynamicPartitionsDefinition(name="order_files")


@dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
def range_signups() -> None:
    pass


@dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.multi_run(2))
def paired_signups() -> None:
    pass


@dg.asset(partitions_def=DAILY)
def daily_signups() -> None:
    pass


@dg.asset(partitions_def=ORDER_FILES)
def orders() -> None:
    pass


@dg.sensor(target=orders, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions("order_files"))
    new = sorted(path.name for path in INBOX.glob("*.csv") if path.name not in known)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=name) for name in new],
        dynamic_partitions_requests=[ORDER_FILES.build_add_request(new)],
    )


defs = dg.Definitions(
    assets=[range_signups, paired_signups, daily_signups, orders], sensors=[inbox_sensor]
)
"""
LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
DAYS = ["2024-01-02", "2024-01-03", "2024-01-04"]
# The runs each backfill should become: a single run, runs of two days, one run per day.
EXPECTED_RUNS = {"range_signups": 1, "paired_signups": 2, "daily_signups": 3}


@dataclass
class Deployment:
    """What the instance held before the daemon started, and after it had done its work."""

    runs_before_daemon: int
    backfill_statuses_before_daemon: list[str]
    backfill_ids: dict[str, str]  # asset name -> backfill id
    runs: list[dict[str, str]]  # the tags of each run the daemon created
    order_files: list[str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ask(url: str, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:
        return json.load(response)


def launch_backfills(tmp_path: Path, definitions: Path, env: dict[str, str]) -> dict[str, str]:
    """Launch one backfill of three days per asset, as the UI does, and stop the webserver."""
    webserver = shutil.which("dagster-webserver", path=str(VENV_BIN))
    assert webserver, "dagster-webserver is missing: pip install -e '.[dev]'"
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    log = tmp_path / "webserver.log"
    command = [webserver, "-f", str(definitions), "-h", "127.0.0.1", "-p", str(port)]

    def answers() -> bool:
        try:
            ask(url, "{ version }", {})
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        return True

    with running(command, tmp_path, env, log, grace=60) as server:
        wait_for("the webserver to answer", answers, PATIENCE, log, server)
        ids = {}
        for asset in EXPECTED_RUNS:
            params = {"assetSelection": [{"path": [asset]}], "partitionNames": DAYS}
            launched = ask(url, LAUNCH_BACKFILL, {"params": params})["data"]
            assert launched["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess"
            ids[asset] = launched["launchPartitionBackfill"]["backfillId"]
        return ids


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    import dagster as dg

    tmp_path = tmp_path_factory.mktemp("deployed")
    home = write_home(tmp_path / "home", "run_queue:\n  max_concurrent_runs: 0\n")
    env = environment(home, tmp_path, inherit=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    definitions = tmp_path / "definitions.py"
    definitions.write_text(DEFINITIONS.format(inbox=str(inbox)))

    with dg.DagsterInstance.from_config(str(home)) as instance:
        backfill_ids = launch_backfills(tmp_path, definitions, env)
        runs_before = len(instance.get_runs())
        statuses_before = [backfill.status.value for backfill in instance.get_backfills()]

        (inbox / "orders_001.csv").write_text("order_id,amount\n1,30\n")
        log = tmp_path / "daemon.log"

        def all_requested() -> bool:
            runs = [dict(run.tags) for run in instance.get_runs()]
            return any(tags.get("dagster/sensor_name") for tags in runs) and all(
                len(runs_of(runs, backfill_ids[asset])) >= count
                for asset, count in EXPECTED_RUNS.items()
            )

        with running(
            dagster_daemon("-f", str(definitions)), tmp_path, env, log, grace=60
        ) as daemon:
            wait_for("the daemon to create the expected runs", all_requested, PATIENCE, log, daemon)
        yield Deployment(
            runs_before_daemon=runs_before,
            backfill_statuses_before_daemon=statuses_before,
            backfill_ids=backfill_ids,
            runs=[dict(run.tags) for run in instance.get_runs()],
            order_files=list(instance.get_dynamic_partitions("order_files")),
        )


def runs_of(runs: list[dict[str, str]], backfill_id: str) -> list[dict[str, str]]:
    return [tags for tags in runs if tags.get("dagster/backfill") == backfill_id]


def backfill_runs(deployment: Deployment, asset: str) -> list[dict[str, str]]:
    return runs_of(deployment.runs, deployment.backfill_ids[asset])


def test_a_launched_backfill_waits_for_the_daemon(deployment: Deployment) -> None:
    assert deployment.runs_before_daemon == 0
    assert deployment.backfill_statuses_before_daemon == ["REQUESTED"] * len(EXPECTED_RUNS)


def test_the_daemon_adds_the_partitions_a_sensor_asks_for_and_launches_its_run(
    deployment: Deployment,
) -> None:
    assert deployment.order_files == ["orders_001.csv"]
    sensor_runs = [tags for tags in deployment.runs if tags.get("dagster/sensor_name")]
    assert [tags["dagster/partition"] for tags in sensor_runs] == ["orders_001.csv"]


def test_a_single_run_backfill_is_one_run_tagged_with_its_range(deployment: Deployment) -> None:
    [run] = backfill_runs(deployment, "range_signups")
    assert (run[RANGE_START], run[RANGE_END]) == ("2024-01-02", "2024-01-04")
    assert "dagster/partition" not in run


def test_a_multi_run_backfill_cuts_the_range_into_runs_of_that_many_partitions(
    deployment: Deployment,
) -> None:
    runs = backfill_runs(deployment, "paired_signups")
    ranges = sorted((tags[RANGE_START], tags[RANGE_END]) for tags in runs)
    assert ranges == [("2024-01-02", "2024-01-03"), ("2024-01-04", "2024-01-04")]


def test_a_backfill_without_a_policy_is_one_run_per_partition(deployment: Deployment) -> None:
    runs = backfill_runs(deployment, "daily_signups")
    assert sorted(tags["dagster/partition"] for tags in runs) == DAYS


UNMAPPED_PROJECT = """
import dagster as dg

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
CHANNELS = dg.StaticPartitionsDefinition(["web", "ios", "android"])


@dg.asset(partitions_def=CHANNELS)
def channel_totals() -> None: ...


@dg.asset(partitions_def=DAILY, deps=[{dependency}])
def daily_report() -> None: ...


defs = dg.Definitions(assets=[channel_totals, daily_report])
"""
EVERY_CHANNEL = "dg.AssetDep(channel_totals, partition_mapping=dg.AllPartitionMapping())"


def dg_check_defs(tmp_path: Path, dependency: str) -> subprocess.CompletedProcess[str]:
    """`dg check defs` in a `dg` project whose daily asset depends on the channels so."""
    root = tmp_path / "reports"
    package = root / "src" / "reports"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "reports"\n'
    )
    (package / "__init__.py").write_text("")
    definitions = UNMAPPED_PROJECT.format(dependency=dependency)
    (package / "definitions.py").write_text(textwrap.dedent(definitions))
    env = environment(
        write_home(tmp_path / "home"),
        tmp_path,
        inherit=False,
        PYTHONPATH="src",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return subprocess.run(
        [str(VENV_BIN / "dg"), "check", "defs"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE,  # dg and Dagster start on a loaded machine
        check=False,
    )


def test_dg_check_defs_fails_on_a_dependency_no_mapping_explains(tmp_path: Path) -> None:
    checked = dg_check_defs(tmp_path, "channel_totals")

    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "Invalid partition mapping" in checked.stdout + checked.stderr


def test_dg_check_defs_passes_once_every_channel_is_mapped(tmp_path: Path) -> None:
    checked = dg_check_defs(tmp_path, EVERY_CHANNEL)

    assert checked.returncode == 0, checked.stdout + checked.stderr
