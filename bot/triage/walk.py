"""The walk: run one step for one incident, exactly once at a time, and re-rank.

A running step holds a short lease (its owner renews it while the step runs): if the process
dies mid-step, the lease runs out within ``STEP_LEASE_S`` and :meth:`Walk.sweep_interrupted`
marks the step failed as interrupted, says so on the timeline and redraws the card, so a
person can run it again at once instead of seeing "running" for ever.

Every step runs under a deadline; a backend that is missing or failing makes the step
``failed`` with a message that says so, and the other steps still run. After each step the
signals gathered so far are ranked against every playbook; the rules of the leading
candidates add their findings (with hints) to the step's own.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Catalog
from bot.errors import InputError, StoreError, TriageError
from bot.models import (
    Diagnosis,
    EventKind,
    Finding,
    FrameShare,
    Incident,
    Signals,
    StepName,
    StepResult,
    StepStatus,
    TimelineEvent,
    WalkContextState,
    Window,
    utcnow,
)
from bot.models.outbox import redraw_item
from bot.sources.window import TimeWindow
from bot.store.alerts import AlertStateStore
from bot.store.baselines import BaselineStore
from bot.store.claims import ClaimStore
from bot.store.incidents import IncidentStore
from bot.store.walk import WalkStore
from bot.triage.baseline import usable
from bot.triage.diagnosis import rank
from bot.triage.playbook_loader import PlaybookSet
from bot.triage.reproduce import reproduction_finding
from bot.triage.rules import evaluate
from bot.triage.steps import logs, metrics, profile, traces
from bot.triage.steps.base import Runner, StepContext, StepDeps, StepOutput

log = logging.getLogger(__name__)

RUNNERS: Mapping[StepName, Runner] = {
    StepName.METRICS: metrics.run, StepName.LOGS: logs.run,
    StepName.TRACES: traces.run, StepName.PROFILE: profile.run,
}
DEFAULT_LOOKBACK = timedelta(minutes=45)
RULE_CANDIDATES = 3
Clock = Callable[[], datetime]
#: How long a running step's lease outlives its runner: how soon a crash is noticed.
STEP_LEASE_S = 10.0
#: The claim scope of a step run (``TriageService.is_step_running`` reads it too).
STEP_RUN = "step-run"
#: Told each step's outcome (done, failed, interrupted), e.g. to count it on /metrics.
OutcomeHook = Callable[[StepName, str], None]


@dataclass(frozen=True)
class WalkStores:
    """The state the walk reads and writes."""

    incidents: IncidentStore
    walk: WalkStore
    alerts: AlertStateStore
    claims: ClaimStore
    #: Services' calm-period profiles (None: the diagnosis uses its rules of thumb).
    baselines: BaselineStore | None = None


@dataclass(frozen=True)
class StepRun:
    """One run of a step: its result, and the ranking before and after it."""

    result: StepResult
    before: Diagnosis | None
    after: Diagnosis

    @property
    def leader_changed(self) -> bool:
        """Whether the step changed which pattern leads."""
        return _leader(self.after) != _leader(self.before)


def _leader(diagnosis: Diagnosis | None) -> str | None:
    leader = diagnosis.leader if diagnosis is not None else None
    return leader.playbook if leader is not None else None


class Walk:
    """Runs steps for incidents; the same object serves Slack, the CLI and scheduled jobs."""

    def __init__(self, stores: WalkStores, playbooks: PlaybookSet, catalog: Catalog,
                 deps: StepDeps, *, clock: Clock = utcnow, step_timeout_s: float = 120.0
                 ) -> None:
        self.stores = stores
        self.playbooks = playbooks
        self.catalog = catalog
        self.deps = deps
        self.clock = clock
        self.step_timeout_s = step_timeout_s
        self.step_lease_s = STEP_LEASE_S
        self.on_outcome: OutcomeHook | None = None

    async def run_step(
        self, incident: Incident, step: StepName, actor: str | None,
        on_start: Callable[[], Awaitable[None]] | None = None,
    ) -> StepRun | None:
        """Run ``step`` unless it is already running for this incident (then None)."""
        key = f"{incident.id}:{step.value}"
        owner = uuid.uuid4().hex
        if not await self.stores.claims.lease(STEP_RUN, key, owner, self._lease_ms):
            return None
        keeper = asyncio.get_running_loop().create_task(self._keep_lease(key, owner),
                                                        name="step:lease")
        try:
            await self.stores.walk.save_result(
                incident.id, StepResult(step=step, status=StepStatus.RUNNING, ran_by=actor))
            if on_start is not None:
                await on_start()
            result, before = await self._execute(incident, step, actor)
            await self.stores.walk.save_result(incident.id, result)
            after = await self._rerank(incident)
            await self.stores.incidents.add_event(incident.id, TimelineEvent(
                kind=EventKind.STEP_DONE if result.status is StepStatus.DONE
                else EventKind.STEP_FAILED, actor=actor, text=step.value,
                data={"findings": len(result.findings), "error": result.error}))
            self._count(step, result.status.value)
            return StepRun(result, before, after)
        finally:
            keeper.cancel()
            with suppress(asyncio.CancelledError):
                await keeper
            await self.stores.claims.release_lease(STEP_RUN, key, owner)

    @property
    def _lease_ms(self) -> int:
        return int(self.step_lease_s * 1000)

    async def _keep_lease(self, key: str, owner: str) -> None:
        """Renew the running step's lease every third of it, until cancelled or lost."""
        while True:
            await asyncio.sleep(self.step_lease_s / 3)
            with suppress(StoreError):  # a blip: the next renewal may still make it
                if not await self.stores.claims.renew(STEP_RUN, key, owner, self._lease_ms):
                    log.warning("step lease lost", extra={"step": key})
                    return

    def _count(self, step: StepName, outcome: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(step, outcome)

    async def sweep_interrupted(self, iids: Iterable[str]) -> list[tuple[str, StepName]]:
        """Mark failed (interrupted) every step shown running whose lease ran out."""
        found = []
        for iid in iids:
            for step, result in (await self.stores.walk.results(iid)).items():
                if result.status is StepStatus.RUNNING and await self._interrupted(iid, step):
                    found.append((iid, step))
        return found

    async def _interrupted(self, iid: str, step: StepName) -> bool:
        """Under the step's own claim (so one sweeper wins, and no run starts meanwhile)."""
        key, owner = f"{iid}:{step.value}", f"sweep:{uuid.uuid4().hex}"
        if not await self.stores.claims.lease(STEP_RUN, key, owner, self._lease_ms):
            return False  # its runner still holds the lease: it is running
        try:
            current = (await self.stores.walk.results(iid)).get(step)
            if current is None or current.status is not StepStatus.RUNNING:
                return False
            message = (f"{step.value} was interrupted: the bot running it stopped before it "
                       "finished. Retry runs it again.")
            await self.stores.walk.save_result(iid, StepResult(
                step=step, status=StepStatus.FAILED, started_at=current.started_at,
                finished_at=utcnow(), error=message, ran_by=current.ran_by))
            await self.stores.incidents.add_event(iid, TimelineEvent(
                kind=EventKind.STEP_FAILED, actor=None, text=step.value,
                data={"error": message, "interrupted": True}), [redraw_item(iid)])
            self._count(step, "interrupted")
            log.warning("step interrupted", extra={"incident_id": iid, "step": step.value})
            return True
        finally:
            await self.stores.claims.release_lease(STEP_RUN, key, owner)

    async def _execute(self, incident: Incident, step: StepName, actor: str | None
                       ) -> tuple[StepResult, Diagnosis | None]:
        started = utcnow()
        before: Diagnosis | None = None
        try:
            ctx = await self.context(incident)
            before = ctx.diagnosis
            async with asyncio.timeout(self.step_timeout_s):
                output = await RUNNERS[step](ctx, self.deps)
        except TimeoutError:
            return _failed(step, started, actor, f"{step.value} did not finish within "
                                                 f"{self.step_timeout_s:g} s"), before
        except TriageError as exc:
            return _failed(step, started, actor, str(exc)), before
        except Exception as exc:
            # A bug, or a backend answer no parser foresaw: the step fails and says so; it is
            # never left "running", and the walk goes on.
            log.exception("step crashed", extra={"incident_id": incident.id, "step": step.value})
            return _failed(step, started, actor, f"{step.value} failed inside the bot "
                                                 f"({type(exc).__name__}); it has been logged"
                           ), before
        if step is StepName.METRICS:
            await self._remember_context(incident.id, output)
        window = output.window or ctx.window
        findings = [*output.findings, *self._rule_findings(ctx, output.signals, step)]
        return StepResult(step=step, status=StepStatus.DONE, started_at=started,
                          finished_at=utcnow(), findings=findings, signals=output.signals,
                          window=Window(start=window.start, end=window.end), ran_by=actor), before

    async def context(self, incident: Incident) -> StepContext:
        """What a step knows: the service, step 1's decisions, signals so far, the leader."""
        service = self.catalog.get(incident.service or "")
        if service is None:
            raise InputError(f"{incident.id} is not about a catalog service, so there is "
                             "nothing the bot may query for it.")
        now = self.clock()
        saved = await self.stores.walk.context(incident.id)
        alert_start = await self._alert_start(incident)
        window = (TimeWindow(saved.window_start, now) if saved.window_start
                  else TimeWindow(min(alert_start or now, now) - DEFAULT_LOOKBACK, now))
        diagnosis = await self.stores.walk.diagnosis(incident.id)
        leader = self.playbooks.get(diagnosis.leader.playbook) if diagnosis and \
            diagnosis.leader else None
        return StepContext(
            incident_id=incident.id, service=service, now=now, window=window,
            playbooks=self.playbooks, alertname=incident.labels.get("alertname"),
            labels=incident.labels, anomaly_start=saved.anomaly_start or alert_start,
            signals=await self.signals(incident.id), leader=leader, roles=saved.roles,
            diagnosis=diagnosis, baseline=await self.baseline(service.name))

    async def baseline(self, service: str) -> list[FrameShare] | None:
        """The service's calm-period CPU frame shares, once it has enough of them."""
        if self.stores.baselines is None:
            return None
        return usable(await self.stores.baselines.get(service))

    async def _alert_start(self, incident: Incident) -> datetime | None:
        states = await self.stores.alerts.states(incident.id)
        starts = [s.starts_at for s in states]
        return min(starts) if starts else None

    async def _remember_context(self, iid: str, output: StepOutput) -> None:
        await self.stores.walk.save_context(iid, WalkContextState(
            roles=dict(output.roles), anomaly_start=output.anomaly_start,
            window_start=output.window.start if output.window else None,
            window_end=output.window.end if output.window else None))

    async def signals(self, iid: str) -> Signals:
        """Every signal gathered so far, the latest step's value winning."""
        results = await self.stores.walk.results(iid)
        return merge_signals(r.signals for r in results.values()
                             if r.status is StepStatus.DONE)

    def _rule_findings(self, ctx: StepContext, new: Signals, step: StepName) -> list[Finding]:
        signals = merge_signals([ctx.signals, new])
        ranking = rank(self.playbooks, signals, ctx.alertname, ctx.labels, ctx.baseline)
        found: list[Finding] = []
        for candidate in ranking.candidates[:RULE_CANDIDATES]:
            playbook = self.playbooks.get(candidate.playbook)
            if playbook is not None:
                found.extend(evaluate(playbook, signals, step))
        return found + _reproduction(ranking, self.playbooks, signals, step)

    async def _rerank(self, incident: Incident) -> Diagnosis:
        diagnosis = rank(self.playbooks, await self.signals(incident.id),
                         incident.labels.get("alertname"), incident.labels,
                         await self.baseline(incident.service or ""))
        await self.stores.walk.save_diagnosis(incident.id, diagnosis)
        return diagnosis


def _reproduction(ranking: Diagnosis, playbooks: PlaybookSet, signals: Signals,
                  step: StepName) -> list[Finding]:
    """After the profile step, the leading cause's local reproduction plan, in the thread."""
    if step is not StepName.PROFILE:
        return []
    plan = reproduction_finding(ranking, playbooks, signals)
    return [plan] if plan is not None else []


def merge_signals(parts: Iterable[Signals]) -> Signals:
    """Union of signals; later parts override numbers and replace non-empty lists."""
    merged = Signals()
    for part in parts:
        merged = replace_signals(merged, part)
    return merged


def replace_signals(base: Signals, new: Signals) -> Signals:
    """``base`` updated with ``new``."""
    return Signals(
        numbers={**base.numbers, **new.numbers},
        frames=new.frames or base.frames,
        frames_kind=new.frames_kind if new.frames else base.frames_kind,
        log_patterns=new.log_patterns or base.log_patterns,
        span_categories=new.span_categories or base.span_categories,
    )


def _failed(step: StepName, started: datetime, actor: str | None, message: str) -> StepResult:
    return StepResult(step=step, status=StepStatus.FAILED, started_at=started,
                      finished_at=utcnow(), error=message, ran_by=actor)

