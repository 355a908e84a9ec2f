"""Incremental updates: rebuild only what changed, and say so declaratively.

Instead of a schedule that rebuilds everything, give an asset an `automation_condition` saying
when it is out of date: `dg.AutomationCondition.eager()` (whenever something upstream updates)
or `dg.AutomationCondition.on_cron("0 9 * * *")` (once per cron tick, after upstream updated).
In a deployment a sensor evaluates every condition each 30 seconds and launches a run for what
they request. In a test, `dg.evaluate_automation_conditions(defs=..., instance=...)` runs one
such evaluation, a tick, and tells what it would request. A tick looks at what changed since the
tick before: hand it the previous result's `.cursor`. (This tester raises Dagster's BetaWarning,
as it uses a beta selection inside; the koans' pytest.ini hides it.)
"""

from datetime import datetime, timezone

import dagster as dg
import pandas as pd

from dagster_koans import __


def at(hour: int, minute: int, day: int = 6) -> datetime:
    """A moment of January 2025, in UTC. The 6th is a Monday."""
    return datetime(2025, 1, day, hour, minute, tzinfo=timezone.utc)


def test_an_eager_asset_waits_for_data_upstream(instance: dg.DagsterInstance) -> None:
    """`eager()` requests an asset when its upstream updates. Nothing has been materialized yet,
    so the first tick has nothing to react to."""

    @dg.asset
    def raw_users() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset(automation_condition=dg.AutomationCondition.eager())
    def active_users(raw_users: pd.DataFrame) -> pd.DataFrame:
        return raw_users[raw_users["active"]]

    defs = dg.Definitions(assets=[raw_users, active_users])
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    assert result.total_requested == __


def test_materializing_upstream_requests_the_eager_asset(instance: dg.DagsterInstance) -> None:
    """Give `active_users` the condition that requests it as soon as `raw_users` has new data.
    `result.get_num_requested(key)` counts what a tick requests for one asset."""

    @dg.asset
    def raw_users() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset(automation_condition=__)
    def active_users(raw_users: pd.DataFrame) -> pd.DataFrame:
        return raw_users[raw_users["active"]]

    defs = dg.Definitions(assets=[raw_users, active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    dg.materialize([raw_users], instance=instance)
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    assert first.total_requested == 0
    assert second.get_num_requested(active_users.key) == 1


def test_without_the_cursor_each_tick_is_a_first_look(instance: dg.DagsterInstance) -> None:
    """The cursor is the memory between ticks. A call without one is a first tick: it notes what
    exists and requests nothing, however new the data."""

    @dg.asset
    def raw_users() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset(automation_condition=dg.AutomationCondition.eager())
    def active_users(raw_users: pd.DataFrame) -> pd.DataFrame:
        return raw_users[raw_users["active"]]

    defs = dg.Definitions(assets=[raw_users, active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    dg.materialize([raw_users], instance=instance)
    forgetful = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=__)

    assert first.total_requested == 0
    assert forgetful.total_requested == 0
    assert second.total_requested == 1


def test_an_upstream_loaded_elsewhere_is_reported_to_the_instance(
    instance: dg.DagsterInstance,
) -> None:
    """When another system loads `raw_users`, Dagster knows it as a `dg.AssetSpec` and hears of
    each new load through `instance.report_runless_asset_event(dg.AssetMaterialization(key))`.
    An eager asset downstream reacts as it does to a run."""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.eager())
    def active_users() -> None: ...

    defs = dg.Definitions(assets=[raw_users, active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization(__))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    assert second.get_num_requested(active_users.key) == 1


def test_no_new_upstream_data_means_nothing_to_rebuild(instance: dg.DagsterInstance) -> None:
    """This is "only rebuild what changed": once a tick has requested `active_users`, a later
    tick requests it again only if `raw_users` got new data in between."""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.eager())
    def active_users() -> None: ...

    defs = dg.Definitions(assets=[raw_users, active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    requested = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=requested.cursor)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)

    assert requested.total_requested == 1
    assert quiet.total_requested == __
    assert again.total_requested == __


def test_an_asset_whose_upstream_did_not_change_is_left_alone(
    instance: dg.DagsterInstance,
) -> None:
    """Each eager asset watches its own upstream. `get_num_requested` takes an asset key (an
    `AssetKey`, or the asset's `.key`): a plain string counts nothing."""
    raw_users = dg.AssetSpec("raw_users")
    raw_orders = dg.AssetSpec("raw_orders")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.eager())
    def active_users() -> None: ...

    @dg.asset(deps=[raw_orders], automation_condition=dg.AutomationCondition.eager())
    def order_totals() -> None: ...

    defs = dg.Definitions(assets=[raw_users, raw_orders, active_users, order_totals])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_orders"))
    built = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=built.cursor)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_orders"))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)

    assert built.total_requested == 2
    assert result.get_num_requested(__) == 1
    assert result.total_requested == 1


def test_eager_waits_until_every_upstream_has_data(instance: dg.DagsterInstance) -> None:
    """`eager()` never requests an asset while one of its upstream assets has never been
    materialized: it would only fail to read it."""
    raw_users = dg.AssetSpec("raw_users")
    raw_signups = dg.AssetSpec("raw_signups")

    @dg.asset(deps=[raw_users, raw_signups], automation_condition=dg.AutomationCondition.eager())
    def new_active_users() -> None: ...

    defs = dg.Definitions(assets=[raw_users, raw_signups, new_active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    half = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    instance.report_runless_asset_event(dg.AssetMaterialization(__))
    ready = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=half.cursor)

    assert half.total_requested == 0
    assert ready.get_num_requested(new_active_users.key) == 1


def test_eager_requests_a_whole_chain_in_one_tick(instance: dg.DagsterInstance) -> None:
    """An eager asset also counts an upstream asset that the same tick requests as updated, so
    the whole chain below new data is requested at once, not one link per tick."""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.eager())
    def active_users() -> None: ...

    @dg.asset(deps=[active_users], automation_condition=dg.AutomationCondition.eager())
    def active_user_count() -> None: ...

    defs = dg.Definitions(assets=[raw_users, active_users, active_user_count])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    assert result.total_requested == __


def test_conditions_compose_with_and_or_not(instance: dg.DagsterInstance) -> None:
    """Conditions are values that combine with `&` (and), `|` (or) and `~` (not). `missing()`
    is true while an asset has never been materialized, `any_deps_missing()` while one of its
    upstream assets has not: build `user_archive` once, as soon as its upstream exists."""
    raw_users = dg.AssetSpec("raw_users")
    once = dg.AutomationCondition.missing() & __

    @dg.asset(deps=[raw_users], automation_condition=once)
    def user_archive() -> None: ...

    defs = dg.Definitions(assets=[raw_users, user_archive])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    dg.materialize([user_archive], instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    third = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)

    assert first.total_requested == 0
    assert second.total_requested == 1
    assert third.total_requested == 0


def test_on_cron_waits_for_its_tick_and_for_new_upstream_data(
    instance: dg.DagsterInstance,
) -> None:
    """`on_cron(cron)` requests an asset after each tick of its cron schedule, once every
    upstream asset has updated since that tick. Build `daily_report` every day at 09:00 (UTC);
    `evaluation_time=` sets each tick's clock."""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.on_cron(__))
    def daily_report() -> None: ...

    defs = dg.Definitions(assets=[raw_users, daily_report])
    dawn = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(7, 0))
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    early = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=dawn.cursor, evaluation_time=at(8, 30)
    )
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    on_time = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=early.cursor, evaluation_time=at(9, 5)
    )

    assert early.total_requested == 0
    assert on_time.get_num_requested(daily_report.key) == 1


def test_on_cron_requests_at_most_once_per_tick(instance: dg.DagsterInstance) -> None:
    """Once `on_cron` has requested its asset, further upstream updates wait for the next cron
    tick, however often they come."""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.on_cron("0 9 * * *"))
    def daily_report() -> None: ...

    defs = dg.Definitions(assets=[raw_users, daily_report])
    dawn = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(7, 0))
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    monday = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=dawn.cursor, evaluation_time=at(9, 5)
    )
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    noon = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=monday.cursor, evaluation_time=at(12, 0)
    )
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    tuesday = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=noon.cursor, evaluation_time=at(9, 5, day=7)
    )

    assert monday.total_requested == 1
    assert noon.total_requested == __
    assert tuesday.total_requested == 1


def test_a_sensor_evaluates_the_conditions_in_a_deployment() -> None:
    """Deployed, a `dg.AutomationConditionSensorDefinition` runs the ticks in Dagster's daemon.
    Yours covers its `target`; Dagster adds `default_automation_condition_sensor` (every 30 s)
    for every other asset that has a condition."""

    @dg.asset(automation_condition=dg.AutomationCondition.on_cron("0 9 * * *"))
    def users_report() -> None: ...

    @dg.asset(automation_condition=dg.AutomationCondition.on_cron("0 9 * * *"))
    def orders_report() -> None: ...

    crm = dg.AutomationConditionSensorDefinition("crm_automation", target=[users_report])
    defs = dg.Definitions(assets=[users_report, orders_report], sensors=[crm])
    default = defs.resolve_sensor_def("default_automation_condition_sensor")

    assert default.minimum_interval_seconds == 30
    assert default.asset_selection.resolve([users_report, orders_report]) == {__}
