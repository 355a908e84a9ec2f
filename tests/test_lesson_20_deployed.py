"""Lesson 20 says `DbtProject.prepare_if_dev()` parses the dbt project only under Dagster's
development tools: proven with the real `dg` CLI, which prepares the manifest as it loads the
project, and with `dagster definitions validate`, which loads code as a deployed code server
does and prepares nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from daemon import VENV_BIN, environment, write_home

from conftest import ROOT

NO_NETWORK = "http://127.0.0.1:9"  # `dbt --version` asks pypi.org; a refusing proxy stops it

DEFINITIONS = """
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

project = DbtProject(Path(__file__).resolve().parents[2] / "tiny_shop")
project.prepare_if_dev()
DBT = Path(sys.executable).parent / "dbt"  # the dbt beside this Python, whatever PATH holds


@dbt_assets(manifest=project.manifest_path, project=project)
def tiny_shop_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


defs = dg.Definitions(
    assets=[tiny_shop_models],
    resources={"dbt": DbtCliResource(project_dir=project, dbt_executable=DBT)},
)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A `dg` project holding a copy of the lesson's dbt project that was never parsed."""
    root = tmp_path / "shop"
    shutil.copytree(
        ROOT / "dbt_projects" / "tiny_shop",
        root / "tiny_shop",
        ignore=shutil.ignore_patterns("target", "logs"),
    )
    (root / "pyproject.toml").write_text(
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "shop_defs"\n'
    )
    package = root / "src" / "shop_defs"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "definitions.py").write_text(textwrap.dedent(DEFINITIONS))
    return root


def run(command: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    """A Dagster command in the project, with a temporary HOME and DAGSTER_HOME, offline.

    `PATH` holds the venv's `bin`, as an activated venv's does: `prepare_if_dev()` parses with a
    `DbtCliResource` of Dagster's own, which looks `dbt` up on `PATH`. The project is not
    installed, so `src` goes on `PYTHONPATH`.
    """
    home = project.parent / "home"
    env = environment(
        write_home(home / "dagster_home"),
        home,
        inherit=False,
        PYTHONPATH="src",
        PYTHONDONTWRITEBYTECODE="1",
        TINY_SHOP_DUCKDB=str(home / "warehouse.duckdb"),
        https_proxy=NO_NETWORK,
        http_proxy=NO_NETWORK,
    )
    return subprocess.run(
        command,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # dg, Dagster and dbt all start: a loaded CI machine; ~15 s on a quiet one
        check=False,
    )


def test_every_dg_command_prepares_the_dbt_manifest_as_it_loads_the_project(
    project: Path,
) -> None:
    manifest = project / "tiny_shop" / "target" / "manifest.json"

    listed = run([str(VENV_BIN / "dg"), "list", "defs", "--json"], project)

    assert listed.returncode == 0, listed.stderr[-3000:]
    keys = {asset["asset_key"] for asset in json.loads(listed.stdout)["assets"]}
    assert keys == {"raw/orders", "stg_orders", "customer_revenue", "top_customers"}
    assert manifest.exists()


def test_a_deployed_loader_prepares_nothing_and_the_code_location_fails_to_load(
    project: Path,
) -> None:
    command = [str(VENV_BIN / "dagster"), "definitions", "validate", "-m", "shop_defs.definitions"]

    validated = run(command, project)

    assert validated.returncode != 0
    assert "DagsterDbtManifestNotFoundError" in validated.stdout + validated.stderr
    assert not (project / "tiny_shop" / "target").exists()
