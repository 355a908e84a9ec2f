"""Observability: what your assets tell you about themselves.

Every materialization is recorded as an event, and an asset can hang metadata on it: a row count,
a file's path, a Markdown summary. The UI charts and shows these; code reads them back from a run
result or from the instance. Asset checks go one step further: a `@dg.asset_check` looks at an
asset's data and says whether it passed, so bad data is caught where it is made. A failing check
is only reported, unless it is `blocking`: then the assets downstream of it do not run.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from dagster_koans import __


def test_output_carries_metadata_beside_the_value(instance: dg.DagsterInstance) -> None:
    """Return a `dg.Output(value, metadata={...})` instead of the bare value: downstream still
    gets the value, and the metadata is recorded on the asset's materialization event."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> dg.Output[pd.DataFrame]:
        active = users_table[users_table["active"]]
        return dg.Output(active, metadata={"row_count": len(active)})

    result = dg.materialize([users_table, active_users], instance=instance)

    event = result.get_asset_materialization_events()[-1]
    assert event.asset_key == dg.AssetKey("active_users")
    assert event.materialization.metadata["row_count"].value == 2
    assert list(result.asset_value("active_users")["name"]) == ["ada", "linus"]


def test_plain_metadata_values_are_stored_as_typed_entries(instance: dg.DagsterInstance) -> None:
    """`context.add_output_metadata({...})` adds metadata while the asset runs; it still returns
    a plain value. Each plain metadata value is stored wrapped in a typed entry (a float in a
    `dg.FloatMetadataValue`, and so on); `.value` unwraps it."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(context: dg.AssetExecutionContext, users_table: pd.DataFrame) -> pd.DataFrame:
        active = users_table[users_table["active"]]
        share = len(active) / len(users_table)
        context.add_output_metadata({"share": share, "row_count": len(active)})
        return active

    result = dg.materialize([users_table, active_users], instance=instance)

    metadata = result.get_asset_materialization_events()[-1].materialization.metadata
    assert metadata["share"] == dg.FloatMetadataValue(2 / 3)
    assert metadata["row_count"] == dg.IntMetadataValue(2)


def test_metadata_value_helpers_say_how_to_show_a_value(instance: dg.DagsterInstance) -> None:
    """`dg.MetadataValue` has a helper for each kind of value (`int`, `path`, `json`, `md`, `url`,
    `table`...), and the UI shows each kind its own way; a plain string is shown as plain text."""

    @dg.asset
    def active_users(context: dg.AssetExecutionContext) -> pd.DataFrame:
        active = pd.DataFrame({"name": ["ada", "linus"], "active": [True, True]})
        names = ", ".join(active["name"])
        context.add_output_metadata(
            {
                "names": names,
                "summary": dg.MetadataValue.md(f"**{len(active)}** users are active: {names}"),
            }
        )
        return active

    result = dg.materialize([active_users], instance=instance)

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert isinstance(metadata["names"], dg.TextMetadataValue)
    assert isinstance(metadata["summary"], dg.MarkdownMetadataValue)
    assert metadata["summary"].value == "**2** users are active: ada, linus"


def test_materialize_result_reports_an_asset_that_stores_its_own_data(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """An asset that writes its own file has no value to hand over. It returns a
    `dg.MaterializeResult(metadata={...})`: the materialization is recorded with its metadata,
    and no IO manager stores anything."""
    users_file = tmp_path / "users.parquet"

    @dg.asset
    def users_table() -> dg.MaterializeResult:
        users = pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})
        users.to_parquet(users_file)
        metadata = {"path": dg.MetadataValue.path(str(users_file)), "row_count": len(users)}
        return dg.MaterializeResult(metadata=metadata)

    result = dg.materialize([users_table], instance=instance)

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["path"].value == str(users_file)
    assert metadata["row_count"].value == len(pd.read_parquet(users_file))


def test_the_instance_remembers_each_assets_latest_materialization(
    instance: dg.DagsterInstance,
) -> None:
    """Runs come and go, but the instance keeps every materialization event:
    `instance.get_latest_materialization_event(key)` finds the newest one for an asset's key."""
    signups = ["ada", "grace", "linus"]

    @dg.asset
    def users_table() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"row_count": len(signups)})

    dg.materialize([users_table], instance=instance)
    signups.append("alan")
    dg.materialize([users_table], instance=instance)

    record = instance.get_latest_materialization_event(dg.AssetKey("users_table"))
    assert record is not None
    assert record.asset_materialization.metadata["row_count"].value == 4


def test_an_asset_check_looks_at_the_data_of_one_asset(instance: dg.DagsterInstance) -> None:
    """`@dg.asset_check(asset=...)` names the asset it checks; a parameter named after that asset
    receives its value. The check returns a `dg.AssetCheckResult` saying whether it passed."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "linus"], "active": [True, False, True]})

    @dg.asset
    def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
        return users_table[users_table["active"]]

    @dg.asset_check(asset=active_users)
    def no_missing_names(active_users: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool(active_users["name"].notna().all()))

    result = dg.materialize([users_table, active_users, no_missing_names], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.asset_key == dg.AssetKey("active_users")
    assert evaluation.check_name == "no_missing_names"
    assert evaluation.passed


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
    """By default a failed check is only reported, next to the asset in the UI: the run goes on
    and the assets downstream are materialized as usual."""

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

    assert [e.passed for e in result.get_asset_check_evaluations()] == [False]
    assert len(result.asset_value("active_users")) == 2
    assert result.success == True  # noqa: E712


def test_severity_says_how_bad_a_failure_is(instance: dg.DagsterInstance) -> None:
    """A failed check is an `ERROR` unless its result says otherwise with `severity=`, taken from
    `dg.AssetCheckSeverity`: a duplicate name is worth a warning, not an alarm."""

    @dg.asset
    def users_table() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada", "grace", "ada"], "active": [True, False, True]})

    @dg.asset_check(asset=users_table)
    def no_duplicate_names(users_table: pd.DataFrame) -> dg.AssetCheckResult:
        duplicates = int(users_table["name"].duplicated().sum())
        return dg.AssetCheckResult(
            passed=duplicates == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"duplicates": duplicates},
        )

    result = dg.materialize([users_table, no_duplicate_names], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity.value == "WARN"


def test_a_blocking_check_stops_the_assets_downstream(instance: dg.DagsterInstance) -> None:
    """A check marked `blocking=True` that fails with `ERROR` severity fails the run: the assets
    downstream of the checked asset are not materialized, so bad data goes no further."""

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
        return dg.MaterializeResult(metadata={"row_count": len(users)}, check_results=[check])

    result = dg.materialize([users_table], instance=instance)

    [evaluation] = result.get_asset_check_evaluations()
    assert users_table.check_keys == {dg.AssetCheckKey(users_table.key, "no_missing_names")}
    assert (evaluation.check_name, evaluation.passed) == ("no_missing_names", False)
