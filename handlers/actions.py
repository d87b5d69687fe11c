"""Card buttons. Each click is acked at once; the state change is atomic, so a double click
(or two responders clicking together) changes the incident once and posts once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.models import Incident
from bot.slack import payloads
from bot.slack.cards import ACTION_ASSIGN_ME, ACTION_RESOLVE
from bot.tasks import SupervisorBusy
from bot.triage.access import Action
from handlers.guard import enter
from handlers.replies import report_failure
from handlers.services import Services


def register(app: AsyncApp, services: Services) -> None:
    """Attach the card's button listeners."""

    def listener(work: Callable[[Services, Incident, str], Awaitable[None]], name: str,
                 needs: Action) -> Any:
        async def on_click(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
            enter("button")
            respond = services.replies.reply_to(body)
            await ack()
            user_id = payloads.user_id(body)

            async def run() -> None:
                try:
                    await work(services, await services.guard.button(body, needs), user_id)
                except Exception as exc:
                    await report_failure(respond, exc)

            try:
                services.tasks.spawn(run(), name=f"action:{name}")
            except SupervisorBusy as exc:
                await report_failure(respond, exc)
        return on_click

    app.action(ACTION_ASSIGN_ME)(listener(_assign_me, "assign_me", Action.TAKE))
    app.action(ACTION_RESOLVE)(listener(_resolve, "resolve", Action.RESOLVE))


async def _assign_me(services: Services, incident: Incident, user_id: str) -> None:
    await services.triage.take(incident, user_id)


async def _resolve(services: Services, incident: Incident, user_id: str) -> None:
    await services.triage.resolve(incident, user_id)
