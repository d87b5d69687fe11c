"""Metric discovery: find a service's series by what they are, not by one exporter's names.

The metrics step first looks for the names of ``exporters.ROLES`` (known exporters, in order of
preference) and the catalog's pinned names. A role still empty after that is looked for among
every metric the service exports: by name (a pool's in-use gauge is called
``sqlx_pool_connections_in_use``, ``deadpool_active``, ``db_pool_busy``...) confirmed by its
type from Prometheus's ``/api/v1/metadata`` when Prometheus has it (a wait *histogram*, an
in-use *gauge*). Each discovery says what it found and why, so the responder can check it, and
the catalog can still pin a name (``services[].metrics``).

Pure: the step passes the names and the metadata it fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DISCOVERABLE", "Discovered", "Rule", "discover"]


@dataclass(frozen=True)
class Rule:
    """A role's metric: a name pattern, words the name must not have, the metadata type."""

    pattern: re.Pattern[str]
    kind: str
    exclude: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Discovered:
    """A role filled by discovery: the metric name and why it was taken."""

    role: str
    name: str
    reason: str


_POOL = r"(pool|conn(ection)?s?)"
_SUMMARY_PARTS = re.compile(r"_(count|sum|total|created)$")
#: Roles discovery may fill, with how to recognise their metric (first match in name order).
DISCOVERABLE: Mapping[str, Rule] = {
    "pool_wait_bucket": Rule(re.compile(
        rf"({_POOL}.*(wait|acquire)|(wait|acquire).*{_POOL}).*_bucket$"), "histogram"),
    "pool_in_use": Rule(re.compile(rf"{_POOL}.*(in_?use|active|used|busy|checked_out)"),
                        "gauge", re.compile(r"_bucket$|idle|max|size|limit")),
    "pool_max": Rule(re.compile(rf"{_POOL}.*(max|size|capacity|limit)"), "gauge",
                     re.compile(r"_bucket$|wait|acquire|in_?use|active|idle")),
    "tokio_busy_ratio": Rule(re.compile(r"(tokio|runtime).*busy_ratio"), "gauge"),
    "tokio_live_tasks": Rule(re.compile(r"(tokio|runtime).*(alive|live)_tasks"), "gauge"),
    "tokio_global_queue": Rule(re.compile(r"(tokio|runtime).*(global|injection)_queue_depth"),
                               "gauge"),
    "tokio_workers": Rule(re.compile(r"(tokio|runtime).*(workers_count|num_workers)"), "gauge"),
}


def _base(name: str) -> str:
    return re.sub(r"_bucket$", "", name)


def _fits(name: str, rule: Rule, types: Mapping[str, str]) -> bool:
    if not rule.pattern.search(name) or _SUMMARY_PARTS.search(name):
        return False
    if rule.exclude is not None and rule.exclude.search(name):
        return False
    known = types.get(_base(name)) or types.get(name)
    return known is None or known == rule.kind


def discover(names: Iterable[str], types: Mapping[str, str], missing: Iterable[str]
             ) -> dict[str, Discovered]:
    """For each ``missing`` role that ``DISCOVERABLE`` knows: the first metric that fits.

    ``names`` are the service's metric (sample) names; ``types`` metric family -> type from
    the metadata endpoint (may be empty: then the name alone decides).
    """
    ordered = sorted(set(names))
    found: dict[str, Discovered] = {}
    for role in missing:
        rule = DISCOVERABLE.get(role)
        if rule is None:
            continue
        name = next((n for n in ordered if _fits(n, rule, types)), None)
        if name is None:
            continue
        typed = types.get(_base(name)) or types.get(name)
        why = f"a {typed} (metadata)" if typed else "by its name (no metadata)"
        found[role] = Discovered(role, name, f"matched {rule.pattern.pattern!r}, {why}")
    return found
