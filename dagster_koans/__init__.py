"""Dagster Koans: learn Dagster by filling the blanks in failing tests.

Lesson files import their blanks from here; keep this module free of heavy imports,
since every koan file loads it.
"""

from dagster_koans.blanks import Blank, BlankError, __, ___

__all__ = ["Blank", "BlankError", "__", "___"]
