"""Multi-assets and specs: one function that makes several assets.

Some work makes many tables at once: one call to a CRM returns users and orders, one `dbt build`
makes a whole project of models, one Sling or dlt sync loads a database. Dagster models it as
`@dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders")])`: each `dg.AssetSpec`
describes one asset (its key, its `deps=`, group, description, metadata) and the function
reports each one with `dg.MaterializeResult(asset_key=...)`. The dbt, Sling and dlt integrations
build exactly this for you, all three with `can_subset=True` (below). The data stays where the
function wrote it (here a sqlite warehouse), so an asset downstream names it in `deps=` instead
of taking it as a parameter.

A multi-asset is one step of a run and runs whole, unless it declares `can_subset=True` and reads
`context.selected_asset_keys` to build only what the run selected. When a few ops together make
one asset, `@dg.graph_asset` puts them behind one key.

Two errors guard the specs: `dg.DagsterInvariantViolationError` (something happened that Dagster
says cannot, checked while the step runs) and `dg.DagsterInvalidDefinitionError` (definitions that
do not fit together, found before anything runs).

Read next:
- https://docs.dagster.io/integrations/guides/multi-asset-integration
- https://docs.dagster.io/guides/build/assets/graph-backed-assets
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___

USERS = pd.DataFrame({"id": [1, 2, 3], "name": ["ada", "grace", "linus"]})
ORDERS = pd.DataFrame({"user_id": [1, 1, 3], "amount": [30, 12, 5]})
TOTALS_SQL = (
    "CREATE TABLE order_totals AS SELECT user_id, SUM(amount) AS total FROM orders GROUP BY 1"
)


def write_table(db: Path, table: str, frame: pd.DataFrame) -> None:
    """Replace one table of the warehouse, as an ingestion tool would."""
    with closing(sqlite3.connect(db)) as conn, conn:
        frame.to_sql(table, conn, if_exists="replace", index=False)


def tables(db: Path) -> list[str]:
    """The tables the warehouse holds, by name."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [name for (name,) in rows]


def materialized(result: dg.ExecuteInProcessResult) -> list[str]:
    """The keys a run materialized, in the order it materialized them."""
    events = result.get_asset_materialization_events()
    return [event.asset_key.to_user_string() for event in events]


def test_one_function_makes_several_assets_in_one_step(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Dagster calls a multi-asset's function once, as one step of the run, and records one
    materialization for each key it reports."""
    db = tmp_path / "warehouse.db"

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders")])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        write_table(db, "users", USERS)
        yield dg.MaterializeResult(asset_key="users", metadata={"dagster/row_count": len(USERS)})
        write_table(db, "orders", ORDERS)
        yield dg.MaterializeResult(asset_key="orders", metadata={"dagster/row_count": len(ORDERS)})

    result = dg.materialize([crm_sync], instance=instance)

    steps = [event.step_key for event in result.all_events if event.is_step_success]
    assert materialized(result) == ["users", "orders"]
    assert steps == ["crm_sync"]


def test_a_key_that_no_spec_declares_fails_the_step(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The specs are a contract. A result for a key that no spec declares (a typo, or a table
    added to the sync but not to the specs) stops the step."""
    db = tmp_path / "warehouse.db"

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders")])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        write_table(db, "users", USERS)
        yield dg.MaterializeResult(asset_key="users")
        write_table(db, "orders", ORDERS)
        yield dg.MaterializeResult(asset_key="order")

    with pytest.raises(dg.DagsterInvariantViolationError):
        dg.materialize([crm_sync], instance=instance)


def test_a_spec_the_function_forgets_is_recorded_anyway(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Careful: in this form, where results carry no value, forgetting a spec raises nothing. Look
    at what the run recorded, and at what the warehouse holds."""
    db = tmp_path / "warehouse.db"

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders")])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        write_table(db, "users", USERS)
        yield dg.MaterializeResult(asset_key="users")

    result = dg.materialize([crm_sync], instance=instance)

    assert tables(db) == ["users"]
    assert materialized(result) == ["users", "orders"]


def test_a_skippable_spec_may_be_left_out(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    """A spec marked `skippable=True` says the function may have nothing for it: when it is not
    reported, nothing is recorded for it. (Every spec of a `can_subset` multi-asset is so.)"""
    db = tmp_path / "warehouse.db"
    new_orders = ORDERS.iloc[0:0]

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders", skippable=True)])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        write_table(db, "users", USERS)
        yield dg.MaterializeResult(asset_key="users")
        if len(new_orders):
            write_table(db, "orders", new_orders)
            yield dg.MaterializeResult(asset_key="orders")

    result = dg.materialize([crm_sync], instance=instance)

    assert materialized(result) == ["users"]


def test_deps_between_specs_draw_lineage_inside_one_multi_asset() -> None:
    """A spec's `deps=` names what it is built from, even a sibling in the same multi-asset (the
    function must then report the sibling first). Lineage is per key, not per function."""

    @dg.multi_asset(
        specs=[
            dg.AssetSpec("users"),
            dg.AssetSpec("orders"),
            dg.AssetSpec("order_totals", deps=["orders"]),
        ]
    )
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        yield dg.MaterializeResult(asset_key="users")
        yield dg.MaterializeResult(asset_key="orders")
        yield dg.MaterializeResult(asset_key="order_totals")

    upstream = dg.AssetSelection.assets("order_totals").upstream().resolve([crm_sync])

    assert {key.to_user_string() for key in upstream} == {"orders", "order_totals"}


def test_deps_reach_assets_outside_the_multi_asset(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A spec can depend on a plain asset, and a plain asset on one key of a multi-asset, both with
    `deps=`. The run orders its steps by that lineage, whatever order the list is in."""
    db, export = tmp_path / "warehouse.db", tmp_path / "crm_export.csv"

    @dg.asset
    def crm_export() -> dg.MaterializeResult:
        USERS.to_csv(export, index=False)
        return dg.MaterializeResult()

    @dg.multi_asset(specs=[dg.AssetSpec("users", deps=[crm_export]), dg.AssetSpec("orders")])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        write_table(db, "users", pd.read_csv(export))
        yield dg.MaterializeResult(asset_key="users")
        write_table(db, "orders", ORDERS)
        yield dg.MaterializeResult(asset_key="orders")

    @dg.asset(deps=["orders"])
    def revenue() -> dg.MaterializeResult:
        with closing(sqlite3.connect(db)) as conn:
            [(total,)] = conn.execute("SELECT SUM(amount) FROM orders")
        return dg.MaterializeResult(metadata={"total": total})

    result = dg.materialize([revenue, crm_sync, crm_export], instance=instance)

    assert materialized(result) == ["crm_export", "users", "orders", "revenue"]


def test_a_multi_asset_runs_whole_unless_it_can_subset(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A multi-asset without `can_subset=True` can only run whole: a run that selects some of its
    keys is refused before it starts."""
    db = tmp_path / "warehouse.db"

    @dg.multi_asset(specs=[dg.AssetSpec("users"), dg.AssetSpec("orders")])
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        write_table(db, "users", USERS)
        yield dg.MaterializeResult(asset_key="users")
        write_table(db, "orders", ORDERS)
        yield dg.MaterializeResult(asset_key="orders")

    with pytest.raises(dg.DagsterInvalidDefinitionError) as refused:
        dg.materialize([crm_sync], selection=["orders"], instance=instance)

    assert "does not support subsetting" in str(refused.value.__cause__)


def test_a_selection_can_grow_to_the_multi_assets_it_needs() -> None:
    """`.required_multi_asset_neighbors()` adds to a selection every other key of each multi-asset
    it touches that cannot subset: the selection such a run needs."""
    crm = [dg.AssetSpec("users"), dg.AssetSpec("orders")]
    billing = [dg.AssetSpec("invoices"), dg.AssetSpec("payments")]

    @dg.multi_asset(specs=crm)
    def crm_sync() -> Iterator[dg.MaterializeResult]:
        yield from (dg.MaterializeResult(asset_key=spec.key) for spec in crm)

    @dg.multi_asset(specs=billing, can_subset=True)
    def billing_sync(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        for spec in billing:
            if spec.key in context.selected_asset_keys:
                yield dg.MaterializeResult(asset_key=spec.key)

    selection = dg.AssetSelection.assets("orders", "invoices").required_multi_asset_neighbors()
    keys = selection.resolve([crm_sync, billing_sync])

    assert {key.to_user_string() for key in keys} == {"users", "orders", "invoices"}


def test_can_subset_builds_only_what_the_run_selected(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """With `can_subset=True` a run may select some keys; `context.selected_asset_keys` tells the
    function which, and a well-behaved function loads only those tables."""
    db = tmp_path / "warehouse.db"
    sources = {"users": USERS, "orders": ORDERS}

    @dg.multi_asset(specs=[dg.AssetSpec(name) for name in sources], can_subset=True)
    def crm_sync(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        for name, frame in sources.items():
            if dg.AssetKey(name) in context.selected_asset_keys:
                write_table(db, name, frame)
                yield dg.MaterializeResult(asset_key=name)

    dg.materialize([crm_sync], selection=["orders"], instance=instance)

    assert tables(db) == ["orders"]


def test_selecting_a_key_does_not_select_its_upstream(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """An earlier sync left `orders` in the warehouse; now a run selects `order_totals` alone, as
    you would by clicking it in the UI. The function builds what is selected from what is stored."""
    db = tmp_path / "warehouse.db"
    write_table(db, "orders", ORDERS)
    specs = [dg.AssetSpec("orders"), dg.AssetSpec("order_totals", deps=["orders"])]
    seen: list[set[str]] = []

    @dg.multi_asset(specs=specs, can_subset=True)
    def crm_sync(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        selected = {key.to_user_string() for key in context.selected_asset_keys}
        seen.append(selected)
        if "orders" in selected:
            write_table(db, "orders", ORDERS)
            yield dg.MaterializeResult(asset_key="orders")
        if "order_totals" in selected:
            with closing(sqlite3.connect(db)) as conn, conn:
                conn.execute("DROP TABLE IF EXISTS order_totals")
                conn.execute(TOTALS_SQL)
            yield dg.MaterializeResult(asset_key="order_totals")

    dg.materialize([crm_sync], selection=["order_totals"], instance=instance)

    assert tables(db) == ["order_totals", "orders"]
    assert seen == [{"order_totals"}]


def test_the_older_form_returns_one_value_per_asset_out(instance: dg.DagsterInstance) -> None:
    """The older form, still met in many projects: `outs={"name": dg.AssetOut()}` and a returned
    tuple, one value per out, in order. Each value goes through the IO manager, as a plain
    asset's does, so assets downstream take them as parameters; an out left without a value
    fails the step (`dg.DagsterStepOutputNotFoundError`). What does the default IO manager keep
    in the instance's storage folder after this run?"""

    @dg.multi_asset(outs={"users": dg.AssetOut(), "orders": dg.AssetOut()})
    def crm_extract() -> tuple[pd.DataFrame, pd.DataFrame]:
        return USERS, ORDERS

    @dg.asset
    def big_orders(orders: pd.DataFrame) -> pd.DataFrame:
        return orders[orders["amount"] >= 10]

    result = dg.materialize([crm_extract, big_orders], instance=instance)

    stored = sorted(path.name for path in Path(instance.storage_directory()).iterdir())
    assert len(result.asset_value("big_orders")) == 2
    assert stored == ["big_orders", "orders", "users"]


def test_a_graph_asset_puts_several_ops_behind_one_asset(instance: dg.DagsterInstance) -> None:
    """`@dg.graph_asset` wires a few ops into one asset whose value is the graph's last output.
    Each op is a step of its own; only the asset is materialized."""

    @dg.op
    def fetch_names() -> list[str]:
        return [" Ada ", "grace", "ada"]

    @dg.op
    def clean(names: list[str]) -> list[str]:
        return sorted({name.strip().lower() for name in names})

    @dg.graph_asset
    def user_names() -> list[str]:
        return clean(fetch_names())

    result = dg.materialize([user_names], instance=instance)

    steps = [event.step_key for event in result.all_events if event.is_step_success]
    assert result.asset_value("user_names") == ["ada", "grace"]
    assert (len(steps), len(materialized(result))) == (2, 1)


def test_a_graph_multi_asset_maps_graph_outputs_to_assets(instance: dg.DagsterInstance) -> None:
    """`@dg.graph_multi_asset(outs={...})` does the same for several assets: the graph returns a
    dict from each asset's out name to the op output that becomes it."""

    @dg.op
    def fetch_users() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.op(out={"active": dg.Out(), "inactive": dg.Out()})
    def split(users: pd.DataFrame) -> tuple[list[str], list[str]]:
        return list(users[users["active"]]["name"]), list(users[~users["active"]]["name"])

    @dg.graph_multi_asset(outs={"active_users": dg.AssetOut(), "dormant_users": dg.AssetOut()})
    def users_by_status() -> dict[str, list[str]]:
        active, inactive = split(fetch_users())
        return {"active_users": active, "dormant_users": inactive}

    result = dg.materialize([users_by_status], instance=instance)

    assert result.asset_value("dormant_users") == ["grace"]
