"""Assets: the things your pipeline makes.

An asset is a table, a file or a model that your code keeps up to date. In Dagster you write it
as a function decorated with `@dg.asset`: the function's name becomes the asset's key, and a
parameter named after another asset says "build that one first and hand me its value". Running
assets is called materializing them; `dg.materialize` does it and gives back a result that holds
every output. `instance` is a quiet, temporary Dagster instance the koans hand you.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from dagster_koans import __


def test_an_asset_key_comes_from_the_function_name() -> None:
    """Every asset has a key that names it; by default the key is the function's name."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    assert users_table.key == dg.AssetKey(__)


def test_an_asset_is_still_a_function_you_can_call() -> None:
    """The decorator keeps your function: calling it runs the body and returns its plain value."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    users = users_table()

    assert isinstance(users, pd.DataFrame)
    assert len(users) == __


def test_materialize_runs_assets_and_keeps_each_output(instance: dg.DagsterInstance) -> None:
    """`dg.materialize` runs assets as Dagster does; the result holds each asset's output,
    found by the asset's name."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    result = dg.materialize([users_table], instance=instance)

    assert result.success
    users = result.output_for_node(__)
    assert list(users["name"]) == ["ada", "grace", "linus"]


def test_a_parameter_named_after_an_asset_makes_a_dependency() -> None:
    """A parameter named like another asset makes that asset upstream of this one: this is the
    lineage Dagster draws between them."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    assert active_users.dependency_keys == {dg.AssetKey(__)}


def test_the_upstream_output_is_passed_downstream(instance: dg.DagsterInstance) -> None:
    """Materializing both assets runs `users_table` first and passes its DataFrame to
    `active_users`; `result.asset_value(key)` reads any asset's value."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    result = dg.materialize([users_table, active_users], instance=instance)

    active = result.asset_value("active_users")
    assert list(active["name"]) == __


def test_deps_makes_a_dependency_that_passes_no_data(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """When an asset reads what another wrote somewhere else (a file, a database), list it in
    `deps=[...]`: Dagster runs it first but passes no value."""
    users_file = tmp_path / "users.parquet"

    @dg.asset
    def users_parquet() -> None:
        users = pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})
        users.to_parquet(users_file)

    @dg.asset(deps=[__])
    def active_user_count() -> int:
        users = pd.read_parquet(users_file)
        return int(users["active"].sum())

    result = dg.materialize([active_user_count, users_parquet], instance=instance)

    assert active_user_count.dependency_keys == {dg.AssetKey("users_parquet")}
    assert result.asset_value("active_user_count") == 2


def test_a_docstring_becomes_the_asset_description() -> None:
    """The function's docstring becomes the asset's description, shown beside it in the UI."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        """Everyone who signed up."""
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    assert users_table.get_asset_spec().description == __


def test_group_name_files_an_asset_under_a_group() -> None:
    """`group_name` files an asset under a named group in the UI; an asset given none goes to
    Dagster's default group."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset(group_name="crm")
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    assert users_table.get_asset_spec().group_name == __
    assert active_users.get_asset_spec().group_name == __


def test_key_prefix_puts_a_path_in_front_of_the_key() -> None:
    """A key is a path of names, like folders; `key_prefix` adds names in front of the function's
    name."""

    @dg.asset(key_prefix="crm")
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    assert users_table.key == dg.AssetKey(__)
    assert users_table.key.to_user_string() == "crm/users_table"


def test_a_parameter_name_ignores_the_key_prefix(instance: dg.DagsterInstance) -> None:
    """Careful: a parameter name alone always means the unprefixed key, even when both assets
    have a `key_prefix`. `ins={...: dg.AssetIn(key=...)}` points the parameter at the right key."""

    @dg.asset(key_prefix="crm")
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset(key_prefix="crm")
    def naive_active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    # The parameter name alone does not carry the prefix over:
    assert naive_active_users.dependency_keys == {dg.AssetKey("users_table")}

    @dg.asset(key_prefix="crm", ins={"users_table": dg.AssetIn(key=__)})
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    result = dg.materialize([users_table, active_users], instance=instance)

    assert active_users.dependency_keys == {users_table.key}
    assert list(result.asset_value(["crm", "active_users"])["name"]) == ["ada", "linus"]


def test_downstream_selects_an_asset_and_everything_that_needs_it() -> None:
    """`dg.AssetSelection.assets(x).downstream()` picks `x` and every asset that depends on it,
    walking the graph; `.resolve(...)` turns the selection into keys."""

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

    selection = dg.AssetSelection.assets(__).downstream()
    picked = selection.resolve([users_table, active_users, active_user_count, orders_table])

    assert picked == {dg.AssetKey("active_users"), dg.AssetKey("active_user_count")}


def test_materialize_can_run_only_a_selection(instance: dg.DagsterInstance) -> None:
    """`dg.materialize(..., selection=...)` runs only the selected assets; `.upstream()` picks an
    asset and every asset it depends on, so it has all it needs to run."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    @dg.asset
    def active_user_count(active_users: pd.DataFrame) -> int:
        return len(active_users)

    everything = [users_table, active_users, active_user_count]
    upstream = dg.AssetSelection.assets(active_users).upstream()

    result = dg.materialize(everything, selection=upstream, instance=instance)

    ran = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert ran == __
