"""Partitions: one asset, cut into slices you can build one at a time.

Sign-ups arrive every day; rebuilding all of them each night wastes time. A partitioned asset
is split into partitions, each named by a key: a `dg.DailyPartitionsDefinition` makes one key per
day ("2024-01-03"). A run builds one partition, and inside the asset the context says which one,
so the code reads only that day's data. A downstream asset with the same partitions reads the
same day of its upstream. Jobs and schedules then run the pipeline one day at a time.
"""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___


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


def test_daily_partitions_have_one_key_per_day() -> None:
    """A `dg.DailyPartitionsDefinition` has one partition per day from `start_date` on; its keys
    are the days as text. With an `end_date`, the partitions stop before that day: the end date
    itself is not a partition."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    keys = daily.get_partition_keys()

    assert keys[:2] == ["2024-01-01", "2024-01-02"]
    assert len(keys) == __


def test_materialize_builds_one_partition_at_a_time(instance: dg.DagsterInstance) -> None:
    """`dg.materialize(..., partition_key=...)` runs a partitioned asset for one partition
    only. Build the sign-ups of 2 January 2024; the instance remembers which days are done."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    result = dg.materialize([signups], partition_key=__, instance=instance)

    assert list(result.asset_value("signups")["user"]) == ["grace", "alan"]
    assert instance.get_materialized_partitions(signups.key) == {"2024-01-02"}


def test_the_context_says_which_partition_is_running(instance: dg.DagsterInstance) -> None:
    """Inside a partitioned asset, `context.partition_key` is the key of the partition this run
    builds. The asset must use it to keep only that day's rows."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        day = __
        everyone = all_signups()
        return everyone[everyone["day"] == day]

    result = dg.materialize([signups], partition_key="2024-01-03", instance=instance)

    assert list(result.asset_value("signups")["user"]) == ["linus", "guido", "margaret"]


def test_a_time_partition_is_a_window_that_ends_where_the_next_begins(
    instance: dg.DagsterInstance,
) -> None:
    """`context.partition_time_window` gives the day as two datetimes, `start` and `end`. The
    start belongs to the window, the end already belongs to the next one: a sign-up at exactly
    midnight counts for the new day."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        window = context.partition_time_window
        everyone = all_signups()
        at = everyone["signed_up_at"]
        return everyone[(at >= window.start) & (at < __)]

    result = dg.materialize([signups], partition_key="2024-01-03", instance=instance)

    assert list(result.asset_value("signups")["user"]) == ["linus", "guido", "margaret"]


def test_a_key_outside_the_partitions_is_refused(instance: dg.DagsterInstance) -> None:
    """Asking for a partition the definition does not have fails before anything runs, with an
    error named for it. The end date is such a key: the partitions stop the day before."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    with pytest.raises(___):
        dg.materialize([signups], partition_key="2024-01-08", instance=instance)


def test_a_downstream_asset_with_the_same_partitions_reads_the_same_day(
    instance: dg.DagsterInstance,
) -> None:
    """Give the downstream asset the same partitions as its upstream: each of its days then
    receives the same day of the upstream asset, not all of them."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    @dg.asset(partitions_def=__)
    def signup_count(signups: pd.DataFrame) -> int:
        return len(signups)

    result = dg.materialize([signups, signup_count], partition_key="2024-01-03", instance=instance)

    assert result.asset_value("signup_count") == 3
    assert instance.get_materialized_partitions(signup_count.key) == {"2024-01-03"}


def test_each_day_is_stored_apart_and_loaded_by_its_own_key(instance: dg.DagsterInstance) -> None:
    """The IO manager stores each partition on its own. A later run of the downstream asset
    alone loads the upstream partition of its own day: count the day the first run stored."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    @dg.asset(partitions_def=daily)
    def signup_count(signups: pd.DataFrame) -> int:
        return len(signups)

    dg.materialize([signups], partition_key="2024-01-02", instance=instance)
    result = dg.materialize(
        [signups, signup_count],
        selection=[signup_count],
        partition_key=__,
        instance=instance,
    )

    assert result.asset_value("signup_count") == 2


def test_static_partitions_are_a_fixed_list_of_keys(instance: dg.DagsterInstance) -> None:
    """Not every split is by time: a `dg.StaticPartitionsDefinition` is a list of keys you
    choose, here one per sign-up channel. Build the sign-ups that came through the iOS app."""
    channels = dg.StaticPartitionsDefinition(["web", "ios", "android"])

    @dg.asset(partitions_def=channels)
    def channel_signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["channel"] == context.partition_key]

    result = dg.materialize([channel_signups], partition_key=__, instance=instance)

    assert list(result.asset_value("channel_signups")["user"]) == ["grace", "guido"]
    assert channels.get_partition_keys() == ["web", "ios", "android"]


def test_an_asset_job_takes_its_partitions_from_its_assets(instance: dg.DagsterInstance) -> None:
    """`dg.define_asset_job` needs no partitions of its own (its `partitions_def` argument is
    deprecated): resolved in `dg.Definitions`, the job takes them from the assets it selects,
    and runs one partition with `execute_in_process(partition_key=...)`."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

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
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    job = dg.define_asset_job("signups_job", selection=[signups])
    nightly = dg.build_schedule_from_partitioned_job(job, hour_of_day=1)
    defs = dg.Definitions(assets=[signups], schedules=[nightly])

    schedule = defs.resolve_schedule_def("signups_job_schedule")

    assert schedule.cron_schedule == __


def test_each_tick_asks_for_the_day_that_just_ended() -> None:
    """On each tick, the built schedule asks for the last day that has ended. Written by hand,
    the same schedule returns `dg.RunRequest(partition_key=...)`; `get_partition_keys` given a
    `current_time` lists only the days that have ended by then."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    job = dg.define_asset_job("signups_job", selection=[signups])

    @dg.schedule(job=job, cron_schedule="0 1 * * *")
    def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        ended = daily.get_partition_keys(current_time=context.scheduled_execution_time)
        return dg.RunRequest(partition_key=ended[-1])

    tick_time = dt.datetime(2024, 1, 5, 1, 0, tzinfo=dt.timezone.utc)
    request = nightly(dg.build_schedule_context(scheduled_execution_time=tick_time))

    assert request.partition_key == __


def test_a_plain_schedule_does_not_pick_a_partition() -> None:
    """A plain `dg.ScheduleDefinition` knows nothing of partitions: its tick asks for a run with
    no partition key, where `context.partition_key` raises. Use one of the two forms above."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> pd.DataFrame:
        everyone = all_signups()
        return everyone[everyone["day"] == context.partition_key]

    job = dg.define_asset_job("signups_job", selection=[signups])
    plain = dg.ScheduleDefinition(job=job, cron_schedule="0 1 * * *")

    tick_time = dt.datetime(2024, 1, 5, 1, 0, tzinfo=dt.timezone.utc)
    tick = plain.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick_time))

    assert [request.partition_key for request in tick.run_requests] == __
