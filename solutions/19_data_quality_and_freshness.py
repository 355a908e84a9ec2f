"""Data quality and freshness: checks a team can lean on.

Some metadata keys mean something to Dagster itself: `dagster/row_count` (an int) and
`dagster/column_schema` (a `dg.TableSchema` of `dg.TableColumn`s) get their own columns and tabs
in the asset catalog, and Dagster's check factories know them. `dg.build_metadata_bounds_checks`
checks that a number under the key you name, standard or your own, lies between bounds;
`dg.build_column_schema_change_checks` compares the `dagster/column_schema` of an asset's last two
materializations (both factories are beta). A factory's check reports a failure as `WARN` unless
it is given a `severity=`; a result you write yourself is `ERROR` unless it says otherwise.

`@dg.multi_asset_check(specs=[dg.AssetCheckSpec(...), ...])` runs several checks, on several
assets, in one function and one step. It must report a result for every spec it declares:
forgetting one raises `dg.DagsterStepOutputNotFoundError`. A failure is red in the UI when its
severity is `dg.AssetCheckSeverity.ERROR`, yellow when it is `WARN`; only an `ERROR` failure of a
check marked `blocking` stops what is downstream. A check on a partitioned asset can be
partitioned too, `@dg.asset_check(partitions_def=...)` (a preview since Dagster 1.12.14): it runs
in each partition's run and loads that partition only. Without `partitions_def`, a check that
takes the asset as input loads every partition at once.

Freshness says how old an asset may get. Dagster recommends a `dg.FreshnessPolicy` on the asset:
`FreshnessPolicy.time_window(fail_window=..., warn_window=...)` (never older than) or
`FreshnessPolicy.cron(deadline_cron=..., lower_bound_delta=...)` (made in a window before each
deadline). Nothing in a test run evaluates a policy. Once deployed, the freshness daemon inside
`dagster-daemon` (which `dg dev` starts too) compares every asset's latest materialization with
its policy every 30 seconds and records PASS, WARN, FAIL or UNKNOWN (never materialized), no
sensor needed. It judges by when the materialization happened, even if its metadata says the
data is older, and on a partitioned asset by the latest materialization of any partition: a
backfill of last year's days makes a daily asset "fresh". Pair it with a check that the latest
partition exists. The older way, superseded since Dagster 1.12 and warning `dg.SupersessionWarning`
when built, is freshness checks (`dg.build_last_update_freshness_checks`): ordinary asset checks
that run only when something launches them. Once deployed, that is the sensor
`dg.build_sensor_for_freshness_checks` builds, stopped until you turn it on, like every sensor.

Read next:
- https://docs.dagster.io/guides/test/asset-checks
- https://docs.dagster.io/guides/labs/freshness
"""

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___

USERS = pd.DataFrame({"id": [1, 2, 3], "name": ["ada", "grace", "linus"]})
ORDERS = pd.DataFrame({"user_id": [1, 1, 4], "amount": [30, 12, 5]})
ORPHANS_SQL = "SELECT COUNT(*) FROM orders WHERE user_id NOT IN (SELECT id FROM users)"


def write_table(db: Path, table: str, frame: pd.DataFrame) -> None:
    """Replace one table of the warehouse."""
    with closing(sqlite3.connect(db)) as conn, conn:
        frame.to_sql(table, conn, if_exists="replace", index=False)


def column_schema(db: Path, table: str) -> dg.TableSchema:
    """The table's columns and types, as the warehouse itself declares them."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name, kind) for _, name, kind, *_ in rows])


def crm_sync_into(db: Path) -> dg.AssetsDefinition:
    """A multi-asset that loads the users and orders tables into the warehouse."""

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders")])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        for name, frame in {"users": USERS, "orders": ORDERS}.items():
            write_table(db, name, frame)
            yield dg.MaterializeResult(asset_key=name, metadata={"dagster/row_count": len(frame)})

    return crm_sync


def test_a_column_schema_is_metadata_dagster_understands(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Report the columns under `dagster/column_schema` as a `dg.TableSchema`, and the UI lists
    them on the asset's page. Like any metadata value, it is stored wrapped in a typed entry."""
    db = tmp_path / "warehouse.db"

    @dg.asset
    def users() -> dg.MaterializeResult:
        write_table(db, "users", USERS)
        schema = column_schema(db, "users")
        return dg.MaterializeResult(
            metadata={"dagster/row_count": len(USERS), "dagster/column_schema": schema}
        )

    result = dg.materialize([users], instance=instance)

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    entry = metadata["dagster/column_schema"]
    assert isinstance(entry, dg.TableSchemaMetadataValue)
    assert [(column.name, column.type) for column in entry.schema.columns] == [
        ("id", "INTEGER"),
        ("name", "TEXT"),
    ]


def test_a_bounds_check_reads_only_the_key_it_is_given(instance: dg.DagsterInstance) -> None:
    """`dg.build_metadata_bounds_checks` builds a check per asset that reads one numeric entry of
    the asset's latest materialization, the one under `metadata_key`, and checks that it lies
    between bounds. The two assets count their rows under different keys."""

    @dg.asset
    def active_users() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"dagster/row_count": 2})

    @dg.asset
    def dormant_users() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"row_count": 1})

    checks = dg.build_metadata_bounds_checks(
        assets=[active_users, dormant_users], metadata_key="dagster/row_count", min_value=1
    )
    result = dg.materialize([active_users, dormant_users, *checks], instance=instance)

    evaluations = result.get_asset_check_evaluations()
    passed = {e.asset_key.to_user_string(): e.passed for e in evaluations}
    assert passed == {"active_users": True, "dormant_users": False}


def test_a_schema_change_check_compares_the_last_two_materializations(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`dg.build_column_schema_change_checks` compares the `dagster/column_schema` of each asset's
    latest materialization with the one before (with no earlier one, it passes). Yesterday's
    materializations are recorded; since then, the users table has gained a column."""
    db = tmp_path / "warehouse.db"
    for name, frame in {"users": USERS, "orders": ORDERS}.items():
        write_table(db, name, frame)
        schema = column_schema(db, name)
        yesterday = dg.AssetMaterialization(name, metadata={"dagster/column_schema": schema})
        instance.report_runless_asset_event(yesterday)
    emails = ["ada@example.com", "grace@example.com", "linus@example.com"]

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders")])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        for name, frame in {"users": USERS.assign(email=emails), "orders": ORDERS}.items():
            write_table(db, name, frame)
            schema = column_schema(db, name)
            yield dg.MaterializeResult(asset_key=name, metadata={"dagster/column_schema": schema})

    checks = dg.build_column_schema_change_checks(assets=[crm_sync])
    result = dg.materialize([crm_sync, *checks], instance=instance)

    evaluations = result.get_asset_check_evaluations()
    passed = {e.asset_key.to_user_string(): e.passed for e in evaluations}
    assert passed == {"users": False, "orders": True}


def test_a_blocking_check_may_fail_with_a_warning(instance: dg.DagsterInstance) -> None:
    """`active_users` is empty, and its check `not_empty` is blocking. The check fails, but this
    result says its severity is `WARN`. Which assets were materialized?"""

    @dg.asset(check_specs=[dg.AssetCheckSpec("not_empty", asset="active_users", blocking=True)])
    def active_users() -> dg.MaterializeResult:
        warn = dg.AssetCheckSeverity.WARN
        check = dg.AssetCheckResult(check_name="not_empty", passed=False, severity=warn)
        return dg.MaterializeResult(metadata={"dagster/row_count": 0}, check_results=[check])

    @dg.asset(deps=[active_users])
    def welcome_emails() -> None:
        pass

    result = dg.materialize([active_users, welcome_emails], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.passed, evaluation.severity.value) == (False, "WARN")
    made = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert made == {"active_users", "welcome_emails"}


def test_one_multi_asset_check_checks_several_assets(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`@dg.multi_asset_check(specs=[...])` declares checks on several assets and runs them in one
    function; each result names its `asset_key` and `check_name`. These read the warehouse."""
    db = tmp_path / "warehouse.db"
    specs = [
        dg.AssetCheckSpec("ids_are_unique", asset="users"),
        dg.AssetCheckSpec("orders_have_users", asset="orders"),
    ]

    @dg.multi_asset_check(specs=specs)
    def warehouse_integrity() -> Iterator[dg.AssetCheckResult]:
        with closing(sqlite3.connect(db)) as conn:
            [(duplicates,)] = conn.execute("SELECT COUNT(*) - COUNT(DISTINCT id) FROM users")
            [(orphans,)] = conn.execute(ORPHANS_SQL)
        yield dg.AssetCheckResult(
            asset_key="users", check_name="ids_are_unique", passed=duplicates == 0
        )
        yield dg.AssetCheckResult(
            asset_key="orders", check_name="orders_have_users", passed=orphans == 0
        )

    result = dg.materialize([crm_sync_into(db), warehouse_integrity], instance=instance)

    passed = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert passed == {"ids_are_unique": True, "orders_have_users": False}


def test_a_multi_asset_check_must_report_every_spec(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A multi-asset check promises a result for each of its specs, as a multi-asset with `outs=`
    promises an output for each (a multi-asset of `AssetSpec`s quietly records a key it forgot)."""
    db = tmp_path / "warehouse.db"
    specs = [
        dg.AssetCheckSpec("ids_are_unique", asset="users"),
        dg.AssetCheckSpec("orders_have_users", asset="orders"),
    ]

    @dg.multi_asset_check(specs=specs)
    def warehouse_integrity() -> Iterator[dg.AssetCheckResult]:
        with closing(sqlite3.connect(db)) as conn:
            [(duplicates,)] = conn.execute("SELECT COUNT(*) - COUNT(DISTINCT id) FROM users")
        yield dg.AssetCheckResult(
            asset_key="users", check_name="ids_are_unique", passed=duplicates == 0
        )

    with pytest.raises(dg.DagsterStepOutputNotFoundError):
        dg.materialize([crm_sync_into(db), warehouse_integrity], instance=instance)


def test_a_blocking_multi_asset_check_is_one_gate(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Each spec may be `blocking=True`. Only the check on `orders` fails here, with the default
    `ERROR` severity; `users` passes its check, and `user_directory` is built from `users`."""
    db = tmp_path / "warehouse.db"
    specs = [
        dg.AssetCheckSpec("ids_are_unique", asset="users", blocking=True),
        dg.AssetCheckSpec("orders_have_users", asset="orders", blocking=True),
    ]

    @dg.multi_asset_check(specs=specs)
    def warehouse_integrity() -> Iterator[dg.AssetCheckResult]:
        with closing(sqlite3.connect(db)) as conn:
            [(duplicates,)] = conn.execute("SELECT COUNT(*) - COUNT(DISTINCT id) FROM users")
            [(orphans,)] = conn.execute(ORPHANS_SQL)
        yield dg.AssetCheckResult(
            asset_key="users", check_name="ids_are_unique", passed=duplicates == 0
        )
        yield dg.AssetCheckResult(
            asset_key="orders", check_name="orders_have_users", passed=orphans == 0
        )

    @dg.asset(deps=["users"])
    def user_directory() -> None:
        write_table(db, "user_directory", USERS[["name"]])

    everything = [crm_sync_into(db), warehouse_integrity, user_directory]
    result = dg.materialize(everything, instance=instance, raise_on_error=False)

    ran = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert ran == {"users", "orders"}


def test_a_partitioned_check_checks_one_day_at_a_time(instance: dg.DagsterInstance) -> None:
    """`no_one_signs_up_twice` is partitioned like `signups`: each day's run checks the day it
    has just built. Ada signed up on 1 May, and again on 2 May."""
    daily = dg.DailyPartitionsDefinition(start_date="2024-05-01")
    days = {"2024-05-01": ["ada", "grace"], "2024-05-02": ["linus", "ada"]}

    @dg.asset(partitions_def=daily)
    def signups(context: dg.AssetExecutionContext) -> list[str]:
        return days[context.partition_key]

    @dg.asset_check(asset=signups, partitions_def=daily)
    def no_one_signs_up_twice(signups: list[str]) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=len(set(signups)) == len(signups))

    runs = [
        dg.materialize([signups, no_one_signs_up_twice], partition_key=day, instance=instance)
        for day in days
    ]

    evaluations = [e for run in runs for e in run.get_asset_check_evaluations()]
    assert {e.partition: e.passed for e in evaluations} == {"2024-05-01": True, "2024-05-02": True}


def test_one_freshness_policy_can_be_applied_to_many_assets() -> None:
    """`dg.apply_freshness_policy(spec, policy)` returns a spec with the policy; with
    `dg.map_asset_specs` it reaches every spec of a multi-asset, such as an integration builds.
    `overwrite_existing=False` leaves alone a spec that already has a policy."""
    daily = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=24))
    hourly = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=1))

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders", freshness_policy=hourly)])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        yield dg.MaterializeResult(asset_key="users")
        yield dg.MaterializeResult(asset_key="orders")

    [synced] = dg.map_asset_specs(
        lambda spec: dg.apply_freshness_policy(spec, daily, overwrite_existing=False), [crm_sync]
    )

    policies = {spec.key.to_user_string(): spec.freshness_policy for spec in synced.specs}
    assert policies == {"users": daily, "orders": hourly}


def test_an_automation_condition_can_read_the_freshness_state(instance: dg.DagsterInstance) -> None:
    """`dg.AutomationCondition.freshness_passed()` is true for an asset whose recorded freshness
    state is PASS. `users` was materialized a moment ago, well inside its 24 hours."""
    daily = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=24))

    @dg.asset(
        freshness_policy=daily, automation_condition=dg.AutomationCondition.freshness_passed()
    )
    def users() -> None:
        pass

    dg.materialize([users], instance=instance)
    tick = dg.evaluate_automation_conditions(defs=dg.Definitions(assets=[users]), instance=instance)

    assert tick.get_num_requested(users.key) == 0


def test_a_freshness_check_of_a_new_materialization_of_old_data(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The older, superseded way: `dg.build_last_update_freshness_checks` builds checks that pass
    when the asset's latest update lies within `lower_bound_delta` of now. A materialization may say
    when its data really changed, under `dagster/last_updated_timestamp`: here, a file's time.
    The asset was materialized a moment ago from a file three hours old: does its check pass?"""
    export = tmp_path / "users.csv"
    USERS.to_csv(export, index=False)
    three_hours_ago = int(time.time()) - 3 * 60 * 60
    os.utime(export, (three_hours_ago, three_hours_ago))

    @dg.asset
    def users() -> dg.MaterializeResult:
        write_table(tmp_path / "warehouse.db", "users", pd.read_csv(export))
        changed = dg.MetadataValue.timestamp(export.stat().st_mtime)
        return dg.MaterializeResult(metadata={"dagster/last_updated_timestamp": changed})

    with pytest.warns(dg.SupersessionWarning):
        checks = dg.build_last_update_freshness_checks(
            assets=[users], lower_bound_delta=timedelta(hours=1)
        )
    result = dg.materialize([users, *checks], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.metadata["dagster/last_updated_timestamp"].value == export.stat().st_mtime
    assert evaluation.passed == False  # noqa: E712


def test_the_freshness_sensor_reruns_a_failed_check_after_an_update(
    instance: dg.DagsterInstance,
) -> None:
    """Deployed, freshness checks run when their sensor asks. Each tick it requests the checks
    that never ran, the passed ones whose asset may have gone stale, and the failed ones whose
    asset was updated since."""

    @dg.asset
    def users() -> None:
        pass

    with pytest.warns(dg.SupersessionWarning):
        checks = dg.build_last_update_freshness_checks(
            assets=[users], lower_bound_delta=timedelta(hours=1)
        )
        sensor = dg.build_sensor_for_freshness_checks(freshness_checks=checks)
    defs = dg.Definitions(assets=[users], asset_checks=checks, sensors=[sensor])

    context = dg.build_sensor_context(instance=instance, definitions=defs)

    first = sensor.evaluate_tick(context)
    dg.materialize([users, *checks], selection=dg.AssetSelection.checks(*checks), instance=instance)
    second = sensor.evaluate_tick(context)
    instance.report_runless_asset_event(dg.AssetMaterialization("users"))
    third = sensor.evaluate_tick(context)

    assert [len(t.run_requests) for t in (first, second, third)] == [1, 0, 1]
