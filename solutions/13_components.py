"""Components and the project layout: how a Dagster project is laid out today.

`create-dagster project` lays a project out as a `pyproject.toml`, whose `[tool.dg.project]`
names the root package, and `src/<package>/definitions.py`, whose `@dg.definitions` function
calls `dg.load_from_defs_folder`: every Python file under `src/<package>/defs/` is imported, and
whatever assets, jobs, schedules and resources it holds are collected, with no list to keep up
to date. The `dg` command line works on that layout: `dg dev` opens the project in the UI,
`dg check defs` loads it and reports what is broken, `dg list defs` lists what it holds.

A folder holding a `defs.yaml` is a component: the file names a `dg.Component` class (`type:`)
and its settings (`attributes:`), and the class's `build_defs` turns them into definitions. One
class written once serves many folders. A component that is also a `dg.Model` is a pydantic
model: settings that do not fit its fields fail the load with `pydantic.ValidationError`, which
Dagster wraps in an error of its own, keeping pydantic's as the `__cause__`.

Each koan writes its own small project into `tmp_path`, with a package name of its own, because
Python keeps every module it has imported for the rest of the run. `build_defs_folder` below
stands in for `dg.load_from_defs_folder`: the same loading, without the catalogue of every
component type installed in Python that the real call adds for the UI (about half a second
here, with the integrations this project installs).

Read next:
- https://docs.dagster.io/guides/build/projects/project-structure/project-overview
- https://docs.dagster.io/guides/build/components/creating-new-components/creating-and-registering-a-component
"""

import importlib
import sqlite3
import textwrap
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import dagster as dg
import pydantic
import pytest

from dagster_koans import __

USERS_PY = """
import dagster as dg


@dg.asset
def users() -> list[str]:
    return ["ada", "grace"]


@dg.asset
def active_users(users: list[str]) -> list[str]:
    return [name for name in users if name != "grace"]
"""

USERS_TABLE_PY = '''
import dagster as dg


class UsersTable(dg.Component, dg.Model, dg.Resolvable):
    """One asset, named after `table`, that holds the `names` given in defs.yaml."""

    table: str
    names: list[str]

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        @dg.asset(name=self.table)
        def table() -> list[str]:
            return self.names

        return dg.Definitions(assets=[table])
'''


def write(path: Path, text: str) -> None:
    """Write a file of the project, making its folders first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def new_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str) -> Path:
    """Lay out a project as `create-dagster project` does, in `tmp_path`; return its defs folder."""
    write(
        tmp_path / "pyproject.toml",
        f"""
        [tool.dg]
        directory_type = "project"

        [tool.dg.project]
        root_module = "{package}"
        """,
    )
    write(tmp_path / "src" / package / "__init__.py", "")
    write(
        tmp_path / "src" / package / "definitions.py",
        """
        from pathlib import Path

        import dagster as dg


        @dg.definitions
        def defs() -> dg.Definitions:
            return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
        """,
    )
    write(tmp_path / "src" / package / "defs" / "__init__.py", "")
    monkeypatch.syspath_prepend(tmp_path / "src")  # as installing the project would
    return tmp_path / "src" / package / "defs"


@contextmanager
def dagster_notices_silenced() -> Iterator[None]:
    """Silence what `dg.load_from_defs_folder` silences itself: Dagster's preview and beta
    notices, and the deprecation of pydantic's `parse_obj_as`, which Dagster 1.13 calls on every
    defs.yaml it reads (a call inside Dagster, not in this project)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        warnings.filterwarnings(
            "ignore",
            message="`parse_obj_as` is deprecated",
            category=DeprecationWarning,
            module=r"dagster\._utils\.pydantic_yaml",
        )
        yield


def build_defs_folder(project: Path) -> dg.Definitions:
    """What `dg.load_from_defs_folder(path_within_project=project)` builds, catalogue aside."""
    with dagster_notices_silenced():
        tree = dg.ComponentTree.for_project(project)
        return tree.build_defs(tree.defs_module_path)


def asset_names(defs: dg.Definitions) -> list[str]:
    return sorted(key.to_user_string() for key in defs.resolve_all_asset_keys())


def test_definitions_py_holds_a_function_that_dagster_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`definitions.py` is where Dagster starts. `@dg.definitions` marks the function that builds
    the project's definitions, for Dagster to call when it loads the project. This one notes each
    call: has importing the module called it?"""
    new_project(tmp_path, monkeypatch, "koan13_entry")
    write(
        tmp_path / "src" / "koan13_entry" / "definitions.py",
        """
        from pathlib import Path

        import dagster as dg

        calls: list[str] = []


        @dg.definitions
        def defs() -> dg.Definitions:
            calls.append("defs")
            return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
        """,
    )

    module = importlib.import_module("koan13_entry.definitions")

    assert module.calls == []


def test_the_defs_folder_is_a_module_of_the_root_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[tool.dg.project] root_module` in `pyproject.toml` names the project's package, and the
    definitions live in one module of it, the same for every project made by the `dg` tools."""
    new_project(tmp_path, monkeypatch, "koan13_layout")

    with dagster_notices_silenced():
        tree = dg.ComponentTree.for_project(tmp_path)

    assert tree.defs_module_name == "koan13_layout.defs"


def test_every_python_file_below_defs_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading walks up from the given path to the project's `pyproject.toml`, imports every
    Python file in the defs folder, and collects its assets: nothing lists `users.py`."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_found")
    write(defs_folder / "users.py", USERS_PY)

    defs = build_defs_folder(tmp_path)

    assert asset_names(defs) == ["active_users", "users"]


def test_a_job_in_one_file_runs_assets_from_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    """Subfolders of `defs` need no `__init__.py`, and the whole folder is one set of
    definitions: a job or schedule in one file selects assets from another by their keys, and
    imports nothing from it. What does a run of the job in `reports/jobs.py` materialize?"""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_jobs")
    write(defs_folder / "users" / "assets.py", USERS_PY)
    write(
        defs_folder / "reports" / "jobs.py",
        """
        import dagster as dg

        users_job = dg.define_asset_job("users_job", selection=["users", "active_users"])
        daily = dg.ScheduleDefinition(
            name="daily_users", target=users_job, cron_schedule="0 6 * * *"
        )
        """,
    )

    defs = build_defs_folder(tmp_path)
    result = defs.resolve_job_def("users_job").execute_in_process(instance=instance)

    events = result.get_asset_materialization_events()
    assert defs.resolve_schedule_def("daily_users").job.name == "users_job"
    assert [event.asset_key.to_user_string() for event in events] == ["users", "active_users"]


def test_a_definitions_function_in_a_defs_file_decides_what_that_file_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of the defs folder may hold its own `@dg.definitions` function; then Dagster takes
    what that function returns from the file, and ignores the rest of the module."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_explicit")
    write(
        defs_folder / "users.py",
        """
        import dagster as dg


        @dg.asset
        def draft_users() -> list[str]:
            return []


        @dg.asset
        def users() -> list[str]:
            return ["ada", "grace"]


        @dg.definitions
        def defs() -> dg.Definitions:
            return dg.Definitions(assets=[users])
        """,
    )

    defs = build_defs_folder(tmp_path)

    assert asset_names(defs) == ["users"]


def test_a_resources_file_supplies_every_asset_in_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    """Shared code (a resource class) lives in the package beside `defs`; one file in `defs`
    hands out the resource. Two assets ask for it by name, in other files: one beside
    `resources.py`, one in a subfolder. Which tables does the run leave in the database?"""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_resources")
    write(
        defs_folder.parent / "database.py",
        """
        import sqlite3
        from contextlib import closing

        import dagster as dg


        class SqliteDatabase(dg.ConfigurableResource):
            path: str

            def execute(self, sql: str) -> list[tuple]:
                with closing(sqlite3.connect(self.path)) as conn, conn:
                    return conn.execute(sql).fetchall()
        """,
    )
    write(
        defs_folder / "resources.py",
        """
        import dagster as dg

        from koan13_resources.database import SqliteDatabase


        @dg.definitions
        def resources() -> dg.Definitions:
            database = SqliteDatabase(path=dg.EnvVar("USERS_DB"))
            return dg.Definitions(resources={"database": database})
        """,
    )
    write(
        defs_folder / "users.py",
        """
        import dagster as dg

        from koan13_resources.database import SqliteDatabase


        @dg.asset
        def users(database: SqliteDatabase) -> None:
            database.execute("create table users as select 'ada' as name")
        """,
    )
    write(
        defs_folder / "reports" / "signups.py",
        """
        import dagster as dg

        from koan13_resources.database import SqliteDatabase


        @dg.asset
        def signups(database: SqliteDatabase) -> None:
            database.execute("create table signups as select 'grace' as name")
        """,
    )
    monkeypatch.setenv("USERS_DB", str(tmp_path / "users.db"))

    defs = build_defs_folder(tmp_path)
    defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance)

    with closing(sqlite3.connect(tmp_path / "users.db")) as conn:
        rows = conn.execute("select name from sqlite_master where type = 'table' order by name")
        tables = [name for (name,) in rows]
    assert set(defs.resources) == {"database"}
    assert tables == ["signups", "users"]


def test_build_defs_turns_the_attributes_into_assets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    """A `dg.Component` that is also a `dg.Model` and `dg.Resolvable` declares its settings as
    typed fields; `defs.yaml` names the class under `type:` and fills the fields under
    `attributes:` (`ComponentTree.load_component` shows the result). Dagster then calls the
    component's `build_defs(context)` and takes the `Definitions` it returns."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_built")
    write(defs_folder.parent / "components.py", USERS_TABLE_PY)
    write(
        defs_folder / "members" / "defs.yaml",
        """
        type: koan13_built.components.UsersTable
        attributes:
          table: club_members
          names: [ada, grace]
        """,
    )

    with dagster_notices_silenced():
        component = dg.ComponentTree.for_project(tmp_path).load_component("members")
    defs = build_defs_folder(tmp_path)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance)

    assert isinstance(component, pydantic.BaseModel)
    assert component.names == ["ada", "grace"]
    assert result.success
    assert asset_names(defs) == ["club_members"]


def test_a_component_folder_is_one_component_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder with a `defs.yaml` belongs to its component: Dagster builds the component there
    and does not go on to import the folder's Python files, as it does everywhere else."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_owned")
    write(defs_folder.parent / "components.py", USERS_TABLE_PY)
    write(defs_folder / "users.py", USERS_PY)
    write(
        defs_folder / "members" / "defs.yaml",
        """
        type: koan13_owned.components.UsersTable
        attributes:
          table: members
          names: [ada]
        """,
    )
    write(
        defs_folder / "members" / "drafts.py",
        """
        import dagster as dg


        @dg.asset
        def draft_members() -> list[str]:
            return []
        """,
    )

    defs = build_defs_folder(tmp_path)

    assert asset_names(defs) == ["active_users", "members", "users"]


def test_the_type_names_the_module_and_then_the_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`type:` is an import path: the module that holds the class, a dot, and the class's name.
    The module may live anywhere Python can import it from, usually inside the project."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_typed")
    write(defs_folder.parent / "library.py", USERS_TABLE_PY)
    write(
        defs_folder / "users" / "defs.yaml",
        """
        type: koan13_typed.library.UsersTable
        attributes:
          table: users
          names: [ada]
        """,
    )

    defs = build_defs_folder(tmp_path)

    assert defs.resolve_assets_def("users").key == dg.AssetKey("users")


def test_one_component_class_serves_many_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Components are written once and declared many times: each folder with a `defs.yaml`
    builds its own instance from its own attributes."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_many")
    write(defs_folder.parent / "components.py", USERS_TABLE_PY)
    for table, names in [("admins", "[ada]"), ("guests", "[grace, alan]"), ("staff", "[]")]:
        write(
            defs_folder / table / "defs.yaml",
            f"""
            type: koan13_many.components.UsersTable
            attributes:
              table: {table}
              names: {names}
            """,
        )

    defs = build_defs_folder(tmp_path)

    assert len(defs.resolve_all_asset_keys()) == 3


def test_a_misspelt_attribute_fails_the_load_and_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Because the component is a `dg.Model`, its `attributes:` are checked when the project
    loads: a missing field, or one the class does not have, fails the load and names the line of
    `defs.yaml`."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_checked")
    write(defs_folder.parent / "components.py", USERS_TABLE_PY)
    write(
        defs_folder / "users" / "defs.yaml",
        """
        type: koan13_checked.components.UsersTable
        attributes:
          tabel: users
          names: [ada]
        """,
    )

    with pytest.raises(Exception, match="users") as failure:
        build_defs_folder(tmp_path)

    assert isinstance(failure.value.__cause__, pydantic.ValidationError)
    assert "defs.yaml:4" in str(failure.value.__cause__)


def test_an_env_template_in_defs_yaml_is_read_when_the_project_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`{{ env.NAME }}` in `defs.yaml` is replaced by the environment variable's value while the
    component loads, unlike `dg.EnvVar`, which a resource reads only when a run starts."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_templated")
    write(defs_folder.parent / "components.py", USERS_TABLE_PY)
    write(
        defs_folder / "users" / "defs.yaml",
        """
        type: koan13_templated.components.UsersTable
        attributes:
          table: "{{ env.USERS_TABLE }}"
          names: [ada]
        """,
    )

    monkeypatch.setenv("USERS_TABLE", "people")
    defs = build_defs_folder(tmp_path)
    monkeypatch.setenv("USERS_TABLE", "staff")

    assert asset_names(defs) == ["people"]


def test_a_component_finds_its_files_through_context_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    """`context.path` in `build_defs` says where the component is declared, so a component can
    keep its files (a query, a small database) beside its declaration. Put the database where
    `RowCount` will look for it."""
    defs_folder = new_project(tmp_path, monkeypatch, "koan13_located")
    write(
        defs_folder.parent / "components.py",
        """
        import sqlite3
        from contextlib import closing

        import dagster as dg


        class RowCount(dg.Component, dg.Model, dg.Resolvable):
            database: str
            table: str

            def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
                database_file = context.path / self.database

                @dg.asset(name=f"{self.table}_count")
                def row_count() -> int:
                    with closing(sqlite3.connect(database_file)) as conn:
                        return conn.execute(f"select count(*) from {self.table}").fetchone()[0]

                return dg.Definitions(assets=[row_count])
        """,
    )
    write(
        defs_folder / "user_stats" / "defs.yaml",
        """
        type: koan13_located.components.RowCount
        attributes:
          database: users.db
          table: users
        """,
    )
    with closing(sqlite3.connect(defs_folder / "user_stats" / "users.db")) as conn, conn:
        conn.execute("create table users as select 'ada' as name union select 'grace'")

    defs = build_defs_folder(tmp_path)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance)

    assert result.output_for_node("users_count") == 2
