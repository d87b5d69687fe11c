"""The one object handlers receive: everything they may call, built by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.observability import BotMetrics
from bot.slack.publisher import CardPublisher
from bot.store.alerts import AlertStateStore
from bot.store.claims import ClaimStore
from bot.tasks import TaskSupervisor
from bot.triage.incidents import IncidentService
from bot.triage.rca_service import RcaService
from bot.triage.walk import Walk
from handlers.replies import ResponseUrls


@dataclass(frozen=True)
class Services:
    """Dependencies of the handlers, typed, instead of a context dict."""

    settings: Settings
    incidents: IncidentService
    claims: ClaimStore
    alert_states: AlertStateStore
    publisher: CardPublisher
    tasks: TaskSupervisor
    metrics: BotMetrics
    client: AsyncWebClient
    walk: Walk
    rca: RcaService
    replies: ResponseUrls
