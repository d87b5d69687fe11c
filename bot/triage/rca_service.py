"""Drafting, re-drafting and saving RCAs over the stores (used by Slack and the CLI)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.models import EventKind, Incident, Rca, Section, TimelineEvent
from bot.store.incidents import IncidentStore
from bot.store.rca import RcaStore
from bot.store.walk import WalkStore
from bot.triage.playbook_loader import PlaybookSet
from bot.triage.rca import apply_edit, draft, redraft
from bot.triage.rca_markdown import to_markdown


class RcaService:
    """The RCA of an incident as it should be shown now, and saving human edits."""

    def __init__(self, incidents: IncidentStore, walk: WalkStore, rcas: RcaStore,
                 playbooks: PlaybookSet) -> None:
        self.incidents = incidents
        self.walk = walk
        self.rcas = rcas
        self.playbooks = playbooks

    async def current(self, incident: Incident) -> Rca:
        """A fresh draft from today's evidence, keeping what humans wrote."""
        fresh = draft(incident, await self.walk.results(incident.id),
                      await self.walk.diagnosis(incident.id),
                      {p.id: p for p in self.playbooks.all},
                      await self.incidents.timeline(incident.id))
        return redraft(await self.rcas.get(incident.id), fresh)

    async def save_edit(self, incident: Incident, expected_version: int,
                        submitted: Mapping[Section, str], prefilled: Mapping[Section, str],
                        user: str) -> Rca | None:
        """Save a human's edit; None when someone saved a newer version meanwhile."""
        edited = apply_edit(await self.current(incident), submitted, prefilled, user)
        saved = await self.rcas.save(edited, expected_version)
        if saved is not None:
            changed = [s.value for s, t in saved.sections.items() if t.edited_by == user
                       and t.edited_at == saved.edited_at]
            await self.incidents.add_event(incident.id, TimelineEvent(
                kind=EventKind.RCA_EDITED, actor=user, text=", ".join(changed),
                data={"version": saved.version}))
        return saved

    async def markdown(self, incident: Incident) -> str:
        """The RCA as Markdown."""
        return to_markdown(incident, await self.current(incident))
