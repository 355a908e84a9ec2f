"""The capstone opens in the Dagster UI: `dg dev`, run as the README says, serves its pieces."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from daemon import PATIENCE, wait_for

from conftest import ROOT

PROJECT = ROOT / "capstone"
BIN = Path(sys.executable).parent
QUERY = """{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        location { name }
        schedules { name cronSchedule executionTimezone scheduleState { status } }
        sensors { name sensorState { status } }
        assetNodes {
          assetKey { path }
          isPartitioned
          assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
          internalFreshnessPolicy { ... on CronFreshnessPolicy { deadlineCron timezone } }
        }
      }
    }
  }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ask(url: str, query: str) -> dict:
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:
        return json.load(response)


def default_signals() -> None:
    """In the child: answer Ctrl-C and SIGTERM, even when started from a shell that ignores them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop(server: subprocess.Popen) -> None:
    """Ctrl-C, as a learner stops `dg dev`; whatever is left of its process group is killed."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def test_dg_dev_serves_the_capstones_assets_checks_schedule_and_sensor(tmp_path: Path) -> None:
    dg_cli = BIN / "dg"
    assert dg_cli.exists(), "dg is missing: pip install -e '.[ui]'"
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_KOANS_CAPSTONE_DIR": str(tmp_path / "capstone"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if "PYTHONPATH" in os.environ:  # a checkout other than the installed one, under test
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    log = (tmp_path / "dg_dev.log").open("w")
    server = subprocess.Popen(
        [str(dg_cli), "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    url = f"http://127.0.0.1:{port}/graphql"

    def answered() -> dict | None:
        """The answer once the webserver serves the loaded capstone: about 20 s on a quiet
        machine."""
        try:
            answer = ask(url, QUERY)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None
        return answer if answer["data"]["repositoriesOrError"].get("nodes") else None

    try:
        what = "dg dev to answer with the capstone's repository"
        answer = wait_for(what, answered, PATIENCE, tmp_path / "dg_dev.log", server)
    finally:
        stop(server)
        log.close()

    [repository] = answer["data"]["repositoriesOrError"]["nodes"]
    assert repository["location"]["name"] == "capstone"
    assets = {"/".join(node["assetKey"]["path"]): node for node in repository["assetNodes"]}
    assert sorted(assets) == ["active_users", "users_table"]
    assert all(node["isPartitioned"] for node in assets.values())
    checks = {
        key: sorted((c["name"], c["blocking"]) for c in node["assetChecksOrError"]["checks"])
        for key, node in assets.items()
    }
    assert checks == {
        "users_table": [("names_are_unique", True)],
        "active_users": [("every_active_user_is_active", False), ("latest_day_is_built", False)],
    }
    assert assets["active_users"]["internalFreshnessPolicy"] == {
        "deadlineCron": "0 9 * * *",
        "timezone": "Europe/Paris",
    }
    # Deployed, schedules and sensors start stopped until someone turns them on.
    assert sorted(repository["schedules"], key=lambda schedule: schedule["name"]) == [
        {
            "name": "daily_refresh",
            "cronSchedule": "0 6 * * *",
            "executionTimezone": "Europe/Paris",
            "scheduleState": {"status": "STOPPED"},
        },
        {
            "name": "latest_day_by_nine",
            "cronSchedule": "0 9 * * *",
            "executionTimezone": "Europe/Paris",
            "scheduleState": {"status": "STOPPED"},
        },
    ]
    assert repository["sensors"] == [{"name": "new_exports", "sensorState": {"status": "STOPPED"}}]
    assert (tmp_path / "capstone" / "users.db").exists()  # made where it was told to
    assert not list(ROOT.glob(".tmp_dagster_home_*"))
    assert not list(PROJECT.glob(".tmp_dagster_home_*"))
