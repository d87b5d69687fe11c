"""A Redis client that counts its round trips, for tests that hold the bot to a budget.

Every command, pipeline and script reaches the server through ``send_packed_command`` once, so
counting those calls counts round trips; the packed bytes tell which keys were read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis


class RoundTrips:
    """What was sent: one entry per round trip, the packed command(s) as text."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def reset(self) -> None:
        self.sent.clear()

    def count(self) -> int:
        """Round trips, leaving out the outbox drainer's polls (it runs on its own)."""
        return len([s for s in self.sent if ":outbox:" not in s])

    def touching(self, key: str) -> list[str]:
        """The round trips whose commands name ``key``."""
        return [s for s in self.sent if key in s]


def counting_client(url: str, trips: RoundTrips) -> aioredis.Redis:
    """A client on ``url`` whose every round trip lands in ``trips``."""

    class CountingConnection(aioredis.Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            trips.sent.append(_text(command))
            await super().send_packed_command(command, check_health)

    pool = aioredis.ConnectionPool.from_url(url, decode_responses=True,
                                            connection_class=CountingConnection)
    client = aioredis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True
    return client


def _text(command: bytes | str | Iterable[bytes]) -> str:
    """The RESP bytes as words: ``GET key`` (a pipeline's commands joined by `` | ``)."""
    if isinstance(command, bytes | str):
        parts: Iterable[bytes | str] = [command]
    else:
        parts = command
    raw = "".join(p.decode(errors="replace") if isinstance(p, bytes) else p for p in parts)
    commands, words = [], []
    for line in raw.split("\r\n"):
        if line.startswith("*") and words:
            commands.append(" ".join(words))
            words = []
        if line and line[0] not in "*$":
            words.append(line)
    commands.append(" ".join(words))
    return " | ".join(commands)
