"""IO managers: where asset values are kept between steps.

An asset returns a value; an IO manager decides where that value goes. Dagster calls the
manager's `handle_output(context, obj)` with each value an asset returns, and its
`load_input(context)` when a downstream asset needs that value; `context.asset_key` says which
asset the value belongs to. A `dg.ConfigurableIOManager` is a resource with these two methods:
supplied under the resource key `io_manager` it stores every asset, and `io_manager_key="..."`
on an asset picks another one. Without any, Dagster pickles each value into the instance's
storage folder.

Deployed, each step runs in a process of its own, so a value reaches the next asset only through
what the IO manager wrote: keep values in files or a database, never in memory. An asset that
writes its own storage (a table, a file) and returns nothing, or a `dg.MaterializeResult`, needs
no IO manager at all. `ParquetIOManager` below writes one file per asset key and ignores
partitions (lesson 11): a second partition would overwrite the first. Lesson 17 writes one that
keeps each partition apart.

An IO manager is a resource like any other: an asset requires the one it names, and
definitions that do not supply it are invalid (`dg.DagsterInvalidDefinitionError`, before any
asset runs).

Read next:
- https://docs.dagster.io/guides/build/io-managers
- https://docs.dagster.io/guides/build/io-managers/defining-a-custom-io-manager
"""

import pickle
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __


class ParquetIOManager(dg.ConfigurableIOManager):
    """Keeps each asset as a parquet file, <base_dir>/<asset key path>.parquet."""

    base_dir: str

    def _path(self, asset_key: dg.AssetKey) -> Path:
        return Path(self.base_dir, *asset_key.path).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(path)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context.asset_key))


def all_users() -> pd.DataFrame:
    return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})


@dg.asset
def users_table() -> pd.DataFrame:
    return all_users()


@dg.asset
def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
    return users_table[users_table["active"]]


def test_an_io_manager_under_another_key_stores_nothing_by_itself(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """One resource key is special: the IO manager supplied under it stores every asset that
    names no other manager. Here the parquet manager is supplied under a key of its own, and no
    asset names it."""
    manager = ParquetIOManager(base_dir=str(tmp_path))
    assets = [users_table, active_users]

    dg.materialize(assets, resources={"parquet": manager}, instance=instance)

    stored = sorted(path.name for path in tmp_path.iterdir())
    assert stored == []


def test_dagster_stores_each_output_and_loads_it_for_the_next_asset(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """Dagster calls `handle_output` as soon as an asset has returned, and `load_input` when the
    next asset needs that value, with the key of the asset the value belongs to."""
    calls: list[tuple[str, str]] = []

    class RecordingIOManager(ParquetIOManager):
        def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
            calls.append(("handle", context.asset_key.to_user_string()))
            super().handle_output(context, obj)

        def load_input(self, context: dg.InputContext) -> pd.DataFrame:
            calls.append(("load", context.asset_key.to_user_string()))
            return super().load_input(context)

    manager = RecordingIOManager(base_dir=str(tmp_path))
    assets = [users_table, active_users]
    dg.materialize(assets, resources={"io_manager": manager}, instance=instance)

    assert calls == [("handle", "users_table"), ("load", "users_table"), ("handle", "active_users")]


def test_a_key_prefix_makes_the_key_a_path_of_parts(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """`context.asset_key.path` is the key as a list of strings, and a `key_prefix` adds parts in
    front of the name. `ParquetIOManager` turns the parts into folders."""
    paths: list[list[str]] = []

    class RecordingIOManager(ParquetIOManager):
        def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
            paths.append(context.asset_key.path)
            super().handle_output(context, obj)

    @dg.asset(key_prefix=["warehouse", "crm"])
    def contacts() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"]})

    manager = RecordingIOManager(base_dir=str(tmp_path))
    dg.materialize([contacts], resources={"io_manager": manager}, instance=instance)

    assert paths == [["warehouse", "crm", "contacts"]]


def test_io_manager_key_picks_a_manager_for_one_asset(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """`io_manager_key` names the resource that stores one asset. The other assets keep the
    default manager, and a downstream asset loads its input through the manager of the asset that
    made it."""

    @dg.asset(io_manager_key="parquet")
    def users_table() -> pd.DataFrame:
        return all_users()

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    resources = {"parquet": ParquetIOManager(base_dir=str(tmp_path))}
    result = dg.materialize([users_table, active_users], resources=resources, instance=instance)

    assert result.asset_value("active_users")["name"].tolist() == ["ada", "linus"]
    assert [path.name for path in tmp_path.iterdir()] == ["users_table.parquet"]


def test_an_asset_requires_the_io_manager_it_names(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """The manager an asset is stored by is one of the resources it requires, listed in its
    `required_resource_keys`. A run that does not supply it is refused before anything runs."""

    @dg.asset(io_manager_key="parquet")
    def users_table() -> pd.DataFrame:
        return all_users()

    resources = {"io_manager": ParquetIOManager(base_dir=str(tmp_path))}
    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.materialize([users_table], resources=resources, instance=instance)
    assert users_table.required_resource_keys == {"parquet"}


def test_an_asset_that_stores_its_own_data_skips_the_io_manager(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """An asset that writes its own storage hands Dagster nothing to store: annotated `-> None`,
    or returning a `dg.MaterializeResult`, it never reaches `handle_output`. Without the
    annotation, the `None` a function returns is a value like any other."""
    stored: list[str] = []
    users_file = tmp_path / "users.parquet"

    class RecordingIOManager(ParquetIOManager):
        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            stored.append(context.asset_key.to_user_string())

    @dg.asset
    def raw_users() -> None:
        all_users().to_parquet(users_file)

    @dg.asset(deps=[raw_users])
    def user_report() -> dg.MaterializeResult:
        rows = len(pd.read_parquet(users_file))
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    @dg.asset(deps=[user_report])
    def report_sent():  # no return annotation, as in much existing code
        return None

    manager = RecordingIOManager(base_dir=str(tmp_path))
    assets = [raw_users, user_report, report_sent]
    dg.materialize(assets, resources={"io_manager": manager}, instance=instance)

    assert stored == ["report_sent"]


def test_build_output_context_tests_handle_output_alone(tmp_path: Path) -> None:
    """`dg.build_output_context` makes the context Dagster would pass to `handle_output`, so a
    unit test calls the method directly, without a run. Build it for the asset whose file the last
    line reads."""
    users = all_users()
    manager = ParquetIOManager(base_dir=str(tmp_path))

    manager.handle_output(dg.build_output_context(asset_key=["crm", "users"]), users)

    assert pd.read_parquet(tmp_path / "crm" / "users.parquet").equals(users)


def test_build_input_context_tests_load_input_alone(tmp_path: Path) -> None:
    """`dg.build_input_context` is the twin for `load_input`. In a run, the context for the input
    of `active_users` carries the key of the asset whose value is loaded; a test passes it as
    `asset_key=` (without one, the context has no key to give)."""
    users = all_users()
    users.to_parquet(tmp_path / "users_table.parquet")
    manager = ParquetIOManager(base_dir=str(tmp_path))

    context = dg.build_input_context(asset_key=dg.AssetKey("users_table"))
    assert manager.load_input(context).equals(users)


def test_the_default_io_manager_pickles_into_instance_storage(
    instance: dg.DagsterInstance,
) -> None:
    """With no `io_manager` supplied, each value is pickled into a file under the instance's
    storage folder (here a temporary one), named after the asset's key path."""

    @dg.asset(key_prefix=["crm"])
    def signups() -> list[str]:
        return ["ada", "grace"]

    dg.materialize([signups], instance=instance)

    storage = Path(instance.storage_directory())
    assert pickle.loads((storage / "crm/signups").read_bytes()) == ["ada", "grace"]


def test_the_older_io_manager_decorator_builds_a_plain_io_manager(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """The older form, still common in existing code: a plain `dg.IOManager` subclass, built by
    a function decorated with `@dg.io_manager(config_schema=...)`. Dagster calls that function
    when a run sets up its resources (here, in one process, once per run), passing the settings
    in `init_context.resource_config`."""
    built: list[str] = []

    class ParquetFiles(dg.IOManager):
        def __init__(self, base_dir: str) -> None:
            self.base_dir = Path(base_dir)

        def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
            obj.to_parquet(self.base_dir / f"{context.asset_key.path[-1]}.parquet")

        def load_input(self, context: dg.InputContext) -> pd.DataFrame:
            return pd.read_parquet(self.base_dir / f"{context.asset_key.path[-1]}.parquet")

    @dg.io_manager(config_schema={"base_dir": str})
    def parquet_io_manager(init_context: dg.InitResourceContext) -> ParquetFiles:
        built.append(init_context.resource_config["base_dir"])
        return ParquetFiles(init_context.resource_config["base_dir"])

    manager = parquet_io_manager.configured({"base_dir": str(tmp_path)})
    result = dg.materialize(
        [users_table, active_users], resources={"io_manager": manager}, instance=instance
    )

    assert result.asset_value("active_users")["name"].tolist() == ["ada", "linus"]
    assert built == [str(tmp_path)]
