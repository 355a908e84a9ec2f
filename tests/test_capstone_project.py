"""The capstone is a real `dg` project, installed with the koans as `create-dagster` installs a
project: from `capstone/`, with nothing set by hand, `dg check defs` and `dg list defs` load it
cleanly and `dg launch` builds a day; and it holds the same pipeline as lesson 21's solution.

The `capstone` package these commands import is the installed one. A contributor testing a
checkout that is not the installed one puts its `capstone/src` on `PYTHONPATH`, which is passed
on; `test_dg_imports_the_capstone_of_this_checkout` says which one was used."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pytest

from conftest import ROOT

PROJECT = ROOT / "capstone"
BIN = Path(sys.executable).parent


def run_dg(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One `dg` command in the capstone project, as the README runs it, bounded in time."""
    return run([str(BIN / "dg"), *args], env)


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A command in the capstone's folder, bounded in time."""
    return subprocess.run(
        command,
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # minutes for `dg launch` on a loaded machine; seconds on a quiet one
        check=False,
    )


def environment(tmp: Path, dagster_yaml: str = "") -> dict[str, str]:
    """A temporary HOME, DAGSTER_HOME and data folder, so nothing lands in the repository, and a
    PATH without the venv: every command is named by its full path, as an editor runs it."""
    (tmp / "dagster_home").mkdir()
    (tmp / "dagster_home" / "dagster.yaml").write_text(
        f"{dagster_yaml}telemetry:\n  enabled: false\n"
    )
    env = {
        "PATH": f"/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp),
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "DAGSTER_KOANS_CAPSTONE_DIR": str(tmp / "data"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


@pytest.fixture(scope="module")
def dg_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return environment(tmp_path_factory.mktemp("capstone_project"))


@pytest.fixture(scope="module")
def checked(dg_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_dg(["check", "defs"], dg_env)


@pytest.fixture(scope="module")
def listed(dg_env: dict[str, str]) -> dict[str, Any]:
    result = run_dg(["list", "defs", "--json"], dg_env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def summary(listing: dict[str, Any]) -> dict[str, Any]:
    """What both the project and the lesson must agree on, from `dg list defs --json`."""
    return {
        "assets": {
            a["asset_key"]: (a["group_name"], a["dependency_keys"], a["description"])
            for a in listing["assets"]
        },
        "checks": sorted(check["key"] for check in listing["asset_checks"]),
        "jobs": sorted(job["name"] for job in listing["jobs"]),
        "schedules": {s["name"]: s["cron_schedule"] for s in listing["schedules"]},
        "sensors": sorted(sensor["name"] for sensor in listing["sensors"]),
        "resources": sorted(resource["name"] for resource in listing["resources"]),
    }


def lesson_21() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "capstone_solution", ROOT / "solutions" / "21_capstone.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dg_imports_the_capstone_of_this_checkout(dg_env: dict[str, str]) -> None:
    where = run([str(BIN / "python"), "-c", "import capstone; print(capstone.__file__)"], dg_env)
    assert where.returncode == 0, where.stderr[-3000:]
    assert Path(where.stdout.strip()) == PROJECT / "src" / "capstone" / "__init__.py"


def test_dg_check_defs_loads_the_capstone_without_a_warning(
    checked: subprocess.CompletedProcess[str], dg_env: dict[str, str]
) -> None:
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output[-3000:]
    assert "All definitions loaded successfully" in output
    assert "warning" not in output.lower(), output[-3000:]
    # The pipeline's data went where the environment said, not into the repository.
    assert (Path(dg_env["DAGSTER_KOANS_CAPSTONE_DIR"]) / "users.db").exists()
    assert not list(PROJECT.glob(".tmp_dagster_home_*"))


def test_the_capstones_modules_import_without_a_warning(dg_env: dict[str, str]) -> None:
    # `dg` and `load_from_defs_folder` silence Dagster's warnings while they import a project, so
    # import every module of the package ourselves, with warnings as errors.
    code = (
        "import importlib, pkgutil, capstone\n"
        "for module in pkgutil.walk_packages(capstone.__path__, 'capstone.'):\n"
        "    importlib.import_module(module.name)\n"
    )
    result = run([sys.executable, "-W", "error", "-c", code], dg_env)
    assert result.returncode == 0, result.stderr[-3000:]


def test_dg_list_defs_lists_the_capstones_pipeline(listed: dict[str, Any]) -> None:
    found = summary(listed)
    assert sorted(found["assets"]) == ["active_users", "users_table"]
    assert found["assets"]["active_users"][1] == ["users_table"]
    assert found["checks"] == [
        "active_users:every_active_user_is_active",
        "active_users:latest_day_is_built",
        "users_table:names_are_unique",
    ]
    assert found["jobs"] == ["check_latest_day", "refresh_users"]
    assert found["schedules"] == {"daily_refresh": "0 6 * * *", "latest_day_by_nine": "0 9 * * *"}
    assert found["sensors"] == ["new_exports"]
    assert found["resources"] == ["database", "inbox", "io_manager"]


def test_the_capstone_project_holds_the_same_pipeline_as_lesson_21(
    listed: dict[str, Any], tmp_path: Path
) -> None:
    lesson = lesson_21()
    pieces = list(vars(lesson).values())
    asset_job = type(dg.define_asset_job("probe", selection="*"))  # its class is not public
    lesson_resources = lesson.pipeline_resources(tmp_path)
    checks = [v for v in pieces if isinstance(v, dg.AssetChecksDefinition)]
    defs = dg.Definitions(
        assets=[
            v
            for v in pieces
            if isinstance(v, dg.AssetsDefinition) and not isinstance(v, dg.AssetChecksDefinition)
        ],
        asset_checks=checks,
        jobs=[v for v in pieces if isinstance(v, (asset_job, dg.JobDefinition))],
        schedules=[v for v in pieces if isinstance(v, dg.ScheduleDefinition)],
        sensors=[v for v in pieces if isinstance(v, dg.SensorDefinition)],
        resources=lesson_resources,
    )
    repository = defs.get_repository_def()
    graph = repository.asset_graph
    from_lesson = {
        "assets": {
            key.to_user_string(): (
                graph.get(key).group_name,
                sorted(parent.to_user_string() for parent in graph.get(key).parent_keys),
                graph.get(key).description,
            )
            for key in graph.get_all_asset_keys()
        },
        "checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "jobs": sorted(
            job.name for job in repository.get_all_jobs() if not job.name.startswith("__")
        ),
        "schedules": {s.name: s.cron_schedule for s in repository.schedule_defs},
        "sensors": sorted(sensor.name for sensor in repository.sensor_defs),
        "resources": sorted(lesson_resources),
    }
    assert from_lesson == summary(listed)


def test_dg_launch_builds_a_day_in_its_own_process_and_never_queues(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The instance's run queue lets no run start (`max_concurrent_runs: 0`), and nothing runs a
    daemon: `dg launch` builds the day anyway, in the caller's process with the multiprocess
    executor, as `dg.materialize` would. The check of the last day that is over runs too, and
    fails: only 2 May 2024 was built."""
    tmp = tmp_path_factory.mktemp("capstone_launch")
    env = environment(tmp, "run_queue:\n  max_concurrent_runs: 0\n")

    launched = run_dg(["launch", "--assets", "*", "--partition", "2024-05-02"], env)

    assert launched.returncode == 0, launched.stderr[-3000:]
    warehouse = tmp / "data" / "warehouse"
    files = sorted(path.relative_to(warehouse).as_posix() for path in warehouse.rglob("*.parquet"))
    assert files == ["active_users/2024-05-02.parquet", "users_table/2024-05-02.parquet"]
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        [run] = instance.get_runs()
        events = {entry.dagster_event_type for entry in instance.all_logs(run.run_id)}
        messages = " ".join(entry.message for entry in instance.all_logs(run.run_id))
        latest_day = dg.AssetCheckKey(dg.AssetKey("active_users"), "latest_day_is_built")
        check = instance.get_latest_asset_check_evaluation_record(latest_day)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert dg.DagsterEventType.RUN_ENQUEUED not in events
    assert "multiprocess executor" in messages
    assert check is not None and check.status.value == "FAILED"
