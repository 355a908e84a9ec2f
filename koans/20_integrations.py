"""Integrations: Dagster in charge of the tools a team already runs.

Dagster Pipes runs code outside Dagster's process (a script, a container, a Databricks job) and
lets it talk back. `dg.PipesSubprocessClient` starts a command; inside it, `dagster_pipes`'s
`open_dagster_pipes()` opens the channel, and what the code reports (a materialization with its
metadata, log lines, check results) becomes the run's own events. The asset returns what the
client gathered; if it forgets to, the step fails with `dg.DagsterInvariantViolationError`. If the
script exits with a non-zero code, the step fails with `DagsterPipesExecutionError`.

`dagster-duckdb` gives a `DuckDBResource`, a connection to a DuckDB database file for assets that
write their own SQL, and `dagster-duckdb-pandas` an IO manager that stores each DataFrame an asset
returns as a table of that file. While one process has a DuckDB file open to write, no other
process can open it at all (the resource retries for a while, then fails): keep connections short,
as `get_connection()` does, and close a notebook's before a run.

`dagster-dbt` turns a dbt project into assets. dbt itself writes what it knows about the project
(models, their `ref`s and `source`s, tests) into `target/manifest.json` when it parses it, and
`@dbt_assets` reads that file: no dbt runs to define the assets. The asset function runs dbt
through `DbtCliResource` and streams what dbt did back as Dagster events; a dbt command that fails
raises `DagsterDbtCliRuntimeError` once it has finished. `DbtProject` knows where the project and
its manifest are; a code location whose manifest was never built fails to load with
`dagster_dbt.errors.DagsterDbtManifestNotFoundError`. Importing `dagster_dbt` imports dbt (a
second or more), so each dbt koan imports it itself, and the `tiny_shop` project shipped with the
koans (in `dbt_projects/tiny_shop`) is parsed once per session.

Read next:
- https://docs.dagster.io/guides/dagster-pipes
- https://docs.dagster.io/integrations/dbt/reference
"""

import shutil
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import duckdb
import pandas as pd
import pytest

# Dagster 1.13 exports this Pipes error only from a private module.
from dagster._core.errors import DagsterPipesExecutionError  # noqa: F401
from dagster_duckdb import DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasIOManager

from dagster_koans import __, ___

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

pytestmark = [
    # Dagster 1.13.27's own Pipes and dbt code calls these deprecated methods of the context.
    pytest.mark.filterwarnings("ignore:AssetExecutionContext.run_id is deprecated"),
    pytest.mark.filterwarnings("ignore:AssetExecutionContext.op is deprecated"),
    # dbt 1.10 imports Click's old parser when dagster-dbt loads dbt's adapter into this process.
    pytest.mark.filterwarnings(r"ignore:'parser\.\w+' is deprecated:DeprecationWarning"),
]

USERS_CSV = """\
name,email
ada,ada@example.com
grace,
linus,linus@example.com
"""

# The `dbt` installed beside this Python: an editor's test runner does not activate the virtual
# environment, so a `dbt` looked up on PATH may be missing, or another one.
DBT = Path(sys.executable).parent / "dbt"

ORDERS = [
    (1, "Ada", 4000, "completed"),
    (2, "ada", 2500, "completed"),
    (3, "Grace", 1200, "completed"),
    (4, "Linus", 9900, "cancelled"),
]


def write(path: Path, text: str) -> Path:
    """Write a file for a koan (a script, a CSV) and return its path."""
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def table_names(database: Path) -> list[tuple[str, str]]:
    """Every table of a DuckDB file as (schema, table), read with duckdb itself."""
    with duckdb.connect(str(database), read_only=True) as conn:
        query = "select table_schema, table_name from information_schema.tables order by all"
        return conn.execute(query).fetchall()


def test_a_pipes_script_reports_the_materialization_of_its_asset(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The script runs in a process of its own and reports with `report_asset_materialization`,
    naming no asset; `run(...)` waits for it, and `get_materialize_result()` hands the asset what
    was reported."""
    users_csv = write(tmp_path / "users.csv", USERS_CSV)
    script = write(
        tmp_path / "count_users.py",
        """
        import csv
        import sys

        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            with open(sys.argv[1], newline="") as file:
                users = list(csv.DictReader(file))
            pipes.report_asset_materialization(metadata={"dagster/row_count": len(users)})
        """,
    )

    @dg.asset
    def users(
        context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
    ) -> dg.MaterializeResult:
        command = [sys.executable, str(script), str(users_csv)]
        invocation = pipes_subprocess_client.run(context=context, command=command)
        return invocation.get_materialize_result()

    pipes = {"pipes_subprocess_client": dg.PipesSubprocessClient()}
    result = dg.materialize([users], resources=pipes, instance=instance)

    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["dagster/row_count"].value == 3
    assert event.asset_key == __


def test_the_scripts_log_lines_join_the_runs_log_but_its_prints_do_not(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`pipes.log` sends a line to Dagster, which keeps it in the run's log beside its own
    events; `print` writes to the process's output only. (The koans' instance is set to keep log
    lines of WARNING and above; Dagster's default instance keeps every level.)"""
    script = write(
        tmp_path / "check_emails.py",
        """
        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            print("checked 3 users")
            pipes.log.warning("1 user has no email")
        """,
    )

    @dg.asset
    def users(
        context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
    ) -> dg.MaterializeResult:
        command = [sys.executable, str(script)]
        invocation = pipes_subprocess_client.run(context=context, command=command)
        return invocation.get_materialize_result()

    pipes = {"pipes_subprocess_client": dg.PipesSubprocessClient()}
    result = dg.materialize([users], resources=pipes, instance=instance)

    logs = instance.all_logs(result.run_id)
    logged = [entry.user_message for entry in logs if not entry.is_dagster_event]
    assert logged == __


def test_a_pipes_script_can_report_the_result_of_a_check(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The asset declares the check with `check_specs`, and the script, which has the data at
    hand, reports its result with `report_asset_check`."""
    users_csv = write(tmp_path / "users.csv", USERS_CSV)
    script = write(
        tmp_path / "check_users.py",
        """
        import csv
        import sys

        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            with open(sys.argv[1], newline="") as file:
                users = list(csv.DictReader(file))
            missing = [user["name"] for user in users if not user["email"]]
            pipes.report_asset_materialization(metadata={"dagster/row_count": len(users)})
            pipes.report_asset_check(
                "every_user_has_an_email", passed=not missing, metadata={"missing": missing}
            )
        """,
    )

    @dg.asset(check_specs=[dg.AssetCheckSpec("every_user_has_an_email", asset="users")])
    def users(
        context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
    ) -> dg.MaterializeResult:
        command = [sys.executable, str(script), str(users_csv)]
        invocation = pipes_subprocess_client.run(context=context, command=command)
        return invocation.get_materialize_result()

    pipes = {"pipes_subprocess_client": dg.PipesSubprocessClient()}
    result = dg.materialize([users], resources=pipes, instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.passed, evaluation.metadata["missing"].value) == __


def test_the_script_knows_which_asset_it_materializes(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Dagster tells the script what it is running: `pipes.asset_key`, `pipes.run_id`,
    `pipes.partition_key`... The script needs no arguments for those."""
    script = write(
        tmp_path / "whoami.py",
        """
        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            pipes.report_asset_materialization(metadata={"written_for": pipes.asset_key})
        """,
    )

    @dg.asset(key_prefix="shop")
    def users(
        context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
    ) -> dg.MaterializeResult:
        command = [sys.executable, str(script)]
        invocation = pipes_subprocess_client.run(context=context, command=command)
        return invocation.get_materialize_result()

    pipes = {"pipes_subprocess_client": dg.PipesSubprocessClient()}
    result = dg.materialize([users], resources=pipes, instance=instance)

    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["written_for"].value == __


def test_extras_carry_values_to_the_script_as_json(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`run(extras={...})` hands the script values from Dagster (config, a partition's dates);
    the script reads each with `pipes.get_extra(name)`. They travel as JSON."""
    script = write(
        tmp_path / "countries.py",
        """
        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            countries = pipes.get_extra("countries")
            pipes.report_asset_materialization(metadata={"received": type(countries).__name__})
        """,
    )

    @dg.asset
    def shops(
        context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
    ) -> dg.MaterializeResult:
        command = [sys.executable, str(script)]
        extras = {"countries": ("NL", "BE")}
        invocation = pipes_subprocess_client.run(context=context, command=command, extras=extras)
        return invocation.get_materialize_result()

    pipes = {"pipes_subprocess_client": dg.PipesSubprocessClient()}
    result = dg.materialize([shops], resources=pipes, instance=instance)

    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["received"].value == __


def test_a_script_that_exits_non_zero_fails_the_step(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """An exit code other than 0 means failure: the client raises when the process ends, before
    the asset returns. This script reported its materialization before it exited."""
    script = write(
        tmp_path / "half_done.py",
        """
        import sys

        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            pipes.report_asset_materialization(metadata={"dagster/row_count": 3})
        sys.exit(3)
        """,
    )

    @dg.asset
    def users(
        context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
    ) -> dg.MaterializeResult:
        command = [sys.executable, str(script)]
        invocation = pipes_subprocess_client.run(context=context, command=command)
        return invocation.get_materialize_result()

    pipes = {"pipes_subprocess_client": dg.PipesSubprocessClient()}
    with pytest.raises(___, match="failed with code 3"):
        dg.materialize([users], resources=pipes, instance=instance)

    assert len(instance.fetch_materializations(users.key, limit=1).records) == __


def test_an_asset_that_does_not_return_the_pipes_result_fails(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The client only gathers what the script reported; the asset hands it to Dagster by
    returning it. Dagster notices an asset that returns nothing at all."""
    script = write(
        tmp_path / "count_users.py",
        """
        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            pipes.report_asset_materialization(metadata={"dagster/row_count": 3})
        """,
    )

    @dg.asset
    def users(
        context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
    ) -> None:
        pipes_subprocess_client.run(context=context, command=[sys.executable, str(script)])

    pipes = {"pipes_subprocess_client": dg.PipesSubprocessClient()}
    with pytest.raises(___, match="get_materialize_result"):
        dg.materialize([users], resources=pipes, instance=instance)


def test_a_duckdb_resource_connects_assets_to_one_database_file(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`DuckDBResource(database=path)` gives an asset a connection with `get_connection()`,
    closed when the block ends. The data passes through the file, not through Dagster, so Dagster
    learns the order only from `deps`."""
    warehouse = tmp_path / "warehouse.duckdb"

    @dg.asset(key_prefix="raw")
    def orders(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("create schema if not exists raw")
            conn.execute("create or replace table raw.orders (customer varchar, amount double)")
            conn.executemany("insert into raw.orders values (?, ?)", [("ada", 40), ("grace", 12)])

    @dg.asset(deps=[__])
    def daily_revenue(duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as conn:
            conn.execute(
                "create or replace table daily_revenue as select sum(amount) as total"
                " from raw.orders"
            )
            (total,) = conn.execute("select total from daily_revenue").fetchone()
        return dg.MaterializeResult(metadata={"total": total})

    resources = {"duckdb": DuckDBResource(database=str(warehouse))}
    result = dg.materialize([daily_revenue, orders], resources=resources, instance=instance)

    [_, event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["total"].value == 52
    assert table_names(warehouse) == [("main", "daily_revenue"), ("raw", "orders")]


def test_the_duckdb_io_manager_names_each_table_after_its_asset_key(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`DuckDBPandasIOManager` stores the DataFrame an asset returns as a table: the last part of
    the asset's key names the table, the part before it the schema; a key of one part goes to
    the schema `public`."""
    # Not `shop.duckdb`: DuckDB names the database after its file, and a schema `shop` beside a
    # database `shop` makes every `shop.users` ambiguous.
    warehouse = tmp_path / "warehouse.duckdb"

    @dg.asset(key_prefix="shop")
    def users() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def signups() -> pd.DataFrame:
        return pd.DataFrame({"name": ["alan"], "day": ["2024-05-01"]})

    io_manager = DuckDBPandasIOManager(database=str(warehouse))
    dg.materialize([users, signups], resources={"io_manager": io_manager}, instance=instance)

    assert table_names(warehouse) == __


def test_the_io_managers_schema_setting_and_the_key_prefix_compete(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The IO manager takes a `schema=` setting too, and an asset's key may say another schema.
    Dagster settles it in a fixed order: a `"schema"` entry in the asset's metadata, then the IO
    manager's setting, then the key prefix, then `public`."""
    warehouse = tmp_path / "warehouse.duckdb"

    @dg.asset(key_prefix="shop")
    def users() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    io_manager = DuckDBPandasIOManager(database=str(warehouse), schema="analytics")
    dg.materialize([users], resources={"io_manager": io_manager}, instance=instance)

    assert table_names(warehouse) == __


def test_a_dataframe_comes_back_from_duckdb_without_its_index(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Downstream, the IO manager loads the table into a new DataFrame. A table has columns and
    rows, but nothing like a pandas index."""
    loaded_index: list[int] = []

    @dg.asset
    def active_users() -> pd.DataFrame:
        users = pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [False, True, True]})
        return users[users["active"]]

    @dg.asset
    def greetings(active_users: pd.DataFrame) -> pd.DataFrame:
        loaded_index.extend(active_users.index)
        return pd.DataFrame({"greeting": "hello " + active_users["name"]})

    io_manager = DuckDBPandasIOManager(database=str(tmp_path / "warehouse.duckdb"))
    result = dg.materialize(
        [active_users, greetings], resources={"io_manager": io_manager}, instance=instance
    )

    assert list(result.asset_value("active_users").index) == [1, 2]
    assert loaded_index == __


def test_materializing_again_writes_to_the_same_table(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Assets run again all the time: a retry, a backfill, a fix. Here `users` runs twice, and
    one user signed up in between; the IO manager records each row count it writes as the
    standard `dagster/row_count` metadata."""
    warehouse = tmp_path / "warehouse.duckdb"
    signups = ["ada", "grace", "linus"]

    @dg.asset
    def users() -> pd.DataFrame:
        return pd.DataFrame({"name": signups})

    io_manager = DuckDBPandasIOManager(database=str(warehouse))
    dg.materialize([users], resources={"io_manager": io_manager}, instance=instance)
    signups.append("alan")
    result = dg.materialize([users], resources={"io_manager": io_manager}, instance=instance)

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        (rows,) = conn.execute("select count(*) from public.users").fetchone()
    assert rows == __
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["dagster/row_count"].value == rows


def test_outside_dagsters_dev_tools_prepare_if_dev_leaves_the_manifest_to_you(
    tiny_shop: "DbtProject", tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`DbtProject(folder)` knows where dbt writes the manifest, and `prepare_if_dev()` runs
    `dbt parse` only under Dagster's development tools (`dg dev`, every `dg` command). A deployed
    code location runs none of them: its manifest must be built ahead, when the code is packaged."""
    import dagster_dbt

    fresh_copy = tmp_path / "tiny_shop"
    shutil.copytree(tiny_shop.project_dir, fresh_copy, ignore=shutil.ignore_patterns("target"))

    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)  # how the dev tools announce themselves
    project = dagster_dbt.DbtProject(fresh_copy)
    project.prepare_if_dev()

    assert project.manifest_path == fresh_copy / "target" / "manifest.json"
    with pytest.raises(___):

        @dagster_dbt.dbt_assets(manifest=project.manifest_path, project=project)
        def tiny_shop_models(
            context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource
        ) -> Iterator[Any]:
            yield from dbt.cli(["build"], context=context).stream()


def test_each_dbt_model_becomes_an_asset_named_after_it(tiny_shop: "DbtProject") -> None:
    """`@dbt_assets(manifest=...)` makes one multi-asset of every model in the manifest (here
    the models of `dbt_projects/tiny_shop/models`); its function runs dbt for them."""
    import dagster_dbt

    @dagster_dbt.dbt_assets(manifest=tiny_shop.manifest_path, project=tiny_shop)
    def tiny_shop_models(
        context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource
    ) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    keys = sorted(key.to_user_string() for key in tiny_shop_models.keys)
    assert keys == __


def test_a_dbt_source_becomes_the_key_of_an_upstream_asset(tiny_shop: "DbtProject") -> None:
    """`stg_orders.sql` reads `{{ source('raw', 'orders') }}`. Each `ref` and `source` becomes a
    dependency, and a source's key is built from its source name and table name."""
    import dagster_dbt

    @dagster_dbt.dbt_assets(manifest=tiny_shop.manifest_path, project=tiny_shop)
    def tiny_shop_models(
        context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource
    ) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    upstream = tiny_shop_models.asset_deps[dg.AssetKey("stg_orders")]
    assert upstream == {dg.AssetKey(__)}
    assert tiny_shop_models.asset_deps[dg.AssetKey("top_customers")] == {
        dg.AssetKey("customer_revenue")
    }


def test_dbt_tests_become_asset_checks(tiny_shop: "DbtProject") -> None:
    """Each dbt test on a model becomes an asset check on that model's asset, named as dbt names
    the test: the test, the model, then the column. The tests are declared in the models' `.yml`
    files under `dbt_projects/tiny_shop/models`."""
    import dagster_dbt

    @dagster_dbt.dbt_assets(manifest=tiny_shop.manifest_path, project=tiny_shop)
    def tiny_shop_models(
        context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource
    ) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    revenue = dg.AssetKey("customer_revenue")
    checks = [key.name for key in tiny_shop_models.check_keys if key.asset_key == revenue]
    assert len(tiny_shop_models.check_keys) == 4
    assert checks == __


def test_select_takes_part_of_the_dbt_project_in_dbts_own_syntax(tiny_shop: "DbtProject") -> None:
    """`select=` (and `exclude=`) pick the models of one `@dbt_assets` with dbt's selection
    syntax, so a project can be split between definitions with different schedules or
    partitions; a trailing `+` means the model and everything downstream of it."""
    import dagster_dbt

    @dagster_dbt.dbt_assets(
        manifest=tiny_shop.manifest_path, project=tiny_shop, select="customer_revenue+"
    )
    def marts(context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    assert marts.keys == __


def test_a_translator_renames_sources_too(tiny_shop: "DbtProject") -> None:
    """A `DagsterDbtTranslator` subclass decides the asset keys (and groups, descriptions...) of
    what dbt knows. Every dbt node asks it, sources included."""
    import dagster_dbt

    class UnderDbt(dagster_dbt.DagsterDbtTranslator):
        def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
            return super().get_asset_key(dbt_resource_props).with_prefix("dbt")

    @dagster_dbt.dbt_assets(
        manifest=tiny_shop.manifest_path, project=tiny_shop, dagster_dbt_translator=UnderDbt()
    )
    def tiny_shop_models(
        context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource
    ) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    assert dg.AssetKey(["dbt", "stg_orders"]) in tiny_shop_models.keys
    upstream = tiny_shop_models.asset_deps[dg.AssetKey(["dbt", "stg_orders"])]
    assert upstream == {dg.AssetKey(__)}


@pytest.mark.timeout(300)  # a real dbt build takes longer than a koan's 5 s
def test_dbt_build_materializes_each_model_and_runs_its_tests(
    instance: dg.DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_shop: "DbtProject",
) -> None:
    """A Dagster asset loads `raw.orders` into DuckDB; `dbt build` then builds each model and
    runs each test, in dbt's order, and Dagster records a materialization per model and a check
    evaluation per test. dbt's profile reads the database's path from `TINY_SHOP_DUCKDB`."""
    import dagster_dbt

    monkeypatch.setenv("TINY_SHOP_DUCKDB", str(tmp_path / "warehouse.duckdb"))

    @dg.asset(key_prefix="raw")
    def orders(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("create schema if not exists raw")
            conn.execute(
                "create or replace table raw.orders"
                " (order_id integer, customer varchar, amount_cents integer, status varchar)"
            )
            conn.executemany("insert into raw.orders values (?, ?, ?, ?)", ORDERS)

    @dagster_dbt.dbt_assets(manifest=tiny_shop.manifest_path, project=tiny_shop)
    def tiny_shop_models(
        context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource
    ) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    resources = {
        "duckdb": DuckDBResource(database=dg.EnvVar("TINY_SHOP_DUCKDB")),
        "dbt": dagster_dbt.DbtCliResource(project_dir=tiny_shop, dbt_executable=DBT),
    }
    result = dg.materialize([orders, tiny_shop_models], resources=resources, instance=instance)

    built = [
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    ]
    assert built == __
    assert [check.passed for check in result.get_asset_check_evaluations()] == [True] * 4
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select * from top_customers").fetchall() == [("ada", 65.0)]


@pytest.mark.timeout(300)  # a real dbt build takes longer than a koan's 5 s
def test_a_failing_dbt_test_stops_the_models_downstream(
    instance: dg.DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_shop: "DbtProject",
) -> None:
    """Order 3 appears twice, so `unique_stg_orders_order_id` fails. `dbt build` then skips what
    depends on `stg_orders`, and Dagster fails the step once dbt has finished."""
    import dagster_dbt

    monkeypatch.setenv("TINY_SHOP_DUCKDB", str(tmp_path / "warehouse.duckdb"))

    @dg.asset(key_prefix="raw")
    def orders(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("create schema if not exists raw")
            conn.execute(
                "create or replace table raw.orders"
                " (order_id integer, customer varchar, amount_cents integer, status varchar)"
            )
            conn.executemany("insert into raw.orders values (?, ?, ?, ?)", ORDERS)
            conn.execute("insert into raw.orders values (3, 'Alan', 700, 'completed')")

    @dagster_dbt.dbt_assets(manifest=tiny_shop.manifest_path, project=tiny_shop)
    def tiny_shop_models(
        context: dg.AssetExecutionContext, dbt: dagster_dbt.DbtCliResource
    ) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    resources = {
        "duckdb": DuckDBResource(database=dg.EnvVar("TINY_SHOP_DUCKDB")),
        "dbt": dagster_dbt.DbtCliResource(project_dir=tiny_shop, dbt_executable=DBT),
    }
    with pytest.raises(___):
        dg.materialize([orders, tiny_shop_models], resources=resources, instance=instance)

    keys = [orders.key, *tiny_shop_models.keys]
    built = {key.to_user_string() for key in keys if instance.get_latest_materialization_event(key)}
    assert built == __
