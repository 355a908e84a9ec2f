"""What the lessons say about a deployed Dagster, checked against the real thing.

A koan runs in-process. Deployed code runs under `dagster-daemon` (schedules, sensors, automation,
the run queue) and, by default, the multiprocess executor (each step in its own process). Where
the two differ, the lessons say so, and these tests prove it: a real daemon started from the venv
on a temporary `DAGSTER_HOME`, and real step processes.

One daemon serves the whole module. It reads the project `PROJECT` written into a temporary
folder, loaded by the code server the daemon starts itself (a local socket: nothing listens on a
network address). Its instance queues runs and never starts them (`max_concurrent_runs: 0`):
the claims are about which runs the daemon creates, and a queued run is a created run.

The daemon's clocks, as read in Dagster 1.13's source and seen in its logs:
- the scheduler evaluates at start-up and then at each minute boundary (cron has no seconds);
  a schedule started earlier gets its latest missed tick at once, older ones are not caught up;
- the sensor daemon loops every 5 s at most, and a sensor's own `minimum_interval_seconds`
  (default 30) may slow it further; automation condition sensors run in the asset daemon, also
  at most every 5 s.
So the fixture starts the schedules it needs as if a user had switched them on a minute ago:
their first tick comes at start-up, their second at the next minute boundary.
"""

import os
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from daemon import PATIENCE, Site, wait_for, write_home

INSTANCE_YAML = """
# Runs are created and queued, never started: the tests count what the daemon creates.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 0
code_servers:
  local_startup_timeout: 600
"""

PROJECT = '''
"""A small project that makes the claims of the lessons visible to a daemon."""

import dagster as dg

RUNNING = dg.DefaultSensorStatus.RUNNING


class Greeting(dg.Config):
    name: str


@dg.op
def greet(config: Greeting) -> str:
    return f"hello {config.name}"


@dg.job
def greet_job() -> None:
    greet()


# The older form: a schedule returning `{}` for a job whose op needs config. It also shares its
# job's name, which Dagster allows.
@dg.schedule(name="greet_job", job=greet_job, cron_schedule="* * * * *")
def empty_config_schedule(context: dg.ScheduleEvaluationContext) -> dict:
    return {}


@dg.op
def step() -> None:
    pass


@dg.job
def plain_job() -> None:
    step()


@dg.schedule(job=plain_job, cron_schedule="* * * * *")
def same_key_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key="today")


@dg.schedule(job=plain_job, cron_schedule="* * * * *")
def forgotten_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest()


@dg.sensor(job=plain_job, minimum_interval_seconds=1, default_status=RUNNING)
def same_key_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key="users_001.csv")


@dg.sensor(job=plain_job, minimum_interval_seconds=1, default_status=RUNNING)
def other_same_key_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key="users_001.csv")


@dg.sensor(job=plain_job, minimum_interval_seconds=1)
def forgotten_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest()


@dg.asset(automation_condition=dg.AutomationCondition.missing())
def automated() -> None: ...


@dg.asset(automation_condition=dg.AutomationCondition.missing())
def left_to_the_default_sensor() -> None: ...


automation = dg.AutomationConditionSensorDefinition(
    "automation", target=[automated], minimum_interval_seconds=1, default_status=RUNNING
)

defs = dg.Definitions(
    assets=[automated, left_to_the_default_sensor],
    jobs=[greet_job, plain_job],
    schedules=[empty_config_schedule, same_key_schedule, forgotten_schedule],
    sensors=[same_key_sensor, other_same_key_sensor, forgotten_sensor, automation],
)
'''

# Schedules switched on before the daemon starts, as a user does in the UI.
STARTED_SCHEDULES = ("greet_job", "same_key_schedule")


@dataclass
class Deployment:
    """A running daemon, the instance it shares with the test, and its log."""

    instance: dg.DagsterInstance
    log: Path

    def ticks(self, name: str) -> list:
        """The ticks of the schedule or sensor `name`, oldest first."""
        states = [s for s in self.instance.all_instigator_state() if s.instigator_name == name]
        ticks = [
            tick
            for state in states
            for tick in self.instance.get_ticks(state.instigator_origin_id, state.selector_id)
        ]
        return sorted(ticks, key=lambda tick: tick.timestamp)

    def runs(self, tags: dict[str, str]) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(dg.RunsFilter(tags=tags)))

    def wait_for_ticks(self, name: str, count: int) -> list:
        def finished() -> list | None:
            done = [tick for tick in self.ticks(name) if tick.is_completed]
            return done if len(done) >= count else None

        return wait_for(f"{count} finished ticks of {name}", finished, PATIENCE, self.log)


def start_schedules_a_minute_ago(instance: dg.DagsterInstance, workspace: Path) -> None:
    """Store each schedule in STARTED_SCHEDULES as running since a minute ago.

    Dagster's own (internal) classes, since no public call starts a schedule in the past: the
    daemon then evaluates the latest missed tick at once instead of at the next minute boundary.
    """
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.remote_origin import RemoteInstigatorOrigin, RemoteRepositoryOrigin
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        ScheduleInstigatorData,
    )
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    [location] = WorkspaceFileTarget(paths=[str(workspace)]).create_origins()
    repository = RemoteRepositoryOrigin(location, "__repository__")
    for name in STARTED_SCHEDULES:
        origin = RemoteInstigatorOrigin(repository, name)
        data = ScheduleInstigatorData("* * * * *", start_timestamp=time.time() - 61)
        state = InstigatorState(origin, InstigatorType.SCHEDULE, InstigatorStatus.RUNNING, data)
        instance.add_instigator_state(state)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One real `dagster-daemon` for the module, on a temporary home; stopped at the end."""
    site = Site.write(tmp_path_factory.mktemp("deployed"), INSTANCE_YAML, PROJECT)
    instance = dg.DagsterInstance.from_config(str(site.home))
    start_schedules_a_minute_ago(instance, site.workspace)
    try:
        with site.daemon(grace=3):
            deployed = Deployment(instance, site.log)
            # Ready once a sensor that is on by default has finished a tick.
            deployed.wait_for_ticks("same_key_sensor", 1)
            yield deployed
    finally:
        instance.dispose()


def test_a_schedule_returning_empty_config_fails_its_tick_and_creates_no_run(
    deployment: Deployment,
) -> None:
    """The daemon asks the code server for the run's plan before it creates the run; the
    config is checked then, and the tick fails."""
    tick = deployment.wait_for_ticks("greet_job", 1)[0]

    assert tick.is_failure
    assert "DagsterInvalidConfigError" in tick.error.to_string()
    assert deployment.runs({"dagster/schedule_name": "greet_job"}) == []


def test_a_job_and_its_schedule_may_share_a_name(deployment: Deployment) -> None:
    """The daemon loaded the project, where the job `greet_job` has a schedule of that name,
    and ticked that schedule."""
    tick = deployment.wait_for_ticks("greet_job", 1)[0]

    assert tick.instigator_type.value == "SCHEDULE"


def test_a_sensor_returning_the_same_run_key_on_every_tick_launches_one_run(
    deployment: Deployment,
) -> None:
    """The daemon remembers the run keys each sensor has launched runs for."""
    ticks = deployment.wait_for_ticks("same_key_sensor", 3)

    runs = deployment.runs({"dagster/sensor_name": "same_key_sensor"})
    assert len(runs) == 1
    assert runs[0].tags["dagster/run_key"] == "users_001.csv"
    assert [len(tick.run_ids) for tick in ticks[:3]] == [1, 0, 0]


def test_the_same_run_key_from_two_sensors_launches_two_runs(deployment: Deployment) -> None:
    """A run key is remembered per sensor, not across sensors."""
    deployment.wait_for_ticks("same_key_sensor", 2)
    deployment.wait_for_ticks("other_same_key_sensor", 2)

    runs = deployment.runs({"dagster/run_key": "users_001.csv"})
    assert sorted(run.tags["dagster/sensor_name"] for run in runs) == [
        "other_same_key_sensor",
        "same_key_sensor",
    ]


def test_a_sensor_without_a_default_status_starts_stopped(deployment: Deployment) -> None:
    """Sensors that are on by default have ticked several times; the other one never ticked."""
    deployment.wait_for_ticks("same_key_sensor", 2)

    assert deployment.ticks("forgotten_sensor") == []
    assert deployment.runs({"dagster/sensor_name": "forgotten_sensor"}) == []


def test_the_default_automation_condition_sensor_starts_stopped(deployment: Deployment) -> None:
    """Two assets with the same condition: one is covered by a sensor switched on in code, and the
    daemon requests it; the other is left to `default_automation_condition_sensor`, and nothing
    ever requests it."""
    deployment.wait_for_ticks("automation", 2)

    requested = {
        key.to_user_string()
        for run in deployment.instance.get_runs()
        for key in run.asset_selection or ()
    }
    assert "automated" in requested
    assert "left_to_the_default_sensor" not in requested
    assert deployment.ticks("default_automation_condition_sensor") == []


STEPS = '''
"""Two assets in a row, sharing a resource that notes each process it is set up in, and an IO
manager that keeps values in memory."""

import os

import dagster as dg


class SetupCounter(dg.ConfigurableResource):
    path: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        with open(self.path, "a") as file:
            file.write(f"{os.getpid()}\\n")


@dg.asset
def users(counter: SetupCounter) -> list[str]:
    return ["ada", "grace"]


@dg.asset
def active_users(counter: SetupCounter, users: list[str]) -> list[str]:
    return users[:1]


def two_steps_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=[users, active_users],
        jobs=[dg.define_asset_job("two_steps")],
        resources={
            "counter": SetupCounter.configure_at_launch(),
            "io_manager": dg.InMemoryIOManager(),
        },
    )
    return defs.resolve_job_def("two_steps")
'''


@dataclass
class Run:
    """What one run of `two_steps` did: its result and the processes that set up `counter`."""

    result: dg.JobExecutionResult
    setups: list[str]


@pytest.fixture(scope="module")
def two_step_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """`two_steps` run once by the multiprocess executor (a job's default) and once in-process."""
    folder = tmp_path_factory.mktemp("steps")
    (folder / "steps_project.py").write_text(textwrap.dedent(STEPS))
    home = write_home(folder / "dagster_home")
    executors = {"multiprocess": {}, "in_process": {"execution": {"config": {"in_process": {}}}}}
    runs = {}
    with (
        pytest.MonkeyPatch.context() as patch,
        dg.DagsterInstance.from_config(str(home)) as instance,
    ):
        patch.syspath_prepend(str(folder))
        patch.setenv("HOME", str(folder))  # the step processes inherit it
        job = dg.build_reconstructable_job(
            "steps_project", "two_steps_job", reconstructor_working_directory=str(folder)
        )
        for name, execution in executors.items():
            setups = folder / f"{name}.txt"
            config = {"resources": {"counter": {"config": {"path": str(setups)}}}, **execution}
            result = dg.execute_job(job, instance=instance, run_config=config)
            runs[name] = Run(result, setups.read_text().split())
    return runs


def test_the_multiprocess_executor_sets_a_resource_up_in_every_step_process(
    two_step_runs: dict[str, Run],
) -> None:
    """A deployed run starts each step in a process of its own, and each process sets up the
    resources its step needs: two steps, two set-ups. In one process, the run sets it up once."""
    multiprocess = two_step_runs["multiprocess"].setups
    in_process = two_step_runs["in_process"].setups

    assert len(multiprocess) == 2
    assert len(set(multiprocess)) == 2
    assert str(os.getpid()) not in multiprocess
    assert in_process == [str(os.getpid())]


def test_a_value_kept_in_memory_does_not_reach_the_next_step_process(
    two_step_runs: dict[str, Run],
) -> None:
    """Values pass between steps through the IO manager. One that keeps them in memory works in
    one process; under the multiprocess executor the next step finds nothing to load."""
    multiprocess = two_step_runs["multiprocess"].result
    in_process = two_step_runs["in_process"].result

    [failure] = multiprocess.get_step_failure_events()
    assert [event.step_key for event in multiprocess.get_step_success_events()] == ["users"]
    assert failure.step_key == "active_users"
    assert "DagsterExecutionLoadInputError" in failure.step_failure_data.error.to_string()
    assert in_process.success


def test_a_job_and_a_schedule_or_a_sensor_may_share_a_name() -> None:
    """Jobs have their own namespace; a schedule or a sensor may be named like a job."""

    @dg.op
    def count_users() -> int:
        return 3

    @dg.job
    def users() -> None:
        count_users()

    schedule = dg.ScheduleDefinition(name="users", job=users, cron_schedule="0 6 * * *")

    @dg.sensor(name="users", job=users)
    def users_sensor(context: dg.SensorEvaluationContext) -> None:
        return None

    dg.Definitions.validate_loadable(dg.Definitions(jobs=[users], schedules=[schedule]))
    dg.Definitions.validate_loadable(dg.Definitions(jobs=[users], sensors=[users_sensor]))


def test_schedules_and_sensors_share_one_namespace() -> None:
    """A sensor named like a schedule breaks the definitions when they load."""

    @dg.op
    def count_users() -> int:
        return 3

    @dg.job
    def users_job() -> None:
        count_users()

    schedule = dg.ScheduleDefinition(name="users", job=users_job, cron_schedule="0 6 * * *")

    @dg.sensor(name="users", job=users_job)
    def users_sensor(context: dg.SensorEvaluationContext) -> None:
        return None

    defs = dg.Definitions(jobs=[users_job], schedules=[schedule], sensors=[users_sensor])
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="Duplicate definition"):
        dg.Definitions.validate_loadable(defs)


def test_a_single_run_backfill_covers_a_range_and_has_no_single_partition_key() -> None:
    """A backfill of several days with `BackfillPolicy.single_run()` launches one run tagged with
    the first and last key of the range. In it `context.partition_key` raises; the range and its
    time window are there instead."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")
    seen: dict[str, object] = {}

    @dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
    def signups(context: dg.AssetExecutionContext) -> None:
        seen["range"] = context.partition_key_range
        try:
            seen["key"] = context.partition_key
        except dg.DagsterInvariantViolationError as error:
            seen["error"] = str(error)

    defs = dg.Definitions(assets=[signups], jobs=[dg.define_asset_job("signups_job")])
    range_tags = {
        "dagster/asset_partition_range_start": "2024-01-02",
        "dagster/asset_partition_range_end": "2024-01-04",
    }
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("signups_job").execute_in_process(
            instance=instance, tags=range_tags
        )

    assert result.success
    assert seen["range"] == dg.PartitionKeyRange("2024-01-02", "2024-01-04")
    assert "range of partitions" in str(seen["error"])


# The schedules' second ticks come at the next minute boundary: the tests above run meanwhile.


def test_a_schedule_launches_a_run_on_every_tick_even_with_the_same_run_key(
    deployment: Deployment,
) -> None:
    """The daemon matches a schedule's run key together with the tick's scheduled time, so each
    new tick makes a new run even with the same key: the cron sets how often a schedule runs."""
    first, second = deployment.wait_for_ticks("same_key_schedule", 2)[:2]

    run_ids = [*first.run_ids, *second.run_ids]
    runs = [deployment.instance.get_run_by_id(run_id) for run_id in run_ids]
    assert len(set(run_ids)) == 2
    assert {run.tags["dagster/run_key"] for run in runs} == {"today"}


def test_a_schedule_without_a_default_status_starts_stopped(deployment: Deployment) -> None:
    """By the second minute boundary the started schedules have ticked twice; the schedule nobody
    switched on has the same cron and never ticked."""
    deployment.wait_for_ticks("same_key_schedule", 2)

    assert deployment.ticks("forgotten_schedule") == []
    assert deployment.runs({"dagster/schedule_name": "forgotten_schedule"}) == []
