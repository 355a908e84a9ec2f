"""The assets: the users who signed up each day, the active ones among them, and their checks."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from capstone.storage import UsersDatabase

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
