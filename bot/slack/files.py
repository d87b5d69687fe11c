"""Files people share in Slack: ``files.info``, then the bytes from ``url_private``.

``url_private`` needs the bot token in an ``Authorization`` header; without it (or without
the ``files:read`` scope) Slack answers its sign-in page with HTTP 200, so an HTML answer is
refused by name rather than handed to a decoder. The download has one deadline and a size
cap: the announced size is checked before anything is read, the bytes as they arrive.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SourceTimeout, SourceUnavailable

__all__ = ["BACKEND", "SharedFile", "SlackFiles", "shared_thread"]

BACKEND = "slack files"
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class SharedFile:
    """What ``files.info`` says of a file, and the thread it was shared in (if any)."""

    id: str
    name: str
    size: int
    url: str
    user: str
    channel: str
    thread_ts: str | None


def shared_thread(file: dict[str, Any], channel: str) -> str | None:
    """The thread a file was shared into in ``channel`` (``shares.public|private``)."""
    shares = file.get("shares") or {}
    for kind in ("public", "private"):
        for share in (shares.get(kind) or {}).get(channel) or []:
            if isinstance(share, dict) and share.get("thread_ts"):
                return str(share["thread_ts"])
    return None


class SlackFiles:
    """Reads files shared in the workspace with the bot's own token, bounded."""

    def __init__(self, client: AsyncWebClient, *, max_bytes: int, timeout_s: float = 30.0
                 ) -> None:
        self._client = client
        self.max_bytes = max_bytes
        self._timeout_s = timeout_s

    async def info(self, file_id: str, channel: str) -> SharedFile:
        """``files.info`` for a file shared in ``channel``."""
        answer = await self._client.files_info(file=file_id)
        file = answer.get("file") or {}
        return SharedFile(id=file_id, name=str(file.get("name") or file_id),
                          size=int(file.get("size") or 0),
                          url=str(file.get("url_private") or ""),
                          user=str(file.get("user") or ""), channel=channel,
                          thread_ts=shared_thread(file, channel))

    async def download(self, file: SharedFile) -> bytes:
        """The file's bytes; SourceUnavailable when too large, not served, or not the file."""
        if file.size > self.max_bytes:
            raise self._too_large(file)
        if not file.url.startswith(("https://", "http://")):
            raise SourceUnavailable(BACKEND, f"{file.name} has no url_private to fetch")
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._fetch(file)
        except TimeoutError:
            raise SourceTimeout(BACKEND, f"{file.name}: not downloaded within "
                                         f"{self._timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise SourceUnavailable(BACKEND, f"{file.name}: {detail}") from None

    async def _fetch(self, file: SharedFile) -> bytes:
        session = self._client.session
        if session is None:
            raise SourceUnavailable(BACKEND, "no HTTP session to download with")
        headers = {"Authorization": f"Bearer {self._client.token}"}
        async with session.get(file.url, headers=headers, allow_redirects=False) as response:
            if response.status != 200:
                raise SourceUnavailable(BACKEND, f"{file.name}: Slack answered "
                                                 f"{response.status} for its url_private")
            if response.content_type == "text/html":
                raise SourceUnavailable(BACKEND, f"{file.name}: Slack answered a sign-in "
                                                 "page; the bot needs the files:read scope")
            parts, size = [], 0
            async for chunk in response.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large(file)
                parts.append(chunk)
            return b"".join(parts)

    def _too_large(self, file: SharedFile) -> SourceUnavailable:
        limit = (f"{self.max_bytes / (1 << 20):g} MiB" if self.max_bytes >= 1 << 20
                 else f"{self.max_bytes:,} bytes")
        return SourceUnavailable(BACKEND, f"{file.name} is larger than the {limit} the bot "
                                          "reads for a profile")
