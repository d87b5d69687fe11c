"""The scenarios the service stand-in can play: one per playbook.

Each module defines ``SCENARIO``; this registry lists them in a fixed order (the demo's
``--list`` order). ``get`` raises InputError naming the known scenarios, so a typo on the
command line gets a useful answer.
"""

from __future__ import annotations

from types import MappingProxyType

from bot.errors import InputError
from triage_sim.service.scenarios import (
    async_deadlock,
    cpu_spike,
    generic,
    memory_growth,
    p99_latency,
    pool_renamed,
    task_leak,
    tokio_starvation,
)
from triage_sim.service.scenarios.clock import ScenarioClock
from triage_sim.service.scenarios.model import AlertSpec, Expectation, Scenario, ServiceSpec

__all__ = [
    "SCENARIOS",
    "AlertSpec",
    "Expectation",
    "Scenario",
    "ScenarioClock",
    "ServiceSpec",
    "get",
    "names",
]

SCENARIOS: MappingProxyType[str, Scenario] = MappingProxyType({
    module.SCENARIO.name: module.SCENARIO
    for module in (memory_growth, tokio_starvation, cpu_spike, p99_latency, async_deadlock,
                   task_leak, generic, pool_renamed)
})


def names() -> list[str]:
    """Scenario names, in registry order."""
    return list(SCENARIOS)


def get(name: str) -> Scenario:
    """The scenario called ``name``; InputError listing the known ones otherwise."""
    scenario = SCENARIOS.get(name.strip().lower())
    if scenario is None:
        raise InputError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return scenario
