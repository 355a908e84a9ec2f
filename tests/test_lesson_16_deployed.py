"""What lesson 16 says about failures once deployed, checked against the real thing.

- A run retry (the `dagster/max_retries` tag) is launched by `dagster-daemon` once `run_retries`
  is enabled in the instance's `dagster.yaml`, and it starts from the step that failed. A real
  daemon on a temporary `DAGSTER_HOME` runs a project written into a temporary folder, loaded by
  the code server the daemon starts itself (a local socket: nothing listens on a network address).
  A sensor that is on by default launches the job once; its load step fails the first time only.
- A `dg.RetryPolicy` retries a step under the multiprocess executor, each attempt in a new process.
- A run failure sensor run by the daemon delivers its alert for real, to a webhook listening on
  127.0.0.1 in the test's process; a delivery the webhook refused is not tried again, since the
  daemon moves the sensor's cursor past the run even when the sensor raised.
- A failed run re-executed from its failure under the multiprocess executor runs only the failed
  step, reading the output of the step before it from the failed run's storage.
"""

import importlib
import json
import os
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from daemon import PATIENCE, Site, write_home

# Checks come every second rather than every five (the queue's `dequeue_interval_seconds` and the
# event log consumer's interval, which has no setting in dagster.yaml but an environment variable).
INSTANCE_YAML = """
run_retries:
  enabled: true
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
code_servers:
  local_startup_timeout: 600
"""

NIGHTLY = '''
"""A nightly import whose load step fails on its first run only."""

from pathlib import Path

import dagster as dg

HERE = Path(__file__).parent


@dg.op
def extract_orders() -> list[int]:
    with (HERE / "extract_runs.txt").open("a") as runs:
        runs.write("extracted\\n")
    return [120, 80]


@dg.op
def load_orders(orders: list[int]) -> None:
    marker = HERE / "load_failed_once"
    if not marker.exists():
        marker.write_text("")
        raise ConnectionError("the warehouse is restarting")


# In one process per run, so the test waits for two Python start-ups fewer per run.
@dg.job(tags={"dagster/max_retries": 1}, executor_def=dg.in_process_executor)
def nightly_import() -> None:
    load_orders(extract_orders())


@dg.sensor(
    job=nightly_import, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING
)
def start_nightly_import(context: dg.SensorEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key="tonight")


defs = dg.Definitions(jobs=[nightly_import], sensors=[start_nightly_import])
'''

RETRY_SECONDS = 2 * PATIENCE  # two runs one after the other: the run, then its retry


def test_the_daemon_launches_a_run_retry_from_the_failed_step(tmp_path: Path) -> None:
    site = Site.write(tmp_path, INSTANCE_YAML, NIGHTLY, "nightly.py", location_name="nightly")

    def settled() -> list[dg.DagsterRun] | None:
        """Every run finished, and either a retry was launched or the instance said none will be."""
        runs = list(instance.get_runs())
        if not runs or not all(run.is_finished for run in runs):
            return None
        refused = any(run.tags.get("dagster/will_retry") == "false" for run in runs)
        return runs if len(runs) >= 2 or refused else None

    with (
        dg.DagsterInstance.from_config(str(site.home)) as instance,
        site.daemon(DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS="1"),
    ):
        runs = site.wait_for("a failed run and its retry", settled, RETRY_SECONDS)

    assert len(runs) == 2, [(run.status, run.tags) for run in runs]
    [retry] = [run for run in runs if run.parent_run_id is not None]
    [failed] = [run for run in runs if run.parent_run_id is None]
    assert failed.status == dg.DagsterRunStatus.FAILURE
    assert failed.tags["dagster/max_retries"] == "1"
    assert failed.tags["dagster/will_retry"] == "true"
    assert failed.tags["dagster/auto_retry_run_id"] == retry.run_id
    assert retry.status == dg.DagsterRunStatus.SUCCESS
    assert retry.parent_run_id == failed.run_id
    assert retry.tags["dagster/retry_number"] == "1"
    # From the failed step: the retry loaded `extract_orders`'s stored output, not ran it again.
    assert retry.step_keys_to_execute == ["load_orders"]
    assert (tmp_path / "extract_runs.txt").read_text().split() == ["extracted"]


FLAKY_STEP = '''
"""A step that fails on its first two attempts, noting the process each attempt runs in."""

import os
from pathlib import Path

import dagster as dg


class AttemptLog(dg.Config):
    path: str


@dg.op(retry_policy=dg.RetryPolicy(max_retries=2))
def fetch_orders(config: AttemptLog) -> list[int]:
    log = Path(config.path)
    with log.open("a") as attempts:
        attempts.write(f"{os.getpid()}\\n")
    if len(log.read_text().split()) < 3:
        raise ConnectionError("the orders API is restarting")
    return [120, 80]


@dg.job
def flaky_import() -> None:
    fetch_orders()
'''


def test_a_retry_policy_retries_a_step_in_a_new_process_under_the_multiprocess_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt of the step runs in a process of its own, none of them the test's: an attempt
    keeps nothing in memory from the attempt before."""
    (tmp_path / "flaky_step_16.py").write_text(textwrap.dedent(FLAKY_STEP))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the step processes import the module from the working directory
    monkeypatch.setenv("HOME", str(tmp_path))
    home = write_home(tmp_path / "dagster_home")
    job = dg.reconstructable(importlib.import_module("flaky_step_16").flaky_import)
    attempts = tmp_path / "attempts.txt"
    config = {"ops": {"fetch_orders": {"config": {"path": str(attempts)}}}}

    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.execute_job(job, instance=instance, run_config=config)  # multiprocess
        kinds = [event.event_type for event in result.all_events if event.step_key]

    assert result.success
    assert kinds.count(dg.DagsterEventType.STEP_UP_FOR_RETRY) == 2
    assert kinds.count(dg.DagsterEventType.STEP_RESTARTED) == 2
    processes = attempts.read_text().split()
    assert len(processes) == 3
    assert len(set(processes)) == 3
    assert str(os.getpid()) not in processes


ALERTING = '''
"""A nightly import that always fails, an alert sensor posting to a webhook, and a sensor that
launches the import twice: once the alert sensor is on, and again once an alert has failed."""

import json
import urllib.request

import dagster as dg

WEBHOOK = {webhook!r}


@dg.op
def fetch_orders() -> None:
    raise ConnectionError("the orders API is down")


@dg.job(executor_def=dg.in_process_executor)  # one process per run: the claims are not about them
def nightly_import() -> None:
    fetch_orders()


@dg.run_failure_sensor(
    monitored_jobs=[nightly_import],
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def post_alert(context: dg.RunFailureSensorContext) -> None:
    body = json.dumps({{"run_id": context.dagster_run.run_id}}).encode()
    request = urllib.request.Request(WEBHOOK, body, {{"Content-Type": "application/json"}})
    with urllib.request.urlopen(request, timeout=120):  # the test's thread, on a busy machine
        pass


def alert_ticks(instance: dg.DagsterInstance) -> list:
    """The ticks of `post_alert` so far, newest first; none before its first tick."""
    for state in instance.all_instigator_state():
        if state.name == "post_alert":
            return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))
    return []


@dg.sensor(
    job=nightly_import, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING
)
def two_nights(context: dg.SensorEvaluationContext):
    # A failure sensor's first tick only sets its cursor: launch nothing before it.
    ticks = alert_ticks(context.instance)
    if not ticks:
        return dg.SkipReason("the alert sensor has not ticked yet")
    requests = [dg.RunRequest(run_key="monday")]
    if any(tick.status.value == "FAILURE" for tick in ticks):
        requests.append(dg.RunRequest(run_key="tuesday"))
    return requests


defs = dg.Definitions(jobs=[nightly_import], sensors=[post_alert, two_nights])
'''

ALERTING_YAML = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
code_servers:
  local_startup_timeout: 600
"""
ALERT_SECONDS = 2 * PATIENCE  # two runs one after the other, each alerted


@dataclass
class Webhook:
    """Where the webhook listens, and each post it got: its answer and its JSON body."""

    url: str
    posts: list[tuple[int, dict]]


@contextmanager
def webhook(answers: list[int]) -> Iterator[Webhook]:
    """A web server on 127.0.0.1 (a free port) in a thread: it answers each POST with the next of
    `answers`, then 204."""
    posts: list[tuple[int, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = answers.pop(0) if answers else 204
            posts.append((status, body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test reads the posts

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/alerts", posts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_daemon_delivers_an_alert_to_a_webhook_and_never_repeats_a_refused_one(
    tmp_path: Path,
) -> None:
    """The webhook refuses the first alert (503) and takes the second. Each failed run was
    alerted once: the refused alert was not posted again, though the sensor kept ticking."""
    with webhook(answers=[503]) as hook:
        project = ALERTING.format(webhook=hook.url)
        site = Site.write(tmp_path, ALERTING_YAML, project, "alerting.py", location_name="alerting")

        def ticks_after(moment: float) -> int:
            return sum(1 for tick in alert_ticks(instance) if tick.timestamp > moment)

        def delivered_and_ticked_on() -> bool:
            delivered = [status for status, _ in hook.posts] == [503, 204]
            return delivered and ticks_after(delivered_at.setdefault("at", time.time())) >= 3

        delivered_at: dict[str, float] = {}
        with (
            dg.DagsterInstance.from_config(str(site.home)) as instance,
            site.daemon(),
        ):
            site.wait_for(
                "two alerts posted, then three more ticks of the alert sensor",
                delivered_and_ticked_on,
                ALERT_SECONDS,
            )
            ticks = alert_ticks(instance)
            runs = list(instance.get_runs())

    assert [status for status, _ in hook.posts] == [503, 204]
    assert sorted(body["run_id"] for _, body in hook.posts) == sorted(run.run_id for run in runs)
    assert {run.status for run in runs} == {dg.DagsterRunStatus.FAILURE}
    assert [tick.status.value for tick in ticks].count("FAILURE") == 1


def alert_ticks(instance: dg.DagsterInstance) -> list:
    """The ticks of the alert sensor the daemon recorded, newest first."""
    for state in instance.all_instigator_state():
        if state.name == "post_alert":
            return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))
    return []


def test_a_failed_run_re_executed_from_its_failure_runs_only_the_failed_step_in_a_new_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the multiprocess executor, the re-execution ran `load_orders` alone, in a process of
    its own, with the output `extract_orders` stored in the failed run."""
    (tmp_path / "nightly_load_16.py").write_text(textwrap.dedent(NIGHTLY_LOAD))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the step processes import the module from the working directory
    monkeypatch.setenv("HOME", str(tmp_path))
    home = write_home(tmp_path / "dagster_home")
    job = dg.reconstructable(importlib.import_module("nightly_load_16").nightly_load)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        failed = dg.execute_job(job, instance=instance)  # multiprocess
        options = dg.ReexecutionOptions.from_failure(failed.run_id, instance)
        again = dg.execute_job(job, instance=instance, reexecution_options=options)
        started = [event for event in again.all_events if event.is_step_start]

    assert not failed.success
    assert again.success
    assert again.dagster_run.parent_run_id == failed.run_id
    assert [event.step_key for event in started] == ["load_orders"]
    assert started[0].pid != os.getpid()
    assert (tmp_path / "extracts.txt").read_text().split() == ["extracted"]


NIGHTLY_LOAD = '''
"""Lesson 16's nightly load: its load step fails on the first run only."""

from pathlib import Path

import dagster as dg

HERE = Path(__file__).parent


@dg.op
def extract_orders() -> list[int]:
    with (HERE / "extracts.txt").open("a") as extracts:
        extracts.write("extracted\\n")
    return [120, 80]


@dg.op
def load_orders(orders: list[int]) -> int:
    restarted = HERE / "warehouse_restarted"
    if not restarted.exists():
        restarted.touch()
        raise ConnectionError("the warehouse is restarting")
    return len(orders)


@dg.job
def nightly_load() -> None:
    load_orders(extract_orders())
'''
