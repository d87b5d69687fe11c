"""What scheduled jobs work with, passed to every job function as its first argument.

Job functions are named by reference (``bot.jobs.reminders:sweep``) so the job table can be
rebuilt from the configuration on any replica; the scheduler binds each to the running bot's
:class:`JobContext` when it builds its table. Nothing is looked up from ambient state, so two
bots in one process (tests) each run their jobs against their own services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Catalog, ScheduleConfig, Settings
from bot.models import utcnow
from bot.slack.outbound import SlackOutbound
from bot.sources.registry import Sources
from bot.store.leases import LeaseStore
from bot.store.vitals import VitalsStore
from bot.triage.service import TriageService

__all__ = ["JobContext"]


@dataclass(frozen=True)
class JobContext:
    """The services job functions use, typed (not a dict)."""

    settings: Settings
    triage: TriageService
    sources: Sources
    #: For messages to a channel rather than an incident's thread (digest, memory warning).
    outbound: SlackOutbound
    vitals: VitalsStore
    leases: LeaseStore
    clock: Callable[[], datetime] = utcnow

    @property
    def schedule(self) -> ScheduleConfig:
        """The ``schedule`` section of the configuration."""
        return self.settings.file.schedule

    @property
    def catalog(self) -> Catalog:
        """The service catalog."""
        return self.settings.catalog
