"""The capstone opens in the Dagster UI: a real webserver on loopback answers for its pieces."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { schedules { name } sensors { name } assetNodes { assetKey { path } } }
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
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_the_capstone_opens_in_the_dagster_ui_with_its_assets_schedule_and_sensor(
    tmp_path: Path,
) -> None:
    webserver = shutil.which("dagster-webserver", path=str(Path(sys.executable).parent))
    assert webserver, "dagster-webserver is missing: pip install -e '.[dev]'"
    (tmp_path / "home").mkdir()
    port = free_port()
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "DAGSTER_KOANS_CAPSTONE_DIR": str(tmp_path / "capstone"),
    }
    command = [webserver, "-f", str(ROOT / "capstone" / "definitions.py")]
    server = subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                answer = ask(url, QUERY)
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    assert server.stderr is not None
                    pytest.fail(f"the webserver did not answer: {server.stderr.read()[-2000:]!r}")
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(30)
    [repository] = answer["data"]["repositoriesOrError"]["nodes"]
    assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
    assert {"users_table", "active_users"} <= assets
    assert [s["name"] for s in repository["schedules"]] == ["daily_refresh"]
    assert [s["name"] for s in repository["sensors"]] == ["new_exports"]
    assert (tmp_path / "capstone" / "users.db").exists()  # seeded where it was told to
    assert not list(ROOT.glob(".tmp_dagster_home_*"))
