"""Silences from the card: "Silence…" opens the modal, saving creates the silence in
Alertmanager inside the modal's answer (so a refusal is shown under the inputs in
Alertmanager's own words), "Expire silence" ends it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.errors import InputError, SourceError, StoreError
from bot.models import Incident
from bot.models.silence import SilenceRecord
from bot.slack import payloads
from bot.slack.modals import FormError
from bot.slack.silence_blocks import ACTION_EXPIRE, ACTION_SILENCE, parse_expire_value
from bot.slack.silence_modal import SILENCE_CALLBACK, SilenceForm, read_silence_form, silence_modal
from bot.tasks import SupervisorBusy
from bot.triage.access import Action
from bot.triage.responders import SilenceRequest
from handlers.replies import ephemeral, report_failure
from handlers.services import Services

log = logging.getLogger(__name__)
#: The modal's answer is due within Slack's 3 s; Alertmanager gets what is left of it.
CREATE_DEADLINE_S = 2.5
Ack = Callable[..., Awaitable[None]]


def register(app: AsyncApp, services: Services) -> None:
    """Attach the Silence… and Expire silence buttons and the modal's submission."""
    app.action(ACTION_SILENCE)(_on_silence_click(services))
    app.action(ACTION_EXPIRE)(_on_expire_click(services))
    app.view(SILENCE_CALLBACK)(_on_submit(services))


def slack_name(user: Mapping[str, Any]) -> str:
    """What Alertmanager shows as ``createdBy``: the Slack user's name, else their id."""
    return str(user.get("username") or user.get("name") or user.get("id") or "triage-bot")


def _on_silence_click(services: Services) -> Any:
    async def on_click(ack: Ack, body: dict[str, Any]) -> None:
        respond = services.replies.reply_to(body)
        await ack()
        value = str(((body.get("actions") or [{}])[0]).get("value", ""))
        user_id = payloads.user_id(body)

        async def work() -> None:
            try:
                incident = await services.triage.find(value)
                await services.guard.on_incident(user_id, Action.SILENCE, incident)
                await services.client.views_open(trigger_id=str(body.get("trigger_id", "")),
                                                  view=silence_modal(incident))
            except Exception as exc:
                await report_failure(respond, exc)

        try:
            services.tasks.spawn(work(), name="silence:open")
        except SupervisorBusy as exc:
            await report_failure(respond, exc)
    return on_click


def _on_expire_click(services: Services) -> Any:
    async def on_click(ack: Ack, body: dict[str, Any]) -> None:
        respond = services.replies.reply_to(body)
        await ack()
        value = str(((body.get("actions") or [{}])[0]).get("value", ""))
        user_id = payloads.user_id(body)

        async def work() -> None:
            try:
                incident_id, silence_id = parse_expire_value(value)
                incident = await services.triage.find(incident_id)
                await services.guard.on_incident(user_id, Action.SILENCE, incident)
                if await services.triage.expire_silence(incident, silence_id, user_id) is None:
                    await ephemeral(respond, f"That silence of {incident.id} was already "
                                             "expired.")
            except ValueError:
                await report_failure(respond, InputError("That button is not a silence's."))
            except Exception as exc:
                await report_failure(respond, exc)

        try:
            services.tasks.spawn(work(), name="silence:expire")
        except SupervisorBusy as exc:
            await report_failure(respond, exc)
    return on_click


def _on_submit(services: Services) -> Any:
    async def on_submit(ack: Ack, body: dict[str, Any]) -> None:
        user = payloads.mapping(body.get("user"))
        try:
            form = read_silence_form(body.get("view") or {})
            incident, record = await _create(services, form, str(user.get("id", "")),
                                             slack_name(user))
        except FormError as exc:
            await ack(response_action="errors", errors={exc.block_id: str(exc)})
            return
        except (InputError, SourceError, StoreError) as exc:
            # Alertmanager's refusal, shown as it is, under the matchers it concerns.
            await ack(response_action="errors", errors={"matchers": str(exc)})
            return
        await ack()
        try:
            services.tasks.spawn(services.triage.silence_created(
                incident, str(user.get("id", "")), record), name="silence:show")
        except SupervisorBusy:
            # The silence exists and is stored: the card's next redraw shows it.
            log.warning("silence created but not announced: the bot is busy",
                        extra={"incident_id": incident.id})
    return on_submit


async def _create(services: Services, form: SilenceForm, user_id: str,
                  name: str) -> tuple[Incident, SilenceRecord]:
    try:
        async with asyncio.timeout(CREATE_DEADLINE_S):
            incident = await services.triage.find(form.incident_id)
            await services.guard.on_incident(user_id, Action.SILENCE, incident)
            return incident, await services.triage.create_silence(incident, SilenceRequest(
                matchers=form.matchers, duration=form.duration, comment=form.comment,
                actor=user_id, actor_name=name))
    except TimeoutError:
        raise InputError(f"Alertmanager did not answer within {CREATE_DEADLINE_S:g} s; "
                         "check its Silences page before trying again.") from None
