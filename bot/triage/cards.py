"""The incident card's life: posted once, redrawn on every change, from one read of its state.

A card post costs three Redis round trips: the card lock (so two replicas, or a retried
webhook, post one card), one pipelined read of everything the card shows, and one script that
records the message's ``ts`` and releases the lock. Redraws asked for while one is queued are
folded into it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.config import Catalog
from bot.models import CardView, Incident
from bot.store.cards import CardState, CardStore
from bot.store.keys import CARD_LOCK_TTL_MS
from bot.tasks import SupervisorBusy, TaskSupervisor
from bot.triage.ports import Announcer

__all__ = ["CardKeeper", "OwedCard"]

log = logging.getLogger(__name__)
#: How often a redraw waiting for another poster's card looks again.
_POSTED_POLL_S = 0.1
#: Retries of recording the card's ts when the incident changed between read and record.
_RECORD_ATTEMPTS = 5


@dataclass(frozen=True)
class OwedCard:
    """What delivering an owed card came to: ``done`` False means try again later."""

    incident: Incident | None
    done: bool
    posted: bool = False


class CardKeeper:
    """Posts and redraws cards through the announcer; the one place a card is rendered from."""

    def __init__(self, cards: CardStore, announcer: Announcer, catalog: Catalog,
                 tasks: TaskSupervisor, *, alertmanager_url: str | None = None) -> None:
        self._cards = cards
        self._announcer = announcer
        self._catalog = catalog
        self._tasks = tasks
        self._queued: set[str] = set()
        self._alertmanager_url = alertmanager_url

    def view(self, state: CardState) -> CardView:
        """The card's view model from its stored state."""
        incident = state.incident
        return CardView(incident=incident, alerts=state.alerts, vitals=state.vitals,
                        steps=state.steps, diagnosis=state.diagnosis,
                        walkable=self._catalog.get(incident.service or "") is not None,
                        silences=state.silences, alertmanager_url=self._alertmanager_url,
                        mirrors=state.mirrors)

    async def current_view(self, iid: str) -> CardView | None:
        """The card as it should look now (one read), or None for an unknown incident."""
        state = await self._cards.state(iid)
        return self.view(state) if state is not None else None

    async def post(self, incident: Incident) -> Incident:
        """Post the card unless it is posted or being posted; returns the incident as known.

        If the poster dies, the lock expires and the next delivery posts the card.
        """
        if incident.card_ts or not await self._cards.lock(incident.id):
            return incident
        try:
            state = await self._cards.state(incident.id)
            if state is None or state.incident.card_ts:
                await self._cards.unlock(incident.id)
                return state.incident if state else incident
            ts = await self._announcer.post_card(self.view(state))
        except BaseException:
            await self._cards.unlock(incident.id)
            raise
        return await self._record(state.incident, ts)

    async def post_owed(self, iid: str, *, look_first: bool, lock_ms: int) -> OwedCard:
        """The outbox's card post: unless Redis or Slack already has the card, post it.

        ``look_first`` (a retry: an earlier attempt may have posted and lost the answer, or
        died before recording the ``ts``) asks Slack for a card carrying the incident's
        metadata before posting, and records that one instead of posting a second. The card
        lock lives ``lock_ms`` (the outbox lease, which already keeps other drainers off the
        item), so a poster that died blocks the next one no longer than its lease.
        """
        state = await self._cards.state(iid)
        if state is None or state.incident.card_ts:
            return OwedCard(state.incident if state else None, done=True)
        if not await self._cards.lock(iid, lock_ms):
            return OwedCard(state.incident, done=False)  # someone is posting it right now
        try:
            state = await self._cards.state(iid)
            if state is None or state.incident.card_ts:
                await self._cards.unlock(iid)
                return OwedCard(state.incident if state else None, done=True)
            found = await self._announcer.find_card(state.incident) if look_first else None
            ts = found or await self._announcer.post_card(self.view(state))
        except BaseException:
            await self._cards.unlock(iid)
            raise
        return OwedCard(await self._record(state.incident, ts), done=True, posted=found is None)

    async def _record(self, incident: Incident, ts: str) -> Incident:
        current: Incident | None = incident
        for _ in range(_RECORD_ATTEMPTS):
            if current is None:
                break
            posted = await self._cards.record_card(current, ts)
            if posted is not None:
                if current is not incident:
                    self.request_refresh(posted.id)  # it changed while the card was on its way
                return posted
            state = await self._cards.state(incident.id)
            current = state.incident if state and not state.incident.card_ts else None
        log.warning("card posted but its ts could not be recorded",
                    extra={"incident_id": incident.id})
        return incident.model_copy(update={"card_ts": ts})

    async def refresh(self, iid: str) -> None:
        """Redraw the card from the incident's current state (nothing before it is posted)."""
        state = await self._cards.state(iid)
        if state is not None and state.incident.card_ts:
            await self._announcer.update_card(self.view(state))

    def request_refresh(self, iid: str) -> None:
        """Redraw the card soon; requests arriving while one is queued share it."""
        if iid in self._queued:
            return
        self._queued.add(iid)
        try:
            self._tasks.spawn(self._refresh_later(iid), name="card:refresh")
        except SupervisorBusy:
            # Shutting down or saturated: the next change (or the vitals job) redraws it.
            self._queued.discard(iid)
            log.warning("card redraw skipped: the bot is busy or stopping",
                        extra={"incident_id": iid})

    async def _refresh_later(self, iid: str) -> None:
        try:
            state = await self._posted_state(iid)
            if state is not None:
                await self._announcer.update_card(self.view(state))
        finally:
            self._queued.discard(iid)

    async def _posted_state(self, iid: str) -> CardState | None:
        """The card's state once it exists; None if nobody is posting it.

        Taken off the queue before each read, so changes made after the read queue a redraw
        of their own. A redraw asked for while another task (or replica) is still posting the
        card waits for it, within the card lock's lifetime, instead of being lost.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CARD_LOCK_TTL_MS / 1000
        while loop.time() < deadline:
            self._queued.discard(iid)
            state = await self._cards.state(iid)
            if state is None:
                return None
            if state.incident.card_ts:
                return state
            if not await self._cards.locked(iid):
                return None
            await asyncio.sleep(_POSTED_POLL_S)
        return None
