"""Modal submissions: validate inside the ack (errors shown under the inputs), work after it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack import payloads
from bot.slack.modals import DECLARE_CALLBACK, DeclareForm, FormError, read_declare_form
from bot.tasks import SupervisorBusy
from bot.triage.access import AccessDenied, Action
from bot.triage.incidents import Declaration
from handlers.guard import enter
from handlers.services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    """Attach the view_submission listeners."""

    async def on_declare(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        enter("modal")
        user_id = payloads.user_id(body)
        try:
            form = read_declare_form(payloads.view(body), services.settings.catalog)
            await services.guard.require(user_id, Action.START, form.service)
        except FormError as exc:
            await ack(response_action="errors", errors={exc.block_id: str(exc)})
            return
        except AccessDenied as exc:
            await ack(response_action="errors", errors={"summary": str(exc)[:150]})
            return
        try:
            services.tasks.spawn(_declare(services, form, user_id), name="view:declare")
        except SupervisorBusy as exc:
            await ack(response_action="errors", errors={"summary": str(exc)})
            return
        await ack()

    app.view(DECLARE_CALLBACK)(on_declare)


async def _declare(services: Services, form: DeclareForm, user_id: str) -> None:
    service = services.triage.service(form.service)
    incident = await services.triage.declare(Declaration(
        service=service, summary=form.summary, severity=form.severity, actor=user_id))
    if form.channel_id and form.channel_id != incident.channel:
        try:
            await services.client.chat_postEphemeral(
                channel=form.channel_id, user=user_id,
                text=f"Declared {incident.id} for {service.name} in <#{incident.channel}>.")
        except Exception:
            log.warning("could not confirm the declaration", extra={"incident_id": incident.id})
