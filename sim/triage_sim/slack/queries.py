"""Read what the bot did to the Slack stand-in, and wait for it without sleeping.

Every state change notifies one ``asyncio.Condition``; :meth:`StandInQueries.wait_for`
re-checks its predicate on each change and, on timeout, fails with a dump of the recent
calls and messages so the test output says what happened instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from triage_sim.slack.state import (
    Ephemeral,
    Message,
    RecordedCall,
    ResponsePost,
    StoredFile,
    ViewRecord,
    Workspace,
)

__all__ = ["StandInQueries", "StandInTimeoutError"]

T = TypeVar("T")
_DUMP_CALLS = 25


class StandInTimeoutError(AssertionError):
    """What the test waited for did not happen in time; the message shows what did."""


class StandInQueries:
    """Query and wait helpers over a :class:`Workspace` (mixed into ``SlackStandIn``)."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._changed = asyncio.Condition()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- reads --------------------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall]:
        """Every Web API call so far, oldest first."""
        return list(self._ws.calls)

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[RecordedCall]:
        """Calls of one method (optionally only the successful or failed ones)."""
        return [c for c in self._ws.calls if c.method == method and (ok is None or c.ok == ok)]

    def clear_calls(self) -> None:
        """Forget recorded calls (state such as messages stays)."""
        self._ws.calls.clear()

    def messages(
        self, channel: str, *, include_replies: bool = True, include_deleted: bool = False
    ) -> list[Message]:
        """Messages in ``channel``, oldest first."""
        return [
            m
            for m in self._ws.messages.get(channel, [])
            if (include_deleted or not m.deleted)
            and (include_replies or m.thread_ts in (None, m.ts))
        ]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The parent at ``ts`` and its replies, oldest first."""
        return [m for m in self.messages(channel) if ts in (m.ts, m.thread_ts)]

    def message(self, channel: str, ts: str) -> Message:
        """The message at ``ts`` (its latest version); ``KeyError`` when there is none."""
        for m in self._ws.messages.get(channel, []):
            if m.ts == ts:
                return m
        raise KeyError(f"no message {ts} in {channel}")

    def views(self, *, open_only: bool = False) -> list[ViewRecord]:
        """Modals opened so far (with their latest content)."""
        return [v for v in self._ws.views.values() if not (open_only and v.closed)]

    def view(self, view_id: str) -> ViewRecord:
        """One modal by id; ``KeyError`` when unknown."""
        return self._ws.views[view_id]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages, optionally for one channel and/or user."""
        return [
            e
            for e in self._ws.ephemerals
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    def response_posts(self, url: str | None = None) -> list[ResponsePost]:
        """POSTs to response_urls (all, or to one URL), with the status answered."""
        url_id = url.rstrip("/").rsplit("/", 1)[-1] if url else None
        return [p for p in self._ws.response_posts if url_id is None or p.url_id == url_id]

    def files(self) -> list[StoredFile]:
        """Files uploaded through the v2 flow."""
        return list(self._ws.files.values())

    # -- waits --------------------------------------------------------------------------
    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 (a test deadline, applied with asyncio.timeout)
        what: str = "condition",
    ) -> T:
        """Return the first truthy value of ``predicate()``, re-checked on every change."""
        result = predicate()
        if result:
            return result
        try:
            async with asyncio.timeout(timeout), self._changed:
                return await self._changed.wait_for(predicate)
        except TimeoutError:
            raise StandInTimeoutError(
                f"timed out after {timeout}s waiting for {what}\n{self.dump()}"
            ) from None

    async def wait_for_call(
        self,
        method: str,
        where: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 (a test deadline, applied with asyncio.timeout)
    ) -> RecordedCall:
        """The first recorded call of ``method`` (matching ``where``)."""

        def found() -> RecordedCall | None:
            return next(
                (c for c in self._ws.calls if c.method == method and (where is None or where(c))),
                None,
            )

        call = await self.wait_for(found, timeout, f"a call to {method}")
        if call is None:
            raise StandInTimeoutError(f"no call to {method}")
        return call

    async def wait_for_message(
        self,
        channel: str,
        where: Callable[[Message], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 (a test deadline, applied with asyncio.timeout)
    ) -> Message:
        """The first live message in ``channel`` (matching ``where``)."""

        def found() -> Message | None:
            return next((m for m in self.messages(channel) if where is None or where(m)), None)

        message = await self.wait_for(found, timeout, f"a message in {channel}")
        if message is None:
            raise StandInTimeoutError(f"no message in {channel}")
        return message

    def dump(self) -> str:
        """A readable summary of recent calls and stored messages, for failure output."""
        lines = [f"last {_DUMP_CALLS} of {len(self._ws.calls)} calls:"]
        for c in self._ws.calls[-_DUMP_CALLS:]:
            outcome = "ok" if c.ok else f"error={c.error}"
            lines.append(f"  {c.method} -> {c.status} {outcome} {_brief(c.args)}")
        for channel, messages in self._ws.messages.items():
            lines.append(f"channel {channel}: {len(messages)} messages")
            lines.extend(
                f"  {m.ts} thread={m.thread_ts} {'(deleted) ' if m.deleted else ''}{m.text[:80]!r}"
                for m in messages[-10:]
            )
        lines.append(f"views: {len(self._ws.views)}, ephemerals: {len(self._ws.ephemerals)}")
        return "\n".join(lines)


def _brief(args: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={str(v)[:60]!r}" for k, v in args.items())
