"""Profile-supplied regexps (``drop_frames``, ``keep_frames``) on RE2, never on ``re``.

A profile is input from outside: its regexps must not be able to stall a worker. Python's
``re`` backtracks (``(a+)+$`` against 34 ``a`` and a ``!`` runs for minutes); RE2 matches in
time linear in the input and bounds its own memory (``max_mem``). RE2 is also the dialect these
patterns are written in, since pprof compiles them with Go's regexp, which is RE2.

``google-re2`` ships no type information, so it is imported by name here and given a small
typed face, as ``wire.py`` does for the generated protobuf module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_re2: Any = importlib.import_module("re2")

FullMatch = Callable[[str], object]
"""Whether a whole string matches: truthy on a match."""

_MAX_PROGRAM_BYTES = 8 * 1024 * 1024


def compile_profile_regex(pattern: str) -> FullMatch | None:
    """``fullmatch`` of ``pattern`` compiled by RE2, or None if RE2 rejects the pattern."""
    options = _re2.Options()
    options.log_errors = False  # a bad pattern is the profile's problem, not a log line
    options.max_mem = _MAX_PROGRAM_BYTES
    try:
        compiled = _re2.compile(f"(?:{pattern})", options)
    except _re2.error:
        return None
    match: FullMatch = compiled.fullmatch
    return match
