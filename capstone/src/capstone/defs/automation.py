"""What starts a refresh: a daily schedule, and a sensor on the inbox folder; and the schedule
that checks, at the freshness policy's deadline, that the last day was built."""

import dagster as dg

from capstone.defs.users import DAILY, active_users, latest_day_is_built, users_table
from capstone.storage import ExportsInbox

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
