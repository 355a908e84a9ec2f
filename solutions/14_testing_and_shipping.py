"""Testing and shipping a project: what a team runs before its code reaches a deployment.

An asset is still a function. Call it directly and pass what it needs: upstream values as
arguments, a context from `dg.build_asset_context(partition_key=..., resources=...)`, and each
resource either inside that context or as a keyword argument, never both: Dagster refuses the
pair with `dg.DagsterInvalidInvocationError`. Such a call runs no IO manager and records nothing.

A resource is where a test swaps the outside world for a stand-in. Dagster hands an object that
is not one of its own resource types to the asset as it is, so a `unittest.mock.MagicMock` is
accepted, and answers any call, even one the real class would reject. A mock that copies the
class, `mock.create_autospec(SignupsApi, instance=True)`, looks like a `ConfigurableResource` to
Dagster, which then asks it how to build itself and gets mocks back: refused, with
`dg.DagsterInvalidDefinitionError` on a direct call. A resource is a frozen pydantic model, which
pydantic guards with its `ValidationError`, so `mock.patch.object` patches its class, never one
instance. The sturdiest stand-in is a subclass (lesson 05's test double): a real resource, with
the real class's settings, that fails with Python's `AttributeError` when the asset calls a
method the class does not have.

Runs in tests come in three strengths. `dg.materialize_to_memory` keeps every output in memory,
whatever IO manager an asset names, and refuses one handed to it with
`dg.DagsterInvariantViolationError`. `dg.materialize` with the koans' `instance` runs on an
in-memory instance: nothing outlives the test's process. `dg.instance_for_test()` builds a real
instance in a temporary folder and points `$DAGSTER_HOME` at it while the block runs: runs and
events land in files any other process can read, as the UI and the daemon read a deployment's.

Shipping is loading. A test loads the project's own definitions as Dagster would: for a `dg`
project, `tree = dg.ComponentTree.for_project(root)` and `tree.build_defs(tree.defs_module_path)`
build the defs folder (what `dg.load_from_defs_folder` builds, without the catalogue of every
installed component type it adds for the UI); the older `dg.components.load_defs(module)` still
works but warns that it is deprecated. In CI, `dg check defs` loads the project and exits with
status 1 when a definition is broken; `dg list defs --json` prints what was loaded, for a script
to check. An asset given no `group_name` lands in the group named `default`.

Assets are chosen by selection strings, one syntax for the UI's asset views, `dg launch --assets`,
`dg list defs --assets`, the `target:` of a component's post-processing in `defs.yaml`, and
`dg.define_asset_job(selection=...)`: `key:signups`, `group:marts`, `tag:team=analytics`,
`kind:duckdb`, `+` before or after a filter for upstream or downstream (`+1` for one layer),
joined with `and`, `or`, `not`. `dg.AssetSelection.from_string` reads one into the Python API's
selection.

A deployment serves code locations. Each location is one `dg.Definitions`, loaded in a process
of its own from its own Python environment; a workspace (`workspace.yaml`, or a `dg` workspace)
lists several. Within a location no two jobs share a name, nor a schedule and a sensor (as
lesson 09 showed); two locations may each have their own `nightly` job. Reloading a location
restarts its process alone: the others keep the code they loaded, and one that fails to load
leaves the rest running.

Read next:
- https://docs.dagster.io/guides/test/unit-testing-assets-and-ops
- https://docs.dagster.io/guides/build/assets/asset-selection-syntax/reference
- https://docs.dagster.io/deployment/code-locations/managing-code-locations-with-definitions
"""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path
from unittest import mock

import dagster as dg
import pandas as pd
import pydantic
import pytest

from dagster_koans import __, ___

DAILY = dg.DailyPartitionsDefinition(start_date="2024-05-01")
# Instances the koans make log only warnings and send no usage statistics.
QUIET = {"python_logs": {"python_log_level": "WARNING"}, "telemetry": {"enabled": False}}
# The `dg` command installed beside this Python, never whichever one PATH finds first.
DG = Path(sys.executable).parent / "dg"


class SqliteDatabase(dg.ConfigurableResource):
    """A real sqlite3 database file. Each call opens a connection, commits and closes it."""

    path: str

    def execute(self, sql: str, *params: object) -> list[tuple]:
        with closing(sqlite3.connect(self.path)) as conn:
            with conn:  # commits when the block ends, rolls back if it raises
                return conn.execute(sql, params).fetchall()


class SignupsApi(dg.ConfigurableResource):
    """The sign-up service of a shop. The koans never reach it: each test stands in for it."""

    base_url: str = "https://signups.example.com"

    def fetch_signups(self, day: str) -> list[str]:
        raise ConnectionError(f"the koans never call {self.base_url}")


@dg.asset(partitions_def=DAILY)
def signups(
    context: dg.AssetExecutionContext, signups_api: SignupsApi, database: SqliteDatabase
) -> None:
    """One day of sign-ups, fetched from the service into the database."""
    day = context.partition_key
    database.execute("create table if not exists signups (day text, name text)")
    database.execute("delete from signups where day = ?", day)
    for name in signups_api.fetch_new_signups(day):  # a slip: the method is `fetch_signups`
        database.execute("insert into signups values (?, ?)", day, name)


SHOP_PY = """
import dagster as dg


class SignupsApi(dg.ConfigurableResource):
    base_url: str

    def fetch_signups(self) -> list[str]:
        raise ConnectionError(f"tests never call {self.base_url}")


@dg.asset(group_name="ingest", kinds={"duckdb"})
def signups(signups_api: SignupsApi) -> list[str]:
    return signups_api.fetch_signups()


@dg.asset(tags={"team": "analytics"})
def daily_signups(signups: list[str]) -> int:
    return len(signups)
"""
RESOURCES_PY = """
import dagster as dg

from {package}.defs.shop import SignupsApi


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={{"signups_api": SignupsApi(base_url="https://shop.example")}})
"""


def write_project(root: Path, package: str, extra: str = "") -> Path:
    """Lay a `dg` project out in `root`, as `create-dagster project` would: its defs folder holds
    `shop.py` (above, with `extra` code added) and `resources.py`. Return the project's root."""
    files = {
        "pyproject.toml": f"""
            [tool.dg]
            directory_type = "project"

            [tool.dg.project]
            root_module = "{package}"
            """,
        f"src/{package}/__init__.py": "",
        f"src/{package}/definitions.py": """
            from pathlib import Path

            import dagster as dg


            @dg.definitions
            def defs() -> dg.Definitions:
                return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
            """,
        f"src/{package}/defs/__init__.py": "",
        f"src/{package}/defs/shop.py": SHOP_PY + textwrap.dedent(extra),
        f"src/{package}/defs/resources.py": RESOURCES_PY.format(package=package),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run_dg(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `dg` in `project`, as a CI job would, with a home of its own in the project
    folder (and the project's `src` on the path, as installing the project would put it)."""
    home = project / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "HOME": str(project),
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(project / "src"),
        "PATH": f"{DG.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [str(DG), *args], cwd=project, env=env, capture_output=True, text=True, timeout=240
    )


def test_a_direct_call_takes_a_context_built_for_one_partition(tmp_path: Path) -> None:
    """An asset that takes a context can still be called like a function. `dg.build_asset_context`
    makes the context a run would give it, here for one day, holding the resources it needs."""
    database = SqliteDatabase(path=str(tmp_path / "shop.db"))
    database.execute("create table signups (day text, name text)")
    database.execute(
        "insert into signups values ('2024-05-01', 'ada'), ('2024-05-02', 'grace'),"
        " ('2024-05-02', 'alan')"
    )

    @dg.asset(partitions_def=DAILY)
    def signup_count(context: dg.AssetExecutionContext, database: SqliteDatabase) -> int:
        day = context.partition_key
        return database.execute("select count(*) from signups where day = ?", day)[0][0]

    context = dg.build_asset_context(partition_key="2024-05-02", resources={"database": database})

    assert signup_count(context) == 2


def test_a_resource_goes_in_the_context_or_in_the_call_never_both(tmp_path: Path) -> None:
    """A direct call takes each resource from one place: the context, or a keyword argument
    named like the asset's parameter. Given in both, Dagster cannot tell which one you meant."""
    database = SqliteDatabase(path=str(tmp_path / "shop.db"))
    database.execute("create table signups as select '2024-05-01' as day, 'ada' as name")

    @dg.asset(partitions_def=DAILY)
    def signup_count(context: dg.AssetExecutionContext, database: SqliteDatabase) -> int:
        day = context.partition_key
        return database.execute("select count(*) from signups where day = ?", day)[0][0]

    assert signup_count(dg.build_asset_context(partition_key="2024-05-01"), database=database) == 1
    context = dg.build_asset_context(partition_key="2024-05-01", resources={"database": database})
    with pytest.raises(dg.DagsterInvalidInvocationError):
        signup_count(context, database=database)


def test_a_magicmock_answers_every_call_even_a_wrong_one(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Dagster accepts a `MagicMock` for any resource, whatever the parameter's annotation says,
    and hands it to the asset as it is. Here one stands in for the service of `signups` above."""
    database = SqliteDatabase(path=str(tmp_path / "shop.db"))
    api = mock.MagicMock()
    api.fetch_signups.return_value = ["ada", "grace"]

    result = dg.materialize(
        [signups],
        partition_key="2024-05-02",
        resources={"signups_api": api, "database": database},
        instance=instance,
    )

    assert result.success
    assert database.execute("select count(*) from signups") == [(0,)]


def test_an_autospec_of_a_configurable_resource_is_refused(tmp_path: Path) -> None:
    """`mock.create_autospec` copies the class, so its mock would catch the wrong method name.
    Dagster refuses it: what Dagster checks first is which kind of resource it was handed."""
    database = SqliteDatabase(path=str(tmp_path / "shop.db"))
    api = mock.create_autospec(SignupsApi, instance=True)
    plain = mock.MagicMock()

    assert [isinstance(m, dg.ConfigurableResource) for m in (api, plain)] == [True, False]
    context = dg.build_asset_context(
        partition_key="2024-05-02", resources={"signups_api": api, "database": database}
    )
    with pytest.raises(dg.DagsterInvalidDefinitionError):
        signups(context)


def test_patch_the_resources_class_not_one_instance(instance: dg.DagsterInstance) -> None:
    """`mock.patch.object` on the class replaces the method for every copy of the resource,
    including the one Dagster runs. An instance is a frozen pydantic model and takes no patch."""
    api = SignupsApi()

    @dg.asset(partitions_def=DAILY)
    def signup_names(context: dg.AssetExecutionContext, signups_api: SignupsApi) -> list[str]:
        return signups_api.fetch_signups(context.partition_key)

    with mock.patch.object(SignupsApi, "fetch_signups", return_value=["ada"]) as fetch:
        result = dg.materialize(
            [signup_names],
            partition_key="2024-05-02",
            resources={"signups_api": api},
            instance=instance,
        )
    fetch.assert_called_once_with("2024-05-02")
    assert result.output_for_node("signup_names") == ["ada"]
    assert isinstance(api, pydantic.BaseModel)
    with pytest.raises(pydantic.ValidationError):
        mock.patch.object(api, "fetch_signups", return_value=["ada"]).start()


def test_a_subclass_double_fails_where_the_real_resource_would(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A subclass of the real resource (as in lesson 05) is a real `ConfigurableResource`: Dagster
    sets it up like the real one, and it has the real class's methods and no others."""

    class FakeSignupsApi(SignupsApi):
        def fetch_signups(self, day: str) -> list[str]:
            return ["ada", "grace"]

    database = SqliteDatabase(path=str(tmp_path / "shop.db"))
    resources = {"signups_api": FakeSignupsApi(), "database": database}

    with pytest.raises(AttributeError, match="fetch_new_signups"):
        dg.materialize(
            [signups], partition_key="2024-05-02", resources=resources, instance=instance
        )


def test_materialize_to_memory_keeps_every_output_in_memory(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`dg.materialize_to_memory` runs assets with an in-memory IO manager in place of every one
    they name, so a test needs none of them. It refuses to be handed one."""

    @dg.asset(io_manager_key="warehouse")
    def daily_signups() -> pd.DataFrame:
        return pd.DataFrame({"day": ["2024-05-01", "2024-05-02"], "signups": [3, 5]})

    @dg.asset(io_manager_key="warehouse")
    def total_signups(daily_signups: pd.DataFrame) -> int:
        return int(daily_signups["signups"].sum())

    result = dg.materialize_to_memory([daily_signups, total_signups], instance=instance)

    assert result.asset_value("total_signups") == 8
    warehouse = dg.FilesystemIOManager(base_dir=str(tmp_path))
    with pytest.raises(dg.DagsterInvariantViolationError):
        dg.materialize_to_memory([daily_signups], resources={"warehouse": warehouse})


@pytest.mark.timeout(60)  # it builds an instance on disk: allow it more than usual
def test_an_instance_for_test_lives_on_disk_as_a_deployment_does() -> None:
    """`dg.instance_for_test()` keeps runs in files under a temporary `$DAGSTER_HOME`, so another
    instance opened on that folder (the UI's, the daemon's) sees them. The koans' `instance`
    keeps them in its own memory, where no one else looks."""

    @dg.asset
    def signup_count() -> int:
        return 3

    with dg.instance_for_test(overrides=QUIET) as on_disk:
        dg.materialize([signup_count], instance=on_disk)
        with dg.DagsterInstance.get() as other_process_view:
            seen_on_disk = other_process_view.get_runs_count()
    with dg.DagsterInstance.ephemeral(settings=QUIET) as in_memory:
        dg.materialize([signup_count], instance=in_memory)
        with dg.DagsterInstance.from_config(in_memory.root_directory) as its_folder_opened:
            seen_in_memory = its_folder_opened.get_runs_count()

    assert (seen_on_disk, seen_in_memory) == (1, 0)


def test_a_test_loads_the_projects_own_definitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    """A test can load the very definitions a deployment loads. `get_assets_def(key)` hands back
    an asset as written, for the test to supply its resources; `resolve_assets_def(key)` hands
    it back bound to the project's own, which would call the real service."""
    write_project(tmp_path, "koan14_loaded")
    monkeypatch.syspath_prepend(tmp_path / "src")  # as installing the project would

    tree = dg.ComponentTree.for_project(tmp_path)
    defs = tree.build_defs(tree.defs_module_path)
    as_written = defs.get_assets_def("signups")
    stand_in = mock.MagicMock(**{"fetch_signups.return_value": ["ada", "grace"]})
    result = dg.materialize(
        [as_written, defs.get_assets_def("daily_signups")],
        resources={"signups_api": stand_in},
        instance=instance,
    )

    assert result.output_for_node("daily_signups") == 2
    assert dict(as_written.resource_defs) == {}
    assert "signups_api" in defs.resolve_assets_def("signups").resource_defs


def test_a_plus_with_no_depth_after_a_key() -> None:
    """`dg.AssetSelection.from_string` reads a selection string, as the UI and `dg launch --assets`
    do. What it selects is found by resolving it against the project's asset graph."""

    @dg.asset
    def signups() -> None: ...

    @dg.asset(deps=[signups])
    def daily_signups() -> None: ...

    @dg.asset(deps=[daily_signups])
    def weekly_signups() -> None: ...

    @dg.asset
    def orders() -> None: ...

    graph = dg.Definitions(
        assets=[signups, daily_signups, weekly_signups, orders]
    ).resolve_asset_graph()

    def selected(selection: dg.AssetSelection) -> list[str]:
        return sorted(key.to_user_string() for key in selection.resolve(graph))

    assert selected(dg.AssetSelection.from_string("key:signups+1")) == ["daily_signups", "signups"]
    downstream = selected(dg.AssetSelection.from_string("key:signups+"))
    assert downstream == ["daily_signups", "signups", "weekly_signups"]


def test_a_selection_string_is_the_python_selection_written_as_text() -> None:
    """Every filter of the string syntax has a method of `dg.AssetSelection`, and `and`, `or` and
    `not` are its `&`, `|` and `-`: a job can take either form and select the same assets."""

    @dg.asset(group_name="ingest", kinds={"duckdb"})
    def signups() -> None: ...

    @dg.asset(group_name="marts", deps=[signups], tags={"team": "analytics"})
    def daily_signups() -> None: ...

    @dg.asset(group_name="marts", deps=[daily_signups], kinds={"duckdb"})
    def weekly_signups() -> None: ...

    graph = dg.Definitions(assets=[signups, daily_signups, weekly_signups]).resolve_asset_graph()

    def selected(selection: dg.AssetSelection) -> list[str]:
        return sorted(key.to_user_string() for key in selection.resolve(graph))

    assert selected(dg.AssetSelection.from_string("tag:team=analytics")) == selected(
        dg.AssetSelection.tag("team", "analytics")
    )
    as_text = dg.AssetSelection.from_string("group:marts and kind:duckdb")
    python_api = dg.AssetSelection.groups("marts") & dg.AssetSelection.kind("duckdb")
    assert selected(as_text) == selected(python_api)


def test_one_code_location_is_one_namespace() -> None:
    """Two teams each call their job `nightly`. Merged into one code location, the two names
    collide; kept as two locations of one workspace, each loads on its own, in its own process."""

    @dg.asset
    def signups() -> None: ...

    @dg.asset
    def invoices() -> None: ...

    nightly_signups = dg.define_asset_job("nightly", selection=[signups])
    nightly_invoices = dg.define_asset_job("nightly", selection=[invoices])
    marketing = dg.Definitions(assets=[signups], jobs=[nightly_signups])
    billing = dg.Definitions(assets=[invoices], jobs=[nightly_invoices])
    dg.Definitions.validate_loadable(marketing)
    dg.Definitions.validate_loadable(billing)

    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.Definitions.validate_loadable(dg.Definitions.merge(marketing, billing))


@pytest.mark.timeout(300)  # it runs the real `dg`, which imports Dagster and the project
def test_dg_check_defs_fails_the_build_on_a_schedule_for_a_missing_job(tmp_path: Path) -> None:
    """A schedule may name its job by `job_name=`. Python accepts the name; only loading the
    definitions can tell that no job has it. That is `dg check defs`' work in CI."""
    project = write_project(
        tmp_path,
        "koan14_checked",
        extra="""
        daily = dg.ScheduleDefinition(
            name="daily", job_name="signups_job", cron_schedule="0 6 * * *"
        )
        """,
    )

    checked = run_dg(project, "check", "defs")

    assert checked.returncode == 1
    assert "signups_job" in checked.stdout + checked.stderr


@pytest.mark.timeout(300)  # it runs the real `dg`, which imports Dagster and the project
def test_dg_list_defs_json_is_what_a_ci_script_reads(tmp_path: Path) -> None:
    """`dg list defs --json` prints the loaded definitions as JSON: a CI script can check a rule
    of the team's (every asset in a group, every asset owned) without importing the project."""
    project = write_project(tmp_path, "koan14_listed")

    listed = run_dg(project, "list", "defs", "--json")
    listing = json.loads(listed.stdout)

    groups = {asset["asset_key"]: asset["group_name"] for asset in listing["assets"]}
    assert groups == {"daily_signups": "default", "signups": "ingest"}
