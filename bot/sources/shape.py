"""Checks that a backend's JSON has the shape its API documents, with a message saying where.

A parser that met ``{"data": "oops"}`` used to answer an empty list (``doc.get("data") or ()``)
or fail with ``AttributeError: 'str' object has no attribute 'get'``. Both hide the truth: the
backend (or something posing as it, like a proxy's error page served as JSON) said something
the bot does not understand. These helpers raise ``ShapeError`` naming the place and what was
found ("data.result: expected a list, got a string"); ``bot.sources.http.decode_answer`` turns
it into a SourceError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ShapeError", "as_float", "as_int", "as_list", "as_mapping", "as_str", "as_timestamp", "field",
]

_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}
# Timestamps and durations beyond this are junk, and datetime cannot hold them anyway.
_MAX_ABS_INT = 1 << 63


class ShapeError(ValueError):
    """JSON that is not what the backend's API documents; the text says where and what."""


def _found(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise ShapeError(f"{where}: expected an object, got {_found(value)}")
    return value


def as_list(value: Any, where: str, *, null_is_empty: bool = False) -> list[Any]:
    """``value`` if it is a JSON array (null too, as [], when Go's nil slices are expected)."""
    if value is None and null_is_empty:
        return []
    if not isinstance(value, list):
        raise ShapeError(f"{where}: expected a list, got {_found(value)}")
    return value


def field(doc: Mapping[str, Any], key: str, where: str) -> Any:
    """``doc[key]``, or a ShapeError saying it is missing."""
    if key not in doc:
        raise ShapeError(f"{where}: missing {key!r}")
    return doc[key]


def as_str(value: Any, where: str) -> str:
    """``value`` if it is a JSON string."""
    if not isinstance(value, str):
        raise ShapeError(f"{where}: expected a string, got {_found(value)}")
    return value


def as_float(value: Any, where: str) -> float:
    """A number or a numeric string ("1.5", "NaN", "+Inf") as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ShapeError(f"{where}: expected a number, got {_found(value)}")
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise ShapeError(f"{where}: not a number: {str(value)[:40]!r}") from None


def as_int(value: Any, where: str) -> int:
    """An integer, or its decimal string (64-bit values travel as strings), within ±2**63."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ShapeError(f"{where}: expected an integer, got {_found(value)}")
    try:
        number = int(value) if not isinstance(value, float) or math.isfinite(value) else None
    except ValueError:
        number = None
    if number is None or abs(number) >= _MAX_ABS_INT:
        raise ShapeError(f"{where}: not an integer in range: {str(value)[:40]!r}")
    return number


# datetime's range, in Unix seconds: 0001-01-01 to 9999-12-31.
_MIN_UNIX, _MAX_UNIX = -62_135_596_800.0, 253_402_300_799.0


def as_timestamp(value: Any, where: str) -> float:
    """Unix seconds (number or numeric string) that a datetime can hold."""
    seconds = as_float(value, where)
    if not _MIN_UNIX <= seconds <= _MAX_UNIX:  # NaN fails this too
        raise ShapeError(f"{where}: not a time: {str(value)[:40]!r}")
    return seconds
