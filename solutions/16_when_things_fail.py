"""When things fail: retries, failures that explain themselves, hooks and alerts.

A step fails when its code raises. Its run fails with it, and the steps downstream never start.
The failure event wraps a plain exception in `dg.DagsterExecutionStepExecutionError`, which is
what the UI shows; `execute_in_process` raises when a step fails, unless you pass
`raise_on_error=False` and read the result instead.

Many failures pass by themselves: a timeout, a service restarting. A `dg.RetryPolicy` on an op or
an asset runs a failed step again, up to `max_retries` more times, after a `delay` that `dg.Backoff`
grows and `dg.Jitter` spreads; a policy that makes no sense raises
`dg.DagsterInvalidDefinitionError` where it is defined. Code that knows more raises
`dg.RetryRequested` to ask for a retry itself, or `dg.Failure` to fail with a description and
metadata for whoever reads it. Hooks run after each op of a job, on success or on failure; a run
failure sensor hears about each failed run and is where you page someone. A run retry, a whole new
run after a run failed, is asked for with the `dagster/max_retries` tag and launched by the daemon.

Once deployed, steps run under the multiprocess executor: each attempt starts in a new process
and remembers nothing in memory from the attempt before.
"""

import dagster as dg
import pytest

from dagster_koans import __, ___


def test_one_failed_step_fails_the_whole_run(instance: dg.DagsterInstance) -> None:
    """With `raise_on_error=False` a failed run returns a result to inspect. A run succeeds only
    if none of its steps fails: one op that raises fails it, however many others succeeded."""

    @dg.op
    def fetch_orders() -> list[int]:
        raise ConnectionError("the orders API is down")

    @dg.op
    def fetch_customers() -> list[str]:
        return ["ada", "grace"]

    @dg.job
    def nightly_import() -> None:
        fetch_orders()
        fetch_customers()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    assert result.success == False  # noqa: E712
    assert result.is_node_success("fetch_customers")
    assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.FAILURE


def test_steps_downstream_of_a_failure_never_start(instance: dg.DagsterInstance) -> None:
    """A step whose input never arrived does not run: the log says "Not executing" and no event
    of its own is recorded. A step that does not depend on the failure still runs."""

    @dg.op
    def fetch_orders() -> list[int]:
        raise ConnectionError("the orders API is down")

    @dg.op
    def clean_orders(orders: list[int]) -> list[int]:
        return [order for order in orders if order > 0]

    @dg.op
    def fetch_customers() -> list[str]:
        return ["ada", "grace"]

    @dg.job
    def nightly_import() -> None:
        clean_orders(fetch_orders())
        fetch_customers()

    result = nightly_import.execute_in_process(instance=instance, raise_on_error=False)

    started = {
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START
    }
    assert started == {"fetch_orders", "fetch_customers"}


def test_execute_in_process_raises_when_a_step_fails(instance: dg.DagsterInstance) -> None:
    """Left at its default, `raise_on_error=True`, `execute_in_process` raises as soon as a step
    fails: a test sees the failure at once, as an exception instead of a result to read."""

    @dg.op
    def fetch_orders() -> list[int]:
        raise TimeoutError("the orders API did not answer in 30 s")

    @dg.job
    def nightly_import() -> None:
        fetch_orders()

    with pytest.raises(TimeoutError):
        nightly_import.execute_in_process(instance=instance)


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
    assert attempts == [0, 1, 2]


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
    assert kinds[-1] == dg.DagsterEventType.STEP_FAILURE


def test_an_asset_retries_the_same_way_and_materializes_once(
    instance: dg.DagsterInstance,
) -> None:
    """`@dg.asset` takes the same `retry_policy=`. A failed attempt records no materialization:
    only the attempt that returns a value does."""

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))
    def orders(context: dg.AssetExecutionContext) -> list[int]:
        if context.retry_number == 0:
            raise ConnectionError("the orders API is restarting")
        return [120, 80]

    result = dg.materialize([orders], instance=instance)

    assert len(result.get_asset_materialization_events()) == 1


def test_backoff_grows_the_wait_between_retries(instance: dg.DagsterInstance) -> None:
    """`delay` is the wait before a retry, in seconds; `dg.Backoff` grows it with each retry:
    `LINEAR` adds the delay once more each time, `EXPONENTIAL` about doubles the wait each time.
    Each `STEP_UP_FOR_RETRY` event records its wait: a millisecond here, minutes at work."""
    patient = dg.RetryPolicy(max_retries=3, delay=0.001, backoff=dg.Backoff.EXPONENTIAL)

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

    with pytest.raises(dg.DagsterInvalidDefinitionError):
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
    assert failure.metadata["orphan_ids"] == dg.MetadataValue.json([2, 5])


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
    assert attempts == [0]


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
    assert len(restarts) == 2


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

    assert finished == ["extract", "load"]


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

    assert pages == [("fetch_orders", ConnectionError)]


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

    assert alerts == ["fetch_customers"]


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
    assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.FAILURE]
