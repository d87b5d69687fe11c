"""Reporting a background task's outcome to the person who asked."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.errors import InputError, SourceError, StoreError
from bot.slack.blocks import escape, section
from bot.slack.payloads import response_url
from bot.slack.replies import error_blocks
from bot.tasks import SupervisorBusy

log = logging.getLogger(__name__)

Reply = Callable[..., Awaitable[Any]]
REPLY_TIMEOUT_S = 10.0


class ResponseUrls:
    """Answers through Slack's response_url over one shared session.

    Bolt's ``respond`` opens a new HTTP session (and TCP connection) per answer; under load the
    interaction benchmark spent a seventh of the event loop's time there.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    def reply_to(self, body: Mapping[str, Any]) -> Reply:
        """A ``respond``-like callable for the request ``body`` (a no-op without a URL)."""
        url = response_url(body)

        async def send(**payload: Any) -> None:
            if not url:
                log.info("no response_url to answer on")
                return
            async with self._session.post(
                url, json={k: v for k, v in payload.items() if v is not None},
                timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_S),
            ) as response:
                if response.status >= 400:
                    log.warning("response_url refused the answer",
                                extra={"status": response.status})
        return send


async def ephemeral(respond: Reply, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    """Answer only the caller (via response_url), never raising: the work is already done.

    Without ``blocks`` the text is shown as one section.
    """
    try:
        await respond(response_type="ephemeral", replace_original=False, text=text,
                      blocks=blocks or [section(escape(text))])
    except Exception:
        log.exception("could not answer the caller")


async def report_failure(respond: Reply, exc: Exception) -> None:
    """Turn a failure after the ack into a message the caller can act on."""
    if isinstance(exc, (InputError, SupervisorBusy)):
        text = str(exc)
    elif isinstance(exc, SourceError):
        # A backend's refusal (Alertmanager's "silence invalid: ...") in its own words.
        text = str(exc)
    elif isinstance(exc, StoreError):
        text = "The incident store (Redis) is unreachable; nothing was changed. Try again."
    elif isinstance(exc, SlackApiError):
        text = f"Slack refused the update: `{exc.response.get('error', 'unknown error')}`."
    else:
        log.exception("command failed", exc_info=exc)
        text = "Something went wrong on the bot's side; it has been logged."
    await ephemeral(respond, text, error_blocks(text))
