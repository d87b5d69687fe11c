"""The use cases, in one place: what handlers, scheduled jobs and the CLI call.

Each method is one thing a person, Alertmanager or a job asks of the bot: declare, record an
alert notification and announce it, note, assign, resolve, run a step and report it, draft and
save the RCA. The methods change state through the stores and say what happened through the
:class:`~bot.triage.ports.Announcer`, so they know nothing of Slack; callers turn the returned
values into replies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import LinksConfig, ServiceConfig
from bot.errors import InputError
from bot.models import (
    Change,
    ChangeKind,
    Incident,
    Rca,
    Section,
    StepName,
    StepStatus,
    TimelineEvent,
)
from bot.models.card import CardMirror
from bot.models.incident import surface_var
from bot.models.outbox import OutboxItem, change_item, redraw_item
from bot.models.silence import SilenceRecord
from bot.store.alerts import AlertStateStore
from bot.triage.cards import CardKeeper
from bot.triage.channels import IncidentChannels
from bot.triage.incidents import Declaration, IncidentService
from bot.triage.intake import AlertIntake
from bot.triage.links import with_grafana_links
from bot.triage.people import People
from bot.triage.ports import Announcer
from bot.triage.rca_service import RcaService
from bot.triage.responders import Silencer, SilenceRequest
from bot.triage.uploads import ProfileUploads, UploadedProfile
from bot.triage.walk import STEP_RUN, StepRun, Walk

__all__ = ["TriageService"]

log = logging.getLogger(__name__)


def _shown(incident: Incident, change: Change) -> list[OutboxItem]:
    """What a person's change owes Slack: the card redrawn, and a line in its thread."""
    return [redraw_item(incident.id), change_item(incident.id, change)]


@dataclass(frozen=True)
class TriageService:
    """Every use case of the bot over its stores, sources and announcer."""

    incidents: IncidentService
    intake: AlertIntake
    alert_states: AlertStateStore
    walk: Walk
    rca: RcaService
    cards: CardKeeper
    announcer: Announcer
    #: Run the metrics step on its own when an alert opens an incident for a catalog service.
    auto_metrics: bool = True
    #: Silences in Alertmanager (bot/triage/responders.py); None where there is no Slack.
    silencer: Silencer | None = None
    #: Where findings link out to (Grafana Explore); None: no extra links.
    links: LinksConfig | None = None
    #: Owners paged, assignees told, status updates (bot/triage/people.py); None: nobody told.
    people: People | None = None
    #: Profiles dropped into a thread (bot/triage/uploads.py).
    uploads: ProfileUploads | None = None
    #: Incident channels (bot/triage/channels.py); ``incident_channels``: one per new incident.
    channels: IncidentChannels | None = None
    incident_channels: bool = False

    # -- reading ---------------------------------------------------------------------------

    async def find(self, ref: str | None, channel_id: str = "") -> Incident:
        """The incident a person means (id, service, or this channel's only one)."""
        return await self.incidents.find(ref, channel_id)

    async def timeline(self, incident: Incident) -> list[TimelineEvent]:
        """The incident's timeline, oldest first."""
        return await self.incidents.store.timeline(incident.id)

    async def list_open(self) -> list[Incident]:
        """Open incidents, oldest first."""
        return await self.incidents.store.list_open()

    def service(self, name: str) -> ServiceConfig:
        """The catalog service called ``name`` (InputError listing the known ones)."""
        return self.incidents.service(name)

    def is_walkable(self, incident: Incident) -> bool:
        """Whether the bot may query anything for the incident (a catalog service)."""
        return self.walk.catalog.get(incident.service or "") is not None

    async def statuses(self, iid: str) -> dict[StepName, StepStatus]:
        """Where each step of the incident's walk stands."""
        return await self.walk.stores.walk.statuses(iid)

    async def is_step_running(self, iid: str, step: StepName) -> bool:
        """Whether a run of ``step`` is under way (its run claim is held)."""
        return await self.walk.stores.claims.held(STEP_RUN, f"{iid}:{step.value}")

    async def roles(self, iid: str) -> dict[str, str]:
        """The series roles step 1 chose for the incident (empty before it ran)."""
        return dict((await self.walk.stores.walk.context(iid)).roles)

    async def for_thread(self, channel: str, thread_ts: str) -> Incident | None:
        """The open incident whose card starts the thread ``thread_ts`` in ``channel``."""
        found = [i for i in await self.list_open()
                 if i.channel == channel and i.card_ts == thread_ts]
        return found[0] if found else None

    async def get(self, iid: str) -> Incident | None:
        """The incident by id, or None."""
        return await self.incidents.store.get(iid)

    # -- people's changes --------------------------------------------------------------------

    async def declare(self, declaration: Declaration) -> Incident:
        """Open an incident (or find the one open under its dedupe key) and post its card."""
        created = await self.incidents.declare(declaration)
        posted = await self.cards.post(created.incident)
        if created.created:
            await self._opened(posted)
        return posted

    async def declare_new(self, declaration: Declaration) -> Incident | None:
        """Like :meth:`declare`, but None (and nothing posted) when the dedupe key was used."""
        created = await self.incidents.declare(declaration)
        if not created.created:
            return None
        posted = await self.cards.post(created.incident)
        await self._opened(posted)
        return posted

    async def _opened(self, incident: Incident) -> None:
        """A new incident: page its service's owners (once, for the configured severities)."""
        if self.people is not None:
            await self.people.incident_opened(incident)
        if self.incident_channels and self.channels is not None:
            try:
                await self.channels.open(incident, "triage-bot")
            except Exception:
                # The incident and its card stand without a channel; `/triage channel` retries.
                log.warning("could not open the incident channel", exc_info=True,
                            extra={"incident_id": incident.id})

    async def say(self, incident: Incident, text: str) -> None:
        """A message a job rendered, in the incident's thread."""
        await self.announcer.post_text(incident, text)

    async def note(self, incident: Incident, actor: str, text: str) -> None:
        """Add a note to the timeline; the thread line is owed in the same write (outbox)."""
        await self.incidents.note(incident, actor, text,
                                  [change_item(incident.id, Change("note", actor, text=text))])

    async def assign(self, incident: Incident, actor: str, assignee: str) -> bool:
        """Make ``assignee`` the owner; False when they already were."""
        return await self._assign(incident, actor, assignee, "assigned")

    async def take(self, incident: Incident, actor: str) -> bool:
        """The card's "Assign to me"; False when the actor already owned it."""
        return await self._assign(incident, actor, actor, "took")

    async def _assign(self, incident: Incident, actor: str, assignee: str,
                      kind: ChangeKind) -> bool:
        updated = await self.incidents.assign(
            incident, actor, assignee, _shown(incident, Change(kind, actor, subject=assignee)))
        if updated is None or not updated.changed:
            return False
        if self.people is not None:
            await self.people.assigned(updated.incident, actor, assignee)
        return True

    async def resolve(self, incident: Incident, actor: str, note: str = "") -> bool:
        """Close the incident; False when it was already resolved.

        The card's redraw and the thread line are stored with the resolution, so a failed
        ``chat.update`` is retried until the card says Resolved.
        """
        updated = await self.incidents.resolve(
            incident, actor, note, _shown(incident, Change("resolved", actor, text=note)))
        return updated is not None and updated.changed

    # -- alerts ------------------------------------------------------------------------------

    def wants_metrics_on_open(self, incident: Incident) -> bool:
        """Whether a new alert incident's card is followed by the metrics step on its own."""
        return self.auto_metrics and self.is_walkable(incident)

    async def alert_incident_opened(self, incident: Incident) -> None:
        """Once the card of a new alert incident is posted: owners told, the incident's
        channel opened when configured, then the metrics step on its own."""
        # Run from the outbox drainer, not the webhook's request: the timeline still says
        # that this work came in by webhook.
        surface_var.set("webhook")
        await self._opened(incident)
        if self.wants_metrics_on_open(incident):
            await self.run_step(incident, StepName.METRICS, "alertmanager")

    async def reopen(self, incident: Incident, actor: str, note: str = "") -> bool:
        """Open a resolved incident again; False when it was open."""
        updated = await self.incidents.reopen(incident, actor, note)
        if updated is None or not updated.changed:
            return False
        await self._show(updated.incident, Change("reopened", actor, text=note))
        return True

    async def _show(self, incident: Incident, change: Change) -> None:
        """Redraw the card and say the change in the thread, now (not through the outbox)."""
        await self.cards.refresh(incident.id)
        await self.announcer.post_change(incident, change)

    # -- the walk ----------------------------------------------------------------------------

    async def run_step(self, incident: Incident, step: StepName, actor: str | None
                       ) -> StepRun | None:
        """Run the step (once at a time), report its findings and redraw the card.

        None when the step is already running for this incident.
        """
        if not self.is_walkable(incident):
            raise InputError(f"{incident.id} is not about a catalog service: there is nothing "
                             "to query for it.")

        async def started() -> None:
            self.cards.request_refresh(incident.id)

        run = await self.walk.run_step(incident, step, actor, on_start=started)
        if run is None:
            return None
        current = await self.incidents.store.get(incident.id) or incident
        await self.announcer.post_step(current, with_grafana_links(run.result, self.links))
        if run.leader_changed:
            await self.announcer.post_ranking(current, run.after)
        self.cards.request_refresh(incident.id)
        return run

    async def sweep_interrupted_steps(self) -> int:
        """Steps left "running" by a process that died are marked interrupted; how many."""
        incidents = await self.incidents.store.list_open()
        return len(await self.walk.sweep_interrupted(i.id for i in incidents))

    # -- the RCA -----------------------------------------------------------------------------

    async def draft_rca(self, incident: Incident) -> Rca:
        """A fresh draft from the evidence, keeping what people wrote."""
        return await self.rca.current(incident)

    async def save_rca(self, incident: Incident, expected_version: int,
                       submitted: Mapping[Section, str], prefilled: Mapping[Section, str],
                       actor: str) -> Rca | None:
        """Save a person's edit; None when someone saved a newer version meanwhile.

        Quick enough for a modal's 3-second answer: saying so in the thread is
        :meth:`rca_edited`'s job, after the answer.
        """
        return await self.rca.save_edit(incident, expected_version, submitted, prefilled, actor)

    async def rca_edited(self, incident: Incident, actor: str, saved: Rca) -> None:
        """Say in the thread that the RCA was edited."""
        await self.announcer.post_change(incident,
                                         Change("rca_edited", actor, text=str(saved.version)))

    async def latest_rca(self, incident_id: str) -> Rca | None:
        """The RCA as last saved (to tell an editor who saved a newer version)."""
        return await self.rca.rcas.get(incident_id)

    async def export_rca(self, incident: Incident) -> None:
        """Post the RCA as a Markdown file in the incident's thread."""
        text = await self.rca.markdown(incident)
        await self.announcer.post_file(incident, f"rca-{incident.id}.md", text.encode(),
                                       f"RCA of {incident.id}")

    # -- responders' actions (bot/triage/responders.py) --------------------------------------

    async def silence(self, incident: Incident, request: SilenceRequest) -> SilenceRecord:
        """Silence in Alertmanager, show it on the card and say it in the thread."""
        record = await self.create_silence(incident, request)
        await self.silence_created(incident, request.actor, record)
        return record

    async def create_silence(self, incident: Incident, request: SilenceRequest
                             ) -> SilenceRecord:
        """Only the silence (Alertmanager, then the store): quick enough for a modal's answer."""
        return await self._silencer().create(incident, request)

    async def silence_created(self, incident: Incident, actor: str,
                              record: SilenceRecord) -> None:
        """Show a new silence on the card and say it in the thread."""
        await self._show(incident, Change("silenced", actor, silence=record))

    async def expire_silence(self, incident: Incident, silence_id: str,
                             actor: str) -> SilenceRecord | None:
        """Expire a silence made from the incident; None when it was already expired."""
        record = await self._silencer().expire(incident, silence_id, actor)
        if record is not None:
            await self._show(incident, Change("silence_expired", actor, silence=record))
        return record

    async def analyse_upload(self, incident: Incident, upload: UploadedProfile
                             ) -> StepRun | None:
        """A profile shared in the thread: analysed, reported and ranked as the profile step.

        None when the profile step (or another upload) is running for the incident.
        """
        if self.uploads is None or not self.is_walkable(incident):
            raise InputError(f"{incident.id} is not about a catalog service: its profiles "
                             "have no playbooks to rank against.")
        run = await self.uploads.analyse(incident, upload)
        if run is None:
            return None
        current = await self.incidents.store.get(incident.id) or incident
        await self.announcer.post_step(current, run.result)
        if run.leader_changed:
            await self.announcer.post_ranking(current, run.after)
        self.cards.request_refresh(incident.id)
        return run

    async def open_channel(self, incident: Incident, actor: str) -> CardMirror | None:
        """``/triage channel``: the incident's own channel; None when it has one already."""
        if self.channels is None:
            raise InputError("Incident channels are not available here.")
        return await self.channels.open(incident, actor)

    async def incident_channels_of(self, incident: Incident) -> tuple[CardMirror, ...]:
        """Where the incident's card is copied (its channel)."""
        return await self.channels.mirrors(incident) if self.channels is not None else ()

    async def post_status(self, incident: Incident, actor: str, text: str) -> None:
        """``/triage update``: a status in the thread and the stakeholders' channel."""
        await self._people().post_status(incident, actor, text)

    async def remind_status(self, incident: Incident, idle_s: float) -> None:
        """Ask the assignee for a status update (the status job decides when)."""
        await self._people().remind_status(incident, idle_s)

    def _people(self) -> People:
        if self.people is None:
            raise InputError("Status updates are not available here.")
        return self.people

    def _silencer(self) -> Silencer:
        if self.silencer is None:
            raise InputError("Silences are not available here.")
        return self.silencer
