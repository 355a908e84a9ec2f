"""Op config: settings you choose each time you run.

An op's code stays the same from run to run; what changes (a URL, a number of retries, a name)
goes in its config. You describe the settings as a `dg.Config` class, a pydantic model with
typed fields and defaults, and the op asks for them through a parameter named `config`. Each
run supplies the values in its run config, under `ops` and the op's name. Dagster checks the
run config against the classes before any step runs, so a wrong setting stops the run early.
"""

import dagster as dg
import pydantic
import pytest

from dagster_koans import __, ___


def test_an_op_takes_its_settings_from_a_config_class(instance: dg.DagsterInstance) -> None:
    """An op asks for its settings with a parameter named `config`, typed with its Config class."""

    class DownloadConfig(dg.Config):
        url: str

    @dg.op
    def download(config: DownloadConfig) -> str:
        return config.url

    @dg.job
    def download_job() -> None:
        download()

    run_config = dg.RunConfig(ops={"download": DownloadConfig(url="https://example.com/a.csv")})
    result = download_job.execute_in_process(run_config=run_config, instance=instance)
    assert result.output_for_node("download") == "https://example.com/a.csv"


def test_run_config_names_the_op_it_configures(instance: dg.DagsterInstance) -> None:
    """`dg.RunConfig(ops={...})` maps each op's name to the Config object for this run."""

    class DownloadConfig(dg.Config):
        url: str

    @dg.op
    def download(config: DownloadConfig) -> str:
        return config.url

    @dg.job
    def download_job() -> None:
        download()

    run_config = dg.RunConfig(ops={"download": DownloadConfig(url="https://example.com/b.csv")})
    result = download_job.execute_in_process(run_config=run_config, instance=instance)
    assert result.output_for_node("download") == "https://example.com/b.csv"


def test_a_configured_op_can_be_called_directly_with_a_config_object(
    instance: dg.DagsterInstance,
) -> None:
    """To unit-test a configured op, build its Config object yourself and call the op with it,
    after the context from `dg.build_op_context` (lesson 02)."""

    class DownloadConfig(dg.Config):
        url: str

    @dg.op
    def download(context: dg.OpExecutionContext, config: DownloadConfig) -> str:
        context.log.info(f"downloading {config.url}")
        return config.url.upper()

    context = dg.build_op_context(instance=instance)
    config = DownloadConfig(url="https://example.com/c.csv")
    assert download(context, config) == "HTTPS://EXAMPLE.COM/C.CSV"


def test_a_config_field_can_have_a_default(instance: dg.DagsterInstance) -> None:
    """A field with a default may be left out of the run config: the op gets the default."""

    class FetchConfig(dg.Config):
        retries: int = 3

    @dg.op
    def fetch(config: FetchConfig) -> int:
        return config.retries

    @dg.job
    def fetch_job() -> None:
        fetch()

    result = fetch_job.execute_in_process(instance=instance)
    assert result.output_for_node("fetch") == 3


def test_run_config_can_also_be_a_plain_dict(instance: dg.DagsterInstance) -> None:
    """`dg.RunConfig` is a typed way to write a dict: `ops`, then the op's name, then a key that
    holds its settings."""

    class FetchConfig(dg.Config):
        retries: int = 3

    @dg.op
    def fetch(config: FetchConfig) -> int:
        return config.retries

    @dg.job
    def fetch_job() -> None:
        fetch()

    run_config = {"ops": {"fetch": {"config": {"retries": 5}}}}
    result = fetch_job.execute_in_process(run_config=run_config, instance=instance)
    assert result.output_for_node("fetch") == 5


def test_a_missing_required_setting_is_an_invalid_config(instance: dg.DagsterInstance) -> None:
    """A field without a default is required: running without it raises Dagster's config error."""

    class DownloadConfig(dg.Config):
        url: str

    @dg.op
    def download(config: DownloadConfig) -> str:
        return config.url

    @dg.job
    def download_job() -> None:
        download()

    with pytest.raises(dg.DagsterInvalidConfigError):
        download_job.execute_in_process(instance=instance)


def test_run_config_is_checked_before_any_step_runs(instance: dg.DagsterInstance) -> None:
    """Dagster checks the whole run config first: with a wrong value, not one op starts."""
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
    assert steps_started == []


def test_a_config_object_checks_its_types_when_you_build_it() -> None:
    """A Config class is a pydantic model: a wrong type fails as soon as you build the object,
    with pydantic's own error, long before any run."""

    class FetchConfig(dg.Config):
        retries: int = 3

    assert issubclass(FetchConfig, pydantic.BaseModel)
    with pytest.raises(pydantic.ValidationError):
        FetchConfig(retries="many")


def test_validate_run_config_checks_config_without_running() -> None:
    """`dg.validate_run_config(job, run_config)` checks a run config without running anything,
    and returns the full config the run would get, defaults filled in."""

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
    assert validated["ops"]["fetch"]["config"]["retries"] == 2


def test_an_asset_is_configured_the_same_way(instance: dg.DagsterInstance) -> None:
    """An asset can take a `config` parameter too. Under the hood each asset runs as an op, so its
    settings go in the run config under the same key as an op's."""

    class GreetingConfig(dg.Config):
        name: str = "world"

    @dg.asset
    def greeting(config: GreetingConfig) -> str:
        return f"hello {config.name}"

    run_config = {"ops": {"greeting": {"config": {"name": "ada"}}}}
    result = dg.materialize([greeting], run_config=run_config, instance=instance)
    assert result.asset_value("greeting") == "hello ada"


def test_older_ops_declare_config_with_config_schema(instance: dg.DagsterInstance) -> None:
    """The older form, still common in existing code: `config_schema` maps each setting to its
    type, and the op reads the values as a dict from `context.op_config`."""

    @dg.op(config_schema={"api_key": str})
    def call_api(context: dg.OpExecutionContext) -> str:
        return context.op_config["api_key"]

    @dg.job
    def api_job() -> None:
        call_api()

    run_config = {"ops": {"call_api": {"config": {"api_key": "s3cret"}}}}
    result = api_job.execute_in_process(run_config=run_config, instance=instance)
    assert result.output_for_node("call_api") == "s3cret"
