"""Seeded mutations for the endpoint fuzz: thousands of bodies cheaply, the same in every run.

hypothesis drives the parser tests; posting to a running server wants plain bodies in bulk, so
this is a small ``random.Random`` mutator with the same three moves: replace a place in a JSON
tree by arbitrary JSON, delete it, or mangle the bytes. Strings never look like URLs, so
nothing the bot might post to leaves the machine.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

ODD_STRINGS = [
    "", "0", "-1", "NaN", "1e400", "9" * 60, "abc", "<!channel>", "<@U0ALICE>", "INC-1",
    "INC-999999", "checkout", "firing", "resolved", "2026-11-27T10:00:00",
    "2026-11-27T10:00:00Z", "0001-01-01T00:00:00Z", "\u00e9\u4e2d\U0001f600", "\x00", " ",
    "walk.step.metrics", "incident.resolve", "triage.declare", "triage.rca", "x" * 3000,
]


def random_scalar(rng: random.Random, words: Sequence[str]) -> Any:
    """null, a boolean, an odd number, an odd string, one of ``words`` or random text."""
    pick = rng.randrange(7)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rng.choice([0, -1, 2**63, 10**30, 1.5, -0.0, 1e308, rng.randint(-999, 999)])
    if pick == 2:
        return rng.choice(ODD_STRINGS)
    if pick == 3:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(12)))
    return rng.choice(list(words))


def random_json(rng: random.Random, words: Sequence[str], depth: int = 3) -> Any:
    """Arbitrary JSON, keys mostly ``words``, at most ``depth`` levels deep."""
    pick = rng.randrange(4) if depth > 0 else 0
    if pick == 1:
        return [random_json(rng, words, depth - 1) for _ in range(rng.randrange(4))]
    if pick == 2:
        return {rng.choice(list(words)): random_json(rng, words, depth - 1)
                for _ in range(rng.randrange(5))}
    return random_scalar(rng, words)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items: Any = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def mutate(rng: random.Random, original: Any, words: Sequence[str]) -> Any:
    """A copy of ``original`` with 1-3 places replaced by arbitrary JSON or deleted."""
    doc = json.loads(json.dumps(original))
    for _ in range(rng.randint(1, 3)):
        paths = _paths(doc)
        if not paths:
            break
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = random_json(rng, words)
    return doc


def mangle(rng: random.Random, original: bytes) -> bytes:
    """``original`` truncated, or with a few bytes overwritten."""
    data = bytearray(original)
    if rng.random() < 0.5:
        return bytes(data[: rng.randrange(len(data) + 1)])
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)
