"""The walk's state per incident: each step's latest result, the ranking, the step context.

Results are stored whole (findings with their frozen evidence), so the RCA can cite them after
the backends' retention has dropped the data.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from redis.exceptions import RedisError

from bot.models.findings import Diagnosis, StepName, StepResult, StepStatus
from bot.models.walk import WalkContextState
from bot.store.connection import Redis, store_error
from bot.store.keys import Keys

_CONTEXT_FIELD = "_context"


class _StatusOnly(BaseModel):
    """A stored StepResult read for its status alone (the card asks on every redraw)."""

    status: StepStatus


def parse_statuses(raw: Sequence[str | bytes | None]) -> dict[StepName, StepStatus]:
    """Each step's state from the stored results (an ``HMGET`` in ``StepName`` order)."""
    # Findings, evidence and chart points are not built: only the status is needed.
    return {step: _StatusOnly.model_validate_json(value).status if value
            else StepStatus.NOT_STARTED for step, value in zip(StepName, raw, strict=True)}


class WalkStore:
    """Step results, diagnosis and step-1 context of each incident."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def save_result(self, iid: str, result: StepResult) -> None:
        """Replace the step's latest result."""
        try:
            await self._redis.hset(self._keys.steps(iid), result.step.value,
                                   result.model_dump_json())
        except RedisError as exc:
            raise store_error(exc) from exc

    async def results(self, iid: str) -> dict[StepName, StepResult]:
        """Latest result of each step that has run (or is running)."""
        try:
            raw = await self._redis.hgetall(self._keys.steps(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        names = {step.value: step for step in StepName}
        return {names[str(k)]: StepResult.model_validate_json(v) for k, v in raw.items()
                if str(k) in names}

    async def statuses(self, iid: str) -> dict[StepName, StepStatus]:
        """Each step's state, NOT_STARTED for those never run."""
        try:
            raw = await self._redis.hmget(self._keys.steps(iid), [s.value for s in StepName])
        except RedisError as exc:
            raise store_error(exc) from exc
        return parse_statuses(raw)

    async def save_context(self, iid: str, context: WalkContextState) -> None:
        """What step 1 decided (roles, anomaly start, window)."""
        try:
            await self._redis.hset(self._keys.steps(iid), _CONTEXT_FIELD,
                                   context.model_dump_json())
        except RedisError as exc:
            raise store_error(exc) from exc

    async def context(self, iid: str) -> WalkContextState:
        """Step 1's decisions, empty before it ran."""
        try:
            raw = await self._redis.hget(self._keys.steps(iid), _CONTEXT_FIELD)
        except RedisError as exc:
            raise store_error(exc) from exc
        return WalkContextState.model_validate_json(raw) if raw else WalkContextState()

    async def save_diagnosis(self, iid: str, diagnosis: Diagnosis) -> None:
        """The latest ranking of candidate patterns."""
        try:
            await self._redis.set(self._keys.diagnosis(iid), diagnosis.model_dump_json())
        except RedisError as exc:
            raise store_error(exc) from exc

    async def diagnosis(self, iid: str) -> Diagnosis | None:
        """The latest ranking, if any step has run."""
        try:
            raw = await self._redis.get(self._keys.diagnosis(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        return Diagnosis.model_validate_json(raw) if raw else None
