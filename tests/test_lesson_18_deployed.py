"""What lesson 18 says about limits once deployed, checked against the real thing.

The koans of lesson 18 read the limits from an instance; the daemon and the multiprocess executor
apply them. Here a real `dagster-daemon` runs on a temporary `DAGSTER_HOME` whose `dagster.yaml`
lets one run tagged `database: sqlite` run at a time and turns run monitoring on; the pool
`warehouse` gets a limit of 1 from `dagster instance concurrency set`. A sensor, on by default,
asks on its first tick for two runs of a tagged job, two runs of a job whose op is in the pool,
one run free of limits, and one run tagged `dagster/max_runtime: 2` whose op would take minutes.
The code server the daemon starts listens on a local socket: nothing listens on a network address.

Two more daemons, one per pool granularity, show what the queue does with a run whose later step
needs a full pool: under `op` the run starts and its step waits inside it; under `run` the queue
keeps the whole run back. And on an instance whose queue lets no run out, `dg launch` and
`dg.execute_job` still run: only submitted runs queue.

The first run of each limited pair waits, inside its step, until its partner's step has started
(which only happens when the limit does not hold) or until the daemon has launched a run queued
after the partner, so has passed the partner over. Without the limits (remove one and watch
these tests fail) the daemon launches both runs of a pair in turn and they overlap. The tests
compare the times Dagster recorded in the runs' events: when the daemon launched a run
(`RUN_STARTING`), when its step started and when it succeeded. Every wait has a deadline.
"""

import os
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from daemon import PATIENCE, VENV_BIN, Site, environment, write_home

INSTANCE_YAML = """
concurrency:
  runs:
    tag_concurrency_limits:
      - key: database
        value: sqlite
        limit: 1
run_retries:
  enabled: true
run_monitoring:
  enabled: true
  poll_interval_seconds: 1
code_servers:
  local_startup_timeout: 600
"""

PROJECT = '''
"""Two jobs under limits, one free of them, and a sensor that asks for their runs in order."""

import time

import dagster as dg

PATIENCE_SECONDS = 600.0  # only reached if the daemon neither launches nor passes over a partner


def wait_for_partner(context: dg.OpExecutionContext) -> None:
    """Return once the other run of this job has started its step, or once the daemon has
    launched a run queued after it: the daemon takes runs in order, so it passed the partner over.
    """
    instance = context.instance
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        records = instance.get_run_records(ascending=True)  # in the order they were queued
        runs = [record.dagster_run for record in records]
        me = context.run_id
        partners = [r for r in runs if r.job_name == context.job_name and r.run_id != me]
        if partners:
            [partner] = partners
            step_start = dg.DagsterEventType.STEP_START
            if instance.get_records_for_run(partner.run_id, of_type=step_start).records:
                return
            queued_after = runs[runs.index(partner) + 1 :]
            if partner.status == dg.DagsterRunStatus.QUEUED and any(
                r.status != dg.DagsterRunStatus.QUEUED for r in queued_after
            ):
                return
        time.sleep(0.2)


@dg.op
def write_to_sqlite(context: dg.OpExecutionContext) -> None:
    wait_for_partner(context)


@dg.job(tags={"database": "sqlite"})
def tagged_job() -> None:
    write_to_sqlite()


@dg.op(pool="warehouse")
def query_the_warehouse(context: dg.OpExecutionContext) -> None:
    wait_for_partner(context)


@dg.job
def pooled_job() -> None:
    query_the_warehouse()


@dg.op
def do_nothing() -> None: ...


@dg.job
def free_job() -> None:
    do_nothing()


@dg.op
def take_minutes() -> None:
    time.sleep(PATIENCE_SECONDS)  # ended sooner by the monitoring daemon, or the test fails


@dg.job(tags={"dagster/max_runtime": 2})
def overdue_job() -> None:
    take_minutes()


@dg.sensor(
    jobs=[tagged_job, pooled_job, free_job, overdue_job],
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def runs_in_order(context: dg.SensorEvaluationContext):
    # The same run keys on every tick: the daemon creates each run once.
    for key, job in [(1, tagged_job), (2, tagged_job), (1, pooled_job), (2, pooled_job)]:
        yield dg.RunRequest(run_key=f"{job.name}_{key}", job_name=job.name)
    yield dg.RunRequest(run_key="free", job_name=free_job.name)
    yield dg.RunRequest(run_key="overdue", job_name=overdue_job.name)


defs = dg.Definitions(
    jobs=[tagged_job, pooled_job, free_job, overdue_job],
    sensors=[runs_in_order],
    executor=dg.in_process_executor,  # one process per run is enough here
)
'''

RUNS_SECONDS = 3 * PATIENCE  # six runs, each limited pair one after the other


@dataclass
class Deployment:
    """A daemon that has run the sensor's six runs to the end, and the instance they share."""

    instance: dg.DagsterInstance
    heartbeats: set[str]

    def runs_of(self, job_name: str) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(dg.RunsFilter(job_name=job_name)))

    def time_of(self, run: dg.DagsterRun, event_type: dg.DagsterEventType) -> float:
        """When the run's one event of this type was recorded."""
        return time_of(self.instance, run.run_id, event_type)

    def window(self, run: dg.DagsterRun, start: dg.DagsterEventType) -> tuple[float, float]:
        """From the run's event `start` to its success (of the run or of its one step)."""
        end = {RUN_START: dg.DagsterEventType.RUN_SUCCESS, STEP_START: STEP_SUCCESS}[start]
        return self.time_of(run, start), self.time_of(run, end)


RUN_STARTING = dg.DagsterEventType.RUN_STARTING  # recorded as the daemon launches a queued run
RUN_START = dg.DagsterEventType.RUN_START
STEP_START = dg.DagsterEventType.STEP_START
STEP_SUCCESS = dg.DagsterEventType.STEP_SUCCESS


def time_of(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType) -> float:
    [record] = instance.get_records_for_run(run_id, of_type=event_type).records
    return record.timestamp


def dagster_cli(command: str, environment: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        [str(VENV_BIN / "dagster"), *command.split()],
        env=environment,
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=PATIENCE,
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One real `dagster-daemon` on a temporary home, until the six runs have finished."""
    site = Site.write(tmp_path_factory.mktemp("deployed"), INSTANCE_YAML, PROJECT)
    dagster_cli("instance concurrency set warehouse 1", site.environment(), site.folder)
    instance = dg.DagsterInstance.from_config(str(site.home))

    def six_runs_finished() -> bool:
        runs = instance.get_runs()
        return len(runs) == 6 and all(run.is_finished for run in runs)

    try:
        with site.daemon():
            site.wait_for("the sensor's six runs to finish", six_runs_finished, RUNS_SECONDS)
            heartbeats = set(instance.get_daemon_heartbeats())
            yield Deployment(instance, heartbeats)
    finally:
        instance.dispose()


def test_every_run_succeeded_after_waiting_in_the_queue(deployment: Deployment) -> None:
    """Each run the sensor asked for joined the queue first; the daemon launched it from there
    (the run's `RUN_STARTING` event) as the limits allowed. All but the overdue one succeeded."""
    runs = deployment.instance.get_runs()

    assert sorted(run.job_name for run in runs) == [
        "free_job",
        "overdue_job",
        "pooled_job",
        "pooled_job",
        "tagged_job",
        "tagged_job",
    ]
    on_time = [run for run in runs if run.job_name != "overdue_job"]
    assert {run.status for run in on_time} == {dg.DagsterRunStatus.SUCCESS}
    for run in runs:
        enqueued = deployment.time_of(run, dg.DagsterEventType.RUN_ENQUEUED)
        launched = deployment.time_of(run, RUN_STARTING)
        assert enqueued <= launched <= deployment.time_of(run, RUN_START)


def test_the_run_queue_lets_one_run_with_a_limited_tag_run_at_a_time(
    deployment: Deployment,
) -> None:
    """Both runs carry the job's tag `database: sqlite`, limited to one in `dagster.yaml`. The
    second left the queue only once the first had finished."""
    runs = deployment.runs_of("tagged_job")
    assert all(run.tags["database"] == "sqlite" for run in runs)
    first, second = sorted(runs, key=lambda run: deployment.time_of(run, RUN_START))

    _, first_ended = deployment.window(first, RUN_START)
    assert first_ended <= deployment.time_of(second, RUN_STARTING)


def test_a_pool_limit_keeps_the_steps_of_different_runs_apart(deployment: Deployment) -> None:
    """The two runs of `pooled_job` share nothing but the pool `warehouse`, limited to one slot.
    Their steps never ran at the same time. Under the default granularity the queue kept the
    second run back too, because its first step (its only one) is in the full pool."""
    first, second = sorted(
        deployment.runs_of("pooled_job"), key=lambda run: deployment.time_of(run, STEP_START)
    )

    _, first_ended = deployment.window(first, STEP_START)
    second_started, _ = deployment.window(second, STEP_START)
    assert first_ended <= second_started
    assert first_ended <= deployment.time_of(second, RUN_STARTING)


def test_one_daemon_process_runs_the_daemons_the_lesson_names(deployment: Deployment) -> None:
    """`dagster-daemon run` records a heartbeat for each daemon it runs: the scheduler, sensors,
    the run queue, backfills, automation, freshness, with `run_retries` enabled the event log
    consumer that launches failed runs again, and with `run_monitoring` enabled the monitoring
    daemon."""
    assert {
        "SCHEDULER",
        "SENSOR",
        "QUEUED_RUN_COORDINATOR",
        "BACKFILL",
        "ASSET",
        "FRESHNESS_DAEMON",
        "EVENT_LOG_CONSUMER",
        "MONITORING",
    } <= deployment.heartbeats


def test_the_monitoring_daemon_stops_a_run_past_its_max_runtime(deployment: Deployment) -> None:
    """The run tagged `dagster/max_runtime: 2` was stopped by the monitoring daemon, its op
    ended before it could finish by itself. The daemon marks the run canceling, terminates its
    worker, then marks it failed; the worker may record its own cancellation first, so the run
    ends CANCELED or FAILURE (both seen under a real daemon), never SUCCESS."""
    [run] = deployment.runs_of("overdue_job")

    assert run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    canceling = deployment.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.RUN_CANCELING
    ).records
    messages = [record.event_log_entry.message for record in canceling]
    assert any("exceeding maximum runtime of 2 seconds" in message for message in messages)
    step_success = deployment.instance.get_records_for_run(run.run_id, of_type=STEP_SUCCESS)
    assert step_success.records == []


GRANULARITY_YAML = """
concurrency:
  pools:
    granularity: {granularity}
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
code_servers:
  local_startup_timeout: 600
"""

LATER_POOL_PROJECT = '''
"""A run holding the pool until the test releases it, a run whose second step needs the pool, and
a run free of limits queued after it."""

import time
from pathlib import Path

import dagster as dg

RELEASE = Path(__file__).parent / "release"
PATIENCE_SECONDS = 3600.0  # only reached if the test never releases the pool


@dg.op(pool="warehouse")
def hold_the_warehouse() -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not RELEASE.exists() and time.monotonic() < deadline:
        time.sleep(0.2)


@dg.job
def holder_job() -> None:
    hold_the_warehouse()


@dg.op
def prepare() -> int:
    return 1


@dg.op(pool="warehouse")
def load_the_warehouse(prepared: int) -> None: ...


@dg.job
def later_pool_job() -> None:
    load_the_warehouse(prepare())


@dg.op
def do_nothing() -> None: ...


@dg.job
def free_job() -> None:
    do_nothing()


def holds_the_pool(instance: dg.DagsterInstance) -> bool:
    step_start = dg.DagsterEventType.STEP_START
    return any(
        instance.get_records_for_run(run.run_id, of_type=step_start).records
        for run in instance.get_runs(dg.RunsFilter(job_name="holder_job"))
    )


@dg.sensor(
    jobs=[holder_job, later_pool_job, free_job],
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def runs_in_order(context: dg.SensorEvaluationContext):
    # The same run keys on every tick: the daemon creates each run once.
    yield dg.RunRequest(run_key="holder", job_name="holder_job")
    if holds_the_pool(context.instance):
        yield dg.RunRequest(run_key="later", job_name="later_pool_job")
        yield dg.RunRequest(run_key="free", job_name="free_job")


defs = dg.Definitions(
    jobs=[holder_job, later_pool_job, free_job],
    sensors=[runs_in_order],
    executor=dg.in_process_executor,  # one process per run is enough here
)
'''


@dataclass
class LaterPoolRuns:
    """What the instance held when the free run had finished, the pool still held; and after."""

    later_status_while_held: dg.DagsterRunStatus
    holder_step_ended: float
    later_left_the_queue: float
    later_pool_step_started: float


def run_a_later_step_into_a_full_pool(folder: Path, granularity: str) -> LaterPoolRuns:
    site = Site.write(folder, GRANULARITY_YAML.format(granularity=granularity), LATER_POOL_PROJECT)
    dagster_cli("instance concurrency set warehouse 1", site.environment(), site.folder)
    instance = dg.DagsterInstance.from_config(str(site.home))

    def only_run(job_name: str) -> dg.DagsterRun | None:
        runs = instance.get_runs(dg.RunsFilter(job_name=job_name))
        return runs[0] if runs else None

    def free_run_finished() -> dg.DagsterRun | None:
        free = only_run("free_job")
        return free if free is not None and free.is_finished else None

    def later_run_waiting_inside() -> bool:
        later = only_run("later_pool_job")
        prepared = later and instance.get_records_for_run(later.run_id, of_type=STEP_SUCCESS)
        return bool(prepared and prepared.records)

    def all_finished() -> bool:
        runs = instance.get_runs()
        return len(runs) == 3 and all(run.is_finished for run in runs)

    try:
        with site.daemon(DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS="1"):
            site.wait_for("the free run, queued last, to finish", free_run_finished, RUNS_SECONDS)
            if granularity == "op":
                site.wait_for("the later run's first step", later_run_waiting_inside, RUNS_SECONDS)
            later = only_run("later_pool_job")
            assert later is not None
            status_while_held = later.status
            (site.folder / "release").touch()
            site.wait_for("every run to finish", all_finished, RUNS_SECONDS)
        holder, later = only_run("holder_job"), only_run("later_pool_job")
        assert holder is not None and later is not None
        assert {holder.status, later.status} == {dg.DagsterRunStatus.SUCCESS}
        later_steps = instance.get_records_for_run(later.run_id, of_type=STEP_START).records
        [pool_step] = [
            record.timestamp
            for record in later_steps
            if record.event_log_entry.step_key == "load_the_warehouse"
        ]
        return LaterPoolRuns(
            later_status_while_held=status_while_held,
            holder_step_ended=time_of(instance, holder.run_id, STEP_SUCCESS),
            later_left_the_queue=time_of(instance, later.run_id, RUN_STARTING),
            later_pool_step_started=pool_step,
        )
    finally:
        instance.dispose()


def test_under_op_granularity_a_run_whose_later_step_needs_a_full_pool_starts_and_waits_inside(
    tmp_path: Path,
) -> None:
    """The run left the queue while the pool was full, ran its first step, and its pool step
    started only once the holder's step had ended."""
    runs = run_a_later_step_into_a_full_pool(tmp_path, "op")

    assert runs.later_status_while_held == dg.DagsterRunStatus.STARTED
    assert runs.later_left_the_queue < runs.holder_step_ended
    assert runs.holder_step_ended <= runs.later_pool_step_started


def test_under_run_granularity_the_queue_keeps_the_run_until_its_pool_has_room(
    tmp_path: Path,
) -> None:
    """The daemon launched the free run queued after it, and kept this one in the queue until
    the holder's step had ended."""
    runs = run_a_later_step_into_a_full_pool(tmp_path, "run")

    assert runs.later_status_while_held == dg.DagsterRunStatus.QUEUED
    assert runs.holder_step_ended <= runs.later_left_the_queue


STEPS = '''
"""Two steps that need nothing from each other, so could run at the same time."""

import dagster as dg


@dg.op
def extract_users() -> None: ...


@dg.op
def extract_orders() -> None: ...


def capped_job() -> dg.JobDefinition:
    @dg.job(executor_def=dg.multiprocess_executor.configured({"max_concurrent": 1}))
    def extract_both() -> None:
        extract_users()
        extract_orders()

    return extract_both
'''
STEP_WORKER_STARTING = dg.DagsterEventType.STEP_WORKER_STARTING


def test_max_concurrent_caps_the_step_processes_of_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `max_concurrent: 1`, two steps that could run at once ran one after the other, each in
    a process of its own: the executor launched the second step's process only once the first
    step had succeeded. Without the cap it launches both before either step starts."""
    (tmp_path / "capped_steps_project.py").write_text(textwrap.dedent(STEPS))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    job = dg.build_reconstructable_job(
        "capped_steps_project", "capped_job", reconstructor_working_directory=str(tmp_path)
    )

    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = dg.execute_job(job, instance=instance)
        kinds = {STEP_WORKER_STARTING, STEP_SUCCESS}
        records = instance.get_records_for_run(result.run_id, of_type=kinds).records

    assert result.success
    # In the order the instance recorded them, which needs no clock.
    order = [
        (record.event_log_entry.dagster_event_type, record.event_log_entry.step_key)
        for record in records
    ]
    first, second = [step for kind, step in order if kind == STEP_WORKER_STARTING]
    assert order == [
        (STEP_WORKER_STARTING, first),
        (STEP_SUCCESS, first),
        (STEP_WORKER_STARTING, second),
        (STEP_SUCCESS, second),
    ]
    step_processes = {e.pid for e in result.all_events if e.is_step_start}
    assert len(step_processes) == 2
    assert os.getpid() not in step_processes


CLOSED_QUEUE_YAML = """
concurrency:
  runs:
    max_concurrent_runs: 0
"""

LAUNCHED_PROJECT = """
import dagster as dg


@dg.asset
def users_table() -> list[str]:
    return ["ada", "grace"]


defs = dg.Definitions(assets=[users_table])
"""


def test_dg_launch_and_execute_job_run_past_a_queue_that_lets_no_run_out(tmp_path: Path) -> None:
    """`dg launch` ran its run in the `dg` process (its steps in processes of their own), and
    `dg.execute_job` in the test's, though the instance's queue lets no run out: neither run was
    enqueued."""
    root = tmp_path / "launched"
    package = root / "src" / "launched"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "launched"\n'
    )
    (package / "__init__.py").write_text("")
    (package / "definitions.py").write_text(textwrap.dedent(LAUNCHED_PROJECT))
    home = write_home(tmp_path / "home", CLOSED_QUEUE_YAML)
    env = environment(home, tmp_path, inherit=False, PYTHONPATH="src", PYTHONDONTWRITEBYTECODE="1")

    launched = subprocess.run(
        [str(VENV_BIN / "dg"), "launch", "--assets", "*"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE,  # dg, Dagster and two step processes start on a loaded machine
        check=False,
    )
    assert launched.returncode == 0, launched.stdout + launched.stderr

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 0
        in_process = {"execution": {"config": {"in_process": {}}}}  # this module is no package
        job = dg.reconstructable(users_job)
        executed = dg.execute_job(job, instance=instance, run_config=in_process)
        runs = list(instance.get_runs())
        enqueued = [
            instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED)
            for run in runs
        ]

    assert executed.success
    assert len(runs) == 2
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert [records.records for records in enqueued] == [[], []]


@dg.op
def count_users() -> int:
    return 2


@dg.job
def users_job() -> None:
    count_users()
