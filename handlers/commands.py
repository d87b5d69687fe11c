"""``/triage``: validate before the ack, answer what needs no I/O in the ack, run the rest after.

Each verb's work runs as a tracked task and answers the caller through ``response_url``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.errors import InputError
from bot.models import Severity, StepName
from bot.models import commands as cmd
from bot.models.silence import matchers_for_labels
from bot.slack.modals import declare_modal
from bot.slack.replies import (
    error_blocks,
    help_blocks,
    list_blocks,
    services_blocks,
    status_blocks,
)
from bot.tasks import SupervisorBusy
from bot.triage.access import Action
from bot.triage.incidents import Declaration
from bot.triage.responders import SilenceRequest
from handlers.flows import export_rca, open_rca
from handlers.guard import enter
from handlers.replies import Reply, ephemeral, report_failure
from handlers.services import Services


@dataclass(frozen=True)
class Caller:
    """Who typed the command, where, and how to answer them."""

    user_id: str
    channel_id: str
    trigger_id: str
    respond: Reply
    #: Slack's user name (``createdBy`` of a silence); the id where Slack sends none.
    user_name: str = ""


def register(app: AsyncApp, services: Services) -> None:
    """Attach the ``/triage`` listener."""

    async def on_triage(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        enter("command")
        respond = services.replies.reply_to(body)
        try:
            command = cmd.parse_command(str(body.get("text", "")), services.triage.incidents.is_ref)
            if isinstance(command, cmd.Start) and command.service is not None:
                _known_service(services, command.service)
        except InputError as exc:
            await ack(response_type="ephemeral", text=str(exc), blocks=error_blocks(str(exc)))
            return
        if isinstance(command, cmd.Help):
            await ack(response_type="ephemeral", text="triage-bot help", blocks=help_blocks())
            return
        if isinstance(command, cmd.Services):
            await ack(response_type="ephemeral", text="Services",
                      blocks=services_blocks(services.settings.catalog))
            return
        caller = Caller(str(body.get("user_id", "")), str(body.get("channel_id", "")),
                        str(body.get("trigger_id", "")), respond,
                        str(body.get("user_name") or body.get("user_id") or ""))
        limit = services.step_deadline_s if isinstance(command, cmd.RunStep) else None
        try:
            services.tasks.spawn(_run(services, command, caller),
                                 name=f"command:{type(command).__name__.lower()}", timeout=limit)
        except SupervisorBusy as exc:
            await ack(response_type="ephemeral", text=str(exc))
            return
        await ack()

    app.command(services.settings.file.slack.command)(on_triage)


def _known_service(services: Services, name: str) -> None:
    try:
        services.triage.service(name)
    except InputError as exc:
        raise InputError(f"{exc}\n{cmd.usage('start')}") from None


async def _run(services: Services, command: cmd.Command, caller: Caller) -> None:
    try:
        await _VERBS[type(command)](services, command, caller)
    except Exception as exc:
        await report_failure(caller.respond, exc)


async def _start(services: Services, command: Any, caller: Caller) -> None:
    if command.service is None:
        await services.client.views_open(
            trigger_id=caller.trigger_id,
            view=declare_modal(services.settings.catalog, caller.channel_id))
        return
    service = services.triage.service(command.service)
    await services.guard.require(caller.user_id, Action.START, service.name)
    incident = await services.triage.declare(Declaration(
        service=service, summary=command.summary,
        severity=command.severity or Severity.UNKNOWN, actor=caller.user_id))
    await ephemeral(caller.respond,
                    f"Declared {incident.id} for {service.name} in <#{incident.channel}>.")


async def _status(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    timeline = await services.triage.timeline(incident)
    await ephemeral(caller.respond, f"{incident.id}: {incident.summary}",
                    status_blocks(incident, timeline))


async def _list(services: Services, command: Any, caller: Caller) -> None:
    incidents = await services.triage.list_open()
    await ephemeral(caller.respond, f"{len(incidents)} open incidents", list_blocks(incidents))


async def _note(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id, Action.NOTE, incident)
    await services.triage.note(incident, caller.user_id, command.text)
    await ephemeral(caller.respond, f"Noted on {incident.id}.")


async def _assign(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id, Action.ASSIGN, incident)
    if not await services.triage.assign(incident, caller.user_id, command.user_id):
        await ephemeral(caller.respond, f"{incident.id} is already assigned to that person.")
        return
    await ephemeral(caller.respond, f"Assigned {incident.id}.")


async def _resolve(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id, Action.RESOLVE, incident)
    if not await services.triage.resolve(incident, caller.user_id, command.note):
        await ephemeral(caller.respond, f"{incident.id} was already resolved.")
        return
    await ephemeral(caller.respond, f"Resolved {incident.id}.")


async def _reopen(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id, Action.REOPEN, incident)
    if not await services.triage.reopen(incident, caller.user_id, command.note):
        await ephemeral(caller.respond, f"{incident.id} is open already.")
        return
    await ephemeral(caller.respond, f"Reopened {incident.id}.")


async def _run_step(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    if not services.triage.is_walkable(incident):
        raise InputError(f"{incident.id} is not about a catalog service: there is nothing to "
                         "query for it.")
    step = StepName(command.step)
    await services.guard.on_incident(caller.user_id, Action.STEP, incident)
    async with services.guard.step(caller.user_id, step, incident):
        await ephemeral(caller.respond, f"Running the {command.step} step for {incident.id}; "
                                        "its findings will appear in the incident's thread.")
        if await services.triage.run_step(incident, step, caller.user_id) is None:
            await ephemeral(caller.respond, f"The {command.step} step is already running for "
                                            f"{incident.id}; its findings will appear in the "
                                            "thread.")


async def _rca(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id,
                                     Action.RCA_EXPORT if command.export else Action.RCA, incident)
    if command.export:
        await export_rca(services, incident, caller.respond)
    else:
        await open_rca(services, incident, caller.trigger_id)


async def _silence(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id, Action.SILENCE, incident)
    matchers = matchers_for_labels(incident.labels)
    if not matchers:
        raise InputError(f"{incident.id} has no alert labels to match: use the card's "
                         "Silence… button and write the matchers.")
    record = await services.triage.silence(incident, SilenceRequest(
        matchers=tuple(matchers), duration=command.duration, comment=command.comment,
        actor=caller.user_id, actor_name=caller.user_name))
    await ephemeral(caller.respond, f"Silenced the alerts of {incident.id} until "
                                    f"{record.ends_at:%Y-%m-%d %H:%M} UTC.")


async def _update(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id, Action.UPDATE, incident)
    await services.triage.post_status(incident, caller.user_id, command.text)
    where = services.settings.file.slack.status_channel
    also = f" and <#{where}>" if where and where != incident.channel else ""
    await ephemeral(caller.respond, f"Posted the status of {incident.id} to its thread{also}.")


async def _channel(services: Services, command: Any, caller: Caller) -> None:
    incident = await services.triage.find(command.ref, caller.channel_id)
    await services.guard.on_incident(caller.user_id, Action.CHANNEL, incident)
    opened = await services.triage.open_channel(incident, caller.user_id)
    if opened is None:
        existing = await services.triage.incident_channels_of(incident)
        where = ", ".join(f"<#{m.channel}>" for m in existing) or "being opened"
        await ephemeral(caller.respond, f"{incident.id} already has its channel: {where}.")
        return
    await ephemeral(caller.respond, f"Opened <#{opened.channel}> for {incident.id}.")


_VERBS: dict[type, Callable[[Services, Any, Caller], Awaitable[None]]] = {
    cmd.Silence: _silence, cmd.StatusUpdate: _update, cmd.OpenChannel: _channel,
    cmd.RcaCommand: _rca,
    cmd.Start: _start, cmd.Status: _status, cmd.ListOpen: _list,
    cmd.Note: _note, cmd.Assign: _assign, cmd.Resolve: _resolve, cmd.RunStep: _run_step,
    cmd.Reopen: _reopen,
}
