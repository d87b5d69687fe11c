"""The one object handlers receive: everything they may call, built by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.observability import BotMetrics
from bot.store.claims import ClaimStore
from bot.tasks import TaskSupervisor
from bot.triage.service import TriageService
from handlers.guard import Guard
from handlers.replies import ResponseUrls


@dataclass(frozen=True)
class Services:
    """Dependencies of the handlers, typed, instead of a context dict.

    ``triage`` holds every use case; ``client`` is for what only a Slack listener does
    (opening modals, ephemeral confirmations); ``claims`` deduplicates Slack's redeliveries.
    """

    settings: Settings
    triage: TriageService
    claims: ClaimStore
    tasks: TaskSupervisor
    metrics: BotMetrics
    client: AsyncWebClient
    replies: ResponseUrls
    #: Who may do what, and the bounds on costly actions (handlers/guard.py).
    guard: Guard

    @property
    def step_deadline_s(self) -> float:
        """How long a step's task may take, its own timeout plus reporting."""
        return self.triage.walk.step_timeout_s + 60
