"""The blanks a learner fills in: `__` for a value, `___` for an exception type.

Any use of an empty blank raises `BlankError`. Dagster often checks its arguments before it
uses them (and wraps errors), so the plugin also finds blanks in a koan's own source.
"""

from __future__ import annotations

import io
import tokenize
from typing import NoReturn

BLANK_NAMES = frozenset({"__", "___"})


class BlankError(Exception):
    """Raised by any use of a blank that is still empty."""


class Blank:
    """A placeholder that prints as a marker and refuses every other use."""

    __slots__ = ("_marker",)

    def __init__(self, marker: str) -> None:
        object.__setattr__(self, "_marker", marker)

    def __repr__(self) -> str:  # for pytest's assertion messages: `assert 2 == __`
        return self._marker

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise BlankError(f"the blank {self._marker} is still empty: fill it in")

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # `hasattr(__, "__wrapped__")`, as doctest asks: no
        self._refuse()

    # Every operator a koan might apply to a value refuses, so an empty blank can't pass.
    # str() refuses too: `dg.EnvVar(__)` would otherwise quietly name a variable "__".
    __str__ = __setattr__ = __delattr__ = __call__ = __bool__ = __len__ = __iter__ = _refuse
    __contains__ = __getitem__ = __setitem__ = __delitem__ = __hash__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _refuse
    __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = __invert__ = _refuse
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _refuse
    __int__ = __float__ = __index__ = __round__ = __fspath__ = __format__ = _refuse
    __enter__ = __exit__ = __await__ = __instancecheck__ = __subclasscheck__ = _refuse
    __mro_entries__ = __class_getitem__ = __reduce__ = __reduce_ex__ = _refuse


__ = Blank("__")
___ = Blank("___")


def blank_spans(source: str, first_line: int = 1) -> list[tuple[int, int, int]]:
    """Where `source` names a blank as code: (line counted from `first_line`, start, end column).

    The one blank detector: strings, comments and names such as `__init__` don't count.
    """
    spans: list[tuple[int, int, int]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME and token.string in BLANK_NAMES:
                spans.append((token.start[0] + first_line - 1, token.start[1], token.end[1]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # a half-written file, or one line of it: report what was found before the error
    return spans


def blank_lines(source: str, first_line: int = 1) -> list[int]:
    """Line numbers (counted from `first_line`) where `source` names a blank as code."""
    return sorted({line for line, _, _ in blank_spans(source, first_line)})
