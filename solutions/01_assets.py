"""Assets: the things your pipeline makes.

An asset is a table, a file or a model that your code keeps up to date. In Dagster you write it
as a function decorated with `@dg.asset`: the function's name becomes the asset's key, and a
parameter named after another asset says "build that one first and hand me its value". Running
assets is called materializing them; `dg.materialize` does it and gives back a result that holds
every output. `instance` is a quiet, temporary Dagster instance the koans hand you: it records
each run and each materialization, as a deployed Dagster does in its database.

Dagster checks how your assets fit together before it runs any of them. A parameter that names
an asset nobody defines, or two assets with one key, is a mistake in the definitions themselves,
and Dagster refuses it with `dg.DagsterInvalidDefinitionError`.

Read next:
- https://docs.dagster.io/guides/build/assets/defining-assets
- https://docs.dagster.io/guides/build/assets/defining-assets-with-asset-dependencies
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __


def test_an_asset_key_comes_from_the_function_name() -> None:
    """Every asset has a key that names it everywhere in Dagster. Nothing in this decorator names
    the asset, so Dagster takes the key from the function."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    assert users_table.key == dg.AssetKey("users_table")


def test_calling_an_asset_directly_is_a_plain_call() -> None:
    """The decorator keeps your function: calling it runs its body and returns the plain value,
    which makes a unit test easy. A direct call is not a run: Dagster records nothing, and you
    hand the function its inputs yourself."""
    calls: list[str] = []

    @dg.asset
    def users_table() -> pd.DataFrame:
        calls.append("users_table")
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        calls.append("active_users")
        return users_table[users_table["active"]]

    test_users = pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})
    active = active_users(test_users)

    assert list(active["name"]) == ["ada"]
    assert calls == ["active_users"]


def test_materialize_records_its_work_in_the_instance(instance: dg.DagsterInstance) -> None:
    """`dg.materialize` runs assets as Dagster does: it records in the instance the runs it
    starts and each asset's materialization, and its result holds every output, read by key."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def user_count() -> int:
        return 3

    result = dg.materialize([users_table, user_count], instance=instance)

    assert result.success
    assert list(result.asset_value("users_table")["name"]) == ["ada", "grace", "linus"]
    assert instance.get_latest_materialization_event(dg.AssetKey("user_count")) is not None
    assert instance.get_runs_count() == 1


def test_a_parameter_named_after_an_asset_sets_the_order(instance: dg.DagsterInstance) -> None:
    """A parameter named like another asset makes that asset upstream: Dagster draws the lineage
    between them, decides the order from it, and passes the upstream value in."""
    calls: list[str] = []

    @dg.asset
    def users_table() -> pd.DataFrame:
        calls.append("users_table")
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        calls.append("active_users")
        return users_table[users_table["active"]]

    result = dg.materialize([active_users, users_table], instance=instance)

    assert active_users.dependency_keys == {dg.AssetKey("users_table")}
    assert list(result.asset_value("active_users")["name"]) == ["ada", "linus"]
    assert calls == ["users_table", "active_users"]


def test_a_parameter_that_names_no_asset_is_an_invalid_definition(
    instance: dg.DagsterInstance,
) -> None:
    """Dagster reads a parameter's name, not its type. A name that matches no asset makes a
    dependency on an asset nobody defined, and `dg.materialize` refuses to run it."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users: pd.DataFrame) -> pd.DataFrame:  # meant: users_table
        return users[users["active"]]

    assert active_users.dependency_keys == {dg.AssetKey("users")}
    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.materialize([users_table, active_users], instance=instance)


def test_deps_makes_a_dependency_that_passes_no_data(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """When an asset reads what another wrote somewhere else (a file, a database), list that
    asset in `deps=[...]`: Dagster runs it first but passes no value."""
    users_file = tmp_path / "users.parquet"

    @dg.asset
    def users_parquet() -> None:
        users = pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})
        users.to_parquet(users_file)

    @dg.asset(deps=[users_parquet])
    def active_user_count() -> int:
        users = pd.read_parquet(users_file)
        return int(users["active"].sum())

    result = dg.materialize([active_user_count, users_parquet], instance=instance)

    assert active_user_count.dependency_keys == {dg.AssetKey("users_parquet")}
    assert result.asset_value("active_user_count") == 2


def test_an_asset_given_a_docstring_and_a_description_keeps_one() -> None:
    """An asset's description, shown beside it in the UI, comes from its docstring or from
    `description=` in the decorator. This asset is given both, and Dagster keeps one of them."""

    @dg.asset(description="Users who signed up, one row each.")
    def users_table() -> pd.DataFrame:
        """Everyone who signed up."""
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    assert users_table.get_asset_spec().description == "Users who signed up, one row each."


def test_an_asset_given_no_group_still_has_one() -> None:
    """`group_name` files an asset under a named group in the UI. An asset given none still
    belongs to a group: the one Dagster makes for it."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset(group_name="crm")
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    assert active_users.get_asset_spec().group_name == "crm"
    assert users_table.get_asset_spec().group_name == "default"


def test_key_prefix_puts_a_path_in_front_of_the_key() -> None:
    """A key is a path of names, like folders; `key_prefix` puts names in front of the function's
    name. `to_user_string()` prints the key as the UI shows it."""

    @dg.asset(key_prefix=["warehouse", "crm"])
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    assert users_table.key.to_user_string() == "warehouse/crm/users_table"


def test_what_a_parameter_names_under_a_key_prefix(instance: dg.DagsterInstance) -> None:
    """Careful with prefixes: both assets below live under `crm`, and the downstream one names
    its upstream by parameter, as in the earlier koans. Which key does that parameter name?
    `ins={...: dg.AssetIn(key=...)}` points a parameter at a key of your choice."""

    @dg.asset(key_prefix="crm")
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset(key_prefix="crm")
    def naive_active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    assert naive_active_users.dependency_keys == {dg.AssetKey("users_table")}

    @dg.asset(key_prefix="crm", ins={"users_table": dg.AssetIn(key=["crm", "users_table"])})
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    result = dg.materialize([users_table, active_users], instance=instance)
    assert list(result.asset_value(["crm", "active_users"])["name"]) == ["ada", "linus"]


def test_downstream_walks_the_lineage_down_from_an_asset() -> None:
    """`dg.AssetSelection.assets(x).downstream()` picks assets by walking the lineage down from
    `x`; `.resolve(...)` turns the selection into the keys it picks among the assets given."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    @dg.asset
    def active_user_count(active_users: pd.DataFrame) -> int:
        return len(active_users)

    @dg.asset
    def orders_table() -> pd.DataFrame:
        return pd.DataFrame({"user": ["ada", "linus"], "amount": [12.5, 7.0]})

    selection = dg.AssetSelection.assets(active_users).downstream()
    picked = selection.resolve([users_table, active_users, active_user_count, orders_table])

    assert picked == {dg.AssetKey("active_users"), dg.AssetKey("active_user_count")}


def test_materialize_can_run_only_a_selection(instance: dg.DagsterInstance) -> None:
    """`dg.materialize(..., selection=...)` runs only the selected assets. `.upstream()` walks the
    lineage up instead, so the selection has everything it needs to run."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    @dg.asset
    def active_user_count(active_users: pd.DataFrame) -> int:
        return len(active_users)

    @dg.asset
    def orders_table() -> pd.DataFrame:
        return pd.DataFrame({"user": ["ada", "linus"], "amount": [12.5, 7.0]})

    everything = [users_table, active_users, active_user_count, orders_table]
    upstream = dg.AssetSelection.assets(active_user_count).upstream()

    result = dg.materialize(everything, selection=upstream, instance=instance)

    ran = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert ran == {"users_table", "active_users", "active_user_count"}
