"""What lesson 19 says about freshness once deployed, checked against a real `dagster-daemon`.

Lesson 19 teaches freshness in-process, where nothing evaluates a freshness policy and freshness
checks run only when a koan runs them. It says what happens once deployed, and these tests prove
it on a temporary `DAGSTER_HOME`:
- the daemon evaluates every asset's `FreshnessPolicy` by itself, no sensor needed, and records a
  state (PASS, WARN, FAIL, UNKNOWN when never materialized, NOT_APPLICABLE without a policy),
  which is what `AutomationCondition.freshness_passed()` reads;
- a policy judges by when the materialization happened, while the superseded freshness check
  trusts `dagster/last_updated_timestamp`;
- a freshness check runs when its sensor launches a run for it; a sensor built by
  `build_sensor_for_freshness_checks` is stopped unless switched on;
- on a partitioned asset, a policy judges the latest materialization of any partition: a day of
  2024 materialized now makes a daily asset "fresh";
- a partitioned check (`@dg.asset_check(partitions_def=...)`) runs in a real run of one
  partition, started by the `dagster` CLI, and its result is recorded against that partition.

Lesson 15 makes no claim that differs once deployed: a multi-asset is one step and a graph
asset's ops are steps, in-process or not, and its koans say nothing about processes.

One daemon serves the module, loading the project below through the code server it starts itself
(a local socket: nothing listens on a network address). Unlike `test_deployed.py` its runs do
start, since a freshness check is evaluated only inside a run.
"""

import importlib.util
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest
from daemon import PATIENCE, VENV_BIN, Site

# Runs launch as soon as the sensor asks, without waiting in the queue (nothing here is about the
# queue), and a code server slow to start on a busy machine is waited for.
INSTANCE_YAML = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
code_servers:
  local_startup_timeout: 600
"""

PROJECT = '''
"""Assets with and without a freshness policy, and freshness checks with and without a sensor."""

import time
import warnings
from datetime import timedelta

import dagster as dg

HOURLY = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=1))
WARN_AFTER_AN_HOUR = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=3), warn_window=timedelta(hours=1)
)


# Materialized now, but its metadata says the data changed three hours ago.
@dg.asset(freshness_policy=HOURLY, automation_condition=dg.AutomationCondition.freshness_passed())
def users() -> dg.MaterializeResult:
    three_hours_ago = dg.MetadataValue.timestamp(time.time() - 3 * 60 * 60)
    return dg.MaterializeResult(metadata={"dagster/last_updated_timestamp": three_hours_ago})


# Both materialized two hours ago (the test stores those materializations).
@dg.asset(freshness_policy=HOURLY)
def stale() -> None: ...


@dg.asset(freshness_policy=WARN_AFTER_AN_HOUR)
def aging() -> None: ...


@dg.asset(freshness_policy=HOURLY)
def never_materialized() -> None: ...


@dg.asset
def without_policy() -> None: ...


DAILY = dg.DailyPartitionsDefinition(start_date="2024-05-01")
SIGNUPS = {"2024-05-01": ["ada", "grace"], "2024-05-02": ["linus", "ada"]}


# Only 2 May is materialized (by the test, through the CLI): a day of 2024, long over.
@dg.asset(partitions_def=DAILY, freshness_policy=HOURLY)
def signups(context: dg.AssetExecutionContext) -> list[str]:
    return SIGNUPS[context.partition_key]


@dg.asset_check(asset=signups, partitions_def=DAILY)
def no_one_signs_up_twice(signups: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(set(signups)) == len(signups), metadata={"seen": signups})


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    watched = dg.build_last_update_freshness_checks(
        assets=[users], lower_bound_delta=timedelta(hours=1)
    )
    unwatched = dg.build_last_update_freshness_checks(
        assets=[without_policy], lower_bound_delta=timedelta(hours=1)
    )
    switched_on = dg.build_sensor_for_freshness_checks(
        freshness_checks=watched, default_status=dg.DefaultSensorStatus.RUNNING
    )
    left_stopped = dg.build_sensor_for_freshness_checks(
        freshness_checks=unwatched, name="left_stopped"
    )

# One process per run instead of one more per step: the claims are not about executors.
defs = dg.Definitions(
    assets=[users, stale, aging, never_materialized, without_policy, signups],
    asset_checks=[*watched, *unwatched, no_one_signs_up_twice],
    sensors=[switched_on, left_stopped],
    executor=dg.in_process_executor,
)
'''

ASSETS = ("users", "stale", "aging", "never_materialized", "without_policy", "signups")
WATCHED = dg.AssetCheckKey(dg.AssetKey("users"), "freshness_check")
UNWATCHED = dg.AssetCheckKey(dg.AssetKey("without_policy"), "freshness_check")
PARTITIONED = dg.AssetCheckKey(dg.AssetKey("signups"), "no_one_signs_up_twice")


@dataclass
class Deployment:
    """What the test saw before the daemon started, and the instance it shares with the daemon."""

    instance: dg.DagsterInstance
    project: ModuleType
    states_before_the_daemon: dict[str, str]
    requested_before_the_daemon: int

    def states(self) -> dict[str, str]:
        """Each asset's recorded freshness state (an internal call: no public one reads it)."""
        keys = [dg.AssetKey(name) for name in ASSETS]
        records = self.instance.get_freshness_state_records(keys)
        return {
            key.to_user_string(): record.freshness_state.value for key, record in records.items()
        }

    def check_status(self, key: dg.AssetCheckKey) -> str | None:
        record = self.instance.get_latest_asset_check_evaluation_record(key)
        return record.status.value if record else None

    def requested_by_freshness_passed(self) -> int:
        defs = dg.Definitions(assets=[self.project.users])
        return dg.evaluate_automation_conditions(defs=defs, instance=self.instance).total_requested


def materialized_two_hours_ago(instance: dg.DagsterInstance, name: str) -> None:
    """Store a materialization of `name` dated two hours ago.

    Dagster's own (internal) classes, since no public call dates an event in the past; it is the
    event `report_runless_asset_event` stores, with an older timestamp.
    """
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        event_specific_data=StepMaterializationData(dg.AssetMaterialization(name)),
        job_name=RUNLESS_JOB_NAME,
    )
    instance.report_dagster_event(event, RUNLESS_RUN_ID, timestamp=time.time() - 2 * 60 * 60)


def materialize_with_the_cli(site: Site, selection: str, partition: str) -> None:
    """A real run of one partition, in a process of its own, as `dagster asset materialize` runs
    it on the site's instance."""
    command = [
        str(VENV_BIN / "dagster"),
        "asset",
        "materialize",
        "-f",
        "project.py",
        "--select",
        selection,
        "--partition",
        partition,
    ]
    done = subprocess.run(
        command,
        cwd=site.folder,
        env=site.environment(),
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def load_project(path: Path) -> ModuleType:
    """Import the project file as the daemon's code server does, to materialize its assets."""
    spec = importlib.util.spec_from_file_location("freshness_project", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Materialize in-process, then run a real `dagster-daemon` until it has evaluated freshness."""
    site = Site.write(tmp_path_factory.mktemp("freshness"), INSTANCE_YAML, PROJECT)
    project = load_project(site.folder / "project.py")
    instance = dg.DagsterInstance.from_config(str(site.home))
    dg.materialize([project.users, project.without_policy], instance=instance)
    for name in ("stale", "aging"):
        materialized_two_hours_ago(instance, name)
    materialize_with_the_cli(site, "signups", "2024-05-02")
    deployed = Deployment(instance, project, {}, 0)
    deployed.states_before_the_daemon = deployed.states()
    deployed.requested_before_the_daemon = deployed.requested_by_freshness_passed()

    # The freshness daemon evaluates every 30 s by default; its first pass may come before the
    # code location has loaded. Every 2 s, so that the test need not wait for a second pass.
    try:
        with site.daemon(FRESHNESS_DAEMON_INTERVAL_SECONDS="2"):
            site.wait_for(
                "a freshness state for every asset",
                lambda: len(deployed.states()) == len(ASSETS),
                PATIENCE,
            )
            site.wait_for(
                "the watched freshness check to finish",
                lambda: deployed.check_status(WATCHED) in ("SUCCEEDED", "FAILED"),
                PATIENCE,
            )
            yield deployed
    finally:
        instance.dispose()


def test_a_run_in_a_test_records_no_freshness_state(deployment: Deployment) -> None:
    """`users` was materialized in-process on the same instance: no state, so the condition that
    reads it requested nothing."""
    assert deployment.states_before_the_daemon == {}
    assert deployment.requested_before_the_daemon == 0


def test_the_daemon_evaluates_every_freshness_policy_without_a_sensor(
    deployment: Deployment,
) -> None:
    """No sensor in the project targets the assets' policies; the daemon evaluated them anyway.
    Two hours old is past `stale`'s one-hour window and inside `aging`'s warning window."""
    assert deployment.states() == {
        "users": "PASS",
        "stale": "FAIL",
        "aging": "WARN",
        "never_materialized": "UNKNOWN",
        "without_policy": "NOT_APPLICABLE",
        "signups": "PASS",
    }


def test_automation_conditions_read_the_state_the_daemon_recorded(
    deployment: Deployment,
) -> None:
    """The same in-process evaluation that requested nothing before the daemon ran."""
    assert deployment.requested_by_freshness_passed() == 1


def test_a_policy_judges_by_the_materialization_and_a_check_by_its_metadata(
    deployment: Deployment,
) -> None:
    """`users` says its data changed three hours ago, past both one-hour limits: the policy still
    passes, as the materialization itself is recent (while `stale`, materialized two hours ago
    with the same policy, fails); the superseded check fails."""
    assert (deployment.states()["users"], deployment.states()["stale"]) == ("PASS", "FAIL")
    assert deployment.check_status(WATCHED) == "FAILED"


def test_freshness_checks_run_only_when_their_sensor_launches_them(
    deployment: Deployment,
) -> None:
    """The switched-on sensor launched the run that evaluated its check. The sensor left at its
    default never ticked, and its check was never evaluated."""
    runs = deployment.instance.get_runs(
        dg.RunsFilter(tags={"dagster/sensor_name": "freshness_checks_sensor"})
    )
    assert [set(run.asset_check_selection or ()) for run in runs] == [{WATCHED}]
    assert deployment.check_status(UNWATCHED) is None
    assert (
        deployment.instance.get_runs(dg.RunsFilter(tags={"dagster/sensor_name": "left_stopped"}))
        == []
    )


def test_an_old_partition_materialized_now_makes_a_partitioned_asset_fresh(
    deployment: Deployment,
) -> None:
    """`signups` has only 2 May 2024, materialized a moment ago, and no day since: its one-hour
    policy passes all the same, as the latest partition is never asked about."""
    materialized = deployment.instance.get_materialized_partitions(dg.AssetKey("signups"))
    assert materialized == {"2024-05-02"}
    assert deployment.states()["signups"] == "PASS"


def test_a_partitioned_check_runs_in_the_run_of_its_partition(deployment: Deployment) -> None:
    """The CLI's run of 2 May ran the check on 2 May's output alone: Ada's sign-up of 1 May is
    not in what it saw, so it passed, and its result names the partition."""
    record = deployment.instance.get_latest_asset_check_evaluation_record(PARTITIONED)
    assert record is not None and record.event is not None
    evaluation = record.event.asset_check_evaluation
    assert evaluation is not None
    assert (evaluation.partition, evaluation.passed) == ("2024-05-02", True)
    assert evaluation.metadata["seen"].value == ["linus", "ada"]
