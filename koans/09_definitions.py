"""Definitions: everything a Dagster project holds, in one object.

`dg.Definitions` bundles a project's assets, jobs, schedules, sensors and resources. It is what
`dg dev` loads to show the project in the UI, and what the daemon reads to run the schedules and
sensors of a deployment. Building one checks little and runs nothing. Loading it checks the rest:
`dg check defs` on the command line, or `dg.Definitions.validate_loadable(defs)` in Python, fails
if anything is broken. The `resolve_*` methods find a job, schedule, sensor or asset by name, and
a large project builds one `Definitions` per part and joins them with `dg.Definitions.merge`.

Names follow three rules. Jobs must have names unlike other jobs'; schedules and sensors share
one namespace; but a schedule or a sensor may be named like a job. Asset keys must be unique.

Two errors tell mistakes apart. Broken definitions (a duplicate name, a job whose assets are
missing) raise `dg.DagsterInvalidDefinitionError` when they load. Asking for something they do
not hold raises `dg.DagsterInvariantViolationError`, Dagster's error for a call it cannot answer.
Both are kinds of `dg.DagsterError`, the base class of Dagster's own errors.

Read next:
- https://docs.dagster.io/deployment/code-locations/managing-code-locations-with-definitions
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


def loads(defs: dg.Definitions) -> bool:
    """Whether the definitions load, as `dg check defs` would find."""
    try:
        dg.Definitions.validate_loadable(defs)
    except dg.DagsterError:
        return False
    return True


def test_a_job_of_assets_is_resolved_inside_the_definitions(
    instance: dg.DagsterInstance,
) -> None:
    """A job of assets is `dg.define_asset_job` with a selection, listed in the `Definitions` and
    fetched back by name; the selection is resolved against the project's assets. (A `@dg.job`
    that calls asset functions runs them as plain ops and records nothing, as in lesson 04.)"""

    @dg.asset
    def orders() -> list[int]:
        return [30, 12]

    selection = dg.AssetSelection.assets(active_users).upstream()
    users_job = dg.define_asset_job("users_job", selection=selection)
    defs = dg.Definitions(assets=[users_table, active_users, orders], jobs=[users_job])

    result = defs.resolve_job_def("users_job").execute_in_process(instance=instance)

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == __


def test_a_wrong_name_lists_the_names_that_exist() -> None:
    """Asking for a name the `Definitions` don't hold fails at once, and the message lists the
    names they do hold (with `__ASSET_JOB`, the hidden job of all assets)."""
    users_job = dg.define_asset_job("users_job", selection=[users_table, active_users])
    defs = dg.Definitions(assets=[users_table, active_users], jobs=[users_job])

    with pytest.raises(___) as raised:
        defs.resolve_job_def("user_job")
    assert "Found: '__ASSET_JOB', 'users_job'" in str(raised.value)


def test_a_key_made_from_a_string_with_a_slash() -> None:
    """A prefixed key is a path of parts, which the UI writes `crm/contacts`. Code that turns such
    text into a key must split it: `dg.AssetKey.from_user_string` does."""

    @dg.asset(key_prefix=["crm"])
    def contacts() -> list[str]:
        return ["ada", "grace"]

    defs = dg.Definitions(assets=[contacts])

    assert defs.resolve_assets_def(dg.AssetKey.from_user_string("crm/contacts")).key == contacts.key
    assert dg.AssetKey("crm/contacts").path == __


def test_the_jobs_a_definitions_holds() -> None:
    """These `Definitions` list no job in `jobs=`, only a schedule that targets one.
    `resolve_all_job_defs()` lists every job they hold, the hidden one included."""
    users_job = dg.define_asset_job("users_job", selection=[users_table, active_users])
    daily = dg.ScheduleDefinition("daily_users", cron_schedule="0 6 * * *", target=users_job)
    defs = dg.Definitions(assets=[users_table, active_users], schedules=[daily])

    assert defs.resolve_schedule_def("daily_users").cron_schedule == "0 6 * * *"
    assert sorted(job.name for job in defs.resolve_all_job_defs()) == __


def test_resources_given_once_reach_the_assets_and_the_sensor(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """`Definitions(resources=...)` hands the same resource to every asset, job, schedule and
    sensor. Deployed, the daemon gives a sensor the project's resources; in a test you pass them
    to `build_sensor_context` yourself."""
    (tmp_path / "users_001.csv").write_text("name,active\nada,True\ngrace,False\n")

    @dg.asset
    def inbox_users(inbox: Inbox) -> pd.DataFrame:
        return pd.concat(pd.read_csv(path) for path in inbox.files())

    users_job = dg.define_asset_job("users_job", selection=[inbox_users])

    @dg.sensor(target=users_job)
    def new_user_files(context: dg.SensorEvaluationContext, inbox: Inbox):
        for path in inbox.files():
            yield dg.RunRequest(run_key=path.name)

    defs = dg.Definitions(
        assets=[inbox_users],
        sensors=[new_user_files],
        resources={"inbox": Inbox(path=str(tmp_path))},
    )
    sensor = defs.resolve_sensor_def("new_user_files")
    context = dg.build_sensor_context(resources=__, instance=instance)
    tick = sensor.evaluate_tick(context)
    result = defs.resolve_job_def("users_job").execute_in_process(instance=instance)

    assert [request.run_key for request in tick.run_requests] == ["users_001.csv"]
    assert result.asset_value("inbox_users")["name"].tolist() == ["ada", "grace"]


def test_definitions_build_without_checks_and_fail_when_they_load() -> None:
    """A job of assets is only resolved when the `Definitions` load: building them with the job's
    assets missing raises nothing. `validate_loadable`, a static method called on the class,
    resolves every job, as `dg check defs` does."""
    users_job = dg.define_asset_job("users_job", selection=[users_table, active_users])
    broken = dg.Definitions(assets=[users_table], jobs=[users_job])

    with pytest.raises(___, match="users_job"):
        dg.Definitions.validate_loadable(broken)


def test_which_definitions_may_share_a_name() -> None:
    """Jobs have a namespace of their own; schedules and sensors share another. `loads` (at the
    top of this file) says whether `dg check defs` would pass."""

    @dg.op
    def count_users() -> int:
        return 3

    @dg.job(name="users")
    def users_job() -> None:
        count_users()

    @dg.job(name="users")
    def other_users_job() -> None:
        count_users()

    schedule = dg.ScheduleDefinition(name="users", target=users_job, cron_schedule="0 6 * * *")

    @dg.sensor(name="users", target=users_job)
    def sensor(context: dg.SensorEvaluationContext) -> None:
        return None

    verdicts = [
        loads(dg.Definitions(jobs=[users_job], schedules=[schedule])),
        loads(dg.Definitions(jobs=[users_job], sensors=[sensor])),
        loads(dg.Definitions(jobs=[users_job], schedules=[schedule], sensors=[sensor])),
        loads(dg.Definitions(jobs=[users_job, other_users_job])),
    ]
    assert verdicts == __


def test_merge_joins_the_parts_of_a_project() -> None:
    """`dg.Definitions.merge(a, b, ...)` makes one `Definitions` of several. A part may fail to
    load on its own, because its asset needs an asset another part makes."""
    ingest = dg.Definitions(assets=[users_table])
    reporting = dg.Definitions(
        assets=[active_users],
        jobs=[dg.define_asset_job("report_job", selection=[active_users])],
    )

    merged = dg.Definitions.merge(ingest, reporting)

    assert [loads(ingest), loads(reporting), loads(merged)] == __


def test_merge_keeps_one_resource_per_key(tmp_path: Path) -> None:
    """Merging keeps one resource per key. Two objects under one key are refused at once, even
    with equal settings; make the first merge hand out one and the same resource."""
    inbox = Inbox(path=str(tmp_path))
    ingest = dg.Definitions(resources={"inbox": inbox})
    merged = dg.Definitions.merge(ingest, dg.Definitions(resources={"inbox": __}))

    with pytest.raises(dg.DagsterInvariantViolationError, match="inbox"):
        dg.Definitions.merge(
            dg.Definitions(resources={"inbox": inbox}),
            dg.Definitions(resources={"inbox": Inbox(path=str(tmp_path))}),
        )
    assert set(merged.resources) == {"inbox"}


def test_two_assets_with_one_key_fail_when_the_definitions_load() -> None:
    """Two different assets with one key are accepted when the `Definitions` are built or
    merged, and refused when they load. The same asset listed twice is one asset."""

    @dg.asset(name="users_table")
    def users_from_csv() -> pd.DataFrame:
        return pd.DataFrame({"name": ["ada"], "active": [True]})

    twice = dg.Definitions.merge(
        dg.Definitions(assets=[users_table, active_users]),
        dg.Definitions(assets=[users_table]),
    )
    two_keys = dg.Definitions.merge(
        dg.Definitions(assets=[users_table, active_users]),
        dg.Definitions(assets=[users_from_csv]),
    )

    assert (loads(twice), loads(two_keys)) == __
