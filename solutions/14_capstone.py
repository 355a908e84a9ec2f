"""Capstone: one small pipeline that uses everything.

The seed's users -> active users, done for real: `users_table` reads a sqlite3 database through a
resource, an IO manager keeps every asset as a parquet file, checks guard the data, an asset job
runs it all, a daily schedule and a sensor on a folder start that job, and one `dg.Definitions`
holds the lot, as `dagster dev` would load it. The pieces below are finished; each koan wires
them together. The same pipeline, ready for the Dagster UI, is in `capstone/definitions.py`.
"""

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___

SEED_USERS = (("ada", True), ("grace", False), ("linus", True))


def seed_database(path: Path, users: Sequence[tuple[str, bool]] = SEED_USERS) -> None:
    """Creates a sqlite3 database at `path` with a `users` table holding `users`."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("pragma synchronous = off")  # a throwaway database: don't wait for the disk
        with conn:
            conn.execute("create table users (name text, active integer)")
            conn.executemany("insert into users values (?, ?)", users)


class UsersDatabase(dg.ConfigurableResource):
    """The users database: a real sqlite3 file, opened for each query and closed after it."""

    path: str

    def read_users(self) -> pd.DataFrame:
        with closing(sqlite3.connect(self.path)) as conn:
            query = "select name, active from users order by rowid"
            return pd.read_sql_query(query, conn, dtype={"active": bool})


class ParquetIOManager(dg.ConfigurableIOManager):
    """Keeps each asset as a parquet file: <base_dir>/<asset key path>.parquet."""

    base_dir: str

    def _path(self, asset_key: dg.AssetKey) -> Path:
        return Path(self.base_dir, *asset_key.path).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(path)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context.asset_key))


@dg.asset
def users_table(database: UsersDatabase) -> pd.DataFrame:
    """Everyone in the users database."""
    return database.read_users()


@dg.asset
def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
    """The users who are active."""
    return users_table[users_table["active"]]


def fires_at(schedule: dg.ScheduleDefinition, starting: str, count: int) -> list[str]:
    """The first `count` times `schedule` fires from the day `starting` on, in its own timezone,
    as text such as "Mon 2024-01-08 06:30".

    Dagster's cron engine is private, but a `TimeWindowPartitionsDefinition` built on the same
    cron string runs it for us: each of its time windows starts at one firing time (lesson 06).
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
        times.append(f"{window.start:%a %Y-%m-%d %H:%M}")
        window = windows.get_next_partition_window(window.end)
    return times


def test_users_table_reads_the_database_through_its_resource(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`users_table` asks for a `UsersDatabase` through its parameter `database`; a run supplies
    one under that name, here pointing at a real sqlite3 file seeded with three users."""
    db_file = tmp_path / "users.db"
    seed_database(db_file)

    database = UsersDatabase(path=str(db_file))
    result = dg.materialize([users_table], resources={"database": database}, instance=instance)

    assert list(result.asset_value("users_table")["name"]) == ["ada", "grace", "linus"]


def test_the_io_manager_keeps_each_asset_as_a_parquet_file(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Supplied under the resource key every asset uses by default, the `ParquetIOManager` writes
    each asset's DataFrame to a parquet file in the warehouse folder."""
    db_file, warehouse = tmp_path / "users.db", tmp_path / "warehouse"
    seed_database(db_file)

    resources = {
        "database": UsersDatabase(path=str(db_file)),
        "io_manager": ParquetIOManager(base_dir=str(warehouse)),
    }
    dg.materialize([users_table, active_users], resources=resources, instance=instance)

    files = sorted(path.name for path in warehouse.iterdir())
    assert files == ["active_users.parquet", "users_table.parquet"]
    assert list(pd.read_parquet(warehouse / "active_users.parquet")["name"]) == ["ada", "linus"]


def test_active_users_reads_users_table_back_from_its_parquet_file(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Between runs, an asset's value lives where its IO manager put it. With `users_table`'s
    file already in the warehouse, `active_users` runs alone: the database is never opened."""
    db_file, warehouse = tmp_path / "users.db", tmp_path / "warehouse"
    warehouse.mkdir()
    users = pd.DataFrame({"name": ["ada", "grace", "mary"], "active": [True, False, True]})
    users.to_parquet(warehouse / "users_table.parquet")

    resources = {
        "database": UsersDatabase(path=str(db_file)),
        "io_manager": ParquetIOManager(base_dir=str(warehouse)),
    }
    everything = [users_table, active_users]
    dg.materialize(everything, selection=["active_users"], resources=resources, instance=instance)

    assert list(pd.read_parquet(warehouse / "active_users.parquet")["name"]) == ["ada", "mary"]
    assert not db_file.exists()


def test_an_asset_check_looks_at_what_its_asset_made(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """An `@dg.asset_check` names the asset it checks; it runs right after that asset, and a
    parameter named after the asset receives its value, loaded by the IO manager."""
    db_file, warehouse = tmp_path / "users.db", tmp_path / "warehouse"
    seed_database(db_file)

    @dg.asset_check(asset=active_users)
    def every_active_user_is_active(active_users: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool(active_users["active"].all()))

    resources = {
        "database": UsersDatabase(path=str(db_file)),
        "io_manager": ParquetIOManager(base_dir=str(warehouse)),
    }
    everything = [users_table, active_users, every_active_user_is_active]
    result = dg.materialize(everything, resources=resources, instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.asset_key == dg.AssetKey("active_users")
    assert evaluation.passed


def test_a_blocking_check_keeps_bad_users_from_flowing_downstream(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Someone put "ada" in the database twice. A check that fails only records it; a blocking
    check also fails the run, so nothing downstream of the bad table is built."""
    db_file, warehouse = tmp_path / "users.db", tmp_path / "warehouse"
    seed_database(db_file, users=[("ada", True), ("grace", False), ("ada", True)])

    @dg.asset_check(asset=users_table, blocking=True)
    def names_are_unique(users_table: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool(users_table["name"].is_unique))

    resources = {
        "database": UsersDatabase(path=str(db_file)),
        "io_manager": ParquetIOManager(base_dir=str(warehouse)),
    }
    everything = [users_table, active_users, names_are_unique]
    result = dg.materialize(
        everything, resources=resources, instance=instance, raise_on_error=False
    )

    assert [evaluation.passed for evaluation in result.get_asset_check_evaluations()] == [False]
    assert not result.success
    assert not (warehouse / "active_users.parquet").exists()


def test_an_asset_job_from_the_definitions_runs_the_pipeline(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A job of assets is `dg.define_asset_job` with a selection of the assets it materializes,
    never a `@dg.job` calling them as the seed did. This one refreshes the whole pipeline."""
    db_file, warehouse = tmp_path / "users.db", tmp_path / "warehouse"
    seed_database(db_file)

    refresh_users = dg.define_asset_job("refresh_users", selection=[users_table, active_users])
    defs = dg.Definitions(
        assets=[users_table, active_users],
        jobs=[refresh_users],
        resources={
            "database": UsersDatabase(path=str(db_file)),
            "io_manager": ParquetIOManager(base_dir=str(warehouse)),
        },
    )
    result = defs.resolve_job_def("refresh_users").execute_in_process(instance=instance)

    made = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert made == {"users_table", "active_users"}
    assert list(pd.read_parquet(warehouse / "active_users.parquet")["name"]) == ["ada", "linus"]


def test_the_daily_schedule_refreshes_every_morning_at_six(tmp_path: Path) -> None:
    """The team wants fresh users every day at 06:00, Paris time, all year round; the check runs
    the schedule's cron string for real, through the schedule the `Definitions` hold."""
    refresh_users = dg.define_asset_job("refresh_users", selection=[users_table, active_users])
    daily_refresh = dg.ScheduleDefinition(
        name="daily_refresh",
        job=refresh_users,
        cron_schedule="0 6 * * *",
        execution_timezone="Europe/Paris",
    )
    defs = dg.Definitions(
        assets=[users_table, active_users],
        schedules=[daily_refresh],
        resources={"database": UsersDatabase(path=str(tmp_path / "users.db"))},
    )
    dg.Definitions.validate_loadable(defs)

    assert fires_at(defs.resolve_schedule_def("daily_refresh"), "2024-03-30", count=3) == [
        "Sat 2024-03-30 06:00",
        "Sun 2024-03-31 06:00",
        "Mon 2024-04-01 06:00",
    ]


def test_a_schedule_tick_asks_for_one_run_per_day(instance: dg.DagsterInstance) -> None:
    """A schedule function returns a `dg.RunRequest` (not the seed's `{}`). A run key made of the
    tick's day lets the daemon launch at most one refresh a day, however often a tick asks."""
    refresh_users = dg.define_asset_job("refresh_users", selection=[users_table, active_users])

    @dg.schedule(job=refresh_users, cron_schedule="0 6 * * *")
    def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=day, tags={"day": day})

    tick_time = dt.datetime(2024, 5, 1, 6, 0)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick_time)
    [request] = daily_refresh.evaluate_tick(context).run_requests

    assert request.run_key == "2024-05-01"
    assert daily_refresh.job_name == "refresh_users"


def test_the_folder_sensor_asks_for_a_run_per_new_export(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The CRM drops an export file in a folder each time its users change. The sensor asks for a
    refresh per new file, and its cursor, handed from one tick to the next, skips those seen."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "users_001.csv").write_text("name\nada\n")
    (inbox / "users_002.csv").write_text("name\ngrace\n")
    refresh_users = dg.define_asset_job("refresh_users", selection=[users_table, active_users])

    @dg.sensor(job=refresh_users, minimum_interval_seconds=60)
    def new_exports(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        names = sorted(p.name for p in inbox.glob("*.csv") if p.name > (context.cursor or ""))
        requests = [dg.RunRequest(run_key=name) for name in names]
        return dg.SensorResult(run_requests=requests, cursor=names[-1] if names else context.cursor)

    first = new_exports.evaluate_tick(dg.build_sensor_context(instance=instance))
    (inbox / "users_003.csv").write_text("name\nlinus\n")
    next_tick = dg.build_sensor_context(instance=instance, cursor=first.cursor)
    second = new_exports.evaluate_tick(next_tick)

    assert [request.run_key for request in first.run_requests] == ["users_001.csv", "users_002.csv"]
    assert [request.run_key for request in second.run_requests] == ["users_003.csv"]


def test_validate_loadable_finds_a_schedule_for_a_job_that_is_not_there(tmp_path: Path) -> None:
    """A schedule may name its job with a string, which Python cannot check. Building the
    `Definitions` is lazy; `dg.Definitions.validate_loadable` loads them as `dagster dev` would and
    catches the typo before the UI or any tick."""
    refresh_users = dg.define_asset_job("refresh_users", selection=[users_table, active_users])
    daily_refresh = dg.ScheduleDefinition(
        name="daily_refresh", job_name="refresh_user", cron_schedule="0 6 * * *"
    )
    defs = dg.Definitions(
        assets=[users_table, active_users],
        jobs=[refresh_users],
        schedules=[daily_refresh],
        resources={"database": UsersDatabase(path=str(tmp_path / "users.db"))},
    )

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="refresh_user"):
        dg.Definitions.validate_loadable(defs)


def test_one_definitions_holds_the_whole_pipeline(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Everything in one `dg.Definitions`: assets, their checks, the schedule, the sensor and the
    resources. A new export lands, the sensor asks for a refresh, the job runs: the check runs
    with it because the `Definitions` hold it."""
    db_file, warehouse, inbox = tmp_path / "users.db", tmp_path / "warehouse", tmp_path / "inbox"
    seed_database(db_file)
    inbox.mkdir()
    (inbox / "users_001.csv").write_text("name\nada\n")
    refresh_users = dg.define_asset_job("refresh_users", selection=[users_table, active_users])

    @dg.asset_check(asset=active_users)
    def every_active_user_is_active(active_users: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool(active_users["active"].all()))

    @dg.sensor(job=refresh_users)
    def new_exports(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
        for path in sorted(inbox.glob("*.csv")):
            yield dg.RunRequest(run_key=path.name)

    defs = dg.Definitions(
        assets=[users_table, active_users],
        asset_checks=[every_active_user_is_active],
        schedules=[dg.ScheduleDefinition(job=refresh_users, cron_schedule="0 6 * * *")],
        sensors=[new_exports],
        resources={
            "database": UsersDatabase(path=str(db_file)),
            "io_manager": ParquetIOManager(base_dir=str(warehouse)),
        },
    )
    dg.Definitions.validate_loadable(defs)
    sensor = defs.resolve_sensor_def("new_exports")
    [request] = sensor.evaluate_tick(dg.build_sensor_context(instance=instance)).run_requests
    job = defs.resolve_job_def(sensor.job_name)
    result = job.execute_in_process(tags=request.tags, instance=instance)

    checks = [(e.check_name, e.passed) for e in result.get_asset_check_evaluations()]
    assert checks == [("every_active_user_is_active", True)]
    assert sorted(path.name for path in warehouse.iterdir()) == [
        "active_users.parquet",
        "users_table.parquet",
    ]
