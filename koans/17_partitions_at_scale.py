"""Partitions at scale: keys found at run time, keys in two dimensions, ranges built at once.

A `dg.DynamicPartitionsDefinition` keeps its keys in the Dagster instance, one per file that
lands or customer who signs up; a sensor adds them with
`dg.SensorResult(dynamic_partitions_requests=...)`, or code calls `instance.add_dynamic_partitions`.
A `dg.MultiPartitionsDefinition` crosses two definitions: one partition per day and channel.
Between assets partitioned differently, a partition mapping (`dg.TimeWindowPartitionMapping`,
`dg.AllPartitionMapping`) says which upstream partitions each partition depends on. Dagster infers
the obvious ones; where it cannot, the definitions fail to load with
`dg.DagsterInvalidDefinitionError`, so a code location refuses them and `dg check defs` fails the
build, before any run.

Deployed, the daemon adds the partitions a sensor asks for, and carries out backfills: one run per
partition, or one run for the whole range when the asset has `dg.BackfillPolicy.single_run()`. A
range run hands its IO manager one output for many partitions. Dagster's default IO manager, one
pickle per partition, refuses it; an IO manager you write must store each partition in a file of
its own. A warehouse asset usually writes its rows itself and returns no value: it deletes and
inserts the rows of its `context.partition_time_window`, so a run repeated over a window leaves
each row once. Two errors met in earlier lessons come back: `dg.DagsterUnknownPartitionError` and
`dg.DagsterInvariantViolationError`.

Read next:
- https://docs.dagster.io/guides/build/partitions-and-backfills/defining-dependencies-between-partitioned-assets
- https://docs.dagster.io/examples/mini-examples/partition-backfill-strategies
"""

import sqlite3
from contextlib import closing
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
CHANNELS = dg.StaticPartitionsDefinition(["web", "ios", "android"])
ORDER_FILES = dg.DynamicPartitionsDefinition(name="order_files")


def all_signups() -> pd.DataFrame:
    """Every sign-up so far: who, through which channel, and when (UTC)."""
    signups = pd.DataFrame(
        {
            "user": ["ada", "grace", "alan", "linus", "guido", "margaret", "barbara"],
            "channel": ["web", "ios", "web", "android", "ios", "web", "web"],
            "signed_up_at": pd.to_datetime(
                [
                    "2024-01-01 09:15",
                    "2024-01-02 10:00",
                    "2024-01-02 23:59",
                    "2024-01-03 00:00",
                    "2024-01-03 12:30",
                    "2024-01-03 18:45",
                    "2024-01-04 08:00",
                ],
                utc=True,
            ),
        }
    )
    signups["day"] = signups["signed_up_at"].dt.strftime("%Y-%m-%d")
    return signups


def range_tags(start: str, end: str) -> dict[str, str]:
    """The tags of a run that covers a range of partitions: the daemon puts them on the run of a
    single-run backfill, and `dg launch --assets ... --partition-range start...end` sets them."""
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


class PartitionedParquetIOManager(dg.ConfigurableIOManager):
    """Keeps each partition in its own file: <base_dir>/<asset key path>/<partition key>.parquet.

    A run over a range of partitions stores and loads a dict of DataFrames, one per key.
    """

    base_dir: str

    def _path(self, asset_key: dg.AssetKey, partition_key: str) -> Path:
        return Path(self.base_dir, *asset_key.path, f"{partition_key}.parquet")

    def handle_output(
        self, context: dg.OutputContext, obj: pd.DataFrame | dict[str, pd.DataFrame]
    ) -> None:
        if context.has_partition_key:
            frames = {context.partition_key: obj}
        else:  # a run over a range: the asset returned one DataFrame per partition key
            frames = obj
        for partition_key, frame in frames.items():
            path = self._path(context.asset_key, partition_key)
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(path)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | dict[str, pd.DataFrame]:
        # The upstream keys this input depends on, after any partition mapping.
        keys = context.asset_partition_keys
        frames = {key: pd.read_parquet(self._path(context.asset_key, key)) for key in keys}
        return frames[keys[0]] if len(keys) == 1 else frames


def test_dynamic_partitions_are_kept_by_the_instance(instance: dg.DagsterInstance) -> None:
    """A `dg.DynamicPartitionsDefinition` starts with no keys: they are stored in the instance
    under the definition's name. Two batches of file names arrive, and they overlap."""
    assert ORDER_FILES.get_partition_keys(dynamic_partitions_store=instance) == []

    instance.add_dynamic_partitions("order_files", ["orders_001.csv", "orders_002.csv"])
    instance.add_dynamic_partitions("order_files", ["orders_002.csv", "orders_003.csv"])

    keys = ORDER_FILES.get_partition_keys(dynamic_partitions_store=instance)
    assert keys == __


def test_a_run_for_a_key_the_instance_has_not_added_is_refused(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """A file has landed in the folder, but nobody added its key to the instance. Dagster
    checks a dynamic key against the instance before the run starts."""
    (tmp_path / "orders_002.csv").write_text("order_id,amount\n2,45\n")

    @dg.asset(partitions_def=ORDER_FILES)
    def orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return pd.read_csv(tmp_path / context.partition_key)

    instance.add_dynamic_partitions("order_files", ["orders_001.csv"])

    with pytest.raises(___):
        dg.materialize([orders], partition_key="orders_002.csv", instance=instance)


def test_a_sensor_asks_for_new_partitions_and_the_daemon_adds_them(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """A sensor returns the keys to add next to the runs it wants for them. Deployed, the daemon
    adds the keys to the instance and launches the runs; a test that calls the sensor gets its
    requests back, and nothing carries them out."""
    (tmp_path / "orders_001.csv").write_text("order_id,amount\n1,30\n")
    (tmp_path / "orders_002.csv").write_text("order_id,amount\n2,45\n")

    @dg.asset(partitions_def=ORDER_FILES)
    def orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return pd.read_csv(tmp_path / context.partition_key)

    @dg.sensor(target=orders)
    def inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        known = set(context.instance.get_dynamic_partitions("order_files"))
        new = sorted(path.name for path in tmp_path.glob("*.csv") if path.name not in known)
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=name) for name in new],
            dynamic_partitions_requests=[ORDER_FILES.build_add_request(new)],
        )

    instance.add_dynamic_partitions("order_files", ["orders_001.csv"])
    # Called directly, a sensor returns its result unchecked. `evaluate_tick` also checks each
    # requested key, and for that needs `instance_ref=` of an instance stored on disk.
    result = inbox_sensor(dg.build_sensor_context(instance=instance))

    assert [request.partition_key for request in result.run_requests] == ["orders_002.csv"]
    assert instance.get_dynamic_partitions("order_files") == __


def test_a_multi_partition_key_holds_one_key_per_dimension(instance: dg.DagsterInstance) -> None:
    """A `dg.MultiPartitionsDefinition` has one partition per day and channel. Its key, a
    `dg.MultiPartitionKey`, is a string joining one key per dimension with "|", the dimensions
    in the order of their names; `keys_by_dimension` splits it again. Build 2 January's iOS
    sign-ups."""
    date_and_channel = dg.MultiPartitionsDefinition({"date": DAILY, "channel": CHANNELS})

    @dg.asset(partitions_def=date_and_channel)
    def channel_signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        key = context.partition_key
        assert isinstance(key, dg.MultiPartitionKey)
        everyone = all_signups()
        in_day = everyone["day"] == key.keys_by_dimension["date"]
        return everyone[in_day & (everyone["channel"] == key.keys_by_dimension["channel"])]

    result = dg.materialize([channel_signups], partition_key=__, instance=instance)

    assert list(result.asset_value("channel_signups")["user"]) == ["grace"]


def test_a_daily_asset_depends_on_every_channel_of_its_day(instance: dg.DagsterInstance) -> None:
    """Downstream of the date and channel asset, a daily asset needs no mapping: Dagster maps
    each day to that day in every channel. `context.asset_partition_keys_for_input` lists the
    upstream keys the running partition depends on."""
    date_and_channel = dg.MultiPartitionsDefinition({"date": DAILY, "channel": CHANNELS})

    @dg.asset(partitions_def=date_and_channel)
    def channel_signups() -> None:
        pass

    @dg.asset(partitions_def=DAILY, deps=[channel_signups])
    def daily_signups(context: dg.AssetExecutionContext) -> list[str]:
        return sorted(context.asset_partition_keys_for_input("channel_signups"))

    result = dg.materialize(
        [channel_signups, daily_signups],
        selection=[daily_signups],
        partition_key="2024-01-03",
        instance=instance,
    )

    keys = result.asset_value("daily_signups")
    assert keys == __


def test_a_window_mapping_moves_the_start_of_the_window(instance: dg.DagsterInstance) -> None:
    """Between two daily assets, each day depends on the same day. A
    `dg.TimeWindowPartitionMapping` moves the window: `start_offset` moves its start by whole
    partitions, `end_offset` moves its end."""

    @dg.asset(partitions_def=DAILY)
    def signups() -> None:
        pass

    mapping = dg.TimeWindowPartitionMapping(start_offset=-1)

    @dg.asset(partitions_def=DAILY, deps=[dg.AssetDep(signups, partition_mapping=mapping)])
    def signup_growth(context: dg.AssetExecutionContext) -> list[str]:
        return context.asset_partition_keys_for_input("signups")

    result = dg.materialize(
        [signups, signup_growth],
        selection=[signup_growth],
        partition_key="2024-01-03",
        instance=instance,
    )

    assert result.asset_value("signup_growth") == __


def test_the_first_day_has_no_yesterday(instance: dg.DagsterInstance) -> None:
    """Moving both ends back by one makes each day read the day before. The first day of the
    partitions has no day before, yet its run goes ahead. The input is annotated `object`, so
    Dagster's type check lets through whatever it gets: what does it get?"""
    yesterday = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    received: list[object] = []

    @dg.asset(partitions_def=DAILY)
    def signups() -> pd.DataFrame:
        return all_signups()

    @dg.asset(partitions_def=DAILY, ins={"signups": dg.AssetIn(partition_mapping=yesterday)})
    def signups_yesterday(signups: object) -> None:
        received.append(signups)

    dg.materialize(
        [signups, signups_yesterday],
        selection=[signups_yesterday],
        partition_key="2024-01-01",
        instance=instance,
    )

    assert received == __


def test_a_weekly_partition_depends_on_the_days_of_its_week(instance: dg.DagsterInstance) -> None:
    """A weekly asset downstream of a daily one needs no mapping either: each week depends on
    the days inside it. Dagster's weeks begin on a Sunday (`day_offset` picks another day), and
    1 January 2024 was a Monday."""
    weekly = dg.WeeklyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")

    @dg.asset(partitions_def=DAILY)
    def signups() -> None:
        pass

    @dg.asset(partitions_def=weekly, deps=[signups])
    def weekly_signups(context: dg.AssetExecutionContext) -> list[str]:
        return context.asset_partition_keys_for_input("signups")

    first_week = weekly.get_partition_keys()[0]
    result = dg.materialize(
        [signups, weekly_signups],
        selection=[weekly_signups],
        partition_key=first_week,
        instance=instance,
    )

    days = result.asset_value("weekly_signups")
    assert (days[0], days[-1]) == __


def test_a_dependency_dagster_cannot_map_fails_when_the_definitions_load(
    instance: dg.DagsterInstance,
) -> None:
    """Between days and channels Dagster cannot guess which channels a day needs. A test that
    only materializes the pair hears nothing; loading them as a code location, as the daemon, the
    UI and `dg check defs` do, refuses them before any run."""

    @dg.asset(partitions_def=CHANNELS)
    def channel_totals() -> None:
        pass

    @dg.asset(partitions_def=DAILY, deps=[channel_totals])
    def daily_report() -> None:
        pass

    dg.materialize(
        [channel_totals, daily_report],
        selection=[daily_report],
        partition_key="2024-01-03",
        instance=instance,
    )

    with pytest.raises(___):
        dg.Definitions.validate_loadable(dg.Definitions(assets=[channel_totals, daily_report]))


def test_a_mapping_makes_each_day_depend_on_every_channel(
    instance: dg.DagsterInstance,
) -> None:
    """Give the mapping that makes each day depend on every channel: with it the same two assets
    load, and the run for a day lists every channel as its upstream."""

    @dg.asset(partitions_def=CHANNELS)
    def channel_totals() -> None:
        pass

    @dg.asset(
        partitions_def=DAILY,
        deps=[dg.AssetDep(channel_totals, partition_mapping=__)],
    )
    def daily_report(context: dg.AssetExecutionContext) -> list[str]:
        return context.asset_partition_keys_for_input("channel_totals")

    dg.Definitions.validate_loadable(dg.Definitions(assets=[channel_totals, daily_report]))
    result = dg.materialize(
        [channel_totals, daily_report],
        selection=[daily_report],
        partition_key="2024-01-03",
        instance=instance,
    )

    assert result.asset_value("daily_report") == ["web", "ios", "android"]


def test_every_day_reads_an_unpartitioned_upstream_whole(instance: dg.DagsterInstance) -> None:
    """A daily asset may depend on an unpartitioned one: each day reads all of it. Both can run
    together; the run records one materialization per asset, and only one of them is for a
    partition."""

    @dg.asset
    def users() -> pd.DataFrame:
        return all_signups()

    @dg.asset(partitions_def=DAILY)
    def daily_users(context: dg.AssetExecutionContext, users: pd.DataFrame) -> pd.DataFrame:
        return users[users["day"] == context.partition_key]

    result = dg.materialize([users, daily_users], partition_key="2024-01-03", instance=instance)

    partitions = [event.partition for event in result.get_asset_materialization_events()]
    assert partitions == __


def test_a_single_run_backfill_builds_a_whole_range_in_one_run(
    instance: dg.DagsterInstance,
) -> None:
    """With `dg.BackfillPolicy.single_run()`, the daemon builds a backfill of many days in one run
    (`multi_run(max_partitions_per_run=n)` cuts it into runs of n days). The run carries the
    range in two tags, as `range_tags` shows, and `context.partition_time_window` spans it all."""

    @dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
    def signups(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        window = context.partition_time_window
        at = all_signups()["signed_up_at"]
        rows = int(((at >= window.start) & (at < window.end)).sum())
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    dg.materialize([signups], tags=range_tags("2024-01-02", "2024-01-04"), instance=instance)

    assert len(instance.get_runs()) == 1
    built = instance.get_materialized_partitions(signups.key)
    assert built == __


def test_a_range_run_has_no_single_partition_key(instance: dg.DagsterInstance) -> None:
    """Code written for one day at a time asks the context for `partition_key`. In a run over a
    range there is no single key to give, and the context says so with an error."""

    @dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
    def signups(context: dg.AssetExecutionContext) -> None:
        context.log.info(f"building {context.partition_key}")

    with pytest.raises(___):
        dg.materialize([signups], tags=range_tags("2024-01-02", "2024-01-04"), instance=instance)


def test_the_default_io_manager_refuses_a_range_runs_output(instance: dg.DagsterInstance) -> None:
    """Dagster's default IO manager pickles one file per partition. A range run hands it one
    DataFrame for three days, which it will not split: the step fails as it stores the output,
    after the asset's own code has run."""

    @dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        window = context.partition_time_window
        everyone = all_signups()
        at = everyone["signed_up_at"]
        return everyone[(at >= window.start) & (at < window.end)]

    result = dg.materialize(
        [signups],
        tags=range_tags("2024-01-02", "2024-01-04"),
        instance=instance,
        raise_on_error=False,
    )

    [failure] = result.get_step_failure_events()
    assert "multiple partitions" in failure.step_failure_data.error.to_string()
    assert instance.get_materialized_partitions(signups.key) == __


def test_a_warehouse_asset_replaces_the_rows_of_its_window(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """A warehouse asset writes its rows itself and returns a `dg.MaterializeResult`, so no IO
    manager stores anything. It deletes the rows of its window, then inserts them, in one
    transaction: run twice over a range, then again for one day, it leaves each row once. A
    window runs from the start of its first day up to, not including, its end."""
    warehouse = tmp_path / "warehouse.db"
    with closing(sqlite3.connect(warehouse)) as conn:
        conn.execute("CREATE TABLE signups (user TEXT, signed_up_at TEXT)")
    windows: list[tuple[str, str]] = []

    @dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
    def signups(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        window = context.partition_time_window
        windows.append((f"{window.start:%Y-%m-%d}", f"{window.end:%Y-%m-%d}"))
        everyone = all_signups()
        at = everyone["signed_up_at"]
        rows = everyone[(at >= window.start) & (at < window.end)]
        with closing(sqlite3.connect(warehouse)) as conn, conn:  # commits both, or neither
            conn.execute(
                "DELETE FROM signups WHERE signed_up_at >= ? AND signed_up_at < ?",
                (window.start.isoformat(), window.end.isoformat()),
            )
            conn.executemany(
                "INSERT INTO signups VALUES (?, ?)",
                [(row.user, row.signed_up_at.isoformat()) for row in rows.itertuples()],
            )
        return dg.MaterializeResult(metadata={"dagster/row_count": len(rows)})

    for _ in range(2):
        dg.materialize([signups], tags=range_tags("2024-01-02", "2024-01-04"), instance=instance)
    dg.materialize([signups], partition_key="2024-01-03", instance=instance)

    with closing(sqlite3.connect(warehouse)) as conn:
        query = "SELECT substr(signed_up_at, 1, 10), COUNT(*) FROM signups GROUP BY 1"
        rows_per_day = dict(conn.execute(query).fetchall())
    assert rows_per_day == {"2024-01-02": 2, "2024-01-03": 3, "2024-01-04": 1}
    assert windows == [
        ("2024-01-02", "2024-01-05"),
        ("2024-01-02", "2024-01-05"),
        __,
    ]


def test_a_partition_aware_manager_keeps_each_partition_in_its_own_file(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """`PartitionedParquetIOManager` adds the partition key to the path, read from the context
    that Dagster hands to `handle_output`. Build two days."""

    @dg.asset(partitions_def=DAILY)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    resources = {"io_manager": PartitionedParquetIOManager(base_dir=str(tmp_path))}
    for day in ["2024-01-02", "2024-01-03"]:
        dg.materialize([signups], partition_key=day, resources=resources, instance=instance)

    stored = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.parquet"))
    assert stored == __


def test_a_range_run_loads_every_upstream_key_its_range_maps_to(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """In a range run `load_input` is called once for the whole range, and
    `context.asset_partition_keys` lists every upstream key the range depends on after the
    mapping. The files of 1 to 5 January are in place; one run builds 4 and 5 January."""
    yesterday = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    seen: list[list[str]] = []

    class RecordingIOManager(PartitionedParquetIOManager):
        def load_input(self, context: dg.InputContext) -> pd.DataFrame | dict[str, pd.DataFrame]:
            seen.append(list(context.asset_partition_keys))
            return super().load_input(context)

    @dg.asset(partitions_def=DAILY, io_manager_key="parquet")
    def signups() -> pd.DataFrame:
        return all_signups()

    @dg.asset(
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        ins={"signups": dg.AssetIn(partition_mapping=yesterday)},
    )
    def signups_yesterday(signups: dict[str, pd.DataFrame]) -> None:
        pass  # returns no value: the default IO manager has nothing to store for the range

    (tmp_path / "signups").mkdir()
    everyone = all_signups()
    for day in ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]:
        everyone[everyone["day"] == day].to_parquet(tmp_path / "signups" / f"{day}.parquet")

    dg.materialize(
        [signups, signups_yesterday],
        selection=[signups_yesterday],
        tags=range_tags("2024-01-04", "2024-01-05"),
        resources={"parquet": RecordingIOManager(base_dir=str(tmp_path))},
        instance=instance,
    )

    assert seen == __


def test_a_range_run_hands_each_partition_of_its_range_to_the_next_asset(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """In a range run, `handle_output` is called once for all the days, and the downstream
    asset's input covers the same days: `PartitionedParquetIOManager` stores and loads one
    DataFrame per day, in a dict keyed by partition."""
    received: dict[str, pd.DataFrame] = {}

    @dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
    def signups(context: dg.AssetExecutionContext) -> dict[str, pd.DataFrame]:
        everyone = all_signups()
        return {day: everyone[everyone["day"] == day] for day in context.partition_keys}

    @dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
    def signup_counts(signups: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        received.update(signups)
        return {day: pd.DataFrame({"signups": [len(rows)]}) for day, rows in signups.items()}

    resources = {"io_manager": PartitionedParquetIOManager(base_dir=str(tmp_path))}
    dg.materialize(
        [signups, signup_counts],
        tags=range_tags("2024-01-02", "2024-01-03"),
        resources=resources,
        instance=instance,
    )

    assert {day: len(rows) for day, rows in received.items()} == __
