"""Jobs: ops wired into a graph you can run.

A function decorated with `@dg.job` calls ops to wire them: passing one op's output to another
makes a dependency, and the job runs each op once its inputs are ready. `execute_in_process`
runs a job here and now and returns a result you read by node name. A job may carry default run
config and tags.

When an op raises, its step fails and so does the run. The run's event log records the error
wrapped in Dagster's `DagsterExecutionStepExecutionError`, with the op's own exception (say a
`ValueError`) as its cause.

Assets don't belong inside `@dg.job`. Code written for older Dagster releases sometimes calls
them there, and Dagster 1.13 accepts it without an error or a warning: it runs the asset
functions as plain ops. A job of assets is `dg.define_asset_job`, with a selection of the assets
it runs.

Read next:
- https://docs.dagster.io/guides/build/jobs
- https://docs.dagster.io/guides/build/assets/asset-jobs
"""

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___


def test_a_job_wires_ops_by_passing_outputs(instance: dg.DagsterInstance) -> None:
    """Inside a job, calling an op stands for its output: hand it to another op and the two are
    wired. Nothing runs yet; the job body only draws the graph."""

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


def test_an_op_called_twice_becomes_two_nodes(instance: dg.DagsterInstance) -> None:
    """Calling the same op twice in a job makes two nodes, and each node needs its own name: the
    first call keeps the op's name, and Dagster names the second `add_one_2`. Python runs the
    calls of a nested expression from the inside out."""

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
    assert result.output_for_node("add_one_2") == __


def test_a_list_of_outputs_fans_in_to_one_input(instance: dg.DagsterInstance) -> None:
    """One output can feed several ops (fan-out), and an input typed as a list can take a list
    of several ops' outputs (fan-in)."""

    @dg.op
    def name() -> str:
        return "ada"

    @dg.op
    def shout(name: str) -> str:
        return name.upper()

    @dg.op
    def whisper(name: str) -> str:
        return name.lower() + "..."

    @dg.op
    def collect(parts: list[str]) -> list[str]:
        return parts

    @dg.job
    def fan_job() -> None:
        n = name()
        collect([whisper(n), shout(n)])

    result = fan_job.execute_in_process(instance=instance)
    assert result.output_for_node("collect") == __


def test_a_job_can_carry_default_config(instance: dg.DagsterInstance) -> None:
    """`@dg.job(config=...)` gives the job run config of its own (a `dg.RunConfig` or a plain
    dict). Here the Config class has a default too, and the run is started with no run config."""

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
    as a whole: it is not merged into it field by field."""

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


def test_an_op_left_out_of_run_config(
    instance: dg.DagsterInstance,
) -> None:
    """The replacing happens op by op. Here the run config names only one of the job's two
    configured ops."""

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


def test_tags_given_at_launch_join_the_jobs_tags(instance: dg.DagsterInstance) -> None:
    """`@dg.job(tags=...)` tags every run of the job; tags given when a run is launched join them,
    and where both give the same key, one of them wins. The run's tags are on
    `result.dagster_run.tags`."""

    @dg.op
    def ping() -> str:
        return "pong"

    @dg.job(tags={"team": "analytics", "env": "prod"})
    def ping_job() -> None:
        ping()

    result = ping_job.execute_in_process(instance=instance, tags={"env": "test"})
    assert ping_job.tags == {"team": "analytics", "env": "prod"}
    assert result.dagster_run.tags == __


def test_a_failing_op_fails_the_run_and_the_test_sees_it(instance: dg.DagsterInstance) -> None:
    """By default `execute_in_process` raises when a step fails, so a test can't miss it. Of the
    two exceptions the event log holds, the wrapper and its cause, one reaches the test."""

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


def test_what_a_failed_step_stops(instance: dg.DagsterInstance) -> None:
    """With `raise_on_error=False` a failed run returns its result to inspect. The ops that need
    the failed op's output never run; what about an op that needs nothing from it?"""

    @dg.op
    def load() -> int:
        raise ValueError("the source is down")

    @dg.op
    def double(n: int) -> int:
        return n * 2

    @dg.op
    def audit() -> str:
        return "audited"

    @dg.job
    def load_job() -> None:
        double(load())
        audit()

    result = load_job.execute_in_process(instance=instance, raise_on_error=False)

    assert not result.success
    assert result.get_failed_step_keys() == {"load"}
    succeeded = {event.step_key for event in result.get_step_success_events()}
    assert succeeded == __


def test_assets_called_inside_a_job_run_as_plain_ops(instance: dg.DagsterInstance) -> None:
    """The older pattern: assets called inside `@dg.job`. The run succeeds and the asset
    functions compute their values; ask the instance which assets it holds records of."""

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
    recorded = [key.to_user_string() for key in instance.get_asset_keys()]
    assert recorded == __


def test_a_job_of_assets_is_built_with_define_asset_job(instance: dg.DagsterInstance) -> None:
    """`dg.define_asset_job(name, selection=...)` makes a job of the selected assets. It stays
    unresolved until it sits in a `dg.Definitions` with its assets; `resolve_job_def` gives the
    runnable job, and its runs materialize what they build."""

    @dg.asset(group_name="sales")
    def orders() -> pd.DataFrame:
        return pd.DataFrame({"user": ["ada", "linus", "ada"], "amount": [12.5, 7.0, 120.0]})

    @dg.asset(group_name="sales")
    def big_orders(orders: pd.DataFrame) -> pd.DataFrame:
        return orders[orders["amount"] >= 100]

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace"], "active": [True, False]})

    sales_job = dg.define_asset_job("sales_job", selection=dg.AssetSelection.groups("sales"))
    defs = dg.Definitions(assets=[orders, big_orders, users_table], jobs=[sales_job])

    result = defs.resolve_job_def("sales_job").execute_in_process(instance=instance)

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == __
