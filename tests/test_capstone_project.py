"""The capstone is a real `dg` project: `dg check defs` and `dg list defs` load it cleanly, and it
holds the same pipeline as lesson 21's solution."""

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
    return subprocess.run(
        [str(BIN / "dg"), *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a loaded CI machine; a few seconds on a quiet one
        check=False,
    )


@pytest.fixture(scope="module")
def dg_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A temporary HOME, DAGSTER_HOME and data folder, so nothing lands in the repository."""
    tmp = tmp_path_factory.mktemp("capstone_project")
    (tmp / "dagster_home").mkdir()
    (tmp / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp),
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "DAGSTER_KOANS_CAPSTONE_DIR": str(tmp / "data"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture(scope="module")
def checked(dg_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_dg(["check", "defs"], dg_env)


@pytest.fixture(scope="module")
def listed(dg_env: dict[str, str]) -> dict[str, Any]:
    # `dg list defs` imports the project's root module in its own process: `src` on the path.
    result = run_dg(["list", "defs", "--json"], {**dg_env, "PYTHONPATH": "src"})
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
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=PROJECT,
        env={**dg_env, "PYTHONPATH": "src"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_dg_list_defs_lists_the_capstones_pipeline(listed: dict[str, Any]) -> None:
    found = summary(listed)
    assert sorted(found["assets"]) == ["active_users", "users_table"]
    assert found["assets"]["active_users"][1] == ["users_table"]
    assert found["checks"] == [
        "active_users:every_active_user_is_active",
        "users_table:names_are_unique",
    ]
    assert found["jobs"] == ["refresh_users"]
    assert found["schedules"] == {"daily_refresh": "0 6 * * *"}
    assert found["sensors"] == ["new_exports"]
    assert found["resources"] == ["database", "inbox", "io_manager"]


def test_the_capstone_project_holds_the_same_pipeline_as_lesson_21(
    listed: dict[str, Any], tmp_path: Path
) -> None:
    lesson = lesson_21()
    pieces = list(vars(lesson).values())
    asset_job = type(dg.define_asset_job("probe", selection="*"))  # its class is not public
    lesson_resources = lesson.pipeline_resources(tmp_path)
    defs = dg.Definitions(
        assets=[v for v in pieces if isinstance(v, dg.AssetsDefinition)],
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
