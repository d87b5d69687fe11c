"""The access policy as pure functions, and the user-group cache over a fake fetch."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import AccessConfig, Catalog, ServiceConfig
from bot.models import EventKind, TimelineEvent
from bot.models.incident import surface_var
from bot.triage.access import (
    AccessPolicy,
    Action,
    GroupDirectory,
    Role,
    refusal,
    required_role,
    role_of,
)

CATALOG = Catalog((ServiceConfig(name="checkout", owners=["U0ALICE", "S0PAY"]),
                   ServiceConfig(name="search")))
POLICY = AccessPolicy.from_config(
    AccessConfig(responders=["U0DAVE", "S0ONCALL"], admins=["U0BOB"]), CATALOG)


@pytest.mark.parametrize(("user", "groups", "service", "role"), [
    ("U0BOB", (), None, Role.ADMIN),
    ("U0DAVE", (), "search", Role.RESPONDER),
    ("U0ERIN", ("S0ONCALL",), None, Role.RESPONDER),
    ("U0ALICE", (), "checkout", Role.RESPONDER),
    ("U0ALICE", (), "search", Role.READER),
    ("U0FRED", ("S0PAY",), "checkout", Role.RESPONDER),
    ("U0FRED", ("S0PAY",), "search", Role.READER),
    ("U0CAROL", (), "checkout", Role.READER),
])
def test_roles(user: str, groups: tuple[str, ...], service: str | None, role: Role) -> None:
    assert role_of(POLICY, user, groups, service) is role


def test_without_an_access_block_nobody_is_refused() -> None:
    policy = AccessPolicy.from_config(None, CATALOG)
    assert not policy.enabled
    assert all(role_of(policy, "U0ANY", (), None) >= required_role(a) for a in Action)


def test_the_policy_knows_every_group_it_names() -> None:
    assert POLICY.groups == {"S0ONCALL", "S0PAY"}


def test_reading_is_never_an_action_and_admins_alone_reopen_or_overwrite() -> None:
    assert {a for a in Action if required_role(a) is Role.ADMIN} == {
        Action.REOPEN, Action.RCA_OVERWRITE}
    assert not {"help", "status", "list", "services"} & {a.value for a in Action}


def test_a_refusal_names_the_role_and_how_to_get_it() -> None:
    text = refusal(Action.STEP, Role.RESPONDER, "checkout")
    assert text == ("You need the responder role to run triage steps. Ask to be added to "
                    "access.responders (or as an owner of checkout).")
    assert "access.admins" in refusal(Action.REOPEN, Role.ADMIN, None)
    assert all(len(refusal(a, required_role(a), "a-long-service-name")) <= 150 for a in Action)


class FakeSlack:
    def __init__(self) -> None:
        self.members: dict[str, frozenset[str]] = {"S0ONCALL": frozenset({"U0DAVE"})}
        self.asked = 0
        self.failing = False

    async def fetch(self, group: str) -> frozenset[str]:
        self.asked += 1
        if self.failing:
            raise RuntimeError("invalid_auth")
        return self.members.get(group, frozenset())


async def test_groups_are_cached_then_refreshed_and_kept_when_slack_fails() -> None:
    slack, now = FakeSlack(), [0.0]
    directory = GroupDirectory(slack.fetch, refresh_s=60, clock=lambda: now[0])
    assert await directory.groups_of("U0DAVE", ["S0ONCALL"]) == {"S0ONCALL"}
    slack.members["S0ONCALL"] = frozenset({"U0ERIN"})
    assert await directory.members("S0ONCALL") == {"U0DAVE"} and slack.asked == 1
    now[0] = 61
    assert await directory.members("S0ONCALL") == {"U0ERIN"} and slack.asked == 2
    slack.failing, now[0] = True, 200
    assert await directory.members("S0ONCALL") == {"U0ERIN"}
    assert await directory.members("S0NEVERSEEN") == frozenset()


async def test_timeline_events_carry_the_surface_of_the_task_that_records_them() -> None:
    async def recorded_under(surface: str | None) -> str | None:
        if surface is not None:
            surface_var.set(surface)
        return TimelineEvent(kind=EventKind.NOTE).surface

    assert await asyncio.create_task(recorded_under("job")) == "job"
    assert await asyncio.create_task(recorded_under(None)) is None  # the other task's is not seen
    assert TimelineEvent(kind=EventKind.NOTE, surface="cli").surface == "cli"
