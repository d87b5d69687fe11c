"""Which frame of a profile is the service's own code: attribution past library frames.

A heap diff whose growth sits in ``alloc::sync::Arc<T>::new`` says little; the same growth
under ``checkout::cache::SessionCache::insert`` names the bug (a cache that keeps entries). For
each top function this module finds its *owner*: the first frame of the service's own crates
between the function and the root of the stacks it appears in, weighted by their values.
Own code is named by ``services[].code_prefixes`` in the catalog, else inferred from the
service's name (``order-api`` -> the crate ``order_api``).

Pure functions over (leaf-first stack, value) pairs; the profile step runs them in its
executor together with the frame report.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

__all__ = ["code_prefixes", "own_code_pattern", "owners"]


def code_prefixes(service_name: str, configured: Sequence[str] = ()) -> tuple[str, ...]:
    """The crate path prefixes of the service's own code (configured, else from its name)."""
    if configured:
        return tuple(p.rstrip(":") for p in configured if p.strip(":"))
    crate = re.sub(r"[^a-z0-9_]", "_", service_name.lower())
    return (crate,) if crate else ()


def own_code_pattern(prefixes: Sequence[str]) -> str | None:
    """A regex source matching frames in those crates (``<checkout::X as Y>::f`` too).

    A source string rather than a compiled pattern, so it travels to a worker process as is.
    """
    if not prefixes:
        return None
    alternatives = "|".join(re.escape(p) for p in prefixes)
    return rf"(?:^|[<\s&(*])(?:{alternatives})::"


def owners(stacks: Iterable[tuple[Sequence[str], int]], names: Iterable[str],
           own: str | None) -> dict[str, str]:
    """For each of ``names``: the own-code frame at or above it carrying most of its value.

    Functions with no own-code frame above them in any stack are left out.
    """
    if own is None:
        return {}
    pattern = re.compile(own)
    wanted = set(names)
    votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    is_own: dict[str, bool] = {}
    for stack, value in stacks:
        if value <= 0:
            continue
        first_own = _first_own_from(stack, pattern, is_own)
        seen: set[str] = set()
        for position, name in enumerate(stack):
            if name in wanted and name not in seen and first_own[position] is not None:
                seen.add(name)
                votes[name][first_own[position] or ""] += value
    return {name: max(sorted(ballot), key=lambda o: ballot[o]) for name, ballot in votes.items()}


def _first_own_from(stack: Sequence[str], pattern: re.Pattern[str],
                    is_own: dict[str, bool]) -> list[str | None]:
    """For each position, the nearest own-code frame at it or towards the root."""
    nearest: list[str | None] = [None] * len(stack)
    current: str | None = None
    for position in range(len(stack) - 1, -1, -1):
        name = stack[position]
        own = is_own.get(name)
        if own is None:
            own = is_own[name] = pattern.search(name) is not None
        if own:
            current = name
        nearest[position] = current
    return nearest
