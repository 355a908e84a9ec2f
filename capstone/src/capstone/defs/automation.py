"""What starts a refresh: a daily schedule, and a sensor on the inbox folder."""

import dagster as dg

from capstone.defs.users import DAILY, active_users, users_table
from capstone.storage import ExportsInbox

refresh_users = dg.define_asset_job(
    "refresh_users",
    selection=[users_table, active_users],
    description="Builds one day of users_table and active_users, with their checks.",
)


@dg.schedule(target=refresh_users, cron_schedule="0 6 * * *", execution_timezone="Europe/Paris")
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every day at 06:00, Paris time, builds the last day that is over. The day is the run key:
    should this schedule ask for the same day twice, the daemon launches it once."""
    day = DAILY.get_partition_keys(current_time=context.scheduled_execution_time)[-1]
    return dg.RunRequest(run_key=day, partition_key=day)


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
