"""Observability: what your assets tell you about themselves.

Every materialization is recorded as an event, and an asset can hang metadata on it: how many
rows it has, its columns, a file's path, a Markdown summary. A few keys are standard and mean
the same everywhere: `dagster/row_count`, and `dagster/column_schema` holding a `dg.TableSchema`.
The UI shows them in their own places, and checks and catalogues read them; any other key is
shown as it is. Code reads metadata back from a run result or from the instance.

Metadata given to `@dg.asset(metadata=...)` describes the asset itself, before any run; metadata
returned with a value describes one materialization. An asset that stores its own data returns a
`dg.MaterializeResult(metadata=...)`; since Dagster 1.11 it may also carry `value=...`, which
the IO manager then stores like a returned value.

Asset checks look at an asset's data and say whether it passed: a `@dg.asset_check` returns a
`dg.AssetCheckResult`. A failed check is reported beside the asset; only a `blocking` one stops
the assets downstream of it.

Read next:
- https://docs.dagster.io/guides/build/assets/metadata-and-tags
- https://docs.dagster.io/guides/test/asset-checks
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from dagster_koans import __


def all_users() -> pd.DataFrame:
    return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})


def test_output_carries_metadata_beside_the_value(instance: dg.DagsterInstance) -> None:
    """Return a `dg.Output(value, metadata={...})` instead of the bare value, and the metadata is
    recorded on the asset's materialization event. What does the IO manager store, and the next
    asset receive?"""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return all_users()

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> dg.Output[pd.DataFrame]:
        active = users_table[users_table["active"]]
        return dg.Output(active, metadata={"dagster/row_count": len(active)})

    result = dg.materialize([users_table, active_users], instance=instance)

    event = result.get_asset_materialization_events()[-1]
    assert event.asset_key == dg.AssetKey("active_users")
    assert event.materialization.metadata["dagster/row_count"].value == 2
    assert isinstance(result.asset_value("active_users"), pd.DataFrame)


def test_plain_metadata_values_are_stored_as_typed_entries(instance: dg.DagsterInstance) -> None:
    """`context.add_output_metadata({...})` adds metadata while the asset runs, which still
    returns a plain value. Each plain value is stored wrapped in a typed entry named after its
    Python type (a `str` in a `dg.TextMetadataValue`, a `float` in a `dg.FloatMetadataValue`);
    `.value` unwraps it."""

    @dg.asset
    def active_users(context: dg.AssetExecutionContext) -> pd.DataFrame:
        users = all_users()
        active = users[users["active"]]
        share = len(active) / len(users)
        context.add_output_metadata({"share": share, "dagster/row_count": len(active)})
        return active

    result = dg.materialize([active_users], instance=instance)

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert round(metadata["share"].value, 2) == 0.67
    assert metadata["dagster/row_count"] == dg.IntMetadataValue(2)


def test_metadata_value_helpers_say_how_to_show_a_value(instance: dg.DagsterInstance) -> None:
    """`dg.MetadataValue` has a helper for each kind of value (`int`, `path`, `json`, `md`, `url`,
    `table`...), and the UI shows each kind its own way; a plain string is shown as plain text."""

    @dg.asset
    def active_users(context: dg.AssetExecutionContext) -> list[str]:
        names = ["ada", "linus"]
        summary = dg.MetadataValue.md(f"**{len(names)}** users are active: {', '.join(names)}")
        context.add_output_metadata({"names": ", ".join(names), "summary": summary})
        return names

    result = dg.materialize([active_users], instance=instance)

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert isinstance(metadata["names"], dg.TextMetadataValue)
    assert isinstance(metadata["summary"], dg.MarkdownMetadataValue)


def test_definition_metadata_describes_the_asset_not_one_run(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The columns of `users_table` are known before it ever runs: declare them on the asset
    with `dagster/column_schema`. What a run returns in its `dg.MaterializeResult` is what the
    materialization event records."""
    schema = dg.TableSchema(
        columns=[dg.TableColumn("name", "string"), dg.TableColumn("active", "bool")]
    )

    @dg.asset(metadata={"dagster/column_schema": schema})
    def users_table() -> dg.MaterializeResult:
        users = all_users()
        users.to_parquet(tmp_path / "users.parquet")
        return dg.MaterializeResult(metadata={"dagster/row_count": len(users)})

    result = dg.materialize([users_table], instance=instance)

    event = result.get_asset_materialization_events()[0].materialization
    assert users_table.metadata_by_key[users_table.key]["dagster/column_schema"] == schema
    assert sorted(event.metadata) == ["dagster/row_count"]


def test_a_materialize_result_may_carry_a_value_for_the_io_manager(
    instance: dg.DagsterInstance,
) -> None:
    """A `dg.MaterializeResult(value=...)` hands its value to the IO manager, and downstream
    assets receive it as usual. The default IO manager reports where it stored the value, as
    metadata under the key `path`."""

    @dg.asset
    def users_table() -> dg.MaterializeResult:
        users = all_users()
        return dg.MaterializeResult(value=users, metadata={"dagster/row_count": len(users)})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    result = dg.materialize([users_table, active_users], instance=instance)

    assert result.asset_value("active_users")["name"].tolist() == ["ada", "linus"]
    event = result.get_asset_materialization_events()[0].materialization
    assert sorted(event.metadata) == ["dagster/row_count", "path"]


def test_the_instance_remembers_each_assets_latest_materialization(
    instance: dg.DagsterInstance,
) -> None:
    """Runs come and go, but the instance keeps every materialization event:
    `instance.get_latest_materialization_event(key)` finds the newest one for an asset's key,
    whichever run recorded it. The second run here selects `active_users` alone."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return all_users()

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    first = dg.materialize([users_table, active_users], instance=instance)
    second = dg.materialize(
        [users_table, active_users], selection=[active_users], instance=instance
    )

    users_record = instance.get_latest_materialization_event(dg.AssetKey("users_table"))
    active_record = instance.get_latest_materialization_event(dg.AssetKey("active_users"))
    assert users_record and active_record and first.run_id != second.run_id
    assert active_record.run_id == second.run_id
    assert users_record.run_id == first.run_id


def test_an_asset_check_looks_at_the_data_of_one_asset(instance: dg.DagsterInstance) -> None:
    """`@dg.asset_check(asset=...)` names the asset it checks, and a parameter named after that
    asset receives its value. The check returns a `dg.AssetCheckResult` saying whether it passed,
    and takes its name from its function."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return all_users()

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    @dg.asset_check(asset=active_users)
    def all_active(active_users: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool(active_users["active"].all()))

    result = dg.materialize([users_table, active_users, all_active], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed) == ("all_active", True)


def test_a_check_fails_on_a_missing_name(instance: dg.DagsterInstance) -> None:
    """A check is ordinary pandas code: it passes only when the data is right, and its metadata
    says what it found, so the UI can show why it failed."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", None, "linus"], "active": [True, True, True]})

    @dg.asset_check(asset=users_table)
    def no_missing_names(users_table: pd.DataFrame) -> dg.AssetCheckResult:
        missing = int(users_table["name"].isna().sum())
        return dg.AssetCheckResult(passed=missing == 0, metadata={"missing_names": missing})

    result = dg.materialize([users_table, no_missing_names], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.metadata["missing_names"].value == 1
    assert evaluation.passed is False


def test_a_failing_check_does_not_fail_the_run(instance: dg.DagsterInstance) -> None:
    """A check that fails says the data is wrong. Does that make the run that built the data a
    failed run?"""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "ada"], "active": [True, False, True]})

    @dg.asset_check(asset=users_table)
    def no_duplicate_names(users_table: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=not users_table["name"].duplicated().any())

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    everything = [users_table, no_duplicate_names, active_users]
    result = dg.materialize(everything, instance=instance)

    outcome = "succeeded" if result.success else "failed"
    assert [e.passed for e in result.get_asset_check_evaluations()] == [False]
    assert outcome == "succeeded"


def test_a_failed_check_is_an_error_unless_it_says_otherwise(
    instance: dg.DagsterInstance,
) -> None:
    """A check result may set `severity=` from `dg.AssetCheckSeverity` (`WARN` or `ERROR`), so a
    duplicate name can be worth a warning rather than an alarm. This one says nothing."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "ada"], "active": [True, False, True]})

    @dg.asset_check(asset=users_table)
    def no_duplicate_names(users_table: pd.DataFrame) -> dg.AssetCheckResult:
        duplicates = int(users_table["name"].duplicated().sum())
        return dg.AssetCheckResult(passed=duplicates == 0, metadata={"duplicates": duplicates})

    result = dg.materialize([users_table, no_duplicate_names], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR


def test_a_blocking_check_stops_the_assets_downstream(instance: dg.DagsterInstance) -> None:
    """A check marked `blocking=True` that fails with `ERROR` severity fails the run, and the
    assets downstream of the checked asset do not run: bad data goes no further."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "ada"], "active": [True, False, True]})

    @dg.asset_check(asset=users_table, blocking=True)
    def no_duplicate_names(users_table: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=not users_table["name"].duplicated().any())

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    everything = [users_table, no_duplicate_names, active_users]
    result = dg.materialize(everything, instance=instance, raise_on_error=False)

    ran = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert not result.success
    assert ran == {"users_table"}


def test_a_blocking_check_that_only_warns_does_not_block(instance: dg.DagsterInstance) -> None:
    """Careful: `blocking=True` blocks only on a failure of `ERROR` severity. The same check
    failing with `WARN` lets the run go on."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "ada"], "active": [True, False, True]})

    @dg.asset_check(asset=users_table, blocking=True)
    def no_duplicate_names(users_table: pd.DataFrame) -> dg.AssetCheckResult:
        passed = not users_table["name"].duplicated().any()
        return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN)

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    everything = [users_table, no_duplicate_names, active_users]
    result = dg.materialize(everything, instance=instance, raise_on_error=False)

    ran = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert ran == {"users_table", "active_users"}


def test_an_asset_can_declare_the_checks_it_runs_itself(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """When the asset is the best place to check its own data, declare the check on it with
    `check_specs=[dg.AssetCheckSpec(name, asset=...)]` and return the results with the
    materialization: `dg.MaterializeResult(check_results=[...])`."""
    users_file = tmp_path / "users.parquet"

    @dg.asset(check_specs=[dg.AssetCheckSpec("no_missing_names", asset="users_table")])
    def users_table() -> dg.MaterializeResult:
        users = pd.DataFrame({"name": ["ada", None, "linus"], "active": [True, False, True]})
        users.to_parquet(users_file)
        check = dg.AssetCheckResult(
            check_name="no_missing_names", passed=bool(users["name"].notna().all())
        )
        metadata = {"dagster/row_count": len(users)}
        return dg.MaterializeResult(metadata=metadata, check_results=[check])

    result = dg.materialize([users_table], instance=instance)

    evaluations = result.get_asset_check_evaluations()
    assert users_table.check_keys == {dg.AssetCheckKey(users_table.key, "no_missing_names")}
    assert [(e.check_name, e.passed) for e in evaluations] == [("no_missing_names", False)]
