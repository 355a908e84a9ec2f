"""Sensors: runs started by something that happened, not by the clock.

A sensor is a function the Dagster daemon calls on a timer (a "tick"). Each tick looks at the
world, here a folder of files, and returns `dg.RunRequest`s for work to do or a `dg.SkipReason`.
A run key names each request: the daemon launches at most one run per key, so a tick may safely
ask again. A cursor is a string the daemon keeps between ticks, so a tick can skip what an earlier
one saw. In a test, `dg.build_sensor_context` stands in for the daemon and `evaluate_tick` runs one
tick. Asset sensors and run-status sensors watch the Dagster instance instead of the outside world.
"""

from pathlib import Path

import dagster as dg
import pytest

from dagster_koans import __, ___


def test_a_sensor_requests_a_run_for_each_file_in_a_folder(tmp_path: Path) -> None:
    """A tick returns one `RunRequest` for each piece of work it finds: here, each file."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders_001.csv").write_text("id\n1\n")
    (inbox / "orders_002.csv").write_text("id\n2\n")

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        for path in sorted(inbox.glob("*.csv")):
            yield dg.RunRequest(run_key=path.name)

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    assert len(result.run_requests) == __


def test_a_run_key_names_the_work_a_request_is_for(tmp_path: Path) -> None:
    """The run key says which piece of work a request is for; a file's name is a natural one.
    The run config tells the job which file to read."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders_001.csv").write_text("id\n1\n")
    (inbox / "orders_002.csv").write_text("id\n2\n")

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        for path in sorted(inbox.glob("*.csv")):
            yield dg.RunRequest(
                run_key=__,
                run_config={"ops": {"load_file": {"config": {"path": str(path)}}}},
            )

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    assert [request.run_key for request in result.run_requests] == [
        "orders_001.csv",
        "orders_002.csv",
    ]


def test_two_ticks_over_the_same_folder_ask_for_the_same_run_keys(tmp_path: Path) -> None:
    """Without a cursor, each tick asks again for every file. `evaluate_tick` does not
    de-duplicate: the daemon does, launching no second run for a run key it has seen."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders_001.csv").write_text("id\n1\n")
    (inbox / "orders_002.csv").write_text("id\n2\n")

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        for path in sorted(inbox.glob("*.csv")):
            yield dg.RunRequest(run_key=path.name)

    first = inbox_sensor.evaluate_tick(dg.build_sensor_context())
    second = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    assert len(second.run_requests) == __
    first_keys = [request.run_key for request in first.run_requests]
    assert [request.run_key for request in second.run_requests] == first_keys


def test_a_sensor_with_nothing_to_do_says_why_it_skipped(tmp_path: Path) -> None:
    """A tick with no work returns a `SkipReason`: no run starts, and the reason shows in the UI."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        paths = sorted(inbox.glob("*.csv"))
        if not paths:
            return __("the inbox is empty")
        return [dg.RunRequest(run_key=path.name) for path in paths]

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    assert result.run_requests == []
    assert result.skip_message == "the inbox is empty"


def test_a_cursor_remembers_the_last_file_a_tick_saw(tmp_path: Path) -> None:
    """`context.update_cursor(...)` stores a string for the next tick; the tick's result
    shows it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders_001.csv").write_text("id\n1\n")
    (inbox / "orders_002.csv").write_text("id\n2\n")

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        last_seen = context.cursor or ""
        new_paths = [path for path in sorted(inbox.glob("*.csv")) if path.name > last_seen]
        for path in new_paths:
            yield dg.RunRequest(run_key=path.name)
        if new_paths:
            context.update_cursor(new_paths[-1].name)

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    assert result.cursor == __


def test_the_next_tick_starts_from_the_cursor_and_sees_only_new_files(tmp_path: Path) -> None:
    """The daemon hands each tick the cursor the last tick stored, so old files are not asked
    for again. In a test, you hand it over yourself through `build_sensor_context`."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders_001.csv").write_text("id\n1\n")
    (inbox / "orders_002.csv").write_text("id\n2\n")

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        last_seen = context.cursor or ""
        new_paths = [path for path in sorted(inbox.glob("*.csv")) if path.name > last_seen]
        for path in new_paths:
            yield dg.RunRequest(run_key=path.name)
        if new_paths:
            context.update_cursor(new_paths[-1].name)

    first = inbox_sensor.evaluate_tick(dg.build_sensor_context())
    assert len(first.run_requests) == 2
    (inbox / "orders_003.csv").write_text("id\n3\n")
    second = inbox_sensor.evaluate_tick(dg.build_sensor_context(cursor=__))

    assert [request.run_key for request in second.run_requests] == ["orders_003.csv"]


def test_a_sensor_result_returns_the_requests_and_the_cursor_together(tmp_path: Path) -> None:
    """Instead of yielding requests and calling `update_cursor`, a sensor can return one
    `dg.SensorResult` holding both."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders_001.csv").write_text("id\n1\n")
    (inbox / "orders_002.csv").write_text("id\n2\n")

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        last_seen = context.cursor or ""
        new_paths = [path for path in sorted(inbox.glob("*.csv")) if path.name > last_seen]
        requests = [dg.RunRequest(run_key=path.name) for path in new_paths]
        cursor = new_paths[-1].name if new_paths else last_seen
        return __(run_requests=requests, cursor=cursor)

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context(cursor="orders_001.csv"))

    assert [request.run_key for request in result.run_requests] == ["orders_002.csv"]
    assert result.cursor == "orders_002.csv"


def test_a_sensor_result_cursor_and_update_cursor_do_not_mix() -> None:
    """A tick may set its cursor one way only. Setting it both through `update_cursor` and in
    the `SensorResult` breaks one of Dagster's invariants, and the tick fails."""

    @dg.sensor(job_name="process_file")
    def confused_sensor(context: dg.SensorEvaluationContext):
        context.update_cursor("orders_001.csv")
        return dg.SensorResult(run_requests=[], cursor="orders_002.csv")

    with pytest.raises(___):
        confused_sensor.evaluate_tick(dg.build_sensor_context())


def test_the_daemon_waits_between_ticks() -> None:
    """`minimum_interval_seconds` sets how long the daemon waits at least between two ticks.
    Left unset, it is half a minute."""

    @dg.sensor(job_name="process_file")
    def default_sensor(context: dg.SensorEvaluationContext):
        return dg.SkipReason("nothing to see")

    @dg.sensor(job_name="process_file", minimum_interval_seconds=300)
    def patient_sensor(context: dg.SensorEvaluationContext):
        return dg.SkipReason("nothing to see")

    assert default_sensor.minimum_interval_seconds == __
    assert patient_sensor.minimum_interval_seconds == 5 * 60


def test_a_new_sensor_stays_off_until_someone_turns_it_on() -> None:
    """A sensor starts stopped: the daemon ticks it only once it is turned on in the UI, or
    when it is declared with `default_status=dg.DefaultSensorStatus.RUNNING`."""

    @dg.sensor(job_name="process_file")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        return dg.SkipReason("nothing to see")

    assert inbox_sensor.default_status == __


def test_an_asset_sensor_fires_once_its_asset_is_materialized(
    instance: dg.DagsterInstance,
) -> None:
    """An asset sensor watches the instance for new materializations of one asset, and gets
    the event that recorded it. Give `build_sensor_context` the instance to watch."""

    @dg.asset
    def users_table() -> list[str]:
        return ["ada", "grace"]

    @dg.asset_sensor(asset_key=dg.AssetKey("users_table"), job_name="refresh_report")
    def users_table_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        yield dg.RunRequest(run_key=asset_event.run_id)

    before = users_table_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    result = dg.materialize([users_table], instance=instance)
    after = users_table_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))

    assert result.success
    assert len(before.run_requests) == 0
    assert [request.run_key for request in after.run_requests] == [__]


def test_a_run_failure_sensor_hears_about_runs_that_failed(instance: dg.DagsterInstance) -> None:
    """A run failure sensor is called once for each failed run of the jobs it monitors. Its first
    tick only sets a cursor, so it reacts to failures from then on, not to older ones."""

    @dg.op
    def fetch_orders() -> None:
        raise ConnectionError("the orders API is down")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    alerts: list[str] = []

    @dg.run_failure_sensor(monitored_jobs=[nightly_import])
    def alert_on_failure(context: dg.RunFailureSensorContext) -> None:
        alerts.append(context.dagster_run.job_name)

    first = alert_on_failure.evaluate_tick(dg.build_sensor_context(instance=instance))
    nightly_import.execute_in_process(instance=instance, raise_on_error=False)
    alert_on_failure.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))

    assert alerts == __
