"""The daily digest: one message per channel listing its open incidents.

Each line says what a responder arriving in the morning needs: id, service, summary, how long
it has been open, who owns it and how far the walk got. Channels without open incidents get
nothing (a digest that says "nothing" every day teaches people to ignore it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bot.jobs import run_each
from bot.jobs.context import JobContext
from bot.models import STEP_ORDER, Incident, StepStatus
from bot.models.units import human_seconds
from bot.slack.blocks import MAX_BLOCKS_MESSAGE, Block, clip, context, escape, header, section
from bot.slack.cards import user

__all__ = ["DigestRow", "digest_blocks", "digest_text", "post_digest", "sweep"]

SLACK_TIMEOUT_S = 20.0
_ROOM = MAX_BLOCKS_MESSAGE - 3  # header, "and N more", footer


@dataclass(frozen=True)
class DigestRow:
    """One open incident and how many of the walk's steps are done."""

    incident: Incident
    steps_done: int


def _line(row: DigestRow, now: datetime, command: str) -> str:
    incident = row.incident
    age = human_seconds(max(0.0, (now - incident.created_at).total_seconds()))
    owner = user(incident.assignee) if incident.assignee else "_unassigned_"
    return (f"*{incident.id}* · {escape(incident.service or 'no service')} · "
            f"{incident.severity.value}\n{escape(clip(incident.summary, 300))}\n"
            f"open {age} · {owner} · steps {row.steps_done}/{len(STEP_ORDER)} done · "
            f"`{command} status {incident.id}`")


def digest_blocks(rows: Sequence[DigestRow], now: datetime, command: str) -> list[Block]:
    """Header, one section per incident (oldest first), within the 50-block limit."""
    count = len(rows)
    blocks: list[Block] = [header(f":sunrise: Open incidents · {count}")]
    blocks.extend(section(_line(row, now, command)) for row in rows[:_ROOM])
    if count > _ROOM:
        blocks.append(context(f"…and {count - _ROOM} more: `{command} list`"))
    blocks.append(context("Daily digest of the triage bot · "
                          f"{now.strftime('%Y-%m-%d %H:%M UTC')}"))
    return blocks


def digest_text(rows: Sequence[DigestRow]) -> str:
    """The notification text of the digest."""
    ids = ", ".join(r.incident.id for r in rows[:20])
    more = "…" if len(rows) > 20 else ""
    plural = "s" if len(rows) != 1 else ""
    return f"{len(rows)} open incident{plural}: {ids}{more}"


async def post_digest(ctx: JobContext, channel_id: str) -> bool:
    """Post the channel's digest; False (nothing posted) when it has no open incident."""
    incidents = [i for i in await ctx.triage.list_open() if i.channel == channel_id]
    if not incidents:
        return False
    rows = []
    for incident in incidents:
        statuses = await ctx.triage.statuses(incident.id)
        done = sum(1 for s in statuses.values() if s is StepStatus.DONE)
        rows.append(DigestRow(incident, done))
    blocks = digest_blocks(rows, ctx.clock(), ctx.settings.file.slack.command)
    async with asyncio.timeout(SLACK_TIMEOUT_S):
        await ctx.outbound.post_channel(channel_id, digest_text(rows), blocks)
    return True


async def sweep(ctx: JobContext) -> int:
    """One digest per channel that has open incidents; returns how many were posted."""
    channels = sorted({i.channel for i in await ctx.triage.list_open()})
    # One channel at a time: chat.postMessage is rate-limited per workspace too.
    return await run_each("digest", channels, partial(post_digest, ctx),
                          timeout_s=SLACK_TIMEOUT_S + 10, concurrency=1)
