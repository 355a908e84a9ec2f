"""Capstone: one pipeline, day by day, with what the path taught.

Users -> active users, as a team runs it. Each day is a partition: `users_table` reads the users
who signed up that day from a real sqlite3 database through a resource, and `active_users` keeps
the active ones. A partition-aware IO manager stores each day of each asset in a parquet file of
its own and reports standard metadata. Each asset checks the day it has just built, in its own
step (a separate `@dg.asset_check` would need `partitions_def=`, a preview, to see one day only);
one check is blocking. A retry policy tries again when the database is locked. A freshness policy
says `active_users` is materialized every morning before 09:00; it judges the latest
materialization of any day, so a backfill of an old day satisfies it too, and a check on the
last day that is over, run at 09:00, tells whether that day was built. A daily schedule and a
sensor on an inbox folder start the refresh job, and one `dg.Definitions` holds it all. When
definitions do not fit together, Dagster raises `dg.DagsterInvalidDefinitionError`; a run's bad
configuration is a `dg.DagsterInvalidConfigError`.

What no koan can show happens once deployed: the daemon runs the schedules' and the sensor's
ticks, launches their runs and evaluates the freshness policy, and the schedules and the sensor
start stopped until someone turns them on (or they are declared with a `default_status` of
RUNNING). The same pipeline is the `dg` project in `capstone/`, which `dg dev` opens in the
Dagster UI.

Read next:
- https://docs.dagster.io/guides/build/projects/project-structure/project-overview
- https://docs.dagster.io/deployment/oss/deployment-options/deploying-dagster-as-a-service
"""

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___

PARIS = ZoneInfo("Europe/Paris")

# Who signed up when: the rows the users database starts with.
STARTING_USERS = (
    ("ada", True, "2024-05-01"),
    ("grace", False, "2024-05-01"),
    ("linus", True, "2024-05-02"),
    ("mary", True, "2024-05-02"),
    ("alan", False, "2024-05-02"),
)


def create_users_database(
    path: Path, users: Sequence[tuple[str, bool, str]] = STARTING_USERS
) -> None:
    """Creates a sqlite3 database at `path` with a `users` table holding `users`."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("pragma synchronous = off")  # a throwaway database: don't wait for the disk
        with conn:
            conn.execute("create table users (name text, active integer, signed_up text)")
            conn.executemany("insert into users values (?, ?, ?)", users)


class UsersDatabase(dg.ConfigurableResource):
    """The users database: a real sqlite3 file, opened for each query and closed after it."""

    path: str
    timeout_seconds: float = 5.0  # how long a query waits for a locked database

    def read_signups(self, day: str) -> pd.DataFrame:
        """The users who signed up on `day` (YYYY-MM-DD)."""
        query = "select name, active, signed_up from users where signed_up = ? order by rowid"
        with closing(sqlite3.connect(self.path, timeout=self.timeout_seconds)) as conn:
            return pd.read_sql_query(query, conn, params=(day,), dtype={"active": bool})


class ExportsInbox(dg.ConfigurableResource):
    """The folder where the CRM drops one export per day, named `users_YYYY-MM-DD.csv`."""

    path: str

    def export_names(self) -> list[str]:
        return sorted(p.name for p in Path(self.path).glob("users_????-??-??.csv"))


class PartitionedParquetIOManager(dg.ConfigurableIOManager):
    """Keeps each asset as parquet: one file per partition, <base_dir>/<asset key>/<day>.parquet,
    or <base_dir>/<asset key>.parquet for an asset without partitions."""

    base_dir: str

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        path = Path(self.base_dir, *context.asset_key.path)
        if context.has_asset_partitions:
            return path / f"{context.asset_partition_key}.parquet"
        return path.with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(path)
        # The standard keys, as Dagster's own DuckDB IO manager reports them.
        rows = (
            "dagster/partition_row_count" if context.has_asset_partitions else "dagster/row_count"
        )
        context.add_output_metadata({rows: len(obj), "dagster/uri": path.as_uri()})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context))


DAILY = dg.DailyPartitionsDefinition(start_date="2024-05-01")

USERS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("name", "string"),
        dg.TableColumn("active", "boolean"),
        dg.TableColumn("signed_up", "date"),
    ]
)


@dg.asset(
    partitions_def=DAILY,
    group_name="users",
    metadata={"dagster/column_schema": USERS_SCHEMA},
    retry_policy=dg.RetryPolicy(max_retries=2),
    check_specs=[dg.AssetCheckSpec("names_are_unique", asset="users_table", blocking=True)],
)
def users_table(
    context: dg.AssetExecutionContext, database: UsersDatabase
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    """The users who signed up on the partition's day, read from the users database."""
    users = database.read_signups(context.partition_key)
    yield dg.Output(users)
    yield dg.AssetCheckResult(passed=bool(users["name"].is_unique))


@dg.asset(
    partitions_def=DAILY,
    group_name="users",
    metadata={"dagster/column_schema": USERS_SCHEMA},
    check_specs=[dg.AssetCheckSpec("every_active_user_is_active", asset="active_users")],
    freshness_policy=dg.FreshnessPolicy.cron(
        deadline_cron="0 9 * * *", lower_bound_delta=dt.timedelta(hours=3), timezone="Europe/Paris"
    ),
)
def active_users(
    users_table: pd.DataFrame,
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    """The active users among those who signed up that day."""
    active = users_table[users_table["active"]]
    yield dg.Output(active)
    yield dg.AssetCheckResult(passed=bool(active["active"].all()))


@dg.asset_check(asset=active_users, description="The last day that is over has been built.")
def latest_day_is_built(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The freshness policy is met by any day's materialization; this asks about the last day."""
    day = DAILY.get_last_partition_key()
    built = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=active_users.key, asset_partitions=[day]), limit=1
    )
    return dg.AssetCheckResult(passed=bool(built.records), metadata={"day": day})


refresh_users = dg.define_asset_job(
    "refresh_users",
    # The two assets with the checks they make themselves; the check of the last day runs apart.
    selection=dg.AssetSelection.assets(users_table, active_users).without_checks()
    | dg.AssetSelection.checks(*users_table.check_keys, *active_users.check_keys),
    description="Builds one day of users_table and active_users, with their checks.",
)

check_latest_day = dg.define_asset_job(
    "check_latest_day",
    selection=dg.AssetSelection.checks(latest_day_is_built),
    description="Checks that the last day that is over has been built.",
)


@dg.schedule(target=refresh_users, cron_schedule="0 6 * * *", execution_timezone="Europe/Paris")
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every day at 06:00, Paris time, builds the last day that is over. The cron makes it daily;
    the day as run key makes a tick the daemon evaluates again launch no second run."""
    day = DAILY.get_partition_keys(current_time=context.scheduled_execution_time)[-1]
    return dg.RunRequest(run_key=day, partition_key=day)


latest_day_by_nine = dg.ScheduleDefinition(
    name="latest_day_by_nine",
    target=check_latest_day,
    cron_schedule="0 9 * * *",
    execution_timezone="Europe/Paris",
)


@dg.sensor(target=refresh_users, minimum_interval_seconds=30)
def new_exports(
    context: dg.SensorEvaluationContext, inbox: ExportsInbox
) -> dg.SensorResult | dg.SkipReason:
    """Builds the day of each new export in the inbox; the cursor is the last file seen."""
    names = [name for name in inbox.export_names() if name > (context.cursor or "")]
    if not names:
        return dg.SkipReason(f"no new export in {inbox.path}")
    requests = [dg.RunRequest(run_key=name, partition_key=name[6:16]) for name in names]
    return dg.SensorResult(run_requests=requests, cursor=names[-1])


def pipeline_resources(tmp_path: Path) -> dict[str, object]:
    """The resources a run of the pipeline needs, all under `tmp_path`."""
    return {
        "database": UsersDatabase(path=str(tmp_path / "users.db")),
        "io_manager": PartitionedParquetIOManager(base_dir=str(tmp_path / "warehouse")),
        "inbox": ExportsInbox(path=str(tmp_path / "inbox")),
    }


def fires_at_utc(schedule: dg.ScheduleDefinition, starting: str, count: int) -> list[str]:
    """The first `count` times `schedule` fires from the day `starting` on (in the schedule's own
    timezone), given in UTC as text such as "Mon 2024-01-08 06:30".

    Dagster's cron engine is private, but a `TimeWindowPartitionsDefinition` built on the same
    cron string runs it for us: each of its time windows starts at one firing time.
    """
    windows = dg.TimeWindowPartitionsDefinition(
        cron_schedule=schedule.cron_schedule,
        start=dt.datetime.fromisoformat(starting),
        fmt="%Y-%m-%d %H:%M",
        timezone=schedule.execution_timezone or "UTC",
    )
    times = []
    window = windows.get_first_partition_window()
    while window is not None and len(times) < count:
        times.append(f"{window.start.astimezone(dt.timezone.utc):%a %Y-%m-%d %H:%M}")
        window = windows.get_next_partition_window(window.end)
    return times


def test_users_table_reads_one_day_through_the_database_resource(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`users_table` gets its `UsersDatabase` under the key its parameter names, and asks it for
    the users who signed up on one day. This run builds 1 May: whom did it read?"""
    create_users_database(tmp_path / "users.db")

    database = UsersDatabase(path=str(tmp_path / "users.db"))
    result = dg.materialize(
        [users_table],
        partition_key="2024-05-01",
        resources={"database": database},
        instance=instance,
    )

    assert list(result.asset_value("users_table")["name"]) == ["ada", "grace"]


def test_each_day_of_each_asset_is_stored_in_a_file_of_its_own(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Supplied as `io_manager`, the `PartitionedParquetIOManager` stores every asset, one file
    per partition. A run builds one day of both assets: which files are in the warehouse?"""
    create_users_database(tmp_path / "users.db")
    warehouse = tmp_path / "warehouse"

    everything = [users_table, active_users]
    resources = pipeline_resources(tmp_path)
    dg.materialize(everything, partition_key="2024-05-02", resources=resources, instance=instance)

    files = sorted(path.relative_to(warehouse).as_posix() for path in warehouse.rglob("*.parquet"))
    assert files == ["active_users/2024-05-02.parquet", "users_table/2024-05-02.parquet"]


def test_active_users_reads_its_own_day_back_from_the_warehouse(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Two days of `users_table` are already in the warehouse, and `active_users` runs alone for
    1 May: its input comes from the IO manager, not from the database, which is never opened.
    (An IO manager that ignored partitions would keep one file, the last day written, and hand
    it to every day without any error.)"""
    days = {
        "2024-05-01": pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]}),
        "2024-05-02": pd.DataFrame({"name": ["linus", "mary"], "active": [True, True]}),
    }
    (tmp_path / "warehouse" / "users_table").mkdir(parents=True)
    for day, users in days.items():
        users.to_parquet(tmp_path / "warehouse" / "users_table" / f"{day}.parquet")

    everything, resources = [users_table, active_users], pipeline_resources(tmp_path)
    result = dg.materialize(
        everything,
        selection=["active_users"],
        partition_key="2024-05-01",
        resources=resources,
        instance=instance,
    )

    assert list(result.asset_value("active_users")["name"]) == ["ada"]
    assert not (tmp_path / "users.db").exists()


def test_standard_metadata_sits_on_the_definition_and_on_each_materialization(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The UI reads metadata under standard keys. The column schema, known before any run, sits
    on the asset's definition (`dagster/column_schema`, a `dg.TableSchema`); what only a run
    knows, its IO manager adds to that run's materialization. `dagster/row_count` counts a whole
    table's rows, `dagster/partition_row_count` those of one partition."""
    create_users_database(tmp_path / "users.db")

    resources = pipeline_resources(tmp_path)
    result = dg.materialize(
        [users_table], partition_key="2024-05-02", resources=resources, instance=instance
    )

    schema = users_table.specs_by_key[users_table.key].metadata["dagster/column_schema"]
    assert [column.name for column in schema.columns] == ["name", "active", "signed_up"]
    [event] = result.get_asset_materialization_events()
    assert sorted(event.materialization.metadata) == ["dagster/partition_row_count", "dagster/uri"]


def test_a_blocking_check_keeps_a_bad_day_from_flowing_downstream(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Someone put "ada" in the database twice on 1 May. `users_table` checks the day it has
    just built, and `names_are_unique` is blocking: the run fails, and nothing downstream is
    built from the bad day. Which assets were materialized?"""
    twice = [
        ("ada", True, "2024-05-01"),
        ("grace", False, "2024-05-01"),
        ("ada", True, "2024-05-01"),
    ]
    create_users_database(tmp_path / "users.db", users=twice)

    everything, resources = [users_table, active_users], pipeline_resources(tmp_path)
    result = dg.materialize(
        everything,
        partition_key="2024-05-01",
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )

    assert not result.success
    assert [(e.check_name, e.passed) for e in result.get_asset_check_evaluations()] == [
        ("names_are_unique", False)
    ]
    made = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert made == {"users_table"}


def test_a_retry_policy_tries_a_locked_database_again(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Another process holds the users database locked, and this run will not wait for it.
    `users_table` has `dg.RetryPolicy(max_retries=2)`: when its step fails, Dagster starts it
    again as the policy allows, then fails the run. How many runs did that take?"""
    create_users_database(tmp_path / "users.db")
    resources = pipeline_resources(tmp_path)
    resources["database"] = UsersDatabase(path=str(tmp_path / "users.db"), timeout_seconds=0)

    with closing(sqlite3.connect(tmp_path / "users.db")) as lock:
        lock.execute("begin exclusive")
        result = dg.materialize(
            [users_table],
            partition_key="2024-05-01",
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )

    starts = (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_RESTARTED)
    attempts = [event for event in result.all_events if event.event_type in starts]
    assert (result.success, len(attempts)) == (False, 3)
    assert len(instance.get_runs()) == 1


def test_the_schedule_keeps_six_in_paris_when_the_clocks_change() -> None:
    """`daily_refresh` fires at 06:00 in its `execution_timezone`, every day of the year. In the
    night of 30 to 31 March 2024, Paris moves its clocks forward an hour. Given in UTC, when
    does the schedule fire on those two mornings?"""
    mornings = fires_at_utc(daily_refresh, "2024-03-30", count=2)

    assert mornings == ["Sat 2024-03-30 05:00", "Sun 2024-03-31 04:00"]


def test_a_schedule_tick_builds_the_last_day_that_is_over(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A daily partition exists once its day is over. At its tick on 2 May, 06:00 Paris time,
    `daily_refresh` asks for the last day the partitions hold at that moment. That day is also
    the run key, which guards this one tick: evaluated again, it launches no second run. Two
    ticks asking for the same day would launch two: the cron, not the key, makes it daily."""
    defs = dg.Definitions(
        assets=[users_table, active_users],
        schedules=[daily_refresh],
        resources=pipeline_resources(tmp_path),
    )

    tick = dt.datetime(2024, 5, 2, 6, 0, tzinfo=PARIS)
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    [request] = daily_refresh.evaluate_tick(context).run_requests

    assert request.partition_key == "2024-05-01"
    assert request.run_key == request.partition_key


def test_the_folder_sensor_asks_for_the_day_of_each_new_export(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The CRM drops one export per day in the inbox. `new_exports` asks to build the day each
    new file names and returns the last file name it saw as its cursor; the daemon hands that
    cursor to the next tick (done by hand here). Then the CRM sends 1 May again, corrected, under
    the same name, and 3 May arrives."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for day in ("2024-05-01", "2024-05-02"):
        (inbox / f"users_{day}.csv").write_text("name,active\nada,1\n")
    resources = pipeline_resources(tmp_path)
    defs = dg.Definitions(
        assets=[users_table, active_users], sensors=[new_exports], resources=resources
    )

    tick = {"instance": instance, "resources": resources, "definitions": defs}
    with dg.build_sensor_context(**tick) as context:  # closing it releases the resources
        first = new_exports.evaluate_tick(context)
    (inbox / "users_2024-05-01.csv").write_text("name,active\nada,0\n")
    (inbox / "users_2024-05-03.csv").write_text("name,active\nlinus,1\n")
    with dg.build_sensor_context(**tick, cursor=first.cursor) as context:
        second = new_exports.evaluate_tick(context)

    assert [request.partition_key for request in first.run_requests] == ["2024-05-01", "2024-05-02"]
    assert [request.partition_key for request in second.run_requests] == ["2024-05-03"]


def test_the_last_day_is_checked_apart_from_the_freshness_policy(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Someone backfills 2 May 2024 at 08:00. Once deployed, `active_users`'s freshness policy
    sees a materialization inside its window and passes: it never asks which day it was. At
    09:00, `latest_day_by_nine` runs `latest_day_is_built`. What does the check say?"""
    create_users_database(tmp_path / "users.db")
    defs = dg.Definitions(
        assets=[users_table, active_users],
        asset_checks=[latest_day_is_built],
        jobs=[refresh_users, check_latest_day],
        resources=pipeline_resources(tmp_path),
    )

    backfill = defs.resolve_job_def("refresh_users")
    backfill.execute_in_process(partition_key="2024-05-02", instance=instance)
    at_nine = defs.resolve_job_def("check_latest_day").execute_in_process(instance=instance)

    evaluations = at_nine.get_asset_check_evaluations()
    assert [e.metadata["day"].value for e in evaluations] == [DAILY.get_last_partition_key()]
    assert [e.passed for e in evaluations] == [False]


def test_validate_loadable_finds_a_schedule_for_a_job_that_is_not_there(tmp_path: Path) -> None:
    """A schedule may name its job with a string, which Python cannot check. Building the
    `Definitions` is lazy; `dg.Definitions.validate_loadable` loads them as `dg check defs` would,
    and catches the typo before the UI or any tick."""
    typo = dg.ScheduleDefinition(
        name="daily_refresh", job_name="refresh_user", cron_schedule="0 6 * * *"
    )
    defs = dg.Definitions(
        assets=[users_table, active_users],
        jobs=[refresh_users],
        schedules=[typo],
        resources=pipeline_resources(tmp_path),
    )

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="refresh_user"):
        dg.Definitions.validate_loadable(defs)


def test_one_definitions_holds_the_whole_pipeline(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Everything in one `dg.Definitions`, as the `dg` project loads it. The export of 2 May
    lands, the sensor asks for a run, and the job it targets runs with the request's tags, which
    carry the partition. Deployed, the schedules and the sensor start stopped; here the koan
    plays the daemon."""
    create_users_database(tmp_path / "users.db")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "users_2024-05-02.csv").write_text("name,active\nlinus,1\n")
    resources = pipeline_resources(tmp_path)
    defs = dg.Definitions(
        assets=[users_table, active_users],
        asset_checks=[latest_day_is_built],
        jobs=[refresh_users, check_latest_day],
        schedules=[daily_refresh, latest_day_by_nine],
        sensors=[new_exports],
        resources=resources,
    )
    dg.Definitions.validate_loadable(defs)

    sensor = defs.resolve_sensor_def("new_exports")
    with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as tick:
        [request] = sensor.evaluate_tick(tick).run_requests
    job = defs.resolve_job_def(sensor.job_name)
    result = job.execute_in_process(tags=request.tags, instance=instance)

    assert defs.resolve_schedule_def("daily_refresh").default_status.value == "STOPPED"
    assert sensor.default_status.value == "STOPPED"
    events = result.get_asset_materialization_events()
    made = {(event.asset_key.to_user_string(), event.partition) for event in events}
    assert made == {("users_table", "2024-05-02"), ("active_users", "2024-05-02")}
