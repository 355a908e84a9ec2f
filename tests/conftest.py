"""Shared pieces of the project's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learner's screen depends on these; each test sets what it needs."""
    for name in ("CI", "NO_COLOR", "FORCE_COLOR", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """An empty koans project: the real config files, no lessons yet."""
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(ROOT / name, pytester.path / name)
    for folder in ("koans", "solutions", "hints"):
        (pytester.path / folder).mkdir()
    return pytester
