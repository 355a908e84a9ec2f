"""IO managers: where asset values are kept between steps.

An asset only returns a value; an IO manager decides where it goes. Dagster calls its
`handle_output` with what each asset returns, and its `load_input` to hand that value to a
downstream asset. A `dg.ConfigurableIOManager` is a resource with these two methods: supply it
under the resource key `io_manager` and every asset uses it, or pick one per asset with
`io_manager_key`. Without one, Dagster pickles each value into the instance's storage.
"""

import pickle
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___


class ParquetIOManager(dg.ConfigurableIOManager):
    """Keeps each asset as a parquet file: <base_dir>/<asset key path>.parquet."""

    base_dir: str

    def _path(self, asset_key: dg.AssetKey) -> Path:
        return Path(self.base_dir, *asset_key.path).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(path)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context.asset_key))


def test_handle_output_receives_the_value_an_asset_returns(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """Dagster hands each asset's return value to `handle_output` as `obj`, and gives the
    manager under the resource key `io_manager` to every asset that names no other."""

    class FlatParquetIOManager(dg.ConfigurableIOManager):
        base_dir: str

        def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
            obj.to_parquet(Path(self.base_dir) / f"{context.asset_key.path[-1]}.parquet")

        def load_input(self, context: dg.InputContext) -> pd.DataFrame:
            return pd.read_parquet(Path(self.base_dir) / f"{context.asset_key.path[-1]}.parquet")

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    manager = FlatParquetIOManager(base_dir=str(tmp_path))
    dg.materialize(
        [users_table, active_users], resources={"io_manager": manager}, instance=instance
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "active_users.parquet",
        "users_table.parquet",
    ]
    assert pd.read_parquet(tmp_path / "active_users.parquet")["name"].tolist() == ["ada", "linus"]


def test_the_asset_key_path_becomes_the_file_path(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """`context.asset_key.path` is the key as a list of strings; `ParquetIOManager` turns it
    into folders, so a `key_prefix` becomes a folder."""

    @dg.asset(key_prefix=["warehouse"])
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    manager = ParquetIOManager(base_dir=str(tmp_path))
    dg.materialize([users_table], resources={"io_manager": manager}, instance=instance)
    assert (tmp_path / "warehouse" / "users_table.parquet").exists()


def test_load_input_is_given_the_upstream_asset_key(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """When `active_users` needs its input, `load_input` is called with the key of the asset
    that made it, so the same path function finds the file `handle_output` wrote."""
    loaded_keys: list[dg.AssetKey] = []

    class SpyingParquetIOManager(ParquetIOManager):
        def load_input(self, context: dg.InputContext) -> pd.DataFrame:
            loaded_keys.append(context.asset_key)
            return super().load_input(context)

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    manager = SpyingParquetIOManager(base_dir=str(tmp_path))
    dg.materialize(
        [users_table, active_users], resources={"io_manager": manager}, instance=instance
    )
    assert loaded_keys == [dg.AssetKey("users_table")]


def test_definitions_wire_the_io_manager_for_a_whole_project(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """In a project, `dg.Definitions(resources=...)` is where the IO manager is wired: every
    asset and asset job in it stores its values there."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    manager = ParquetIOManager(base_dir=str(tmp_path))
    users_job = dg.define_asset_job("users_job", selection="*")
    defs = dg.Definitions(
        assets=[users_table, active_users], jobs=[users_job], resources={"io_manager": manager}
    )
    defs.resolve_job_def("users_job").execute_in_process(instance=instance)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "active_users.parquet",
        "users_table.parquet",
    ]


def test_io_manager_key_picks_a_manager_for_one_asset(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """`io_manager_key` names the resource that stores one asset; the others keep the default
    `io_manager`, and a downstream asset loads its input through the upstream asset's manager."""

    @dg.asset(io_manager_key="parquet")
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    resources = {"parquet": ParquetIOManager(base_dir=str(tmp_path))}
    result = dg.materialize([users_table, active_users], resources=resources, instance=instance)
    assert [p.name for p in tmp_path.iterdir()] == ["users_table.parquet"]
    assert result.asset_value("active_users")["name"].tolist() == ["ada"]


def test_a_missing_io_manager_fails_before_anything_runs(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """An `io_manager_key` that no resource answers to is a mistake in the definitions:
    Dagster refuses them before any asset runs."""

    @dg.asset(io_manager_key="parquet")
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada"], "active": [True]})

    resources = {"io_manager": ParquetIOManager(base_dir=str(tmp_path))}
    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.materialize([users_table], resources=resources, instance=instance)
    assert list(tmp_path.iterdir()) == []


def test_build_output_context_tests_handle_output_alone(tmp_path: Path) -> None:
    """`dg.build_output_context` makes the context Dagster would pass to `handle_output`,
    so a unit test can call the method directly, without a run."""
    users = pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})
    manager = ParquetIOManager(base_dir=str(tmp_path))

    context = dg.build_output_context(asset_key=dg.AssetKey("users_table"))
    manager.handle_output(context, users)
    assert pd.read_parquet(tmp_path / "users_table.parquet").equals(users)


def test_build_input_context_tests_load_input_alone(tmp_path: Path) -> None:
    """The context for `load_input` has a builder too, the twin of `build_output_context`. Give
    it `asset_key=`, as a run does: `upstream_output=` alone leaves `context.asset_key` unset."""
    users = pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})
    users.to_parquet(tmp_path / "users_table.parquet")
    manager = ParquetIOManager(base_dir=str(tmp_path))

    context = dg.build_input_context(asset_key=dg.AssetKey("users_table"))
    assert manager.load_input(context).equals(users)


def test_the_default_io_manager_pickles_into_instance_storage(
    instance: dg.DagsterInstance,
) -> None:
    """With no `io_manager` given, each asset is pickled into a file named after its key, under
    the instance's storage directory: here the temporary instance's, not your repository."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    dg.materialize([users_table], instance=instance)
    storage = Path(instance.storage_directory())
    stored = storage / "users_table"
    assert pickle.loads(stored.read_bytes())["name"].tolist() == ["ada", "grace"]
    assert Path.cwd() not in storage.parents


def test_the_older_io_manager_decorator_builds_one_from_config(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """The older form, still common in existing code: a decorator named after what it makes
    turns a function reading `init_context.resource_config` into an IO manager."""

    @dg.io_manager(config_schema={"base_dir": str})
    def parquet_io_manager(init_context: dg.InitResourceContext) -> ParquetIOManager:
        return ParquetIOManager(base_dir=init_context.resource_config["base_dir"])

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    manager = parquet_io_manager.configured({"base_dir": str(tmp_path)})
    dg.materialize([users_table], resources={"io_manager": manager}, instance=instance)
    assert (tmp_path / "users_table.parquet").exists()
