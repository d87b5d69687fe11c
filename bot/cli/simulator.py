"""Whether the simulator package is installed, for the commands that need it (demo, sim).

The simulators (``triage_sim``) and fakeredis are not part of the bot's distribution; a
command that needs them says what to install instead of failing with an ImportError.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store.connection import Redis  # redis loads only for commands using it


#: The modules the demo extra and the simulator distribution bring.
SIMULATOR_MODULES = ("triage_sim", "fakeredis")


def missing_simulator_modules() -> list[str]:
    """The simulator modules that cannot be imported here (empty when all can)."""
    return [name for name in SIMULATOR_MODULES if find_spec(name) is None]


def refuse_without_simulator(command: str) -> int | None:
    """Print how to install the simulators and return exit code 2 when they are missing;
    ``None`` when the command can go on."""
    missing = missing_simulator_modules()
    if not missing:
        return None
    print(f"triage-bot {command} needs the demo extra: pip install 'triage-bot[demo]'\n"
          f"  (from a checkout: pip install '.[demo]' ./sim, or run `make demo`; "
          f"not importable: {', '.join(missing)})", file=sys.stderr)
    return 2


def in_memory_redis_or_none() -> Redis | None:
    """The simulators' in-process Redis, or ``None`` when the demo extra is not installed."""
    if missing_simulator_modules():
        return None
    from triage_sim.memory_redis import in_memory_redis

    return in_memory_redis()
