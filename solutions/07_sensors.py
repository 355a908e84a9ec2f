"""Sensors: runs started by something that happened, not by the clock.

A sensor is a function the Dagster daemon calls on a timer (a "tick"), waiting at least the
sensor's `minimum_interval_seconds` (30 unless you choose) between two ticks. Each tick looks at
the world, here a folder of files, and returns `dg.RunRequest`s for work to do, or a
`dg.SkipReason`. Like a schedule, a sensor names what it runs with `target=` (older code: `job=`
or `job_name=`), and starts stopped until someone turns it on.

A run key names the work a request is for. The daemon remembers, for each sensor, the run keys
that sensor has launched, and launches no second run for one of them: a tick may safely ask again
for a file an earlier tick saw. That memory belongs to the daemon, and to one sensor: two sensors
asking for the same key each launch a run (and a schedule's run key guards only one tick). A
cursor is a string the daemon keeps between ticks, so that a tick can skip what an earlier one
saw. A tick sets it with `context.update_cursor(...)` or returns it in a `dg.SensorResult`, never
both: that breaks one of Dagster's invariants, with `dg.DagsterInvariantViolationError`.

In a test, `dg.build_sensor_context` stands in for the daemon and `evaluate_tick` runs one tick,
with no memory of run keys. Asset sensors and run-status sensors watch the Dagster instance
instead of the outside world.

Read next:
- https://docs.dagster.io/guides/automate/sensors
- https://docs.dagster.io/guides/automate/sensors/testing-sensors
"""

from pathlib import Path

import dagster as dg
import pytest

from dagster_koans import __, ___


class FileConfig(dg.Config):
    path: str


@dg.op
def load_file(config: FileConfig) -> int:
    return len(Path(config.path).read_text().splitlines()) - 1  # rows below the header


@dg.job
def process_file() -> None:
    load_file()


def inbox_with(folder: Path, *names: str) -> Path:
    """A real folder holding one small file per name."""
    folder.mkdir()
    for number, name in enumerate(names, 1):
        (folder / name).write_text(f"id\n{number}\n")
    return folder


def test_a_sensor_asks_for_one_run_per_file_named_by_its_run_key(tmp_path: Path) -> None:
    """A tick returns one `RunRequest` for each piece of work it finds: here each CSV file, named
    by a run key and carrying the run config that tells the job which file to read."""
    inbox = inbox_with(tmp_path / "inbox", "orders_001.csv", "orders_002.csv", "notes.txt")

    @dg.sensor(target=process_file)
    def inbox_sensor(context: dg.SensorEvaluationContext):
        for path in sorted(inbox.glob("*.csv")):
            run_config = {"ops": {"load_file": {"config": {"path": str(path)}}}}
            yield dg.RunRequest(run_key=path.name, run_config=run_config)

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    keys = [request.run_key for request in result.run_requests]
    assert keys == ["orders_001.csv", "orders_002.csv"]


def test_a_second_tick_with_nothing_new(tmp_path: Path) -> None:
    """Without a cursor, each tick looks at the whole folder again and asks again for every
    file. Here a test plays two ticks, one after the other, with nothing new in between."""
    inbox = inbox_with(tmp_path / "inbox", "orders_001.csv", "orders_002.csv")

    @dg.sensor(target=process_file)
    def inbox_sensor(context: dg.SensorEvaluationContext):
        for path in sorted(inbox.glob("*.csv")):
            yield dg.RunRequest(run_key=path.name)

    first = inbox_sensor.evaluate_tick(dg.build_sensor_context())
    second = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    assert len(first.run_requests) == 2
    assert len(second.run_requests) == 2


def test_each_request_carries_the_name_of_the_sensor_that_made_it(tmp_path: Path) -> None:
    """Dagster tags each request with the sensor that made it. The daemon finds the run a key
    already launched by the key and this tag together: that is why run keys belong to one
    sensor, and why these two requests for one file would launch two runs."""
    inbox = inbox_with(tmp_path / "inbox", "orders_001.csv")

    @dg.sensor(target=process_file)
    def inbox_sensor(context: dg.SensorEvaluationContext):
        for path in sorted(inbox.glob("*.csv")):
            yield dg.RunRequest(run_key=path.name)

    @dg.sensor(target=process_file)
    def audit_sensor(context: dg.SensorEvaluationContext):
        for path in sorted(inbox.glob("*.csv")):
            yield dg.RunRequest(run_key=path.name)

    [from_inbox] = inbox_sensor.evaluate_tick(dg.build_sensor_context()).run_requests
    [from_audit] = audit_sensor.evaluate_tick(dg.build_sensor_context()).run_requests

    assert from_inbox.run_key == from_audit.run_key
    senders = (from_inbox.tags["dagster/sensor_name"], from_audit.tags["dagster/sensor_name"])
    assert senders == ("inbox_sensor", "audit_sensor")


def test_a_cursor_remembers_the_last_file_a_tick_saw(tmp_path: Path) -> None:
    """`context.update_cursor(...)` stores a string for the next tick; the tick's result shows
    it. This sensor keeps the name of the last file it asked for."""
    inbox = inbox_with(tmp_path / "inbox", "orders_001.csv", "orders_002.csv")

    @dg.sensor(target=process_file)
    def inbox_sensor(context: dg.SensorEvaluationContext):
        last_seen = context.cursor or ""
        new_paths = [path for path in sorted(inbox.glob("*.csv")) if path.name > last_seen]
        for path in new_paths:
            yield dg.RunRequest(run_key=path.name)
        if new_paths:
            context.update_cursor(new_paths[-1].name)

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context())

    assert result.cursor == "orders_002.csv"


def test_the_next_tick_starts_from_the_cursor(tmp_path: Path) -> None:
    """The daemon hands each tick the cursor the last tick stored. In a test, you hand it over
    yourself through `build_sensor_context(cursor=...)`. A new file arrives between the ticks."""
    inbox = inbox_with(tmp_path / "inbox", "orders_001.csv", "orders_002.csv")

    @dg.sensor(target=process_file)
    def inbox_sensor(context: dg.SensorEvaluationContext):
        last_seen = context.cursor or ""
        new_paths = [path for path in sorted(inbox.glob("*.csv")) if path.name > last_seen]
        for path in new_paths:
            yield dg.RunRequest(run_key=path.name)
        if new_paths:
            context.update_cursor(new_paths[-1].name)

    first = inbox_sensor.evaluate_tick(dg.build_sensor_context())
    (inbox / "orders_003.csv").write_text("id\n3\n")
    second = inbox_sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor))

    assert len(first.run_requests) == 2
    assert [request.run_key for request in second.run_requests] == ["orders_003.csv"]


def test_the_cursor_after_a_tick_that_skips(tmp_path: Path) -> None:
    """A tick with nothing new returns a `SkipReason`: no run starts, and the reason shows in the
    UI. It never called `update_cursor`; what cursor does the next tick get?"""
    inbox = inbox_with(tmp_path / "inbox", "orders_001.csv", "orders_002.csv")

    @dg.sensor(target=process_file, minimum_interval_seconds=60)  # a tick a minute at most
    def inbox_sensor(context: dg.SensorEvaluationContext):
        last_seen = context.cursor or ""
        new_paths = [path for path in sorted(inbox.glob("*.csv")) if path.name > last_seen]
        if not new_paths:
            return dg.SkipReason(f"nothing after {last_seen}")
        context.update_cursor(new_paths[-1].name)
        return [dg.RunRequest(run_key=path.name) for path in new_paths]

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context(cursor="orders_009.csv"))

    assert result.run_requests == []
    assert result.skip_message == "nothing after orders_009.csv"
    assert result.cursor == "orders_009.csv"


def test_a_sensor_result_returns_the_requests_and_the_cursor_together(tmp_path: Path) -> None:
    """Instead of yielding requests and calling `update_cursor`, a sensor can return one object
    that holds both, and a skip reason too when it has one: the tick takes its cursor from
    there."""
    inbox = inbox_with(tmp_path / "inbox", "orders_001.csv", "orders_002.csv", "orders_003.csv")

    @dg.sensor(target=process_file)
    def inbox_sensor(context: dg.SensorEvaluationContext):
        last_seen = context.cursor or ""
        new_paths = [path for path in sorted(inbox.glob("*.csv")) if path.name > last_seen]
        requests = [dg.RunRequest(run_key=path.name) for path in new_paths]
        cursor = new_paths[-1].name if new_paths else last_seen
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    result = inbox_sensor.evaluate_tick(dg.build_sensor_context(cursor="orders_001.csv"))

    keys = [request.run_key for request in result.run_requests]
    assert keys == ["orders_002.csv", "orders_003.csv"]
    assert result.cursor == "orders_003.csv"


def test_a_sensor_result_cursor_and_update_cursor_do_not_mix() -> None:
    """A tick may set its cursor one way only. This one sets it both through `update_cursor` and
    in its `SensorResult`, and the tick fails."""

    @dg.sensor(target=process_file)
    def confused_sensor(context: dg.SensorEvaluationContext):
        context.update_cursor("orders_001.csv")
        return dg.SensorResult(run_requests=[], cursor="orders_002.csv")

    with pytest.raises(dg.DagsterInvariantViolationError):
        confused_sensor.evaluate_tick(dg.build_sensor_context())


def test_an_asset_sensor_fires_once_its_asset_is_materialized(
    instance: dg.DagsterInstance,
) -> None:
    """An asset sensor watches the instance for new materializations of one asset, and gets the
    event that recorded it. It names what it runs with `job=` (it takes no `target=`). Give
    `build_sensor_context` the instance to watch."""

    @dg.asset
    def users_table() -> list[str]:
        return ["ada", "grace"]

    @dg.asset_sensor(asset_key=dg.AssetKey("users_table"), job=process_file)
    def users_table_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        yield dg.RunRequest(run_key=asset_event.run_id)

    before = users_table_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    result = dg.materialize([users_table], instance=instance)
    after = users_table_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))

    assert result.success
    assert len(before.run_requests) == 0
    assert [request.run_key for request in after.run_requests] == [result.run_id]


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

    assert alerts == ["nightly_import"]
