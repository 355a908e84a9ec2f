"""The history kept between runs, in pytest's cache: which koans passed, and with which code.

Deleting the cache loses nothing but this history.
"""

from __future__ import annotations

from typing import Any

import pytest

CACHE_KEY = "dagster_koans/ledger"


class Ledger:
    def __init__(self, cache: pytest.Cache | None) -> None:
        self._cache = cache
        data: dict[str, Any] = cache.get(CACHE_KEY, {}) if cache is not None else {}
        if not isinstance(data, dict):
            data = {}
        self.passes: dict[str, str] = dict(data.get("passes", {}))  # key -> fingerprint
        self.ever_passed: set[str] = set(data.get("ever_passed", []))
        # lesson stem -> digest of the module-level code that last imported without error
        self.imported: dict[str, str] = dict(data.get("imported", {}))
        self.started: float | None = data.get("started")  # when the learner first ran the path

    def passed_with(self, key: str, fingerprint: str | None) -> bool:
        """True when the koan passed before with exactly this code."""
        return fingerprint is not None and self.passes.get(key) == fingerprint

    def record(self, key: str, fingerprint: str | None, passed: bool) -> None:
        if passed and fingerprint is not None:
            self.passes[key] = fingerprint
            self.ever_passed.add(key)
        else:
            self.passes.pop(key, None)

    def save(self) -> None:
        if self._cache is not None:
            self._cache.set(
                CACHE_KEY,
                {
                    "passes": self.passes,
                    "ever_passed": sorted(self.ever_passed),
                    "imported": self.imported,
                    "started": self.started,
                },
            )
