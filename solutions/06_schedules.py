"""Schedules: run a job at fixed times.

A schedule pairs a target (a job, or a selection of assets) with a cron string, five fields that
say when it fires: minute, hour, day of the month, month, day of the week. Each time it fires (a
"tick") the schedule asks for a run. A function decorated with `@dg.schedule` decides what that
run looks like: it can build the run's config from the tick's time, or return a `dg.SkipReason`
whose message the UI shows on the tick. Cron strings are easy to get subtly wrong, so these
koans check them by the times they fire. A string that is not cron at all fails as soon as the
schedule is built, with `dg.DagsterInvalidDefinitionError`.

Deployed, the Dagster daemon runs the ticks, and only for schedules that are running. At each
tick it checks the run's config against the job before it creates the run: config that doesn't
fit fails the tick itself with `dg.DagsterInvalidConfigError`, and no run is created. In a test,
`evaluate_tick` plays one tick without that check; `dg.validate_run_config` makes it.

Read next:
- https://docs.dagster.io/guides/automate/schedules
- https://docs.dagster.io/guides/automate/schedules/defining-schedules
"""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __


def firing_times(schedule: dg.ScheduleDefinition, starting: str, count: int) -> list[dt.datetime]:
    """The first `count` times `schedule` fires from the day `starting` on, in its own timezone.

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
        times.append(window.start)
        window = windows.get_next_partition_window(window.end)
    return times


def fires_at(schedule: dg.ScheduleDefinition, starting: str, count: int) -> list[str]:
    """The same firing times, as text such as "Mon 2024-01-08 06:30"."""
    return [f"{time:%a %Y-%m-%d %H:%M}" for time in firing_times(schedule, starting, count)]


def test_a_schedule_fires_its_target_at_the_times_of_its_cron_string() -> None:
    """`dg.ScheduleDefinition(name=..., target=..., cron_schedule=...)` launches its target each
    time the cron string fires. `fires_at` (above) lists those times, worked out by Dagster's own
    cron engine. No timezone is given, so the times are in UTC."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    schedule = dg.ScheduleDefinition(
        name="morning_greeting", target=greeting, cron_schedule="0 6 * * *"
    )

    assert schedule.job_name == "greeting"
    fired = fires_at(schedule, starting="2024-01-01", count=2)
    assert fired == ["Mon 2024-01-01 06:00", "Tue 2024-01-02 06:00"]


def test_the_older_job_form_names_the_schedule_after_its_job() -> None:
    """`dg.ScheduleDefinition(target=...)` must be given a `name=`. Older code passes `job=`
    instead, often with no name: Dagster then makes one up from the job's."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    schedule = dg.ScheduleDefinition(job=greeting, cron_schedule="0 6 * * *")

    assert schedule.name == "greeting_schedule"


def test_a_schedule_can_target_assets_without_a_job(instance: dg.DagsterInstance) -> None:
    """A schedule's target can be assets: Dagster builds the job for them when the schedule sits
    in a `dg.Definitions`. This one should rebuild the two sales assets every night and leave
    `users_table` alone. (Its name comes first here, as a positional argument.)"""

    @dg.asset
    def orders() -> pd.DataFrame:
        return pd.DataFrame({"user": ["ada", "linus"], "amount": [12.5, 7.0]})

    @dg.asset
    def revenue(orders: pd.DataFrame) -> float:
        return float(orders["amount"].sum())

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    nightly = dg.ScheduleDefinition("nightly", cron_schedule="0 2 * * *", target=[orders, revenue])
    defs = dg.Definitions(assets=[orders, revenue, users_table], schedules=[nightly])

    result = defs.resolve_job_def(nightly.job_name).execute_in_process(instance=instance)

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"orders", "revenue"}


def test_whether_a_new_schedule_ticks_once_deployed() -> None:
    """A schedule's `default_status` says whether the daemon ticks it as soon as it is deployed,
    or only once someone turns it on in the UI. You choose with `default_status=` and
    `dg.DefaultScheduleStatus.RUNNING` or `dg.DefaultScheduleStatus.STOPPED`; this schedule
    doesn't choose."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    schedule = dg.ScheduleDefinition(
        name="morning_greeting", target=greeting, cron_schedule="0 6 * * *"
    )

    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_five_fields_say_minute_hour_day_month_weekday() -> None:
    """A cron string reads `minute hour day-of-month month day-of-week`; `*` means "every".
    This schedule should fire every day at 06:30 (UTC, as no timezone is given)."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    schedule = dg.ScheduleDefinition(name="daily", target=greeting, cron_schedule="30 6 * * *")

    assert fires_at(schedule, starting="2024-01-01", count=3) == [
        "Mon 2024-01-01 06:30",
        "Tue 2024-01-02 06:30",
        "Wed 2024-01-03 06:30",
    ]


def test_a_weekday_schedule_skips_the_weekend() -> None:
    """The last field picks days of the week: 0 is Sunday, 1 is Monday ... 6 is Saturday, and
    `a-b` is a range. This schedule should fire every weekday at 06:30."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    schedule = dg.ScheduleDefinition(name="weekdays", target=greeting, cron_schedule="30 6 * * 1-5")

    assert fires_at(schedule, starting="2024-01-04", count=4) == [
        "Thu 2024-01-04 06:30",
        "Fri 2024-01-05 06:30",
        "Mon 2024-01-08 06:30",
        "Tue 2024-01-09 06:30",
    ]


def test_the_day_field_picks_a_day_of_the_month() -> None:
    """The third field is the day of the month. This schedule should fire at 08:00 on the first
    of every month."""

    @dg.op
    def send_invoices() -> str:
        return "sent"

    @dg.job
    def invoices() -> None:
        send_invoices()

    schedule = dg.ScheduleDefinition(name="monthly", target=invoices, cron_schedule="0 8 1 * *")

    assert fires_at(schedule, starting="2024-01-15", count=3) == [
        "Thu 2024-02-01 08:00",
        "Fri 2024-03-01 08:00",
        "Mon 2024-04-01 08:00",
    ]


def test_execution_timezone_through_daylight_saving() -> None:
    """With `execution_timezone`, the cron string is read in that zone's local time, daylight
    saving and all. New York is 5 hours behind UTC in winter and 4 hours behind in summer."""

    @dg.op
    def open_market() -> str:
        return "open"

    @dg.job
    def market_open() -> None:
        open_market()

    schedule = dg.ScheduleDefinition(
        name="market_open_ny",
        target=market_open,
        cron_schedule="0 9 * * *",
        execution_timezone="America/New_York",
    )
    [winter] = firing_times(schedule, starting="2024-01-08", count=1)
    [summer] = firing_times(schedule, starting="2024-07-08", count=1)

    assert winter.astimezone(dt.timezone.utc).hour == 14
    assert summer.astimezone(dt.timezone.utc).hour == 13
    assert (winter.hour, summer.hour) == (9, 9)


def test_a_schedule_builds_the_runs_config_from_the_ticks_time(
    instance: dg.DagsterInstance,
) -> None:
    """`@dg.schedule` turns a function into a schedule; it returns a `dg.RunRequest` for each
    tick. `context.scheduled_execution_time` is the time the tick was due, even when the code
    runs later. `dg.build_schedule_context` lets a test play any tick. Each morning's run reports
    on the day before its tick."""

    class ReportConfig(dg.Config):
        day: str

    @dg.op
    def report(config: ReportConfig) -> str:
        return f"report for {config.day}"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(target=daily_report, cron_schedule="0 6 * * *")
    def every_morning(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        yesterday = context.scheduled_execution_time - dt.timedelta(days=1)
        config = ReportConfig(day=f"{yesterday:%Y-%m-%d}")
        return dg.RunRequest(run_config=dg.RunConfig(ops={"report": config}))

    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 3, 15, 6, 0))
    request = every_morning(context)
    result = daily_report.execute_in_process(run_config=request.run_config, instance=instance)

    assert result.output_for_node("report") == "report for 2024-03-14"


def test_a_skip_reason_says_why_a_tick_launched_nothing() -> None:
    """Instead of a request, a schedule function can return a `dg.SkipReason`, whose message the
    UI shows on the tick. `evaluate_tick` plays a tick and gathers what the function asked for."""

    @dg.op
    def report() -> str:
        return "report"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(target=daily_report, cron_schedule="0 6 * * *")
    def weekday_mornings(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        day = context.scheduled_execution_time
        if day.weekday() >= 5:
            return dg.SkipReason(f"{day:%A}: no reports at the weekend")
        return dg.RunRequest()

    saturday = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 3, 16, 6, 0))
    tick = weekday_mornings.evaluate_tick(saturday)

    assert tick.skip_message == "Saturday: no reports at the weekend"
    assert tick.run_requests == []


def test_a_schedule_that_returns_a_dict_asks_for_a_run_with_that_config() -> None:
    """Older code often returns a dict from a schedule function, sometimes an empty one, and uses
    `job=`. Dagster reads the dict as the run config of one request. Deployed, the daemon checks
    that config against the job at the tick: here the job needs a `day`, so the tick fails and no
    run is created. `evaluate_tick` doesn't check; `dg.validate_run_config` does."""

    class ReportConfig(dg.Config):
        day: str

    @dg.op
    def report(config: ReportConfig) -> str:
        return f"report for {config.day}"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(job=daily_report, cron_schedule="0 6 * * *")
    def empty_config_schedule(context: dg.ScheduleEvaluationContext) -> dict:
        return {}

    tick = empty_config_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 3, 15, 6, 0))
    )
    [request] = tick.run_requests

    assert request.run_config == {}
    with pytest.raises(dg.DagsterInvalidConfigError):  # what the daemon's tick would raise
        dg.validate_run_config(daily_report, request.run_config)
