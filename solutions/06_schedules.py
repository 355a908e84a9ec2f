"""Schedules: run a job at fixed times.

A schedule pairs a job with a cron string, five fields that say when it fires:
minute, hour, day of the month, month, day of the week. Each time it fires (a "tick"),
the schedule asks for a run; a function decorated with `@dg.schedule` decides what that run
looks like, and can build its config from the tick's time or skip the tick altogether.
Cron strings are easy to get subtly wrong, so these koans check them by the times they fire.
"""

import datetime as dt

import dagster as dg
import pytest

from dagster_koans import __, ___


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


def test_a_schedule_pairs_a_job_with_a_cron_string() -> None:
    """`dg.ScheduleDefinition` launches a job each time its cron string fires. Unless you name it,
    the schedule is named after its job, with `_schedule` added."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    schedule = dg.ScheduleDefinition(job=greeting, cron_schedule="0 6 * * *")

    assert schedule.job_name == "greeting"
    assert schedule.name == "greeting_schedule"


def test_a_new_schedule_is_stopped_until_you_turn_it_on() -> None:
    """A schedule is created stopped: it fires only once someone turns it on in the UI, or when
    it is defined with `default_status=dg.DefaultScheduleStatus.RUNNING`."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    schedule = dg.ScheduleDefinition(job=greeting, cron_schedule="0 6 * * *")

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

    schedule = dg.ScheduleDefinition(job=greeting, cron_schedule="30 6 * * *")

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

    schedule = dg.ScheduleDefinition(job=greeting, cron_schedule="30 6 * * 1-5")

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
    def monthly_invoices() -> None:
        send_invoices()

    schedule = dg.ScheduleDefinition(job=monthly_invoices, cron_schedule="0 8 1 * *")

    assert fires_at(schedule, starting="2024-01-15", count=3) == [
        "Thu 2024-02-01 08:00",
        "Fri 2024-03-01 08:00",
        "Mon 2024-04-01 08:00",
    ]


def test_a_bad_cron_string_fails_when_the_schedule_is_defined() -> None:
    """Dagster checks a cron string as soon as the schedule is built, so a typo breaks loading
    your definitions instead of silently never firing."""

    @dg.op
    def say_hello() -> str:
        return "hello"

    @dg.job
    def greeting() -> None:
        say_hello()

    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.ScheduleDefinition(job=greeting, cron_schedule="every day at 6")


def test_execution_timezone_keeps_the_local_time_all_year() -> None:
    """With `execution_timezone`, the cron string is read in that zone's local time: 09:00 in
    New York all year. New York is 5 hours behind UTC in winter and 4 hours behind in summer."""

    @dg.op
    def open_market() -> str:
        return "open"

    @dg.job
    def market_open() -> None:
        open_market()

    schedule = dg.ScheduleDefinition(
        job=market_open, cron_schedule="0 9 * * *", execution_timezone="America/New_York"
    )
    [winter] = firing_times(schedule, starting="2024-01-08", count=1)
    [summer] = firing_times(schedule, starting="2024-07-08", count=1)

    assert (winter.hour, summer.hour) == (9, 9)
    assert winter.astimezone(dt.timezone.utc).hour == 14
    assert summer.astimezone(dt.timezone.utc).hour == 13


def test_a_schedule_function_builds_run_config_from_the_tick_time() -> None:
    """`@dg.schedule` turns a function into a schedule; it returns the `dg.RunRequest` for each
    tick. This one, firing each morning, asks for a report on the day before the tick."""

    class ReportConfig(dg.Config):
        day: str

    @dg.op
    def report(config: ReportConfig) -> str:
        return f"report for {config.day}"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(job=daily_report, cron_schedule="0 6 * * *")
    def every_morning(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        yesterday = context.scheduled_execution_time - dt.timedelta(days=1)
        config = ReportConfig(day=f"{yesterday:%Y-%m-%d}")
        return dg.RunRequest(run_config=dg.RunConfig(ops={"report": config}))

    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 3, 15, 6, 0))
    request = every_morning(context)

    assert request.run_config["ops"]["report"]["config"]["day"] == "2024-03-14"


def test_the_run_request_runs_the_job_for_its_day(instance: dg.DagsterInstance) -> None:
    """`dg.build_schedule_context(scheduled_execution_time=...)` lets a test play any tick; the
    request's run config then runs the job just as that tick would. Play the tick that reports
    on 29 February 2024."""

    class ReportConfig(dg.Config):
        day: str

    @dg.op
    def report(config: ReportConfig) -> str:
        return f"report for {config.day}"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(job=daily_report, cron_schedule="0 6 * * *")
    def every_morning(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        yesterday = context.scheduled_execution_time - dt.timedelta(days=1)
        config = ReportConfig(day=f"{yesterday:%Y-%m-%d}")
        return dg.RunRequest(run_config=dg.RunConfig(ops={"report": config}))

    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 3, 1, 6, 0))
    request = every_morning(context)
    result = daily_report.execute_in_process(run_config=request.run_config, instance=instance)

    assert result.output_for_node("report") == "report for 2024-02-29"


def test_a_skip_reason_says_why_a_tick_launched_nothing() -> None:
    """A schedule function that returns a `dg.SkipReason` launches no run for that tick, and the
    reason is shown in the UI. `evaluate_tick` shows what the schedule asked for."""

    @dg.op
    def report() -> str:
        return "report"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(job=daily_report, cron_schedule="0 6 * * *")
    def weekday_mornings(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        day = context.scheduled_execution_time
        if day.weekday() >= 5:
            return dg.SkipReason(f"{day:%A}: no reports at the weekend")
        return dg.RunRequest()

    saturday = dt.datetime(2024, 3, 16, 6, 0)
    tick = weekday_mornings.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=saturday)
    )

    assert tick.run_requests == []
    assert tick.skip_message == "Saturday: no reports at the weekend"


def test_the_seed_schedule_returning_an_empty_dict_still_requests_a_run() -> None:
    """The tutorial's schedule returns `{}`. Dagster reads a returned dict as the run config of
    one run request, so every tick asks for a run with empty config."""

    class ReportConfig(dg.Config):
        day: str

    @dg.op
    def report(config: ReportConfig) -> str:
        return f"report for {config.day}"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(job=daily_report, cron_schedule="0 6 * * *")
    def seed_schedule(context: dg.ScheduleEvaluationContext) -> dict:
        return {}

    tick = seed_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 3, 15, 6, 0))
    )

    assert len(tick.run_requests) == 1
    assert tick.run_requests[0].run_config == {}


def test_an_empty_run_config_fails_only_when_the_run_is_checked() -> None:
    """Nothing complains when the seed's schedule is defined or ticks: the run it asks for fails
    when launched, because the job needs config. `dg.validate_run_config` shows that in a test."""

    class ReportConfig(dg.Config):
        day: str

    @dg.op
    def report(config: ReportConfig) -> str:
        return f"report for {config.day}"

    @dg.job
    def daily_report() -> None:
        report()

    @dg.schedule(job=daily_report, cron_schedule="0 6 * * *")
    def seed_schedule(context: dg.ScheduleEvaluationContext) -> dict:
        return {}

    request = seed_schedule(dg.build_schedule_context())

    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(daily_report, request)
