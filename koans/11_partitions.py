"""Partitions: one asset, cut into slices you can build one at a time.

Sign-ups arrive every day; rebuilding all of them each night wastes time. A partitioned asset
is split into partitions, each named by a key: a `dg.DailyPartitionsDefinition` makes one key per
day ("2024-01-03"). A run started for one key builds that partition, and inside the asset
`context.partition_key` says which one, so the code reads only that day's data. A downstream
asset with the same partitions reads the same day of its upstream, and jobs and schedules run
the pipeline one day at a time.

A run does not always have exactly one key. A run of a partitioned asset may be started with no
key at all, and a backfill of many days may run as one run over the whole range (with
`dg.BackfillPolicy.single_run()`, lesson 17). In both, asking for `context.partition_key` is a
call Dagster cannot answer: `dg.DagsterInvariantViolationError`; a range run reads
`context.partition_key_range` or `context.partition_time_window` instead. A key the definition
does not have is refused before anything runs, with `dg.DagsterUnknownPartitionError`.

Each partition must also be stored on its own. The default IO manager keeps one file per
partition; an IO manager you write must do the same. In `handle_output` the partition key names
the file to write. In `load_input` it does not: there `context.partition_key` is the partition of
the run, while the partitions to read are `context.asset_partition_keys`, which differ as soon
as a partition mapping is involved (lesson 17). Lesson 08's `ParquetIOManager` uses no key at
all, and this lesson shows what that costs.

Read next:
- https://docs.dagster.io/guides/build/partitions-and-backfills
"""

import datetime as dt
import pickle
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")


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


@dg.asset(partitions_def=DAILY)
def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
    everyone = all_signups()
    return everyone[everyone["day"] == context.partition_key]


@dg.asset(partitions_def=DAILY)
def signup_count(signups: pd.DataFrame) -> int:
    return len(signups)


def test_daily_partitions_have_one_key_per_day() -> None:
    """A `dg.DailyPartitionsDefinition` has one partition per day from `start_date` on; its keys
    are the days as text. With an `end_date`, the partitions stop before that day: the end date
    itself is not a partition."""
    keys = DAILY.get_partition_keys()

    assert keys[:2] == ["2024-01-01", "2024-01-02"]
    assert len(keys) == __


def test_weekly_partitions_follow_their_cron_not_the_start_date() -> None:
    """A time partition runs from one tick of its cron to the next. Weekly partitions tick at
    midnight each Sunday (`0 0 * * 0`), and the first one starts at the first tick on or after
    `start_date`. 1 January 2024 was a Monday."""
    weekly = dg.WeeklyPartitionsDefinition(start_date="2024-01-01")

    keys = weekly.get_partition_keys(current_time=dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc))

    assert weekly.cron_schedule == "0 0 * * 0"
    assert keys[0] == __


def test_each_run_builds_one_partition_and_the_instance_remembers_it(
    instance: dg.DagsterInstance,
) -> None:
    """`dg.materialize(..., partition_key=...)` runs a partitioned asset for one partition only;
    the instance records each partition once it is built."""
    dg.materialize([signups], partition_key="2024-01-02", instance=instance)
    result = dg.materialize([signups], partition_key="2024-01-03", instance=instance)

    assert list(result.asset_value("signups")["user"]) == ["linus", "guido", "margaret"]
    assert instance.get_materialized_partitions(signups.key) == __


def test_a_run_without_a_partition_key_has_no_partition_to_give(
    instance: dg.DagsterInstance,
) -> None:
    """Dagster starts a run of a partitioned asset even when it is given no key; the asset fails
    as soon as it asks which partition it is building."""
    with pytest.raises(___):
        dg.materialize([signups], instance=instance)


def test_a_time_partition_is_a_window_that_ends_where_the_next_begins(
    instance: dg.DagsterInstance,
) -> None:
    """`context.partition_time_window` gives the day as two datetimes, `start` and `end`. The
    start belongs to the window; the end already belongs to the next one."""

    @dg.asset(partitions_def=DAILY)
    def signups_in_window(context: dg.AssetExecutionContext) -> pd.DataFrame:
        window = context.partition_time_window
        everyone = all_signups()
        at = everyone["signed_up_at"]
        return everyone[(at >= window.start) & (at < window.end)]

    result = dg.materialize([signups_in_window], partition_key="2024-01-02", instance=instance)

    assert list(result.asset_value("signups_in_window")["user"]) == __


def test_a_key_outside_the_partitions_is_refused(instance: dg.DagsterInstance) -> None:
    """Asking for a partition the definition does not have fails before anything runs. The end
    date is such a key: the partitions stop the day before."""
    with pytest.raises(___):
        dg.materialize([signups], partition_key="2024-01-08", instance=instance)


def test_a_downstream_asset_with_the_same_partitions_reads_the_same_day(
    instance: dg.DagsterInstance,
) -> None:
    """`signup_count` has the same partitions as `signups`: each of its days receives the same day
    of the upstream asset, not the whole table."""
    result = dg.materialize([signups, signup_count], partition_key="2024-01-04", instance=instance)

    assert instance.get_materialized_partitions(signup_count.key) == {"2024-01-04"}
    assert result.asset_value("signup_count") == __


def test_the_default_io_manager_stores_each_partition_in_a_file_of_its_own(
    instance: dg.DagsterInstance,
) -> None:
    """The default IO manager gives a partitioned asset a folder named after its key, and each
    partition a file in it, named after the partition's key."""
    dg.materialize([signups], partition_key="2024-01-02", instance=instance)
    dg.materialize([signups], partition_key="2024-01-03", instance=instance)

    folder = Path(instance.storage_directory()) / "signups"
    assert sorted(path.name for path in folder.iterdir()) == __


def test_an_io_manager_that_ignores_partitions_serves_the_wrong_day(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """An IO manager that writes one file per asset, as lesson 08's does, keeps whichever day was
    written last. A run of `signup_count` alone for 2 January loads `signups` from that file,
    though 2 January of `signups` was never built, and nothing complains."""

    class OneFilePerAsset(dg.ConfigurableIOManager):
        base_dir: str

        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            (Path(self.base_dir) / context.asset_key.path[-1]).write_bytes(pickle.dumps(obj))

        def load_input(self, context: dg.InputContext) -> object:
            return pickle.loads((Path(self.base_dir) / context.asset_key.path[-1]).read_bytes())

    resources = {"io_manager": OneFilePerAsset(base_dir=str(tmp_path))}
    dg.materialize([signups], partition_key="2024-01-03", resources=resources, instance=instance)
    result = dg.materialize(
        [signups, signup_count],
        selection=[signup_count],
        partition_key="2024-01-02",
        resources=resources,
        instance=instance,
    )

    assert result.asset_value("signup_count") == __


def test_static_partitions_are_a_fixed_list_of_keys(instance: dg.DagsterInstance) -> None:
    """Not every split is by time: a `dg.StaticPartitionsDefinition` is a list of keys you
    choose, here one per sign-up channel. Build the sign-ups that came through the iPhone app."""
    channels = dg.StaticPartitionsDefinition(["web", "ios", "android"])

    @dg.asset(partitions_def=channels)
    def channel_signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["channel"] == context.partition_key]

    result = dg.materialize([channel_signups], partition_key=__, instance=instance)

    assert list(result.asset_value("channel_signups")["user"]) == ["grace", "guido"]


def test_an_asset_job_takes_its_partitions_from_its_assets(instance: dg.DagsterInstance) -> None:
    """`dg.define_asset_job` needs no partitions of its own (its `partitions_def` argument is
    deprecated): resolved in `dg.Definitions`, the job takes them from the assets it selects,
    and runs one partition with `execute_in_process(partition_key=...)`."""
    defs = dg.Definitions(
        assets=[signups], jobs=[dg.define_asset_job("signups_job", selection=[signups])]
    )
    job = defs.resolve_job_def("signups_job")
    result = job.execute_in_process(partition_key="2024-01-01", instance=instance)

    assert result.success
    assert job.partitions_def == __


def test_a_schedule_built_from_a_partitioned_job_follows_its_partitions() -> None:
    """`dg.build_schedule_from_partitioned_job(job)` reads the cron string from the job's
    partitions: a daily job ticks each midnight, when a day ends. `hour_of_day` moves the tick
    later in the day, leaving late sign-ups time to arrive."""
    job = dg.define_asset_job("signups_job", selection=[signups])
    nightly = dg.build_schedule_from_partitioned_job(job, hour_of_day=2)
    defs = dg.Definitions(assets=[signups], schedules=[nightly])

    schedule = defs.resolve_schedule_def("signups_job_schedule")

    assert schedule.cron_schedule == __


def test_each_tick_asks_for_the_day_that_just_ended() -> None:
    """On each tick, the built schedule asks for the last day that has ended. A schedule written
    by hand does the same by returning `dg.RunRequest(partition_key=...)`; `get_partition_keys`
    given a `current_time` lists only the days that have ended by then."""
    job = dg.define_asset_job("signups_job", selection=[signups])

    @dg.schedule(target=job, cron_schedule="0 1 * * *")
    def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        ended = DAILY.get_partition_keys(current_time=context.scheduled_execution_time)
        return dg.RunRequest(partition_key=ended[-1])

    tick_time = dt.datetime(2024, 1, 5, 1, 0, tzinfo=dt.timezone.utc)
    request = nightly(dg.build_schedule_context(scheduled_execution_time=tick_time))

    assert request.partition_key == __


def test_a_plain_schedule_does_not_pick_a_partition() -> None:
    """A plain `dg.ScheduleDefinition` knows nothing of partitions: its tick asks for a run with
    no partition key, where `context.partition_key` fails. Use one of the two forms above."""
    job = dg.define_asset_job("signups_job", selection=[signups])
    plain = dg.ScheduleDefinition(name="plain", target=job, cron_schedule="0 1 * * *")

    tick_time = dt.datetime(2024, 1, 5, 1, 0, tzinfo=dt.timezone.utc)
    tick = plain.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick_time))

    assert [request.partition_key for request in tick.run_requests] == __
