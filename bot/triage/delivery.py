"""Draining the outbox: cards, redraws and thread lines, at least once and never twice.

Every replica runs one :class:`OutboxDrainer`. It claims due items in batches (each for a
lease, so a dead drainer's items come back), delivers the items of one incident in order and
different incidents side by side, acks what was delivered, and puts the rest back with a
backoff. A card is posted through :meth:`CardKeeper.post_owed`, which on a retry first asks
Slack whether the card is already there (message metadata): a post whose answer was lost, or
whose poster died before recording it, is found instead of posted twice.

Thread lines wait for their card (they belong in its thread). A line whose post answered an
error after Slack stored it can be said twice: the one duplicate at-least-once allows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from bot.errors import StoreError
from bot.models import Incident
from bot.store.alerts import AlertStateStore
from bot.store.incidents import IncidentStore
from bot.store.outbox import Claimed, Outbox
from bot.triage.cards import CardKeeper
from bot.triage.ports import Announcer

__all__ = ["Delivery", "DrainerOptions", "OutboxDrainer"]

log = logging.getLogger(__name__)


class Delivery:
    """Delivers one outbox item; True when it is done, False when it must wait for its card."""

    def __init__(self, cards: CardKeeper, announcer: Announcer, incidents: IncidentStore,
                 alert_states: AlertStateStore, *,
                 on_card_posted: Callable[[Incident], None] | None = None,
                 lease_s: float = 10.0) -> None:
        self._lock_ms = int(lease_s * 1000)
        self._cards = cards
        self._announcer = announcer
        self._incidents = incidents
        self._alert_states = alert_states
        self._on_card_posted = on_card_posted

    async def deliver(self, claimed: Claimed) -> bool:
        """Send the item (StoreError and Slack's errors propagate: the drainer retries)."""
        item = claimed.item
        if item.kind == "card":
            owed = await self._cards.post_owed(item.incident, look_first=claimed.tries > 1,
                                               lock_ms=self._lock_ms)
            if owed.posted and item.run_metrics and owed.incident and self._on_card_posted:
                self._on_card_posted(owed.incident)
            return owed.done
        incident = await self._incidents.get(item.incident)
        if incident is None:
            return True
        if not incident.card_ts:
            return False
        if item.kind == "redraw":
            await self._cards.refresh(incident.id)
        elif item.kind == "alerts":
            states = await self._alert_states.states(incident.id)
            await self._announcer.post_alert_changes(incident, item.alert_changes(), states)
        else:
            await self._announcer.post_change(incident, item.change())
        return True


@dataclass(frozen=True)
class DrainerOptions:
    """How the drainer paces itself."""

    #: How long a claimed item is ours without renewal: the drainer renews it every third of
    #: this while it delivers, so it bounds how soon a dead replica's items are taken over.
    lease_s: float = 10.0
    batch: int = 32
    #: How often an empty outbox is looked at again.
    idle_s: float = 0.1
    #: Backoff after a failed delivery: first, and the cap.
    backoff_s: float = 0.5
    backoff_cap_s: float = 30.0
    #: Attempts before an item is set aside (Keys.outbox_dead): a day's worth at the cap.
    max_tries: int = 3000


class OutboxDrainer:
    """The loop every replica runs; ``stop`` lets the batch in hand finish."""

    def __init__(self, outbox: Outbox, delivery: Delivery, options: DrainerOptions | None = None,
                 report_depth: Callable[[int], None] | None = None) -> None:
        self._outbox = outbox
        self._delivery = delivery
        self._options = options or DrainerOptions()
        self._report_depth = report_depth
        self._stopping = asyncio.Event()
        self.busy = False

    def stop(self) -> None:
        """Claim nothing more; the batch in hand is still delivered."""
        self._stopping.set()

    async def run(self) -> None:
        """Drain until stopped."""
        options = self._options
        while not self._stopping.is_set():
            try:
                batch = await self._outbox.claim(int(options.lease_s * 1000), options.batch)
                if self._report_depth is not None:
                    self._report_depth(await self._outbox.depth())
            except StoreError as exc:
                log.warning("outbox not reachable; trying again", extra={"error": str(exc)})
                await self._pause(1.0)
                continue
            if not batch:
                await self._pause(options.idle_s)
                continue
            self.busy = True
            try:
                await self._deliver_leased(batch)
            finally:
                self.busy = False

    async def _deliver_leased(self, batch: list[Claimed]) -> None:
        """Deliver the batch, renewing its lease meanwhile."""
        work = asyncio.ensure_future(self._deliver_batch(batch))
        lease_ms = int(self._options.lease_s * 1000)
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=self._options.lease_s / 3)
                if done:
                    break
                with suppress(StoreError):
                    await self._outbox.extend(batch, lease_ms)
        finally:
            if not work.done():
                work.cancel()
                with suppress(asyncio.CancelledError):
                    await work
        work.result()

    async def _pause(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _deliver_batch(self, batch: list[Claimed]) -> None:
        """One incident's items in order; different incidents side by side."""
        by_incident: dict[str, list[Claimed]] = {}
        for claimed in batch:
            by_incident.setdefault(claimed.item.incident, []).append(claimed)
        await asyncio.gather(*(self._deliver_in_order(items) for items in by_incident.values()))

    async def _deliver_in_order(self, items: list[Claimed]) -> None:
        for claimed in items:
            await self._deliver_one(claimed)

    async def _deliver_one(self, claimed: Claimed) -> None:
        options = self._options
        try:
            done = await self._delivery.deliver(claimed)
        except Exception as exc:
            log.warning("outbox delivery failed; will retry",
                        extra={"item": claimed.item.id, "tries": claimed.tries,
                               "error": f"{type(exc).__name__}: {exc}"})
            done = None
        try:
            if done:
                await self._outbox.ack(claimed)
            elif claimed.tries >= options.max_tries:
                log.error("outbox item given up on", extra={"item": claimed.item.id})
                await self._outbox.bury(claimed)
            else:
                await self._outbox.retry(claimed, int(self._delay(claimed, done) * 1000))
        except StoreError as exc:
            # The lease brings it back: at worst it is delivered again, after a check.
            log.warning("outbox item not settled", extra={"item": claimed.item.id,
                                                          "error": str(exc)})

    def _delay(self, claimed: Claimed, waiting: bool | None) -> float:
        options = self._options
        if waiting is False:  # waiting for its card: look again soon
            return min(2.0, 0.2 * claimed.tries)
        doubled = float(2 ** min(claimed.tries - 1, 10))
        return min(options.backoff_cap_s, options.backoff_s * doubled)
