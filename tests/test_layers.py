"""The import contract: layers import only downwards, and the product never the simulator.

    bot.cli -> bot.app                            (the command; the composition root)
      -> handlers, bot.jobs                       (Slack listeners, the webhook; scheduled jobs)
        -> bot.triage                             (the use cases)
          -> bot.slack, bot.store, bot.sources    (rendering and sending, Redis, backends)
            -> bot.models, bot.errors, bot.config (the shared vocabulary)

Also: Slack's libraries only in handlers, bot.slack, bot.app (and the CLI's serve); redis only
in bot.store; bot.store imports no sibling layer but models; no handler module imports another
listener module; nothing in bot or handlers imports triage_sim or fakeredis at module level.
Read from the source with ``ast``, so it runs in milliseconds and needs no extra tool.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layer of each first- or second-level package, lower number = lower layer.
RANKS = {
    "bot.models": 0, "bot.errors": 0, "bot.config": 0, "bot.logs": 0, "bot.observability": 0,
    "bot.tasks": 0,
    "bot.sources": 1, "bot.store": 1, "bot.slack": 1,
    "bot.triage": 2,
    "bot.jobs": 3, "bot.scheduler": 3, "handlers": 3,
    "bot.app": 4, "bot.composition": 4, "bot.selfcheck": 4, "bot.cli": 5,
}
#: Same-rank neighbours that may not import each other.
SIBLINGS_APART = {"bot.sources", "bot.store", "bot.slack"}
#: Listener-support modules every handler may import; the rest are listener modules.
HANDLER_SUPPORT = {"handlers.services", "handlers.replies", "handlers.flows", "handlers.guard",
                   "handlers"}
SLACK_LIBS = ("slack_bolt", "slack_sdk")
SLACK_ALLOWED = ("handlers", "bot.slack", "bot.app", "bot.cli", "bot.jobs")
SIMULATOR = ("triage_sim", "fakeredis")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str | None:
    parts = module.split(".")
    for size in (2, 1):
        name = ".".join(parts[:size])
        if name in RANKS:
            return name
    return None


def imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in top_level
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, node.lineno, id(node) in top_level


def product_files() -> list[Path]:
    return sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")])


def violations() -> list[str]:
    found = []
    for path in product_files():
        source = module_name(path)
        here = layer(source)
        for target, line, top in imports(path):
            where = f"{path.relative_to(ROOT)}:{line}: {source} imports {target}"
            found.extend(f"{where} ({why})" for why in _problems(source, here, target, top))
    return found


def _problems(source: str, here: str | None, target: str, top: bool) -> Iterator[str]:
    there = layer(target)
    if target.startswith(SIMULATOR) and (top or not source.startswith("bot.cli")):
        yield "the product never imports the simulator; only bot.cli loads it, lazily"
    if target.startswith(SLACK_LIBS) and not source.startswith(SLACK_ALLOWED):
        yield "Slack's libraries only in handlers, bot.slack and the composition root"
    if target.partition(".")[0] == "redis" and here not in ("bot.store", "bot.app", "bot.cli"):
        yield "redis only in bot.store"
    if here is None or there is None or here == there:
        return
    if RANKS[there] > RANKS[here]:
        yield f"{here} (layer {RANKS[here]}) may not import {there} (layer {RANKS[there]})"
    if RANKS[there] == RANKS[here] and {here, there} <= SIBLINGS_APART:
        yield f"{here} and {there} are siblings: share through bot.models instead"
    if here == "bot.store" and there not in ("bot.models", "bot.errors"):
        yield "bot.store imports bot.models and bot.errors only"


def listener_violations() -> list[str]:
    found = []
    for path in sorted(ROOT.glob("handlers/*.py")):
        source = module_name(path)
        for target, line, _ in imports(path):
            if target.startswith("handlers") and target not in HANDLER_SUPPORT:
                found.append(f"{path.relative_to(ROOT)}:{line}: {source} imports {target}")
    return found


def test_imports_flow_one_way() -> None:
    assert violations() == []


def test_no_handler_imports_another_listener_module() -> None:
    assert listener_violations() == []


@pytest.mark.parametrize(("source", "target", "top"), [
    ("bot.store.walk", "bot.triage.findings", True),
    ("bot.slack.cards", "bot.store.incidents", True),
    ("bot.triage.walk", "triage_sim.replay", False),
    ("bot.sources.loki", "slack_sdk", True),
    ("bot.cli.demo", "triage_sim.demo", True),
    ("bot.triage.cards", "redis.asyncio", True),
])
def test_the_contract_catches_each_kind_of_edge(source: str, target: str, top: bool) -> None:
    assert list(_problems(source, layer(source), target, top))


def test_lazy_simulator_import_in_the_cli_is_allowed() -> None:
    assert list(_problems("bot.cli.demo", "bot.cli", "triage_sim.demo", False)) == []
