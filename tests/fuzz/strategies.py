"""hypothesis strategies for the bot's own inputs: Alertmanager, Slack, YAML config, playbooks.

Arbitrary JSON alone rarely passes a parser's first check, so keys come mostly from the
vocabulary of the input being fuzzed, and real documents are mutated: 1-3 places in the tree
get their value replaced by arbitrary JSON, or are deleted. The example count is modest for
CI; ``FUZZ_EXAMPLES=5000`` runs longer (the same knob as tests/sources/test_parsers_fuzz.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.conftest import ROOT

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
# A settings object, not a profile: loading a profile would change every other hypothesis test.
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
REAL = ROOT / "tests" / "fixtures" / "real"

ALERTMANAGER_WORDS = [
    "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
    "commonLabels", "commonAnnotations", "externalURL", "alerts", "labels", "annotations",
    "startsAt", "endsAt", "generatorURL", "fingerprint", "alertname", "service", "job",
    "firing", "resolved", "4", "severity", "summary",
]
SLACK_WORDS = [
    "type", "token", "team", "user", "id", "api_app_id", "trigger_id", "response_url",
    "response_urls", "actions", "action_id", "block_id", "value", "view", "state", "values",
    "selected_option", "private_metadata", "callback_id", "hash", "event", "event_id",
    "channel", "text", "ts", "thread_ts", "command", "user_id", "channel_id",
    "block_actions", "view_submission", "event_callback", "app_mention", "url_verification",
    "incident", "version", "prefilled", "symptom", "summary", "service", "severity",
    "checkout", "INC-1", "triage.declare", "triage.rca",
]
CONFIG_WORDS = [
    "backends", "prometheus", "loki", "jaeger", "tempo", "timeout_seconds", "max_concurrency",
    "max_body_bytes", "max_body_bytes_for", "slack", "default_channel", "command", "alerts",
    "service_labels", "run_metrics_on_open", "redis", "key_prefix", "schedule",
    "reminder_after", "refresh_every", "digest_at", "digest_timezone", "lease", "services",
    "name", "aliases", "channel", "owners", "traces", "pprof", "memory_limit", "metrics",
]
PLAYBOOK_WORDS = [
    "id", "title", "summary", "generic", "matches", "alerts", "labels", "steps", "metrics",
    "queries", "name", "promql", "signal", "unit", "logs", "patterns", "category", "regex",
    "traces", "min_duration", "span_categories_of_interest", "profile", "kind", "seconds",
    "frames", "key", "pattern", "under_worker", "min_share", "severity", "hint", "findings",
    "when", "all", "any", "op", "value", "span", "log", "frame", "hints", "diagnosis",
    "prior", "supports", "contradicts", "weight", "because", "rca", "root_causes", "fixes",
    "prevention", "contributing_factors",
]
_ODD_STRINGS = [
    "", "0", "-1", "NaN", "inf", "1e400", "9" * 400, "abc", "2024-01-01T00:00:00",
    "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "1970-01-01T00:00:00",
    "<!channel>", "<@U0ALICE>", "INC-1", "checkout", "firing", "resolved", "\x00", "\ud800x",
    "512MiB", "30m", "(a+)+$", "[", "{value}", "{signal:x.y}", "http://x", "C0CHECKOUT",
]


def _numbers() -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from([0, -1, 2**63, 10**30, 1e308]))


def scalars(words: Sequence[str]) -> st.SearchStrategy[Any]:
    """None, booleans, numbers (huge and non-finite too), text and the input's own words."""
    text = st.one_of(st.text(max_size=20), st.sampled_from(_ODD_STRINGS),
                     st.sampled_from(list(words)))
    return st.one_of(st.none(), st.booleans(), _numbers(), text)


def json_values(words: Sequence[str], leaves: int = 25) -> st.SearchStrategy[Any]:
    """Arbitrary JSON whose keys are mostly ``words``."""
    keys = st.one_of(st.sampled_from(list(words)), st.text(max_size=8))
    return st.recursive(
        scalars(words),
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(keys, children, max_size=5)),
        max_leaves=leaves,
    )


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the tree (the root excluded), depth first."""
    found: list[tuple[Any, ...]] = []
    items: Any = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: Any, words: Sequence[str]) -> Any:
    """A deep copy of ``original`` with 1-3 places replaced by arbitrary JSON or deleted."""
    doc = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values(words))
    return doc


@st.composite
def mangled_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` truncated, or with a few bytes overwritten."""
    data = bytearray(original)
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def real_json(relative: str) -> Any:
    """A real fixture (tests/fixtures/real/...), parsed."""
    return json.loads((REAL / relative).read_text())


def real_bytes(relative: str) -> bytes:
    """A real fixture's bytes."""
    return (REAL / relative).read_bytes()


def alertmanager_fixtures() -> list[Path]:
    """The real Alertmanager webhook bodies."""
    return sorted((REAL / "alertmanager").glob("*.json"))
