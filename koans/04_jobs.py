"""Jobs: ops wired into a graph you can run.

A function decorated with `@dg.job` calls ops to wire them: passing one op's output to another
makes a dependency, and the job runs each op once its inputs are ready. `execute_in_process`
runs a job here and now and returns a result you read by node name. A job may carry default run
config and tags. Assets don't belong inside `@dg.job`: a job of assets is `dg.define_asset_job`.
"""

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___


def test_a_job_wires_ops_by_passing_outputs(instance: dg.DagsterInstance) -> None:
    """Inside a job you call ops to wire them: the output of one call becomes the input of
    another. Nothing runs yet; the job body only draws the graph."""

    @dg.op
    def numbers() -> list[int]:
        return [1, 2, 3]

    @dg.op
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    @dg.job
    def sum_job() -> None:
        total(__)

    result = sum_job.execute_in_process(instance=instance)
    assert result.output_for_node("total") == 6


def test_execute_in_process_returns_a_result_read_by_node_name(
    instance: dg.DagsterInstance,
) -> None:
    """`execute_in_process` returns a result: `success` says whether the run went well, and
    `output_for_node` gives the value an op returned, by the op's name."""

    @dg.op
    def name() -> str:
        return "ada"

    @dg.op
    def shout(name: str) -> str:
        return name.upper() + "!"

    @dg.job
    def shout_job() -> None:
        shout(name())

    result = shout_job.execute_in_process(instance=instance)
    assert result.success == __  # noqa: E712
    assert result.output_for_node(__) == "ADA!"


def test_an_op_called_twice_becomes_two_nodes(instance: dg.DagsterInstance) -> None:
    """Calling the same op twice in a job makes two nodes. The first call keeps the op's name;
    the second is named with a suffix, `add_one_2`."""

    @dg.op
    def one() -> int:
        return 1

    @dg.op
    def add_one(n: int) -> int:
        return n + 1

    @dg.job
    def count_job() -> None:
        add_one(add_one(one()))

    result = count_job.execute_in_process(instance=instance)
    assert sorted(node.name for node in count_job.nodes) == ["add_one", "add_one_2", "one"]
    assert result.output_for_node("add_one_2") == __


def test_one_output_fans_out_and_a_list_fans_in(instance: dg.DagsterInstance) -> None:
    """One output can feed several ops (fan-out), and an input typed as a list can take a list
    of outputs from several ops (fan-in)."""

    @dg.op
    def three() -> int:
        return 3

    @dg.op
    def double(n: int) -> int:
        return n * 2

    @dg.op
    def square(n: int) -> int:
        return n * n

    @dg.op
    def total(parts: list[int]) -> int:
        return sum(parts)

    @dg.job
    def fan_job() -> None:
        n = three()
        total([double(n), __])

    result = fan_job.execute_in_process(instance=instance)
    assert result.output_for_node("double") == 6
    assert result.output_for_node("square") == 9
    assert result.output_for_node("total") == 15


def test_a_job_can_carry_default_config(instance: dg.DagsterInstance) -> None:
    """`@dg.job(config=...)` gives the job default run config, used when a run is started
    without any (a plain run config dict works there too)."""

    class GreetConfig(dg.Config):
        name: str = "world"

    @dg.op
    def greet(config: GreetConfig) -> str:
        return f"hello {config.name}"

    @dg.job(config=dg.RunConfig(ops={"greet": GreetConfig(name="ada")}))
    def greet_job() -> None:
        greet()

    result = greet_job.execute_in_process(instance=instance)
    assert result.output_for_node("greet") == __


def test_run_config_replaces_the_default_of_each_op_it_names(
    instance: dg.DagsterInstance,
) -> None:
    """Run config given to `execute_in_process` replaces the job's default for each op it names,
    as a whole: a field you leave out falls back to the Config class default, not the job's."""

    class GreetConfig(dg.Config):
        name: str = "world"
        punctuation: str = "."

    @dg.op
    def greet(config: GreetConfig) -> str:
        return f"hello {config.name}{config.punctuation}"

    @dg.job(config=dg.RunConfig(ops={"greet": GreetConfig(name="ada", punctuation="!")}))
    def greet_job() -> None:
        greet()

    run_config = {"ops": {"greet": {"config": {"name": "grace"}}}}
    result = greet_job.execute_in_process(instance=instance, run_config=run_config)
    assert result.output_for_node("greet") == __


def test_an_op_left_out_of_run_config_keeps_the_jobs_default(
    instance: dg.DagsterInstance,
) -> None:
    """The replacing happens op by op: an op the run config doesn't name keeps the config the
    job gave it by default."""

    class NameConfig(dg.Config):
        name: str = "nobody"

    @dg.op
    def hello(config: NameConfig) -> str:
        return f"hello {config.name}"

    @dg.op
    def goodbye(config: NameConfig) -> str:
        return f"goodbye {config.name}"

    ada = NameConfig(name="ada")

    @dg.job(config=dg.RunConfig(ops={"hello": ada, "goodbye": ada}))
    def polite_job() -> None:
        hello()
        goodbye()

    run_config = dg.RunConfig(ops={"hello": NameConfig(name="grace")})
    result = polite_job.execute_in_process(instance=instance, run_config=run_config)
    assert result.output_for_node("hello") == "hello grace"
    assert result.output_for_node("goodbye") == __


def test_job_tags_and_launch_tags_both_land_on_the_run(instance: dg.DagsterInstance) -> None:
    """`@dg.job(tags=...)` tags every run of the job; tags given when launching a run are added
    to them. The run's tags are on `result.dagster_run.tags`."""

    @dg.op
    def ping() -> str:
        return "pong"

    @dg.job(tags={"team": "analytics"})
    def ping_job() -> None:
        ping()

    result = ping_job.execute_in_process(instance=instance, tags={"env": "test"})
    assert ping_job.tags == {"team": "analytics"}
    assert result.dagster_run.tags == __


def test_a_failing_op_raises_its_own_error(instance: dg.DagsterInstance) -> None:
    """By default `execute_in_process` re-raises the error of the op that failed, so a test
    sees the real exception."""

    @dg.op
    def load() -> int:
        raise ValueError("the source is down")

    @dg.op
    def double(n: int) -> int:
        return n * 2

    @dg.job
    def load_job() -> None:
        double(load())

    with pytest.raises(___):
        load_job.execute_in_process(instance=instance)


def test_raise_on_error_false_returns_a_failed_result(instance: dg.DagsterInstance) -> None:
    """With `raise_on_error=False` the run fails quietly and you get the result to inspect:
    which steps failed, and that the ops after them never ran."""

    @dg.op
    def load() -> int:
        raise ValueError("the source is down")

    @dg.op
    def double(n: int) -> int:
        return n * 2

    @dg.job
    def load_job() -> None:
        double(load())

    result = load_job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success == __  # noqa: E712
    assert result.get_failed_step_keys() == {__}
    assert not result.is_node_success("double")


def test_assets_called_inside_a_job_run_as_plain_ops(instance: dg.DagsterInstance) -> None:
    """Older tutorials call assets inside `@dg.job`. Dagster 1.13 accepts it without a warning,
    but the assets run as plain ops: they compute, yet nothing is recorded as materialized."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    @dg.job
    def users_job() -> None:
        active_users(users_table())

    result = users_job.execute_in_process(instance=instance)
    assert result.output_for_node("active_users")["name"].tolist() == ["ada"]
    assert len(result.get_asset_materialization_events()) == __
    assert instance.get_latest_materialization_event(dg.AssetKey("active_users")) is None


def test_a_job_of_assets_is_built_with_define_asset_job(instance: dg.DagsterInstance) -> None:
    """`dg.define_asset_job(name, selection=...)` makes a job of assets. It stays unresolved
    until it sits in a `dg.Definitions` with its assets;
    `resolve_job_def` gives the runnable job."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    users_job = dg.define_asset_job("users_job", selection=__)
    defs = dg.Definitions(assets=[users_table, active_users], jobs=[users_job])

    result = defs.resolve_job_def(__).execute_in_process(instance=instance)
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey("users_table"), dg.AssetKey("active_users")}
    assert result.asset_value("active_users")["name"].tolist() == ["ada"]
