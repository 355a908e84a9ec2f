"""Definitions: everything a Dagster project holds, in one object.

`dg.Definitions` bundles a project's assets, jobs, schedules, sensors and resources; it is what
`dagster dev` loads. Building it is lazy: `dg.Definitions.validate_loadable(defs)` runs the
checks Dagster runs when it loads the project, without running anything. The `resolve_*`
methods find a job, schedule, sensor or asset by name. A large project builds one `Definitions`
per part and joins them with `dg.Definitions.merge`; names must stay unique across the parts.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dagster_koans import __, ___


@dg.asset
def users_table() -> pd.DataFrame:
    return pd.DataFrame({"name": ["ada", "grace", "alan"], "active": [True, False, True]})


@dg.asset
def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
    return users_table[users_table["active"]]


class Inbox(dg.ConfigurableResource):
    """A real folder where user files arrive, one CSV file per batch."""

    path: str

    def files(self) -> list[Path]:
        return sorted(Path(self.path).glob("*.csv"))


def test_definitions_gather_the_assets_of_a_project() -> None:
    """`dg.Definitions(assets=[...])` lists every asset of the project; nothing runs yet."""
    defs = dg.Definitions(assets=[users_table, active_users])

    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert keys == {"users_table", "active_users"}


def test_resolve_assets_def_finds_an_asset_by_its_key_path() -> None:
    """`resolve_assets_def` finds an asset by its key. A prefixed key is a path of parts (a list
    or a `dg.AssetKey`); a plain string counts as one part, slash and all."""

    @dg.asset(key_prefix=["crm"])
    def contacts() -> list[str]:
        return ["ada", "grace"]

    defs = dg.Definitions(assets=[contacts])

    with pytest.raises(dg.DagsterInvariantViolationError):
        defs.resolve_assets_def("crm/contacts")
    assert defs.resolve_assets_def(["crm", "contacts"]).key == dg.AssetKey(["crm", "contacts"])


def test_the_seed_project_runs_its_asset_job_from_the_definitions(
    instance: dg.DagsterInstance,
) -> None:
    """The seed's closing example, done right. A `@dg.job` cannot call assets (lesson 04: they
    run as plain ops and nothing is materialized); a job of assets is `dg.define_asset_job`,
    listed in the `Definitions` beside its assets and fetched back by name."""
    users_job = dg.define_asset_job("users_job", selection=dg.AssetSelection.all())
    defs = dg.Definitions(assets=[users_table, active_users], jobs=[users_job])

    result = defs.resolve_job_def("users_job").execute_in_process(instance=instance)

    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey("users_table"), dg.AssetKey("active_users")}
    assert result.asset_value("active_users")["name"].tolist() == ["ada", "alan"]


def test_a_wrong_name_lists_the_names_that_exist() -> None:
    """Asking for a name the `Definitions` don't hold raises at once, and the message lists the
    names they do hold (with `__ASSET_JOB`, the hidden job of all assets)."""
    users_job = dg.define_asset_job("users_job", selection=[users_table, active_users])
    defs = dg.Definitions(assets=[users_table, active_users], jobs=[users_job])

    with pytest.raises(dg.DagsterInvariantViolationError) as raised:
        defs.resolve_job_def("user_job")
    assert "Found: '__ASSET_JOB', 'users_job'" in str(raised.value)


def test_a_schedule_is_found_by_name_and_brings_its_job_along() -> None:
    """A `ScheduleDefinition` without a name is named after its job, plus `_schedule`. Its job
    need not be listed in `jobs=`: the `Definitions` find it through the schedule."""
    users_job = dg.define_asset_job("users_job", selection=[users_table, active_users])
    daily = dg.ScheduleDefinition(job=users_job, cron_schedule="0 6 * * *")
    defs = dg.Definitions(assets=[users_table, active_users], schedules=[daily])

    schedule = defs.resolve_schedule_def("users_job_schedule")

    assert schedule.cron_schedule == "0 6 * * *"
    assert defs.resolve_job_def(schedule.job_name).name == "users_job"


def test_resources_given_once_reach_the_assets_and_the_sensor(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`Definitions(resources=...)` hands the same resource to every asset, job, schedule and
    sensor. The daemon gives a sensor the project's resources; in a test you pass them to
    `build_sensor_context` yourself."""
    (tmp_path / "users_001.csv").write_text("name,active\nada,True\ngrace,False\n")

    @dg.asset
    def inbox_users(inbox: Inbox) -> pd.DataFrame:
        return pd.concat(pd.read_csv(path) for path in inbox.files())

    users_job = dg.define_asset_job("users_job", selection=[inbox_users])

    @dg.sensor(job=users_job)
    def new_user_files(context: dg.SensorEvaluationContext, inbox: Inbox):
        for path in inbox.files():
            yield dg.RunRequest(run_key=path.name)

    defs = dg.Definitions(
        assets=[inbox_users],
        sensors=[new_user_files],
        resources={"inbox": Inbox(path=str(tmp_path))},
    )
    sensor = defs.resolve_sensor_def("new_user_files")
    context = dg.build_sensor_context(resources=defs.resources, instance=instance)
    tick = sensor.evaluate_tick(context)
    result = defs.resolve_job_def("users_job").execute_in_process(instance=instance)

    assert [request.run_key for request in tick.run_requests] == ["users_001.csv"]
    assert result.asset_value("inbox_users")["name"].tolist() == ["ada", "grace"]


def test_validate_loadable_finds_a_job_whose_assets_are_missing() -> None:
    """A job of assets is only resolved when the `Definitions` load. `validate_loadable`, a
    static method called on the class, resolves every job and fails if its assets are missing."""
    users_job = dg.define_asset_job("users_job", selection=[users_table, active_users])
    broken = dg.Definitions(assets=[users_table], jobs=[users_job])

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="users_job"):
        dg.Definitions.validate_loadable(broken)
    fixed = dg.Definitions(assets=[users_table, active_users], jobs=[users_job])
    dg.Definitions.validate_loadable(fixed)


def test_merge_joins_the_definitions_of_two_parts_of_a_project() -> None:
    """`dg.Definitions.merge(a, b, ...)` makes one `Definitions` of several. Here the reporting
    part does not load alone: its asset needs an upstream asset that the ingest part makes."""
    ingest = dg.Definitions(assets=[users_table])
    reporting = dg.Definitions(
        assets=[active_users],
        jobs=[dg.define_asset_job("report_job", selection=[active_users])],
    )
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="users_table"):
        dg.Definitions.validate_loadable(reporting)

    defs = dg.Definitions.merge(ingest, reporting)

    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("report_job").name == "report_job"


def test_merge_refuses_two_resource_objects_under_one_key(tmp_path: Path) -> None:
    """Merging keeps one resource per key. The very same object in both parts is fine; two
    objects under one key are refused at once, even when their settings are equal."""
    inbox = Inbox(path=str(tmp_path))
    dg.Definitions.merge(
        dg.Definitions(resources={"inbox": inbox}), dg.Definitions(resources={"inbox": inbox})
    )

    with pytest.raises(dg.DagsterInvariantViolationError, match="inbox"):
        dg.Definitions.merge(
            dg.Definitions(resources={"inbox": inbox}),
            dg.Definitions(resources={"inbox": Inbox(path=str(tmp_path))}),
        )


def test_two_assets_with_one_key_fail_when_the_definitions_load() -> None:
    """Two different assets with the same key are accepted when the `Definitions` are built or
    merged, and refused when they load. The same asset listed twice (`active_users`) is fine."""

    @dg.asset(name="users_table")
    def users_from_csv() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada"], "active": [True]})

    defs = dg.Definitions.merge(
        dg.Definitions(assets=[users_table, active_users]),
        dg.Definitions(assets=[users_from_csv, active_users]),
    )

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="Duplicate asset key"):
        dg.Definitions.validate_loadable(defs)


def test_two_jobs_with_one_name_fail_when_the_definitions_load() -> None:
    """Job, schedule and sensor names must be unique in a project, whatever the kind of job: an
    op job that takes the asset job's name makes the `Definitions` fail to load."""

    @dg.op
    def count_users() -> int:
        return 3

    @dg.job(name="users_job")
    def count_job() -> None:
        count_users()

    defs = dg.Definitions(
        assets=[users_table, active_users],
        jobs=[dg.define_asset_job("users_job", selection=[users_table]), count_job],
    )

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="users_job"):
        dg.Definitions.validate_loadable(defs)
