"""Resources: the outside world your assets and ops talk to.

A resource is a `dg.ConfigurableResource` class: typed fields for its settings, methods for its
work (open a database, call an API). An asset or op asks for one with a parameter annotated with
the resource's class; Dagster hands it the resource supplied under the parameter's name. Because
the code only names the resource, a run can be given the real database, a file in a test folder,
or a stand-in, without changing a line of the asset. Dagster itself supplies one resource to
every job, `io_manager`, which stores each output between steps (lesson 08).

Where a resource is set up matters. `dg.materialize` and `execute_in_process` run every step in
this one process, so a resource is set up once for the whole run. A deployed job runs with its
executor, by default `dg.multi_or_in_process_executor`: once launched, each step runs in a
process of its own, and each process sets the resource up and tears it down again. A run of two
assets that share a database opens two connections. Write set-up that may run once per step,
and keep no state in a resource that one step hands to the next.

Three errors belong to resources. Definitions that leave a resource unsupplied fail to load with
`dg.DagsterInvalidDefinitionError`. A resource whose set-up raises fails the run with
`dg.DagsterResourceFunctionError`, your own error as its cause. And in the older form, an op that
reads a resource it never declared fails with `dg.DagsterUnknownResourceError`.

Read next:
- https://docs.dagster.io/guides/build/external-resources/defining-resources
- https://docs.dagster.io/guides/build/external-resources/configuring-resources
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
    """A parameter annotated with a resource class is filled with the resource supplied under
    the parameter's name; the class only says what kind of thing it is. Two databases of the
    same class are supplied here."""
    scratch = SqliteDatabase(path=str(tmp_path / "scratch.db"))
    warehouse = SqliteDatabase(path=str(tmp_path / "warehouse.db"))

    @dg.asset
    def users_table(warehouse: SqliteDatabase) -> None:
        warehouse.execute("create table users (name text, active integer)")
        warehouse.execute("insert into users values ('ada', 1), ('grace', 0)")

    resources = {"scratch": scratch, "warehouse": warehouse}
    dg.materialize([users_table], resources=resources, instance=instance)

    written = [key for key, db in resources.items() if db.execute("select * from sqlite_master")]
    assert written == ["warehouse"]


def test_an_op_takes_a_resource_beside_its_inputs(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """Ops take resources exactly like assets, beside their inputs. A job run gets its resources
    through `execute_in_process(resources=...)`."""
    database = SqliteDatabase(path=str(tmp_path / "users.db"))
    database.execute("create table users (name text, active integer)")
    database.execute("insert into users values ('ada', 1), ('grace', 0), ('alan', 1)")

    @dg.op
    def table_name() -> str:
        return "users"

    @dg.op
    def count_rows(table: str, database: SqliteDatabase) -> int:
        return database.execute(f"select count(*) from {table}")[0][0]

    @dg.job
    def report() -> None:
        count_rows(table_name())

    result = report.execute_in_process(resources={"database": database}, instance=instance)

    assert result.output_for_node("count_rows") == 3
    assert list(count_rows.ins) == ["table"]


def test_a_missing_resource_is_caught_when_definitions_load(tmp_path: Path) -> None:
    """Building `dg.Definitions` is lazy, but loading them checks that every resource an asset
    asks for is supplied. `dg.Definitions.validate_loadable(defs)` runs the checks Dagster runs
    when it loads a project, as `dg check defs` and `dg dev` do."""

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text)")

    defs = dg.Definitions(assets=[users_table])

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="database"):
        dg.Definitions.validate_loadable(defs)


def test_definitions_hand_their_resources_to_every_job(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`dg.Definitions(resources=...)` binds its resources to every asset and job inside it, so
    the database is named once for the whole project. A job resolved from it carries them."""
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
    bound_report = defs.resolve_job_def("report")
    result = bound_report.execute_in_process(instance=instance)

    assert result.output_for_node("count_users") == 2
    assert sorted(bound_report.resource_defs) == ["database", "io_manager"]


def test_an_env_var_setting_is_read_when_a_run_starts(
    instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dg.EnvVar("NAME")` keeps a setting out of the code: Dagster reads the variable when a run
    starts, in the process that runs it. Until then the resource's field holds something else."""
    db_file = tmp_path / "users.db"
    monkeypatch.setenv("USERS_DB_PATH", str(db_file))

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text)")
        database.execute("insert into users values ('ada')")

    database = SqliteDatabase(path=dg.EnvVar("USERS_DB_PATH"))
    dg.materialize([users_table], resources={"database": database}, instance=instance)

    assert SqliteDatabase(path=str(db_file)).execute("select name from users") == [("ada",)]
    assert database.path == "USERS_DB_PATH"


def test_when_an_unset_env_var_is_noticed(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable nobody set is a missing config value, and Dagster says so with its config
    error, naming the variable. Two moments could notice: loading the definitions, or the run."""
    monkeypatch.delenv("USERS_DB_PATH", raising=False)

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text)")

    database = SqliteDatabase(path=dg.EnvVar("USERS_DB_PATH"))
    moments = {
        "load": lambda: dg.Definitions.validate_loadable(
            dg.Definitions(assets=[users_table], resources={"database": database})
        ),
        "run": lambda: dg.materialize(
            [users_table], resources={"database": database}, instance=instance
        ),
    }
    failed = []
    for moment, action in moments.items():
        try:
            action()
        except dg.DagsterInvalidConfigError as error:
            assert "USERS_DB_PATH" in str(error)
            failed.append(moment)

    assert failed == ["run"]


def test_a_test_double_takes_the_real_resources_place(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """This is what resources are for: a test supplies a stand-in with the same methods (here a
    subclass), and the asset runs unchanged against a real database without the network. The
    asset notes the class of the object it was handed."""

    class UsersApi(dg.ConfigurableResource):
        base_url: str = "https://users.example.com"

        def fetch_users(self) -> list[tuple[str, bool]]:
            raise ConnectionError(f"the koans never call {self.base_url}")

    class FakeUsersApi(UsersApi):
        def fetch_users(self) -> list[tuple[str, bool]]:
            return [("ada", True), ("grace", False), ("alan", True)]

    handed: list[str] = []

    @dg.asset
    def users_table(users_api: UsersApi, database: SqliteDatabase) -> None:
        handed.append(type(users_api).__name__)
        database.execute("create table users (name text, active integer)")
        for name, active in users_api.fetch_users():
            database.execute("insert into users values (?, ?)", name, active)

    database = SqliteDatabase(path=str(tmp_path / "users.db"))
    resources = {"users_api": FakeUsersApi(), "database": database}
    dg.materialize([users_table], resources=resources, instance=instance)

    assert database.execute("select count(*) from users where active") == [(2,)]
    assert handed == ["FakeUsersApi"]


def test_when_setup_and_teardown_run_in_one_process(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """A process sets a resource up (`setup_for_execution`) before the first step that uses it,
    and tears it down (`teardown_after_execution`) after the last. `dg.materialize` runs both
    assets' steps in this one process."""

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

    # Deployed, each step's process would write its own setup and teardown around its step.
    assert events == ["setup", "users_table", "active_users", "teardown"]


def test_a_deployed_job_runs_each_step_in_its_own_process(tmp_path: Path) -> None:
    """A job's executor decides where its steps run. A job you don't give one gets Dagster's
    default: in process under `execute_in_process`, one process per step once deployed."""

    @dg.asset
    def users_table(database: SqliteDatabase) -> None:
        database.execute("create table users (name text)")

    defs = dg.Definitions(
        assets=[users_table],
        jobs=[dg.define_asset_job("load_users", selection=[users_table])],
        resources={"database": SqliteDatabase(path=str(tmp_path / "users.db"))},
    )

    assert defs.resolve_job_def("load_users").executor_def == dg.multi_or_in_process_executor


def test_yield_for_execution_hands_out_what_it_yields(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`yield_for_execution` wraps a process's steps like a `with` block: the steps receive what
    it yields, and the code after `yield` runs when they are done. Here one connection serves the
    whole in-process run; deployed, each step's process opens its own."""
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


def test_a_resource_that_fails_to_set_up_fails_the_run(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """When set-up raises, no step that needs the resource can start, and the run fails with an
    error that says a resource failed, not an asset."""
    steps_started: list[str] = []

    class UnreachableDatabase(SqliteDatabase):
        def setup_for_execution(self, context: dg.InitResourceContext) -> None:
            raise ConnectionError("the database server is down")

    @dg.asset
    def users_table(database: UnreachableDatabase) -> None:
        steps_started.append("users_table")

    database = UnreachableDatabase(path=str(tmp_path / "users.db"))
    with pytest.raises(dg.DagsterResourceFunctionError) as raised:
        dg.materialize([users_table], resources={"database": database}, instance=instance)

    assert isinstance(raised.value.__cause__, ConnectionError)
    assert not steps_started


def test_with_on_a_sqlite3_connection_commits_or_rolls_back_but_never_closes(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The older form: a `@dg.resource` function makes the value, an op lists the keys it needs
    in `required_resource_keys` and reads `context.resources.<key>`. Older code often writes
    `with context.resources.db as conn`: on a sqlite3 connection that `with` is a transaction,
    committed at the end or rolled back on an error, and the connection stays open."""
    db_file = tmp_path / "users.db"
    SqliteDatabase(path=str(db_file)).execute("create table users (name text)")

    @dg.resource
    def sqlite_connection(init_context: dg.InitResourceContext) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(db_file)) as conn:
            yield conn

    @dg.op(required_resource_keys={"db"})
    def add_users(context: dg.OpExecutionContext) -> list[tuple]:
        with context.resources.db as conn:
            conn.execute("insert into users values ('ada')")
        try:
            with context.resources.db as conn:
                conn.execute("insert into users values ('grace')")
                raise ValueError("grace's row is not ready")
        except ValueError:
            context.log.info("grace's insert was rolled back")
        return conn.execute("select name from users").fetchall()

    @dg.job
    def load() -> None:
        add_users()

    result = load.execute_in_process(resources={"db": sqlite_connection}, instance=instance)

    assert result.output_for_node("add_users") == [("ada",)]


def test_an_older_op_must_declare_every_resource_it_reads(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """In the older form nothing in the signature says what an op needs: Dagster hands an op
    only the resources listed in its `required_resource_keys`, even when the run supplies more."""
    db_file = tmp_path / "users.db"
    SqliteDatabase(path=str(db_file)).execute("create table users as select 'ada' as name")

    @dg.resource
    def sqlite_connection(init_context: dg.InitResourceContext) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(db_file)) as conn:
            yield conn

    @dg.op  # forgot required_resource_keys={"db"}
    def count_users(context: dg.OpExecutionContext) -> int:
        return context.resources.db.execute("select count(*) from users").fetchone()[0]

    @dg.job
    def report() -> None:
        count_users()

    with pytest.raises(dg.DagsterUnknownResourceError):
        report.execute_in_process(resources={"db": sqlite_connection}, instance=instance)


def test_with_on_a_configurable_resource_is_an_error(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The same `with` line fails when the value is a `ConfigurableResource`: the op should call
    the resource's own methods instead."""

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
