"""Registers the koans' fixtures and the learner's screen (see dagster_koans/plugin.py)."""

pytest_plugins = ("dagster_koans.fixtures", "dagster_koans.dbt_fixtures", "dagster_koans.plugin")
