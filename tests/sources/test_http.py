"""HttpBackend: deadlines, concurrency bound, error translation, off-loop decoding."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.errors import QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources.http import HttpBackend, backend_message, error_for_status
from tests.sources.conftest import FakeBackend, Reply
from tests.support.redis_server import free_port


def backend(url: str, session: Any, **kwargs: Any) -> HttpBackend:
    options: dict[str, Any] = {"timeout": 1.0, "max_concurrency": 2, **kwargs}
    return HttpBackend("loki", url, session, **options)


async def test_connection_refused_is_unavailable(session: Any) -> None:
    port = free_port()
    http = backend(f"http://127.0.0.1:{port}", session)
    with pytest.raises(SourceUnavailable) as caught:
        await http.get("/ready")
    assert caught.value.backend == "loki"
    assert caught.value.message == f"cannot connect to 127.0.0.1:{port}: Connection refused"


async def test_slow_answer_times_out(fake: FakeBackend, session: Any) -> None:
    fake.answer("/slow", Reply("{}", delay=10))
    http = backend(fake.url, session, timeout=0.2)
    with pytest.raises(SourceTimeout, match=r"no answer from .* within 0.2s"):
        await http.get("/slow")


async def test_concurrency_bound_holds_extra_calls(fake: FakeBackend, session: Any) -> None:
    fake.answer("/slow", Reply("{}", delay=10))
    http = backend(fake.url, session, timeout=0.3, max_concurrency=2)
    results = await asyncio.gather(*(http.get("/slow") for _ in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(r, SourceTimeout) for r in results)
    assert fake.max_inflight == 2  # never more than the bound at the backend


async def test_waiting_for_a_slot_counts_against_the_deadline(
    fake: FakeBackend, session: Any
) -> None:
    fake.answer("/fast", Reply("{}"))
    http = backend(fake.url, session, timeout=0.2, max_concurrency=1)
    async with http._slots:  # a call of another incident holds the only slot
        with pytest.raises(SourceTimeout, match=r"no free request slot within 0.2s \(1 req"):
            await http.get("/fast")
    assert fake.seen == []
    assert (await http.get("/fast")).ok


async def test_oversized_answers_are_refused(fake: FakeBackend, session: Any) -> None:
    fake.answer("/big", Reply(b"x" * 5000))
    http = backend(fake.url, session, max_body_bytes=4096)
    with pytest.raises(SourceUnavailable, match="answer larger than"):
        await http.get("/big")


async def test_large_bodies_are_decoded_in_the_executor(fake: FakeBackend, session: Any) -> None:
    fake.answer("/big", Reply(json.dumps({"values": list(range(100_000))})))
    threads: list[str] = []

    def parse(doc: Any) -> int:
        import threading

        threads.append(threading.current_thread().name)
        return len(doc["values"])

    with ThreadPoolExecutor(1, thread_name_prefix="decode") as executor:
        http = backend(fake.url, session, executor=executor)
        assert await http.get_json("/big", None, parse) == 100_000
    assert threads[0].startswith("decode")


def test_backend_message_reads_every_dialect() -> None:
    assert backend_message(b'{"status":"error","error":"bad query"}') == "bad query"
    assert backend_message(b'{"error":{"httpCode":404,"message":"No traces found"}}') == (
        "No traces found")
    assert backend_message(b'{"data":null,"errors":[{"code":400,"msg":"a"},{"msg":"b"}]}') == (
        "a; b")
    assert backend_message(b"  parse error\n at line 1 ") == "parse error at line 1"
    assert backend_message(b"<html><body>502</body></html>") == ""
    assert backend_message(b"x" * 2000).endswith("…")


def test_status_mapping() -> None:
    assert isinstance(error_for_status("loki", 400, "bad"), QueryRejected)
    assert isinstance(error_for_status("loki", 404, ""), QueryRejected)
    assert isinstance(error_for_status("loki", 504, "slow"), SourceTimeout)
    assert isinstance(error_for_status("loki", 408, ""), SourceTimeout)
    assert isinstance(error_for_status("loki", 429, "later"), SourceUnavailable)
    assert str(error_for_status("loki", 503, "", "Service Unavailable")) == (
        "loki: HTTP 503: Service Unavailable")
    assert str(error_for_status("loki", 401, "", "Unauthorized")) == "loki: HTTP 401 Unauthorized"
