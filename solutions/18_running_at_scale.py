"""Running at scale: executors, limits, the instance and its daemon.

A koan runs a job with `execute_in_process`: every step, one after another, in the test's own
process. A deployed run does not. The job's executor decides where its steps run, and the
default one, the multiprocess executor, starts a new Python process for every step. Two things
follow. Each step process sets up the resources its step uses, so a resource is set up once per
step, not once per run. And an output reaches the next step only through storage its IO manager
writes, never through memory: Dagster refuses `dg.mem_io_manager` under this executor with
`dg.DagsterUnmetExecutorRequirementsError`, its error for any executor whose needs are not met.
A step process finds your job by importing its module again: `dg.reconstructable(job)` records
where, and refuses a job defined inside a function with `dg.DagsterInvariantViolationError`.
`dg.execute_job` runs a job that way, as a deployment does, on an instance on disk.

Limits come at three levels. `dg.multiprocess_executor.configured({"max_concurrent": 4})` caps the
step processes of one run. A pool caps the steps of every run: `pool="warehouse"` on an asset or
op, with the limit kept by the instance (`concurrency: pools: default_limit:` in `dagster.yaml`
for every pool, or `dagster instance concurrency set warehouse 1` for one). The run queue caps
runs: `concurrency: runs:` sets `max_concurrent_runs` and `tag_concurrency_limits`, such as one
run tagged `database: sqlite` at a time. The older form, still read, puts the same settings under
`run_coordinator:` with `class: QueuedRunCoordinator` and a `config:` block.

Only submitted runs join the queue: runs launched from the UI or through GraphQL, and the runs of
schedules, sensors and backfills. `dg.materialize`, `execute_in_process`, `dg.execute_job` and
`dg launch` run in the calling process and never queue, so `max_concurrent_runs` and tag limits
do not hold them back. A pool is kept in one of two ways, set by
`concurrency: pools: granularity:`. With the default, `op`, each step claims a slot as it starts,
inside its run: the queue holds a run back only while every first step of it is in a full pool,
so a run whose later step needs a full pool leaves the queue, starts, and that step waits inside
it. With `granularity: run`, the queue holds a run until every pool it needs has room, and steps
claim no slot at all.

An instance on disk is a folder, `$DAGSTER_HOME`, configured by its `dagster.yaml`: storage, run
queue, run launcher, limits. `dagster-daemon run` works on that instance: the scheduler ticks
schedules, the sensor daemon ticks sensors, the run queue daemon launches queued runs as the
limits allow, the backfill daemon launches backfills, the asset daemon evaluates automation
conditions and the freshness daemon freshness policies. With `run_retries` enabled the event log
consumer launches failed runs again; with `run_monitoring` enabled (it is off by default) the
monitoring daemon fails a run whose worker died, and stops a run still going after its
`dagster/max_runtime` tag's number of seconds. Without a daemon nothing ticks, and a submitted
run stays in the queue.

Past one machine, two parts change, never the ops. The executor decides where the steps of a run
execute: `dagster_docker.docker_executor` starts a container per step,
`dagster_k8s.k8s_job_executor` a Kubernetes job per step, `dagster_celery.celery_executor` sends
steps through a broker to Celery workers, and `dagster_dask.dask_executor` sends them to a Dask
cluster, the one this lesson runs. The run launcher decides where the run itself starts:
`dg.DefaultRunLauncher` a process on the same machine, `dagster_docker.DockerRunLauncher` a
container, `dagster_k8s.K8sRunLauncher` a Kubernetes job, `dagster_aws.ecs.EcsRunLauncher` an ECS
task. Koans that start processes or a Dask cluster take several seconds.

Read next:
- https://docs.dagster.io/guides/operate/managing-concurrency/concurrency-pools
- https://docs.dagster.io/deployment/execution/job-timeouts
- https://docs.dagster.io/deployment/run-monitoring
"""

import os
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from dagster_koans import __, ___

# Step processes import this file by its module name from the folder it sits in (see below).
LESSON_FOLDER = Path(__file__).resolve().parent
# Instances the koans make log only warnings and send no usage statistics.
QUIET = {"python_logs": {"python_log_level": "WARNING"}, "telemetry": {"enabled": False}}


class SetupLog(dg.ConfigurableResource):
    """Adds a line to a file, with the process id, each time a process sets it up."""

    path: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        with open(self.path, "a") as log:
            log.write(f"{os.getpid()}\n")


@dg.op
def extract_users(setup_log: SetupLog) -> list[str]:
    return ["ada", "grace"]


@dg.op
def extract_orders(setup_log: SetupLog) -> list[int]:
    return [12, 30]


@dg.op
def load_users(users: list[str]) -> int:
    return len(users)


# Jobs a step process must find again are defined at the top of the module.
@dg.job(resource_defs={"setup_log": SetupLog.configure_at_launch()})
def extract_both() -> None:
    # Neither step needs the other: the multiprocess executor starts both at once.
    extract_users()
    extract_orders()


@dg.job(
    resource_defs={"setup_log": SetupLog.configure_at_launch(), "io_manager": dg.mem_io_manager}
)
def load_users_in_memory() -> None:
    load_users(extract_users())


def job_on_dask() -> dg.JobDefinition:
    """A function at the top of the module that builds the job works with `dg.reconstructable`
    too. Importing `dagster_dask` takes about a second, so only the Dask koan pays for it."""
    from dagster_dask import dask_executor
    from dask.distributed import get_worker

    @dg.op
    def dask_worker_address() -> str:
        return get_worker().address

    @dg.job(executor_def=dask_executor)
    def where_it_ran() -> None:
        dask_worker_address()

    return where_it_ran


def setup_log_config(path: Path) -> dict:
    return {"resources": {"setup_log": {"config": {"path": str(path)}}}}


def processes_that_set_up(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


def test_execute_in_process_runs_every_step_in_the_calling_process(
    instance: dg.DagsterInstance,
) -> None:
    """`execute_in_process` ignores the job's executor and runs each step here, one after
    another. That keeps tests fast, and hides what changes once a job is deployed."""

    @dg.op
    def which_process() -> int:
        return os.getpid()

    @dg.job(executor_def=dg.multiprocess_executor)
    def report() -> None:
        which_process()

    result = report.execute_in_process(instance=instance)

    assert result.output_for_node("which_process") == os.getpid()


def test_definitions_can_give_their_jobs_an_executor() -> None:
    """`dg.Definitions(executor=...)` offers an executor to the jobs it holds, and a job's own
    `executor_def=` wins. Which executor does `load_users`, an asset job naming none, get?
    `max_concurrent` caps the step processes one run starts at once (by default, one per CPU)."""
    at_most_two = dg.multiprocess_executor.configured({"max_concurrent": 2})

    @dg.asset
    def users_table() -> None: ...

    @dg.op
    def count_users() -> int:
        return 2

    @dg.job(executor_def=dg.in_process_executor)
    def report() -> None:
        count_users()

    defs = dg.Definitions(
        assets=[users_table],
        jobs=[dg.define_asset_job("load_users", selection=[users_table]), report],
        executor=at_most_two,
    )

    assert defs.resolve_job_def("report").executor_def == dg.in_process_executor
    assert defs.resolve_job_def("load_users").executor_def == at_most_two


def test_a_step_process_cannot_find_a_job_defined_inside_a_function() -> None:
    """A step process imports the job's module and looks the job up by name. A job defined
    inside a function has no such address, and `dg.reconstructable` says so at once."""

    @dg.op
    def count_users() -> int:
        return 2

    @dg.job
    def report() -> None:
        count_users()

    with pytest.raises(dg.DagsterInvariantViolationError, match="module scope"):
        dg.reconstructable(report)


@pytest.mark.timeout(300)  # it starts Python processes: allow it far more than a usual koan
def test_each_step_process_sets_up_the_resources_its_step_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dg.execute_job` runs `extract_both` as a deployment would: under the multiprocess
    executor, on an instance in a folder. Each step starts a process of its own, and that process
    sets up `setup_log` before its step runs. This koan takes a few seconds."""
    setup_log = tmp_path / "setups.txt"
    # `dg.reconstructable` records the working directory: step processes import this file there.
    monkeypatch.chdir(LESSON_FOLDER)
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=QUIET) as instance:
        result = dg.execute_job(
            dg.reconstructable(extract_both),
            instance=instance,
            run_config=setup_log_config(setup_log),
        )
    setups = processes_that_set_up(setup_log)

    assert result.success
    assert os.getpid() not in setups
    assert len(set(setups)) == len(setups)
    assert len(setups) == 2


def test_memory_cannot_carry_an_output_from_one_step_process_to_the_next(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`dg.mem_io_manager` keeps each output in the memory of the process that made it, where the
    next step's process cannot reach. Dagster sees this before the run starts."""
    with pytest.raises(dg.DagsterUnmetExecutorRequirementsError, match="persistent IO manager"):
        dg.execute_job(
            dg.reconstructable(load_users_in_memory),
            instance=instance,
            run_config=setup_log_config(tmp_path / "setups.txt"),
        )


def test_step_processes_meet_only_in_an_instance_on_disk(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Step processes report their events and find each other's outputs through the run's
    instance, so it must live on disk. Given an in-memory one, as the koans' `instance` is,
    `execute_job` does not raise, and no step succeeds: how does the run end?"""
    result = dg.execute_job(
        dg.reconstructable(extract_both),
        instance=instance,
        run_config=setup_log_config(tmp_path / "setups.txt"),
    )

    assert result.get_step_success_events() == []
    assert result.dagster_run.status == dg.DagsterRunStatus.FAILURE


def test_the_run_config_can_keep_a_run_in_one_process(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A job without an executor of its own gets one that the run config steers, as does the
    UI's launchpad: `multiprocess` (the default) or `in_process`. In one process, a run sets each
    resource up once, and an in-memory instance will do."""
    setup_log = tmp_path / "setups.txt"
    run_config = {"execution": {"config": {"in_process": {}}}, **setup_log_config(setup_log)}

    result = dg.execute_job(
        dg.reconstructable(extract_both), instance=instance, run_config=run_config
    )

    assert result.success
    assert processes_that_set_up(setup_log) == [os.getpid()]


@pytest.mark.timeout(60)  # it builds an instance on disk: allow it more than usual
def test_a_running_step_holds_a_slot_of_its_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dg.DagsterInstance.get()` opens the instance in `$DAGSTER_HOME`, as the daemon and the
    UI do. There a step of a pool claims one of the pool's slots before it starts and frees it
    when it ends: with every slot taken, steps of any run wait. A pool nobody set a limit for
    takes `default_limit`. The older form is the op tag `dagster/concurrency_key`."""
    (tmp_path / "dagster.yaml").write_text(
        textwrap.dedent(
            """
            concurrency:
              pools:
                default_limit: 1
            python_logs:
              python_log_level: WARNING
            telemetry:
              enabled: false
            """
        )
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    holders: list[list[str]] = []

    def note_who_holds_the_warehouse(context: dg.AssetExecutionContext) -> None:
        # What the UI's pool page shows: the steps holding a slot right now.
        pool = context.instance.event_log_storage.get_concurrency_info("warehouse")
        holders.append([slot.step_key for slot in pool.claimed_slots])

    @dg.asset(pool="warehouse")
    def users_table(context: dg.AssetExecutionContext) -> None:
        note_who_holds_the_warehouse(context)

    @dg.asset(deps=[users_table], op_tags={"dagster/concurrency_key": "warehouse"})
    def active_users(context: dg.AssetExecutionContext) -> None:
        note_who_holds_the_warehouse(context)

    with dg.DagsterInstance.get() as instance:
        dg.materialize([users_table, active_users], instance=instance)
        after = instance.event_log_storage.get_concurrency_info("warehouse")

    assert holders == [["users_table"], ["active_users"]]
    assert after.claimed_slots == []


def test_a_pool_limit_on_an_in_memory_instance() -> None:
    """The same limit on an in-memory instance (what `dg.materialize` makes when given none): the
    instance reads it, as the last line of the block shows. Does the step of the pool claim a
    slot there?"""
    holders: list[list[str]] = []

    @dg.asset(pool="warehouse")
    def users_table(context: dg.AssetExecutionContext) -> None:
        pool = context.instance.event_log_storage.get_concurrency_info("warehouse")
        holders.append([slot.step_key for slot in pool.claimed_slots])

    settings = {"concurrency": {"pools": {"default_limit": 1}}, **QUIET}
    with dg.DagsterInstance.ephemeral(settings=settings) as in_memory:
        dg.materialize([users_table], instance=in_memory)
        assert in_memory.get_concurrency_config().pool_config.default_pool_limit == 1

    assert holders == [[]]


@pytest.mark.timeout(60)  # it builds an instance on disk: allow it more than usual
def test_an_instance_on_disk_queues_its_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run launched on an instance on disk first joins a queue, which the daemon empties as the
    limits in `dagster.yaml` allow; `dg.DefaultRunLauncher` then starts each run as a process on
    this machine. What the file leaves out takes Dagster's default."""
    (tmp_path / "dagster.yaml").write_text(
        textwrap.dedent(
            """
            concurrency:
              runs:
                tag_concurrency_limits:
                  - key: database
                    value: sqlite
                    limit: 1
            telemetry:
              enabled: false
            """
        )
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))

    with dg.DagsterInstance.get() as instance:
        run_queue = instance.get_concurrency_config().run_queue_config

        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert isinstance(instance.run_launcher, dg.DefaultRunLauncher)
        assert run_queue.tag_concurrency_limits == [
            {"key": "database", "value": "sqlite", "limit": 1}
        ]
        assert run_queue.max_concurrent_runs == 10  # Dagster's default, as the file says none


@pytest.mark.timeout(60)  # it builds an instance on disk: allow it more than usual
def test_a_run_that_materialize_starts_never_joins_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This instance's queue lets no run out: `max_concurrent_runs: 0`. A submitted run would
    wait in it for ever. A run joins the queue with a `RUN_ENQUEUED` event; did this one?"""
    (tmp_path / "dagster.yaml").write_text(
        textwrap.dedent(
            """
            concurrency:
              runs:
                max_concurrent_runs: 0
            python_logs:
              python_log_level: WARNING
            telemetry:
              enabled: false
            """
        )
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))

    @dg.asset
    def users_table() -> list[str]:
        return ["ada", "grace"]

    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([users_table], instance=instance)
        enqueued = dg.DagsterEventType.RUN_ENQUEUED
        queued = instance.get_records_for_run(result.run_id, of_type=enqueued).records

    assert result.success
    assert queued == []


@pytest.mark.timeout(60)  # it builds an instance on disk: allow it more than usual
def test_at_run_granularity_the_queue_keeps_the_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instance of the pool koan again, with `granularity: run`: now the queue checks the
    pools before a run leaves it. This run never joins the queue, and both its assets are in the
    pool: which slots does each one see held while it runs?"""
    (tmp_path / "dagster.yaml").write_text(
        textwrap.dedent(
            """
            concurrency:
              pools:
                granularity: run
                default_limit: 1
            python_logs:
              python_log_level: WARNING
            telemetry:
              enabled: false
            """
        )
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    holders: list[list[str]] = []

    def note_who_holds_the_warehouse(context: dg.AssetExecutionContext) -> None:
        pool = context.instance.event_log_storage.get_concurrency_info("warehouse")
        holders.append([slot.step_key for slot in pool.claimed_slots])

    @dg.asset(pool="warehouse")
    def users_table(context: dg.AssetExecutionContext) -> None:
        note_who_holds_the_warehouse(context)

    @dg.asset(deps=[users_table], pool="warehouse")
    def active_users(context: dg.AssetExecutionContext) -> None:
        note_who_holds_the_warehouse(context)

    with dg.DagsterInstance.get() as instance:
        dg.materialize([users_table, active_users], instance=instance)

    assert holders == [[], []]


def test_nothing_in_a_test_enforces_a_max_runtime(instance: dg.DagsterInstance) -> None:
    """The `dagster/max_runtime` tag gives a run a time limit, in seconds. The monitoring daemon
    stops a run still going past it, once `run_monitoring` is enabled in `dagster.yaml`. This run
    had a millisecond, took longer, and no daemon watched it."""

    @dg.op
    def count_users() -> int:
        return 2

    @dg.job(tags={"dagster/max_runtime": "0.001"})
    def report() -> None:
        count_users()

    result = report.execute_in_process(instance=instance)

    record = instance.get_run_record_by_id(result.run_id)
    assert record.end_time - record.start_time > 0.001
    assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS


@pytest.mark.timeout(300)  # it imports Dask and starts a cluster: allow it more than usual
def test_the_dask_executor_runs_the_steps_on_a_dask_cluster(tmp_path: Path) -> None:
    """`dagster_dask.dask_executor` hands each step to a Dask cluster as a task, and finds the
    cluster by its scheduler's address. This `LocalCluster` has one worker, a thread of this
    process; the same job with a real scheduler's address runs on many machines."""
    import dask
    from dask.distributed import LocalCluster

    with (
        dask.config.set({"temporary-directory": str(tmp_path)}),  # Dask's scratch files
        LocalCluster(
            processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        dg.DagsterInstance.local_temp(str(tmp_path), overrides=QUIET) as instance,
    ):
        on_the_cluster = {"cluster": {"existing": {"address": cluster.scheduler_address}}}
        with dg.execute_job(
            dg.reconstructable(job_on_dask),
            instance=instance,
            run_config={"execution": {"config": on_the_cluster}},
        ) as result:
            worker = result.output_for_node("dask_worker_address")

        assert worker in cluster.scheduler_info["workers"]
