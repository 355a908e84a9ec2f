"""Incremental updates: rebuild only what changed, and say so declaratively.

Instead of a schedule that rebuilds everything, give an asset an `automation_condition` saying
when it is out of date: `dg.AutomationCondition.eager()` (whenever something upstream updates)
or `dg.AutomationCondition.on_cron("0 9 * * *")` (once per cron tick, after upstream updated).
Conditions are values, combined with `&`, `|` and `~`.

Deployed, the daemon evaluates conditions in ticks, through automation condition sensors. Yours
(`dg.AutomationConditionSensorDefinition`) cover the assets they target; Dagster adds
`default_automation_condition_sensor` (a tick every 30 seconds) for every other asset that has a
condition. Like other sensors they start stopped (`dg.DefaultSensorStatus.STOPPED`): nothing is
automated until the sensor is switched on, in the UI that `dg dev` serves, or in code with
`default_status=dg.DefaultSensorStatus.RUNNING`.

In a test, `dg.evaluate_automation_conditions(defs=..., instance=...)` runs one tick and tells
what it would request. Some conditions look at what changed since the tick before, which the
tick finds in a cursor: hand each call the previous result's `.cursor`. (This tester raises
Dagster's BetaWarning, as it uses a beta selection inside; the koans' pytest.ini hides it.)

Read next:
- https://docs.dagster.io/guides/automate/declarative-automation
- https://docs.dagster.io/guides/automate/declarative-automation/automation-condition-reference
"""

from datetime import datetime, timezone

import dagster as dg
import pandas as pd

from dagster_koans import __


def at(hour: int, minute: int, day: int = 6) -> datetime:
    """A moment of January 2025, in UTC. The 6th is a Monday."""
    return datetime(2025, 1, day, hour, minute, tzinfo=timezone.utc)


def requested(result: dg.EvaluateAutomationConditionsResult, defs: dg.Definitions) -> set[str]:
    """The names of the assets a tick requests."""
    keys = defs.resolve_all_asset_keys()
    return {key.to_user_string() for key in keys if result.get_num_requested(key)}


@dg.asset
def raw_users() -> pd.DataFrame:
    return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})


@dg.asset(automation_condition=dg.AutomationCondition.eager())
def active_users(raw_users: pd.DataFrame) -> pd.DataFrame:
    return raw_users[raw_users["active"]]


def test_an_eager_asset_waits_for_data_upstream(instance: dg.DagsterInstance) -> None:
    """`eager()` requests an asset when its upstream updates. Nothing has been materialized yet:
    what can the first tick ask for?"""
    defs = dg.Definitions(assets=[raw_users, active_users])

    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    assert result.total_requested == __


def test_materializing_upstream_requests_the_eager_asset(instance: dg.DagsterInstance) -> None:
    """The second tick sees that `raw_users` was materialized since the first, and requests
    `active_users`. To know what happened "since", it continues from the first tick."""
    defs = dg.Definitions(assets=[raw_users, active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    dg.materialize([raw_users], instance=instance)
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=__)

    assert (first.total_requested, requested(second, defs)) == (0, {"active_users"})


def test_without_the_cursor_eager_cannot_tell_new_data_from_old(
    instance: dg.DagsterInstance,
) -> None:
    """A tick without a cursor has no tick before it to compare with. What does `eager()` make
    of an upstream materialization that it sees for the first time?"""
    defs = dg.Definitions(assets=[raw_users, active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    dg.materialize([raw_users], instance=instance)

    forgetful = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    assert second.total_requested == 1
    assert forgetful.total_requested == __


def test_an_upstream_loaded_elsewhere_is_reported_to_the_instance(
    instance: dg.DagsterInstance,
) -> None:
    """When another system loads a table, Dagster knows it as a `dg.AssetSpec` and hears of each
    load through `instance.report_runless_asset_event(dg.AssetMaterialization(key))`. Each eager
    asset watches its own upstream."""
    raw_orders = dg.AssetSpec("raw_orders")
    raw_signups = dg.AssetSpec("raw_signups")

    @dg.asset(deps=[raw_orders], automation_condition=dg.AutomationCondition.eager())
    def order_totals() -> None: ...

    @dg.asset(deps=[raw_signups], automation_condition=dg.AutomationCondition.eager())
    def signup_totals() -> None: ...

    defs = dg.Definitions(assets=[raw_orders, raw_signups, order_totals, signup_totals])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_orders"))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    assert requested(second, defs) == __


def test_no_new_upstream_data_means_nothing_to_rebuild(instance: dg.DagsterInstance) -> None:
    """This is "only rebuild what changed": once a tick has requested `order_totals`, a later
    tick requests it again only if `raw_orders` got new data in between."""
    raw_orders = dg.AssetSpec("raw_orders")

    @dg.asset(deps=[raw_orders], automation_condition=dg.AutomationCondition.eager())
    def order_totals() -> None: ...

    defs = dg.Definitions(assets=[raw_orders, order_totals])
    ticks = [dg.evaluate_automation_conditions(defs=defs, instance=instance)]
    for new_orders in [True, False, True]:
        if new_orders:
            instance.report_runless_asset_event(dg.AssetMaterialization("raw_orders"))
        cursor = ticks[-1].cursor
        ticks.append(dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor))

    found = [requested(tick, defs) for tick in ticks[1:]]
    assert found == __


def test_eager_waits_until_every_upstream_has_data(instance: dg.DagsterInstance) -> None:
    """`new_active_users` reads two upstream assets, and data arrives for one of them first.
    What does `eager()` request at the tick in between, the `half` tick?"""
    raw_users = dg.AssetSpec("raw_users")
    raw_signups = dg.AssetSpec("raw_signups")

    @dg.asset(deps=[raw_users, raw_signups], automation_condition=dg.AutomationCondition.eager())
    def new_active_users() -> None: ...

    defs = dg.Definitions(assets=[raw_users, raw_signups, new_active_users])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    half = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_signups"))
    ready = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=half.cursor)

    assert requested(ready, defs) == {"new_active_users"}
    assert requested(half, defs) == __


def test_eager_requests_a_whole_chain_in_one_tick(instance: dg.DagsterInstance) -> None:
    """`active_user_count` sits below `active_users`, which this tick requests because
    `raw_users` has new data. Does `active_user_count` wait for a later tick, once
    `active_users` has been rebuilt?"""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.eager())
    def active_users() -> None: ...

    @dg.asset(deps=[active_users], automation_condition=dg.AutomationCondition.eager())
    def active_user_count() -> None: ...

    defs = dg.Definitions(assets=[raw_users, active_users, active_user_count])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    assert requested(result, defs) == __


def test_conditions_compose_with_and_or_not(instance: dg.DagsterInstance) -> None:
    """`missing()` is true while an asset has never been materialized, `any_deps_missing()` while
    one of its upstream assets has not. Unlike `eager()`, `missing()` needs no earlier tick: build
    `user_archive` once, on the first tick that finds its upstream there."""
    raw_users = dg.AssetSpec("raw_users")
    once = dg.AutomationCondition.missing() & __

    @dg.asset(deps=[raw_users], automation_condition=once)
    def user_archive() -> None: ...

    defs = dg.Definitions(assets=[raw_users, user_archive])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    without_cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    dg.materialize([user_archive], instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
    later = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    assert first.total_requested == 0
    assert without_cursor.total_requested == 1
    assert later.total_requested == 0


def test_on_cron_waits_for_its_tick(instance: dg.DagsterInstance) -> None:
    """`on_cron(cron)` requests an asset after each tick of its cron schedule, once every
    upstream asset has updated since that tick. `evaluation_time=` sets each tick's clock; new
    upstream data arrives before every tick here. At which of the times is `daily_report`
    requested?"""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.on_cron("0 9 * * *"))
    def daily_report() -> None: ...

    defs = dg.Definitions(assets=[raw_users, daily_report])
    dawn = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(7, 0))
    cursor = dawn.cursor
    requested_at = []
    for moment in [at(8, 0), at(8, 59), at(9, 1)]:
        instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
        tick = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=moment
        )
        cursor = tick.cursor
        if tick.total_requested:
            requested_at.append(moment.strftime("%H:%M"))

    assert requested_at == __


def test_on_cron_requests_at_most_once_per_tick(instance: dg.DagsterInstance) -> None:
    """Once `on_cron` has requested its asset, further upstream updates wait for the next cron
    tick, however often they come."""
    raw_users = dg.AssetSpec("raw_users")

    @dg.asset(deps=[raw_users], automation_condition=dg.AutomationCondition.on_cron("0 9 * * *"))
    def daily_report() -> None: ...

    defs = dg.Definitions(assets=[raw_users, daily_report])
    dawn = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at(7, 0))
    ticks = [dawn]
    for moment in [at(9, 5), at(12, 0), at(9, 5, day=7)]:
        instance.report_runless_asset_event(dg.AssetMaterialization("raw_users"))
        ticks.append(
            dg.evaluate_automation_conditions(
                defs=defs, instance=instance, cursor=ticks[-1].cursor, evaluation_time=moment
            )
        )

    assert [tick.total_requested for tick in ticks[1:]] == __


def test_the_default_sensor_covers_every_asset_no_sensor_of_yours_targets() -> None:
    """Deployed, a `dg.AutomationConditionSensorDefinition` runs the ticks in Dagster's daemon.
    Yours covers its `target`; Dagster adds `default_automation_condition_sensor` (every 30 s)
    for the other assets that have a condition."""

    @dg.asset(automation_condition=dg.AutomationCondition.on_cron("0 9 * * *"))
    def users_report() -> None: ...

    @dg.asset(automation_condition=dg.AutomationCondition.on_cron("0 9 * * *"))
    def orders_report() -> None: ...

    crm = dg.AutomationConditionSensorDefinition("crm_automation", target=[users_report])
    defs = dg.Definitions(assets=[users_report, orders_report], sensors=[crm])
    default = defs.resolve_sensor_def("default_automation_condition_sensor")

    assert default.minimum_interval_seconds == 30
    assert default.asset_selection.resolve([users_report, orders_report]) == {__}


def test_nothing_is_automated_until_a_sensor_is_switched_on() -> None:
    """A sensor's `default_status` says whether the daemon runs it from the moment it loads the
    project. Yours can be switched on in code; the one Dagster adds keeps the default of every
    sensor, and waits for someone to switch it on in the UI."""

    @dg.asset(automation_condition=dg.AutomationCondition.eager())
    def users_report() -> None: ...

    @dg.asset(automation_condition=dg.AutomationCondition.eager())
    def orders_report() -> None: ...

    crm = dg.AutomationConditionSensorDefinition(
        "crm_automation", target=[users_report], default_status=dg.DefaultSensorStatus.RUNNING
    )
    defs = dg.Definitions(assets=[users_report, orders_report], sensors=[crm])

    names = ["crm_automation", "default_automation_condition_sensor"]
    statuses = [defs.resolve_sensor_def(name).default_status for name in names]
    assert statuses == __
