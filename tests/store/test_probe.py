"""Why Redis does not answer, in the words the other sources use."""

from __future__ import annotations

import pytest

from bot.store.connection import connect_redis
from bot.store.probe import connect_message, ping_problem
from tests.support.redis_server import free_port


@pytest.mark.parametrize(("raw", "said"), [
    ("Error 111 connecting to 127.0.0.1:9. Connect call failed ('127.0.0.1', 9).",
     "cannot connect to 127.0.0.1:9: Connection refused"),
    ("Error -2 connecting to redis.invalid:6379. Name or service not known.",
     "cannot resolve redis.invalid: Name or service not known"),
    ("Connection closed by server.", "cannot connect: Connection closed by server."),
])
def test_connection_errors_read_plainly(raw: str, said: str) -> None:
    assert connect_message(raw) == said


async def test_ping_problem_names_the_refused_port_and_is_none_when_redis_answers(
        redis_url: str) -> None:
    port = free_port()
    down = connect_redis(f"redis://127.0.0.1:{port}/0")
    up = connect_redis(redis_url)
    try:
        assert await ping_problem(down) == f"cannot connect to 127.0.0.1:{port}: " \
                                           "Connection refused"
        assert await ping_problem(up) is None
    finally:
        await down.aclose()
        await up.aclose()
