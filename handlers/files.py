"""Profiles dropped into an incident's thread: Slack's ``file_shared`` event.

The event says only which file and which channel; ``files.info`` says its name, size and the
thread it went to. Files outside an open incident's card thread, and files whose name is not a
profile's (screenshots, logs), are left alone. Each file is handled once, whatever Slack
redelivers, then analysed as the profile step would and reported in the thread.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.errors import TriageError
from bot.slack.blocks import escape
from bot.slack.files import SlackFiles
from bot.sources.pprof.client import MAX_PROFILE_BYTES
from bot.tasks import SupervisorBusy
from bot.triage.access import AccessDenied, Action
from bot.triage.uploads import UploadedProfile, is_profile_name
from handlers.services import Services

log = logging.getLogger(__name__)
#: How long fetching and analysing one shared profile may take.
UPLOAD_DEADLINE_S = 180.0


def register(app: AsyncApp, services: Services) -> None:
    """Attach the file_shared listener (Bolt acks events itself)."""

    async def on_file_shared(body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = str(body.get("event_id", ""))
        if not event_id or not await services.claims.claim("event", event_id):
            services.metrics.duplicates.labels("event").inc()
            return
        try:
            services.tasks.spawn(_handle(services, event), name="event:file_shared",
                                 timeout=UPLOAD_DEADLINE_S)
        except SupervisorBusy:
            await services.claims.release("event", event_id)
            raise

    app.event("file_shared")(on_file_shared)


async def _handle(services: Services, event: dict[str, Any]) -> None:
    file_id = str(event.get("file_id") or (event.get("file") or {}).get("id") or "")
    channel = str(event.get("channel_id") or "")
    if not file_id or not channel:
        return
    files = SlackFiles(services.client, max_bytes=MAX_PROFILE_BYTES)
    shared = await files.info(file_id, channel)
    if shared.thread_ts is None or not is_profile_name(shared.name):
        return
    incident = await services.triage.for_thread(channel, shared.thread_ts)
    if incident is None:
        return
    try:
        await services.guard.on_incident(shared.user or "", Action.STEP, incident)
    except AccessDenied:
        return  # logged by the guard; a reader's upload is not analysed
    if not await services.claims.claim("profile-file", file_id):
        return
    try:
        data = await files.download(shared)
        run = await services.triage.analyse_upload(
            incident, UploadedProfile(shared.name, data, shared.user))
    except TriageError as exc:
        await services.triage.say(incident, f":warning: Could not analyse "
                                            f"{escape(shared.name)}: {escape(str(exc))}")
        return
    if run is None:
        await services.triage.say(incident, f":hourglass: The profile step is running for "
                                            f"{incident.id}; share {escape(shared.name)} again "
                                            "when it is done.")
