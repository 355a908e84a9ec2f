"""The dbt project of lesson 20, parsed once per session (a pytest plugin: see conftest.py).

`dbt parse` costs seconds, so it runs once, on a copy of `dbt_projects/tiny_shop` in a temporary
folder: dbt's `target/` and `logs/` land there, never in the repository. dbt and dagster-dbt are
imported only inside the fixture, so a run with no dbt koan pays nothing for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

TINY_SHOP = Path(__file__).resolve().parent.parent / "dbt_projects" / "tiny_shop"
# The dbt installed beside this Python: an editor's test runner (or `.venv/bin/pytest`) does not
# activate the environment, so a `dbt` looked up on PATH is missing, or another one.
DBT = Path(sys.executable).parent / "dbt"
NO_NETWORK = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused
PARSE_TIMEOUT = 300  # seconds: a cold `dbt parse` on a busy machine takes far less


@pytest.fixture(scope="session")
def tiny_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtProject]:
    """The tiny_shop dbt project, copied to a temporary folder and parsed: its manifest is ready.

    Its `profiles.yml` reads the DuckDB file's path from `TINY_SHOP_DUCKDB`; a koan that runs dbt
    sets that variable to a file in its own `tmp_path`.
    """
    with warnings.catch_warnings():
        # dagster-dbt pulls in sqlglot's Rust tokenizer, which warns on import that it is
        # deprecated: a notice for the packages' maintainers, nothing a learner can act on.
        warnings.filterwarnings("ignore", "sqlglotrs is deprecated", DeprecationWarning)
        from dagster_dbt import DbtProject

    project_dir = tmp_path_factory.mktemp("dbt") / "tiny_shop"
    shutil.copytree(
        TINY_SHOP, project_dir, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    with pytest.MonkeyPatch.context() as patch:
        # dagster-dbt runs `dbt --version` once per DbtCliResource, and that asks pypi.org for
        # the latest release (1 s timeout). A proxy that refuses at once keeps the koans offline.
        for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
            patch.setenv(name, NO_NETWORK)
        for name in ("no_proxy", "NO_PROXY"):
            patch.delenv(name, raising=False)
        env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # Parsing opens no database; the profile only needs the variable to be set.
            "TINY_SHOP_DUCKDB": str(project_dir / "parse.duckdb"),
        }
        parsed = subprocess.run(
            [str(DBT), "parse", "--quiet"],
            cwd=project_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=PARSE_TIMEOUT,
            check=False,
        )
        if parsed.returncode != 0:
            pytest.fail(f"dbt parse failed in {project_dir}:\n{parsed.stdout}{parsed.stderr}")
        yield DbtProject(project_dir)
