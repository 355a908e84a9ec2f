"""Op config: settings you choose each time you run.

An op's code stays the same from run to run; what changes (a URL, a number of retries, a name)
goes in its config. You describe the settings as a `dg.Config` class, a pydantic model with
typed fields and defaults, and the op asks for them through a parameter named `config`, typed
with that class. Each run supplies the values in its run config, filed under `ops` and the op's
name. `dg.RunConfig(ops={...})` writes it for you, or you write the same thing as a plain dict,
where one more key, `config`, holds the settings: `{"ops": {"fetch": {"config": {"retries": 5}}}}`.

Two checks guard the settings, and each has its own error. Dagster checks the whole run config
against the job before any step starts: one that doesn't fit (a required setting missing, a
value of the wrong type, a key nobody declared) is refused with `dg.DagsterInvalidConfigError`.
And a Config object checks itself as you build it: a value of the wrong type fails at once with
pydantic's own `pydantic.ValidationError`, before Dagster sees it.

Read next:
- https://docs.dagster.io/guides/operate/configuration/run-configuration
"""

import dagster as dg
import pydantic
import pytest

from dagster_koans import __, ___


def test_run_config_hands_each_op_its_config_by_the_ops_name(instance: dg.DagsterInstance) -> None:
    """A job can hold many ops, so `dg.RunConfig(ops={...})` files each Config object under the
    name of the op it is for. The two ops here share one Config class."""

    class DownloadConfig(dg.Config):
        url: str

    @dg.op
    def download_users(config: DownloadConfig) -> str:
        return config.url

    @dg.op
    def download_orders(config: DownloadConfig) -> str:
        return config.url

    @dg.job
    def download_job() -> None:
        download_users()
        download_orders()

    run_config = dg.RunConfig(
        ops={
            "download_orders": DownloadConfig(url="https://example.com/orders.csv"),
            "download_users": DownloadConfig(url="https://example.com/users.csv"),
        }
    )
    result = download_job.execute_in_process(run_config=run_config, instance=instance)
    assert result.output_for_node("download_users") == __


def test_a_configured_op_called_directly_needs_its_config(instance: dg.DagsterInstance) -> None:
    """To unit-test a configured op, no run is needed: build its Config object yourself and pass
    it after the context from `dg.build_op_context` (lesson 02). Leave it out, and Dagster checks
    the call's config just as it checks a run's."""

    class DownloadConfig(dg.Config):
        url: str

    @dg.op
    def download(context: dg.OpExecutionContext, config: DownloadConfig) -> str:
        context.log.info(f"downloading {config.url}")
        return config.url.upper()

    context = dg.build_op_context(instance=instance)
    config = DownloadConfig(url="https://example.com/c.csv")
    assert download(context, config) == "HTTPS://EXAMPLE.COM/C.CSV"
    with pytest.raises(___):
        download(context)


def test_run_config_is_a_plain_dict_underneath() -> None:
    """`dg.RunConfig` is a typed way to write the dict Dagster reads (its shape is at the top of
    this lesson), and `to_config_dict()` shows that dict. This Config object is built with its
    `url` only."""

    class FetchConfig(dg.Config):
        url: str
        retries: int = 3

    typed = dg.RunConfig(ops={"fetch": FetchConfig(url="a.csv")})
    assert typed.to_config_dict()["ops"] == __


def test_a_run_with_no_run_config_at_all(instance: dg.DagsterInstance) -> None:
    """A field without a default is required: a run config that leaves it out is refused, as the
    direct call was. This Config class gives its only field a default, and the job is run with
    no run config at all."""

    class FetchConfig(dg.Config):
        retries: int = 3

    @dg.op
    def fetch(config: FetchConfig) -> int:
        return config.retries

    @dg.job
    def fetch_job() -> None:
        fetch()

    result = fetch_job.execute_in_process(instance=instance)
    assert result.output_for_node("fetch") == __


def test_when_run_config_is_checked(instance: dg.DagsterInstance) -> None:
    """Dagster checks the whole run config when the run is asked for. Here one op needs no config
    at all, and the other is given a wrong value."""
    steps_started: list[str] = []

    @dg.op
    def say_hello() -> None:
        steps_started.append("say_hello")

    class FetchConfig(dg.Config):
        retries: int = 3

    @dg.op
    def fetch(config: FetchConfig) -> int:
        steps_started.append("fetch")
        return config.retries

    @dg.job
    def fetch_job() -> None:
        say_hello()
        fetch()

    bad_run_config = {"ops": {"fetch": {"config": {"retries": "many"}}}}
    with pytest.raises(dg.DagsterInvalidConfigError):
        fetch_job.execute_in_process(run_config=bad_run_config, instance=instance)
    assert steps_started == __


def test_a_config_object_checks_its_types_when_you_build_it() -> None:
    """A Config class is a pydantic model: a value of the wrong type fails as soon as you build
    the object, long before any run."""

    class FetchConfig(dg.Config):
        retries: int = 3

    assert issubclass(FetchConfig, pydantic.BaseModel)
    with pytest.raises(___):
        FetchConfig(retries="many")


def test_a_config_object_given_a_misspelt_field() -> None:
    """Careful with typos. A misspelt key in a run config dict is refused, because Dagster checks
    every key there. A Config object is built by pydantic instead, and this one gets a typo."""

    class FetchConfig(dg.Config):
        retries: int = 3

    config = FetchConfig(retrys=5)  # a typo

    assert config.retries == __


def test_validate_run_config_returns_the_config_a_run_would_get() -> None:
    """`dg.validate_run_config(job, run_config)` checks a run config without running anything,
    and returns the full config a run would get."""

    class FetchConfig(dg.Config):
        url: str
        retries: int = 2

    @dg.op
    def fetch(config: FetchConfig) -> int:
        return config.retries

    @dg.job
    def fetch_job() -> None:
        fetch()

    validated = dg.validate_run_config(fetch_job, {"ops": {"fetch": {"config": {"url": "x"}}}})
    assert validated["ops"]["fetch"]["config"] == __


def test_an_asset_is_configured_the_same_way(instance: dg.DagsterInstance) -> None:
    """An asset can take a `config` parameter too. Under the hood each asset runs as an op, and
    its settings go in the run config where an op's would."""

    class GreetingConfig(dg.Config):
        name: str = "world"

    @dg.asset
    def greeting(config: GreetingConfig) -> str:
        return f"hello {config.name}"

    run_config = {__: {"greeting": {"config": {"name": "ada"}}}}
    result = dg.materialize([greeting], run_config=run_config, instance=instance)
    assert result.asset_value("greeting") == "hello ada"


def test_older_ops_declare_config_with_config_schema(instance: dg.DagsterInstance) -> None:
    """The older form, still common in existing code: `config_schema` maps each setting to its
    type (or a `dg.Field` with a default), and the op reads the values as a dict from
    `context.op_config`. The run config is written exactly as for a Config class."""

    @dg.op(config_schema={"api_key": str, "timeout": dg.Field(int, default_value=30)})
    def call_api(context: dg.OpExecutionContext) -> dict:
        return context.op_config

    @dg.job
    def api_job() -> None:
        call_api()

    run_config = {"ops": {"call_api": {"config": {"api_key": "s3cret"}}}}
    result = api_job.execute_in_process(run_config=run_config, instance=instance)
    assert result.output_for_node("call_api") == __
