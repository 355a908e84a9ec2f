"""What lesson 14 says of the `dg` command line and of a deployment, checked against the real thing.

The lesson says that `dg check defs` exits with status 1 on a schedule naming a missing job and 0
on a project that loads; that `dg list defs --json` reports an asset given no group in the group
`default`; that `dg list defs --assets` and `dg launch --assets` read the same selection strings
as `dg.AssetSelection.from_string`; that an instance from `dg.instance_for_test()` keeps its runs
where another process reads them; and that in a workspace of several code locations, two
locations may each have a job of the same name, a location that fails to load leaves the others
loaded, and reloading one location leaves the others with the code they loaded. The workspace is
checked on a real `dagster-webserver` (loopback only) through its GraphQL API, as the UI asks it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from daemon import PATIENCE, VENV_BIN, environment, running, wait_for, write_home

SHOP_PY = """
import dagster as dg


@dg.asset(group_name="ingest", kinds={"duckdb"})
def signups() -> None: ...


@dg.asset(deps=[signups], tags={"team": "analytics"})
def daily_signups() -> None: ...


@dg.asset(deps=[daily_signups], group_name="marts", kinds={"duckdb"})
def weekly_signups() -> None: ...


@dg.asset(group_name="ingest")
def orders() -> None: ...
"""
MISSING_JOB_SCHEDULE = """

daily = dg.ScheduleDefinition(name="daily", job_name="signups_job", cron_schedule="0 6 * * *")
"""
SELECTIONS = [
    "key:signups+",
    "key:signups+1",
    "+key:weekly_signups",
    "tag:team=analytics",
    "kind:duckdb",
    "group:ingest and not kind:duckdb",
]


def write_project(root: Path, package: str, shop: str) -> Path:
    """A `dg` project laid out as `create-dagster project` lays one out, its defs in `shop.py`."""
    files = {
        "pyproject.toml": f"""
            [tool.dg]
            directory_type = "project"

            [tool.dg.project]
            root_module = "{package}"
            """,
        f"src/{package}/__init__.py": "",
        f"src/{package}/definitions.py": """
            from pathlib import Path

            import dagster as dg


            @dg.definitions
            def defs() -> dg.Definitions:
                return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
            """,
        f"src/{package}/defs/__init__.py": "",
        f"src/{package}/defs/shop.py": shop,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run_dg(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `dg` beside this Python, in `project`, with a home of its own; bounded in time."""
    home = write_home(project / "dagster_home")
    env = environment(home, project, PYTHONPATH=str(project / "src"), NO_COLOR="1")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(VENV_BIN / "dg"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # `dg launch` took minutes on a loaded machine; seconds on a quiet one
        check=False,
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("shop"), "deployed14_shop", SHOP_PY)


def test_dg_check_defs_exits_1_on_a_schedule_for_a_missing_job_and_0_once_it_loads(
    tmp_path: Path, shop: Path
) -> None:
    broken = write_project(tmp_path, "deployed14_broken", SHOP_PY + MISSING_JOB_SCHEDULE)

    failed = run_dg(broken, "check", "defs")
    passed = run_dg(shop, "check", "defs")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert 'ScheduleDefinition "daily" targets job "signups_job"' in failed.stdout + failed.stderr
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_dg_list_defs_json_puts_an_asset_without_a_group_in_default(shop: Path) -> None:
    listed = run_dg(shop, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    assets = {asset["asset_key"]: asset for asset in json.loads(listed.stdout)["assets"]}

    assert {key: asset["group_name"] for key, asset in assets.items()} == {
        "daily_signups": "default",
        "orders": "ingest",
        "signups": "ingest",
        "weekly_signups": "marts",
    }
    assert assets["signups"]["kinds"] == ["duckdb"]
    assert assets["daily_signups"]["tags"] == [{"key": "team", "value": "analytics"}]


@pytest.mark.parametrize("selection", SELECTIONS)
def test_the_cli_reads_a_selection_string_as_asset_selection_from_string_does(
    shop: Path, selection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    listed = run_dg(shop, "list", "defs", "--json", "--assets", selection)
    assert listed.returncode == 0, listed.stderr
    by_cli = sorted(asset["asset_key"] for asset in json.loads(listed.stdout)["assets"])

    monkeypatch.syspath_prepend(str(shop / "src"))
    tree = dg.ComponentTree.for_project(shop)
    graph = tree.build_defs(tree.defs_module_path).resolve_asset_graph()
    in_python = dg.AssetSelection.from_string(selection).resolve(graph)

    assert by_cli == sorted(key.to_user_string() for key in in_python)
    assert by_cli  # every string above selects something: the comparison says something


def test_dg_launch_materializes_what_a_selection_string_selects(shop: Path) -> None:
    import dagster as dg

    launched = run_dg(shop, "launch", "--assets", "key:signups+1")
    assert launched.returncode == 0, launched.stdout + launched.stderr

    with dg.DagsterInstance.from_config(str(shop / "dagster_home")) as instance:
        materialized = sorted(
            key
            for key in ("daily_signups", "orders", "signups", "weekly_signups")
            if instance.get_latest_materialization_event(dg.AssetKey(key)) is not None
        )
    assert materialized == ["daily_signups", "signups"]


def test_an_instance_for_test_keeps_its_runs_where_another_process_reads_them() -> None:
    import dagster as dg

    @dg.asset
    def signup_count() -> int:
        return 3

    read_runs = "import dagster as dg; print(dg.DagsterInstance.get().get_runs_count())"
    with dg.instance_for_test() as instance:
        dg.materialize([signup_count], instance=instance)
        # The child inherits $DAGSTER_HOME, which instance_for_test points at its folder.
        seen = subprocess.run(
            [sys.executable, "-c", read_runs], capture_output=True, text=True, timeout=PATIENCE
        )

    assert seen.stdout.strip() == "1", seen.stderr


# A workspace of three code locations, each a file loaded in a code server process of its own.
WORKSPACE_YAML = """
load_from:
  - python_file:
      relative_path: marketing.py
      location_name: marketing
  - python_file:
      relative_path: billing.py
      location_name: billing
      executable_path: {python}
  - python_file:
      relative_path: broken.py
      location_name: broken
"""


def location_py(*assets: str) -> str:
    """The file of a code location: one `dg.Definitions` holding an asset of each name, and a
    job named `nightly` that materializes them all."""
    functions = "".join(f"\n\n@dg.asset\ndef {asset}() -> None: ...\n" for asset in assets)
    listed = ", ".join(assets)
    job = f'dg.define_asset_job("nightly", selection=[{listed}])'
    definitions = f"dg.Definitions(assets=[{listed}], jobs=[{job}])"
    return f"import dagster as dg\n{functions}\n\ndefs = {definitions}\n"


BROKEN_PY = "import a_package_this_location_never_installed\n"
LOCATIONS_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation {
            repositories { jobs { name } assetNodes { assetKey { path } } }
          }
          ... on PythonError { message }
        }
      }
    }
  }
}"""
RELOAD = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) { __typename }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ask(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:
        return json.load(response)


def locations(url: str) -> dict[str, Any] | None:
    """Each location's name -> its asset names (sorted), or the message of the error that kept
    it from loading; None while the webserver does not answer or a location is still loading.
    Under the key `(name, "jobs")`, the names of the location's own jobs."""
    try:
        entries = ask(url, LOCATIONS_QUERY)["data"]["workspaceOrError"]["locationEntries"]
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    if len(entries) != 3 or any(entry["loadStatus"] != "LOADED" for entry in entries):
        return None
    found: dict[str, Any] = {}
    for entry in entries:
        loaded = entry["locationOrLoadError"]
        if loaded["__typename"] == "PythonError":
            found[entry["name"]] = loaded["message"]
        else:
            repos = loaded["repositories"]
            nodes = [node for repo in repos for node in repo["assetNodes"]]
            found[entry["name"]] = sorted("/".join(node["assetKey"]["path"]) for node in nodes)
            jobs = [job["name"] for repo in repos for job in repo["jobs"]]
            found[(entry["name"], "jobs")] = [name for name in jobs if not name.startswith("__")]
    return found


def test_a_workspace_reloads_one_location_and_leaves_the_others_as_they_were(
    tmp_path: Path,
) -> None:
    (tmp_path / "workspace.yaml").write_text(WORKSPACE_YAML.format(python=sys.executable))
    (tmp_path / "marketing.py").write_text(location_py("signups"))
    (tmp_path / "billing.py").write_text(location_py("invoices"))
    (tmp_path / "broken.py").write_text(BROKEN_PY)
    # Three code servers start at once: on a busy machine, past the default 180 s.
    home = write_home(tmp_path / "home", "code_servers:\n  local_startup_timeout: 600\n")
    env = environment(home, tmp_path, inherit=False)
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    log = tmp_path / "webserver.log"
    command = [
        str(VENV_BIN / "dagster-webserver"),
        *("-w", str(tmp_path / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)),
    ]

    def reloaded_marketing() -> dict[str, Any] | None:
        found = locations(url)
        return found if found and "leads" in found["marketing"] else None

    with running(command, tmp_path, env, log, grace=60) as server:
        before = wait_for("three locations to load", lambda: locations(url), PATIENCE, log, server)
        # Both files change; only marketing is reloaded, as the UI's reload button does.
        (tmp_path / "marketing.py").write_text(location_py("signups", "leads"))
        (tmp_path / "billing.py").write_text(location_py("invoices", "refunds"))
        reloaded = ask(url, RELOAD, {"name": "marketing"})["data"]["reloadRepositoryLocation"]
        after = wait_for("marketing to reload", reloaded_marketing, PATIENCE, log, server)

    assert before["marketing"] == ["signups"] and before["billing"] == ["invoices"]
    # Each location has a job named `nightly`: names are unique within a location only.
    assert before[("marketing", "jobs")] == before[("billing", "jobs")] == ["nightly"]
    assert "a_package_this_location_never_installed" in before["broken"]
    assert reloaded["__typename"] == "WorkspaceLocationEntry"
    assert after["marketing"] == ["leads", "signups"]
    assert after["billing"] == ["invoices"]  # its file changed, but nobody reloaded it
    assert "a_package_this_location_never_installed" in after["broken"]
