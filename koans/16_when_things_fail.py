"""When things fail: retries, failures that explain themselves, hooks and alerts.

A step fails when its code raises, and the steps downstream of it never start. A run's events
tell each step's story: `STEP_START`, then `STEP_SUCCESS` or `STEP_FAILURE`, all members of
`dg.DagsterEventType`. The failure event keeps two exceptions: the one your code raised, and
Dagster's `dg.DagsterExecutionStepExecutionError`, which names the op; `execute_in_process` raises
when a step fails, unless you pass `raise_on_error=False` and read the result instead.

Many failures pass by themselves: a timeout, a service restarting. A `dg.RetryPolicy` on an op or
an asset runs a failed step again, up to `max_retries` more times, after a `delay` that `dg.Backoff`
grows and `dg.Jitter` spreads; a policy that makes no sense raises
`dg.DagsterInvalidDefinitionError` where it is defined. Code that knows more raises
`dg.RetryRequested` to ask for a retry itself, or `dg.Failure` to fail with a description and
metadata for whoever reads it. Hooks run after each op of a job, on success or on failure. A run
failure sensor hears about each failed run and is where you page someone: it posts to a webhook,
as Slack and PagerDuty take them. Once the cause is fixed, a failed run is re-executed from its
failure: a new run of the failed steps and those after them, reading what the others stored. A
run retry, the same thing done for you, is asked for with the `dagster/max_retries` tag and
launched by the daemon.

Once deployed, steps run under the multiprocess executor: each attempt starts in a new process
and remembers nothing in memory from the attempt before.

Read next:
- https://docs.dagster.io/guides/build/ops/op-retries
- https://docs.dagster.io/guides/automate/sensors/run-status-sensors
- https://docs.dagster.io/deployment/run-retries
"""

import json
import threading
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import dagster as dg
import pytest

from dagster_koans import __, ___

# Instances the koans make on disk log only warnings and send no usage statistics.
QUIET = {"python_logs": {"python_log_level": "WARNING"}, "telemetry": {"enabled": False}}


class Webhook:
    """A web server on this machine (127.0.0.1, a free port), run in a thread for a `with` block.

    It keeps each POST's status and JSON body, and answers with the next of `answers`, then 204
    ("no content") once they run out, as a chat service's webhook answers.
    """

    def __init__(self, answers: Sequence[int] = ()) -> None:
        self.posts: list[tuple[int, dict]] = []
        answers_left = list(answers)
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = answers_left.pop(0) if answers_left else 204
                posts.append((status, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # the koan reads the posts; no log on stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def __enter__(self) -> "Webhook":
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def post_json(url: str, body: dict) -> None:
    """POST `body` as JSON; `urlopen` raises `urllib.error.HTTPError` on a 4xx or 5xx answer."""
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


class WorkFolder(dg.ConfigurableResource):
    """Where the nightly load keeps its notes between runs."""

    path: str


@dg.op
def extract_orders(folder: WorkFolder) -> list[int]:
    with (Path(folder.path) / "extracts.txt").open("a") as extracts:
        extracts.write("extracted\n")
    return [120, 80]


@dg.op
def load_orders(folder: WorkFolder, orders: list[int]) -> int:
    restarted = Path(folder.path) / "warehouse_restarted"
    if not restarted.exists():  # the first run finds the warehouse restarting
        restarted.touch()
        raise ConnectionError("the warehouse is restarting")
    return len(orders)


# Re-execution finds the job again by its address: it is defined at the top of the module.
@dg.job(resource_defs={"folder": WorkFolder.configure_at_launch()})
def nightly_load() -> None:
    load_orders(extract_orders())


def test_the_failure_event_keeps_two_exceptions(instance: dg.DagsterInstance) -> None:
    """`result.failure_data_for_node` reads a failed step's failure event. Its `error` is a
    serializable copy of an exception, with `cls_name` and `cause`: which class sits outside,
    which inside?"""

    @dg.op
    def fetch_orders() -> list[int]:
        raise ConnectionError("the orders API is down")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    error = result.failure_data_for_node("fetch_orders").error
    outside_inside = (error.cls_name, error.cause.cls_name)
    assert outside_inside == __


def test_a_step_behind_a_failure_is_not_skipped(instance: dg.DagsterInstance) -> None:
    """`is_node_skipped` is true for a step with a `STEP_SKIPPED` event, the event of a step whose
    optional input was never yielded; `is_node_untouched` for a step with no event at all. Which
    is a step whose input never came because the op before it raised?"""

    @dg.op
    def fetch_orders() -> list[int]:
        raise ConnectionError("the orders API is down")

    @dg.op
    def clean_orders(orders: list[int]) -> list[int]:
        return [order for order in orders if order > 0]

    @dg.job
    def nightly_import() -> None:
        clean_orders(fetch_orders())

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    verdict = (result.is_node_skipped("clean_orders"), result.is_node_untouched("clean_orders"))
    assert verdict == __


def test_a_retry_policy_runs_a_failed_step_again(instance: dg.DagsterInstance) -> None:
    """`retry_policy=dg.RetryPolicy(max_retries=3)` lets a failed step run up to three more times
    (`@dg.job(op_retry_policy=...)` gives one to every op of a job). `context.retry_number` says
    which attempt is running: 0 for the first."""
    attempts: list[int] = []  # shared by the attempts only because they run in this one process

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=3))
    def fetch_orders(context: dg.OpExecutionContext) -> list[int]:
        attempts.append(context.retry_number)
        if len(attempts) < 3:
            raise ConnectionError("the orders API is restarting")
        return [120, 80]

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    result = nightly_import.execute_in_process(instance=instance)

    assert result.success
    assert attempts == __


def test_a_step_that_keeps_failing_gives_up_after_max_retries(
    instance: dg.DagsterInstance,
) -> None:
    """Each failed attempt is recorded as a `STEP_UP_FOR_RETRY` event, and each new attempt
    starts with `STEP_RESTARTED`. When no retry is left, the step's last event says so."""

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=2))
    def fetch_orders() -> None:
        raise ConnectionError("the orders API is down")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    kinds = [event.event_type for event in result.events_for_node("fetch_orders")]
    assert kinds[:3] == [
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_UP_FOR_RETRY,
        dg.DagsterEventType.STEP_RESTARTED,
    ]
    assert kinds.count(dg.DagsterEventType.STEP_RESTARTED) == 2
    assert kinds[-1] == __


def test_an_asset_retries_the_same_way_and_materializes_once(
    instance: dg.DagsterInstance,
) -> None:
    """`@dg.asset` takes the same `retry_policy=`. Its first attempt fails and its second returns
    a value: how many materializations does the run record?"""

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))
    def orders(context: dg.AssetExecutionContext) -> list[int]:
        if context.retry_number == 0:
            raise ConnectionError("the orders API is restarting")
        return [120, 80]

    result = dg.materialize([orders], instance=instance)

    assert len(result.get_asset_materialization_events()) == __


def test_backoff_grows_the_wait_between_retries(instance: dg.DagsterInstance) -> None:
    """`delay` is the wait before a retry, in seconds; `dg.Backoff` grows it with each retry:
    `LINEAR` adds the delay once more each time, `EXPONENTIAL` about doubles the wait each time.
    Each `STEP_UP_FOR_RETRY` event records its wait: a millisecond here, minutes at work."""
    patient = dg.RetryPolicy(max_retries=3, delay=0.001, backoff=__)

    @dg.op(retry_policy=patient)
    def fetch_orders() -> None:
        raise ConnectionError("the orders API is down")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    retries = [event for event in result.all_events if event.is_step_up_for_retry]
    waits = [event.step_retry_data.seconds_to_wait for event in retries]
    assert waits == pytest.approx([0.001, 0.003, 0.007])


def test_jitter_spreads_the_waits_and_needs_a_delay(instance: dg.DagsterInstance) -> None:
    """`dg.Jitter` picks each wait at random (`FULL`: anywhere from zero to the backoff's wait),
    so a hundred steps that failed together do not all retry in the same instant. Like backoff,
    it only changes a delay: a policy with jitter and no `delay` is refused when it is built."""
    spread = dg.RetryPolicy(
        max_retries=2, delay=0.001, backoff=dg.Backoff.LINEAR, jitter=dg.Jitter.FULL
    )

    @dg.op(retry_policy=spread)
    def fetch_orders() -> None:
        raise ConnectionError("the orders API is down")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    retries = [event for event in result.all_events if event.is_step_up_for_retry]
    waits = [event.step_retry_data.seconds_to_wait for event in retries]
    linear = [0.001, 0.002]  # the waits without jitter
    assert all(0 <= wait <= most for wait, most in zip(waits, linear, strict=True))

    with pytest.raises(___):
        dg.RetryPolicy(max_retries=3, jitter=dg.Jitter.FULL)


def test_a_failure_carries_a_description_and_metadata(instance: dg.DagsterInstance) -> None:
    """Raise `dg.Failure(description=..., metadata={...})` to tell whoever reads the run what went
    wrong. Both are kept on the step's failure event, each metadata value stored in a typed entry
    as on a materialization."""
    orders = [
        {"id": 1, "customer": "ada"},
        {"id": 2, "customer": None},
        {"id": 3, "customer": "grace"},
        {"id": 5, "customer": None},
    ]

    @dg.op
    def check_orders() -> None:
        orphans = [order["id"] for order in orders if order["customer"] is None]
        if orphans:
            raise dg.Failure(
                description="some orders have no customer", metadata={"orphan_ids": orphans}
            )

    @dg.job
    def nightly_import() -> None:
        check_orders()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure.description == "some orders have no customer"
    assert failure.metadata["orphan_ids"] == __


def test_a_failure_can_refuse_to_be_retried(instance: dg.DagsterInstance) -> None:
    """Bad data stays bad however often you read it. `dg.Failure(allow_retries=False)` fails the
    step at once, whatever its retry policy says."""
    attempts: list[int] = []

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=3))
    def check_orders(context: dg.OpExecutionContext) -> None:
        attempts.append(context.retry_number)
        raise dg.Failure(description="order 2 has no customer", allow_retries=False)

    @dg.job
    def nightly_import() -> None:
        check_orders()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    assert not result.success
    assert attempts == __


def test_an_op_can_ask_for_a_retry_itself(instance: dg.DagsterInstance) -> None:
    """An op that knows a retry will help raises `dg.RetryRequested(max_retries=...)`, with no
    policy needed (`raise dg.RetryRequested(max_retries=5) from error` keeps the cause). Here an
    export is not ready until the third look."""

    @dg.op
    def wait_for_export(context: dg.OpExecutionContext) -> str:
        if context.retry_number < 2:
            raise dg.RetryRequested(max_retries=5)
        return "orders_export.csv"

    @dg.job
    def nightly_import() -> None:
        wait_for_export()

    result = nightly_import.execute_in_process(instance=instance)

    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    assert len(restarts) == __


def test_a_success_hook_runs_after_each_op_that_succeeds(instance: dg.DagsterInstance) -> None:
    """`@dg.success_hook` makes a hook; `@dg.job(hooks={...})` attaches it to every op of the job
    (`@dg.asset(hooks=...)` and `dg.define_asset_job(hooks=...)` do so for assets). Each call gets
    a `dg.HookContext` that names the op it follows."""
    finished: list[str] = []

    @dg.success_hook
    def record_success(context: dg.HookContext) -> None:
        finished.append(context.op.name)

    @dg.op
    def extract() -> list[int]:
        return [120, 80]

    @dg.op
    def load(orders: list[int]) -> int:
        return len(orders)

    @dg.job(hooks={record_success})
    def nightly_import() -> None:
        load(extract())

    nightly_import.execute_in_process(instance=instance)

    assert finished == __


def test_a_failure_hook_hears_once_after_the_last_retry(instance: dg.DagsterInstance) -> None:
    """A `@dg.failure_hook` runs when a step has failed for good, not on each failed attempt.
    Its context carries the exception the op raised, as `context.op_exception`."""
    pages: list[tuple[str, type]] = []

    @dg.failure_hook
    def page_on_call(context: dg.HookContext) -> None:
        pages.append((context.op.name, type(context.op_exception)))

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=1))
    def fetch_orders() -> list[int]:
        raise ConnectionError("the orders API is down")

    @dg.job(hooks={page_on_call})
    def nightly_import() -> None:
        fetch_orders()

    nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    assert pages == __


def test_a_run_failure_sensor_alerts_with_the_steps_that_failed(
    instance: dg.DagsterInstance,
) -> None:
    """A run failure sensor is where to send an alert: it is called once for each failed run of
    the jobs it watches, and can read the run's step failures to say what broke. Its first tick
    only sets a cursor."""

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=2))
    def fetch_orders(context: dg.OpExecutionContext) -> None:
        if context.retry_number == 0:
            raise ConnectionError("the orders API is restarting")

    @dg.op
    def fetch_customers() -> None:
        raise dg.Failure(description="the customers file is empty")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()
        fetch_customers()

    alerts: list[str] = []

    @dg.run_failure_sensor(monitored_jobs=[nightly_import])
    def alert_on_call(context: dg.RunFailureSensorContext) -> None:
        alerts.extend(event.step_key for event in context.get_step_failure_events())

    first = alert_on_call.evaluate_tick(dg.build_sensor_context(instance=instance))
    nightly_import.execute_in_process(instance=instance, raise_on_error=False)
    alert_on_call.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))

    assert alerts == __


@pytest.mark.timeout(30)  # it starts a web server in a thread: allow it more than usual
def test_a_run_failure_sensor_posts_its_alert_to_a_webhook(instance: dg.DagsterInstance) -> None:
    """A Slack or PagerDuty sensor posts each alert to a webhook over HTTPS; this webhook listens
    on this machine. Three jobs run, two of them fail, and the sensor watches two of them."""

    @dg.op
    def fetch_orders() -> None:
        raise ConnectionError("the orders API is down")

    @dg.op
    def count_orders() -> int:
        return 2

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    @dg.job
    def weekly_report() -> None:
        fetch_orders()

    @dg.job
    def hourly_count() -> None:
        count_orders()

    with Webhook() as webhook:

        @dg.run_failure_sensor(monitored_jobs=[nightly_import, hourly_count])
        def post_alert(context: dg.RunFailureSensorContext) -> None:
            alert = {"job": context.dagster_run.job_name, "text": context.failure_event.message}
            post_json(webhook.url, alert)

        cursor = post_alert.evaluate_tick(dg.build_sensor_context(instance=instance)).cursor
        for job in [nightly_import, weekly_report, hourly_count]:
            job.execute_in_process(instance=instance, raise_on_error=False)
        for _ in range(3):  # the daemon ticks it again and again
            tick = post_alert.evaluate_tick(
                dg.build_sensor_context(instance=instance, cursor=cursor)
            )
            cursor = tick.cursor

    assert [alert["job"] for _, alert in webhook.posts] == __


@pytest.mark.timeout(30)  # it starts a web server in a thread: allow it more than usual
def test_an_alert_the_webhook_refused_is_not_sent_again(instance: dg.DagsterInstance) -> None:
    """This webhook answers 503, "unavailable", to its first post, as a service restarting does,
    and `urlopen` raises. Dagster records the error on the sensor's tick, and the sensor ticks
    twice more: which answers did the webhook give?"""

    @dg.op
    def fetch_orders() -> None:
        raise ConnectionError("the orders API is down")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    with Webhook(answers=[503]) as webhook:

        @dg.run_failure_sensor(monitored_jobs=[nightly_import])
        def post_alert(context: dg.RunFailureSensorContext) -> None:
            post_json(webhook.url, {"job": context.dagster_run.job_name})

        cursor = post_alert.evaluate_tick(dg.build_sensor_context(instance=instance)).cursor
        nightly_import.execute_in_process(instance=instance, raise_on_error=False)
        errors = []
        for _ in range(3):  # the daemon ticks it again and again
            tick = post_alert.evaluate_tick(
                dg.build_sensor_context(instance=instance, cursor=cursor)
            )
            cursor = tick.cursor
            errors += [reaction.error for reaction in tick.dagster_run_reactions if reaction.error]

    assert [error.cls_name for error in errors] == ["HTTPError"]
    assert [status for status, _ in webhook.posts] == __


@pytest.mark.timeout(60)  # it builds an instance on disk: allow it more than usual
def test_a_failed_run_is_re_executed_from_its_failure(tmp_path: Path) -> None:
    """`dg.ReexecutionOptions.from_failure(run_id, instance)` asks for a new run of the steps that
    failed and of those after them, the others' outputs read from what the failed run stored; the
    UI's "Re-execute from failure" does the same. `dg.execute_job` runs it, given the job's address
    and an instance on disk."""
    run_config = {
        "resources": {"folder": {"config": {"path": str(tmp_path)}}},
        "execution": {"config": {"in_process": {}}},  # one process: this koan is not about them
    }
    job = dg.reconstructable(nightly_load)

    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=QUIET) as instance:
        failed = dg.execute_job(job, instance=instance, run_config=run_config)
        options = dg.ReexecutionOptions.from_failure(failed.run_id, instance)
        again = dg.execute_job(
            job, instance=instance, run_config=run_config, reexecution_options=options
        )
        started = {event.step_key for event in again.all_events if event.is_step_start}

    assert (failed.success, again.success) == (False, True)
    assert again.dagster_run.parent_run_id == failed.run_id
    assert started == __


def test_run_retries_are_asked_for_by_a_tag_and_launched_by_the_daemon(
    instance: dg.DagsterInstance,
) -> None:
    """The `dagster/max_retries` tag asks for up to that many new runs of a failed run, each
    starting from the failed step. The daemon launches them, once `run_retries` is enabled in
    the instance's `dagster.yaml`; `execute_in_process` never does. A failed run that will be
    retried still calls a run failure sensor, which can read the run's `dagster/will_retry` tag."""

    @dg.op
    def fetch_orders() -> list[int]:
        raise ConnectionError("the orders API is down")

    @dg.job(tags={"dagster/max_retries": 2})
    def nightly_import() -> None:
        fetch_orders()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    assert result.dagster_run.tags["dagster/max_retries"] == "2"
    assert [run.status for run in instance.get_runs()] == __
