"""Resources: the outside world your assets and ops talk to.

A resource is a `dg.ConfigurableResource` class: typed fields for its settings, methods for its
work (open a database, call an API). An asset or op asks for one with a parameter annotated with
the resource's class; Dagster hands it the resource supplied under the parameter's name. Because
the code only names the resource, a run can be given the real database, a file in a test folder,
or a stand-in, without changing a line of the asset.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import dagster as dg
import pytest
from pydantic import PrivateAttr

from dagster_koans import __, ___


class SqliteDatabase(dg.ConfigurableResource):
    """A real sqlite3 database file. Each call opens a connection, commits and closes it."""

    path: str

    def execute(self, sql: str, *params: object) -> list[tuple]:
        with closing(sqlite3.connect(self.path)) as conn:
            with conn:  # commits when the block ends, rolls back if it raises
                return conn.execute(sql, params).fetchall()


def test_a_resource_reaches_an_asset_through_the_parameter_of_the_same_name(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A parameter annotated with a resource class is not an input: Dagster fills it with the
    resource supplied under the parameter's name."""
    db_file = tmp_path / "users.db"

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text, active integer)")
        database.execute("insert into users values ('ada', 1), ('grace', 0)")

    dg.materialize(
        [users_table], resources={"database": SqliteDatabase(path=str(db_file))}, instance=instance
    )

    assert SqliteDatabase(path=str(db_file)).execute("select count(*) from users") == [(2,)]


def test_an_op_asks_for_a_resource_by_its_type(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Ops take resources exactly like assets: the annotation says it is a resource, the name says
    which one. A job run gets its resources through `execute_in_process(resources=...)`."""
    database = SqliteDatabase(path=str(tmp_path / "users.db"))
    database.execute("create table users (name text, active integer)")
    database.execute("insert into users values ('ada', 1), ('grace', 0), ('alan', 1)")

    @dg.op
    def count_active_users(database: SqliteDatabase) -> int:
        return database.execute("select count(*) from users where active")[0][0]

    @dg.job
    def report() -> None:
        count_active_users()

    result = report.execute_in_process(resources={"database": database}, instance=instance)

    assert result.output_for_node("count_active_users") == 2


def test_a_missing_resource_is_caught_when_definitions_load(tmp_path: Path) -> None:
    """Building `dg.Definitions` is lazy, but loading them checks that every resource an asset
    asks for is supplied. `dg.Definitions.validate_loadable(defs)` runs the checks Dagster runs
    when it loads a project, as `dagster dev` does."""

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text)")

    defs = dg.Definitions(assets=[users_table])

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="database"):
        dg.Definitions.validate_loadable(defs)


def test_definitions_hand_one_resource_to_assets_and_jobs(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`dg.Definitions(resources=...)` supplies a resource to every asset and job inside it, so
    the database is named once for the whole project."""
    db_file = tmp_path / "users.db"

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text, active integer)")
        database.execute("insert into users values ('ada', 1), ('grace', 0)")

    @dg.op
    def count_users(database: SqliteDatabase) -> int:
        return database.execute("select count(*) from users")[0][0]

    @dg.job
    def report() -> None:
        count_users()

    defs = dg.Definitions(
        assets=[users_table],
        jobs=[dg.define_asset_job("load_users", selection=[users_table]), report],
        resources={"database": SqliteDatabase(path=str(db_file))},
    )
    defs.resolve_job_def("load_users").execute_in_process(instance=instance)
    result = defs.resolve_job_def("report").execute_in_process(instance=instance)

    assert result.output_for_node("count_users") == 2
    assert db_file.exists()


def test_an_env_var_is_read_when_the_run_starts(
    instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dg.EnvVar("NAME")` keeps a setting out of the code: the resource holds only the
    variable's name, and Dagster reads its value when a run starts."""
    db_file = tmp_path / "users.db"
    monkeypatch.setenv("USERS_DB_PATH", str(db_file))

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text)")
        database.execute("insert into users values ('ada')")

    database = SqliteDatabase(path=dg.EnvVar("USERS_DB_PATH"))
    dg.materialize([users_table], resources={"database": database}, instance=instance)

    assert SqliteDatabase(path=str(db_file)).execute("select name from users") == [("ada",)]


def test_an_unset_env_var_fails_the_run_not_the_definitions(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing variable goes unnoticed while the resource is built and the definitions load;
    the run fails before any step, with a config error that names the variable."""
    monkeypatch.delenv("USERS_DB_PATH", raising=False)

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text)")

    database = SqliteDatabase(path=dg.EnvVar("USERS_DB_PATH"))
    dg.Definitions.validate_loadable(
        dg.Definitions(assets=[users_table], resources={"database": database})
    )

    with pytest.raises(dg.DagsterInvalidConfigError, match="USERS_DB_PATH"):
        dg.materialize([users_table], resources={"database": database}, instance=instance)


def test_a_test_double_takes_the_real_resources_place(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """This is what resources are for: a test supplies a stand-in with the same methods (here a
    subclass), and the asset runs unchanged against a real database without the network."""

    class UsersApi(dg.ConfigurableResource):
        base_url: str = "https://users.example.com"

        def fetch_users(self) -> list[tuple[str, bool]]:
            raise ConnectionError(f"the koans never call {self.base_url}")

    class FakeUsersApi(UsersApi):
        def fetch_users(self) -> list[tuple[str, bool]]:
            return [("ada", True), ("grace", False), ("alan", True)]

    @dg.asset
    def users_table(users_api: UsersApi, database: SqliteDatabase) -> None:
        database.execute("create table users (name text, active integer)")
        for name, active in users_api.fetch_users():
            database.execute("insert into users values (?, ?)", name, active)

    database = SqliteDatabase(path=str(tmp_path / "users.db"))
    resources = {"users_api": FakeUsersApi(), "database": database}
    dg.materialize([users_table], resources=resources, instance=instance)

    assert database.execute("select count(*) from users where active") == [(2,)]


def test_setup_and_teardown_wrap_the_whole_run(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`setup_for_execution` runs once before the run's first step and `teardown_after_execution`
    once after its last, however many assets use the resource."""

    class AuditedDatabase(SqliteDatabase):
        def setup_for_execution(self, context: dg.InitResourceContext) -> None:
            self.execute("create table if not exists log (event text)")
            self.execute("insert into log values ('setup')")

        def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
            self.execute("insert into log values ('teardown')")

    @dg.asset
    def users_table(database: AuditedDatabase) -> None:
        database.execute("insert into log values ('users_table')")

    @dg.asset(deps=[users_table])
    def active_users(database: AuditedDatabase) -> None:
        database.execute("insert into log values ('active_users')")

    database = AuditedDatabase(path=str(tmp_path / "users.db"))
    dg.materialize([users_table, active_users], resources={"database": database}, instance=instance)
    events = [event for (event,) in database.execute("select event from log")]

    assert events == ["setup", "users_table", "active_users", "teardown"]


def test_yield_for_execution_hands_out_what_it_yields(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`yield_for_execution` wraps the run like a `with` block: assets receive what it yields,
    and the code after `yield` runs when the run ends. Here one connection serves the whole run."""
    db_file = tmp_path / "users.db"
    SqliteDatabase(path=str(db_file)).execute("create table users (name text)")

    class OneConnection(dg.ConfigurableResource):
        path: str
        _conn: sqlite3.Connection = PrivateAttr()

        @contextmanager
        def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["OneConnection"]:
            with closing(sqlite3.connect(self.path)) as conn:
                self._conn = conn
                yield self
                conn.commit()

        def add_user(self, name: str) -> None:
            self._conn.execute("insert into users values (?)", (name,))

    @dg.asset
    def users_table(database: OneConnection) -> None:
        database.add_user("ada")
        database.add_user("grace")

    database = OneConnection(path=str(db_file))
    dg.materialize([users_table], resources={"database": database}, instance=instance)

    assert SqliteDatabase(path=str(db_file)).execute("select count(*) from users") == [(2,)]


def test_the_older_resource_decorator_is_found_on_context_resources(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The older form, common in existing code: a `@dg.resource` function makes the value, an op
    lists the keys it needs in `required_resource_keys` and reads `context.resources.<key>`."""
    db_file = tmp_path / "users.db"
    SqliteDatabase(path=str(db_file)).execute("create table users as select 'ada' as name")

    @dg.resource
    def sqlite_connection(init_context: dg.InitResourceContext) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(db_file)) as conn:
            yield conn

    @dg.op(required_resource_keys={"db"})
    def count_users(context: dg.OpExecutionContext) -> int:
        return context.resources.db.execute("select count(*) from users").fetchone()[0]

    @dg.job
    def report() -> None:
        count_users()

    result = report.execute_in_process(resources={"db": sqlite_connection}, instance=instance)

    assert result.output_for_node("count_users") == 1


def test_with_on_a_sqlite3_connection_commits_or_rolls_back_but_never_closes(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The seed's `with context.resources.db as conn` works here because the value is a sqlite3
    connection: its `with` is a transaction that commits, or rolls back on an error, and leaves
    the connection open. Closing is the resource's job."""
    db_file = tmp_path / "users.db"
    SqliteDatabase(path=str(db_file)).execute("create table users (name text)")

    @dg.resource
    def sqlite_connection(init_context: dg.InitResourceContext) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(db_file)) as conn:
            yield conn

    @dg.op(required_resource_keys={"db"})
    def add_users(context: dg.OpExecutionContext) -> int:
        with context.resources.db as conn:
            conn.execute("insert into users values ('ada')")
        try:
            with context.resources.db as conn:
                conn.execute("insert into users values ('grace')")
                raise ValueError("grace's row is not ready")
        except ValueError:
            context.log.info("grace's insert was rolled back")
        return conn.execute("select count(*) from users").fetchone()[0]

    @dg.job
    def load() -> None:
        add_users()

    result = load.execute_in_process(resources={"db": sqlite_connection}, instance=instance)

    assert result.output_for_node("add_users") == 1


def test_with_on_a_configurable_resource_is_an_error(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The same line fails when the value is not a context manager, as a `ConfigurableResource`
    is not: the op should ask the resource for what it needs instead."""

    @dg.op(required_resource_keys={"db"})
    def add_users(context: dg.OpExecutionContext) -> None:
        with context.resources.db as conn:
            conn.execute("create table users (name text)")

    @dg.job
    def load() -> None:
        add_users()

    database = SqliteDatabase(path=str(tmp_path / "users.db"))

    # Python refuses: TypeError since Python 3.11, AttributeError before it.
    with pytest.raises((TypeError, AttributeError)):
        load.execute_in_process(resources={"db": database}, instance=instance)
    assert [hasattr(database, name) for name in ("__enter__", "__exit__")] == [False, False]
