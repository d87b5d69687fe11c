"""Who may do what, through the real server over HTTP, the Slack stand-in and a real Redis.

People: alice owns checkout (a responder for it), dave is in the on-call user group
S0ONCALL (a responder everywhere), bob is an admin, carol is only a reader in the same
channel, and eve types from another workspace.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.app import REDIS, Runtime
from bot.cli.audit import run_audit
from bot.logs import JsonFormatter
from bot.models import IncidentStatus, StepName
from bot.slack.cards import ACTION_ASSIGN_ME, ACTION_RESOLVE
from bot.slack.walk_blocks import STEP_ACTIONS
from bot.triage.access import AccessDenied
from handlers.alerts import authorized
from tests.handlers.test_commands import reply
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import (
    ALERT_TOKEN,
    SIGNING_SECRET,
    BotHarness,
    populate,
    running_bot,
)
from triage_sim.slack.payloads import Actor
from triage_sim.slack.sender import SlackSender
from triage_sim.slack.standin import SlackStandIn

TEAM = "T0TRIAGE"
ACCESS = {"responders": ["S0ONCALL"], "admins": ["U0BOB"], "max_profile_seconds": 5,
          "profile_cooldown": "2m", "steps_per_minute": 2}


@pytest.fixture
async def bot(redis_url: str, key_prefix: str) -> AsyncIterator[BotHarness]:
    async with SlackStandIn() as slack:
        populate(slack)
        slack.add_user("U0CAROL", "carol")
        slack.add_user("U0DAVE", "dave")
        slack.add_usergroup("S0ONCALL", "oncall", ["U0DAVE"])
        overrides = {"access": ACCESS,
                     "slack": {"default_channel": "C0INCIDENTS", "team_id": TEAM}}
        async with running_bot(redis_url, key_prefix, slack=slack,
                               overrides=overrides) as harness:
            yield harness


async def command(bot: BotHarness, text: str, user: str = "U0ALICE",
                  channel: str = "C0CHECKOUT") -> str:
    delivery = await bot.sender.slash_command("/triage", text, channel_id=channel, user_id=user)
    answer = await reply(bot, delivery)
    await bot.idle()
    return answer


async def click(bot: BotHarness, action_id: str, user: str, channel: str = "C0CHECKOUT"
                ) -> str:
    card = bot.slack.messages(channel)[0]
    delivery = await bot.sender.click(channel, card.ts, action_id, user_id=user)
    answer = await reply(bot, delivery)
    await bot.idle()
    return answer


async def redis_state(client: aioredis.Redis, prefix: str) -> dict[str, Any]:
    """Every key under the prefix with its value, except the door's replay markers (each
    signed delivery, refused or not, is remembered so that it cannot be replayed)."""
    state: dict[str, Any] = {}
    async for key in client.scan_iter(f"{prefix}:*"):
        if f"{prefix}:claim:slack-signature:" in key:
            continue
        kind = await client.type(key)
        read = {"string": client.get, "list": lambda k: client.lrange(k, 0, -1),
                "hash": client.hgetall, "set": client.smembers,
                "zset": lambda k: client.zrange(k, 0, -1, withscores=True)}[kind]
        state[key] = (kind, await read(key))
    return state


def web_api_calls(bot: BotHarness) -> list[tuple[str, str]]:
    return [(c.method, json.dumps(c.args, sort_keys=True, default=str))
            for c in bot.slack.ws.calls]


def refusals(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    return [line for line in lines if line.get("event") == "access_refused"]


async def test_a_reader_reads_but_every_change_is_refused_and_changes_nothing(
        bot: BotHarness, key_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert "Declared INC-1" in await command(bot, "start checkout p99 above 2s")
    assert "INC-1" in await command(bot, "status INC-1", user="U0CAROL")
    redis = bot.app[REDIS]
    before, calls_before = await redis_state(redis, key_prefix), web_api_calls(bot)
    for text in ["note INC-1 it is the database", "assign INC-1 <@U0CAROL|carol>",
                 "resolve INC-1", "metrics INC-1", "profile INC-1", "rca INC-1",
                 "rca export INC-1", "start checkout another one"]:
        answer = await command(bot, text, user="U0CAROL")
        assert "You need the responder role" in answer, text
        assert "access.responders" in answer
    for action_id in (ACTION_RESOLVE, ACTION_ASSIGN_ME, STEP_ACTIONS[StepName.LOGS]):
        assert "You need the responder role" in await click(bot, action_id, "U0CAROL")
    assert await redis_state(redis, key_prefix) == before
    assert web_api_calls(bot) == calls_before
    logged = refusals(caplog)
    assert len(logged) == 11 and {line["user_id"] for line in logged} == {"U0CAROL"}
    assert {line["action"] for line in logged} == {
        "note", "assign", "resolve", "step", "rca", "rca_export", "start", "take"}


async def test_owners_and_user_group_members_are_responders(bot: BotHarness) -> None:
    await command(bot, "start checkout p99 above 2s")
    assert "Noted on INC-1" in await command(bot, "note INC-1 owner here")
    assert "Noted on INC-1" in await command(bot, "note INC-1 on call here", user="U0DAVE")
    card = bot.slack.messages("C0CHECKOUT")[0]
    await bot.sender.click("C0CHECKOUT", card.ts, ACTION_ASSIGN_ME, user_id="U0DAVE")
    await bot.idle()
    incident = await bot.services.triage.get("INC-1")
    assert incident is not None and incident.assignee == "U0DAVE"
    # search has no owners: alice is only a reader there; the group is asked once (cached).
    answer = await command(bot, "start search slow", channel="C0SEARCH")
    assert "You need the responder role" in answer and "owner of search" in answer
    assert len(bot.slack.calls_to("usergroups.users.list")) == 1


async def test_a_button_acts_only_on_the_incident_of_its_card(
        bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await command(bot, "start checkout errors")
    await command(bot, "start search slow", user="U0DAVE", channel="C0SEARCH")
    card = bot.slack.messages("C0CHECKOUT")[0]
    # A forged payload: the checkout card's Resolve button carrying INC-2 (search's).
    forged = json.loads(json.dumps(list(card.blocks)).replace('"INC-1"', '"INC-2"'))
    messages = bot.slack.ws.messages["C0CHECKOUT"]
    messages[0] = replace(messages[0], blocks=tuple(forged))
    answer = await click(bot, ACTION_RESOLVE, "U0DAVE")
    assert "does not belong to that incident's card" in answer
    second = await bot.services.triage.get("INC-2")
    assert second is not None and second.status is IncidentStatus.OPEN
    assert refusals(caplog)[-1]["reason"] == "button not on the incident's card"


async def test_another_workspace_is_refused_at_the_door(bot: BotHarness) -> None:
    await command(bot, "start checkout errors")
    eve = Actor("U0EVE", "eve", "T0OTHER", "other", bot.slack.ws.app_id)
    bot.sender.actor = eve
    delivery = await bot.sender.slash_command("/triage", "resolve INC-1", channel_id="C0CHECKOUT")
    ack = delivery.ack()
    assert ack is not None and "only the workspace it is installed in" in ack["text"]
    card = bot.slack.messages("C0CHECKOUT")[0]
    clicked = await bot.sender.click("C0CHECKOUT", card.ts, ACTION_RESOLVE)
    assert clicked.status == 403
    await bot.idle()
    incident = await bot.services.triage.get("INC-1")
    assert incident is not None and incident.status is IncidentStatus.OPEN


async def test_one_profile_per_service_within_the_cooldown(bot: BotHarness,
                                                           key_prefix: str) -> None:
    await command(bot, "start checkout cpu")
    first = await command(bot, "profile INC-1")
    assert "Running the profile step" in first
    second = await command(bot, "profile INC-1", user="U0DAVE")
    assert "checkout is being profiled or was profiled recently" in second
    assert "The next profile is possible at" in second
    redis = bot.app[REDIS]
    slots = [k async for k in redis.scan_iter(f"{key_prefix}:profile-slot:*")]
    assert len(slots) == 1 and 100_000 < await redis.pttl(slots[0]) <= 120_000


async def test_steps_are_rate_limited_per_person(bot: BotHarness) -> None:
    await command(bot, "start checkout cpu")
    # Two per minute in fixed windows: five requests span at most two windows, so at least
    # one is refused, whatever second the test starts in.
    answers = [await command(bot, "logs INC-1", user="U0DAVE") for _ in range(5)]
    refused = [a for a in answers if "steps within a minute; try again in" in a]
    assert 1 <= len(refused) <= 3
    assert "Running the logs step" in await command(bot, "logs INC-1")  # alice: her own limit


async def test_only_an_admin_changes_an_rca_section_someone_else_wrote(
        bot: BotHarness) -> None:
    await command(bot, "start checkout errors")
    incident = await bot.services.triage.get("INC-1")
    assert incident is not None
    rca = await bot.services.triage.draft_rca(incident)
    saved = await bot.services.triage.save_rca(incident, rca.version,
                                               {s: "alice wrote this" for s in rca.sections},
                                               {s: rca.text(s) for s in rca.sections},
                                               "U0ALICE")
    assert saved is not None
    guard = bot.services.guard
    submitted = {s: "dave rewrote it" for s in saved.sections}
    prefilled = {s: saved.text(s) for s in saved.sections}
    with pytest.raises(AccessDenied, match="You need the admin role to change an RCA section"):
        await guard.rca_edit("U0DAVE", incident, saved, submitted, prefilled)
    await guard.rca_edit("U0BOB", incident, saved, submitted, prefilled)
    await guard.rca_edit("U0ALICE", incident, saved, submitted, prefilled)
    await guard.rca_edit("U0DAVE", incident, saved, prefilled, prefilled)  # unchanged: fine


@pytest.fixture
def audit_config(tmp_path: Path, redis_url: str, key_prefix: str,
                 monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration file (and REDIS_URL) for the CLI, pointing at the bot's Redis keys."""
    config = tmp_path / "triage.yaml"
    config.write_text(f"redis: {{key_prefix: {key_prefix}}}\n", encoding="utf-8")
    monkeypatch.setenv("REDIS_URL", redis_url)
    return config


async def test_audit_prints_who_did_what_when_and_from_where(
        bot: BotHarness, audit_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answer = await bot.post_alert(notification("{}:{alertname=\"HighLatency\"}",
                                               [alert("HighLatency", service="checkout")]))
    assert answer.status == 200 and answer.body["incident"] == "INC-1"
    await bot.idle()
    await command(bot, "note INC-1 looking at the pool")
    card = bot.slack.messages("C0CHECKOUT")[0]
    await bot.sender.click("C0CHECKOUT", card.ts, ACTION_ASSIGN_ME, user_id="U0DAVE")
    await bot.idle()
    args = argparse.Namespace(incident="inc-1", config=audit_config)
    assert await asyncio.to_thread(run_audit, args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("INC-1 · checkout · open")
    rows = [line.split() for line in out[1:]]
    assert rows[0][1:4] == ["webhook", "alertmanager", "declared"]
    assert rows[-2][1:5] == ["command", "U0ALICE", "note", "looking"]
    assert rows[-1][1:4] == ["button", "U0DAVE", "assigned"]
    assert any(row[1:4] == ["webhook", "alertmanager", "step_failed"] for row in rows)


async def test_secrets_never_reach_the_logs_or_metrics(
        bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.post_alert(notification("g", [alert("HighLatency", service="checkout")]),
                         auth="Bearer wrong-token")
    await bot.post_alert(notification("g", [alert("HighLatency", service="checkout")]))
    await bot.idle()
    bot.slack.fail_next("chat.postMessage", status=200, error="channel_not_found", times=3)
    bot.slack.fail_next("usergroups.users.list", status=200, error="invalid_auth")
    await command(bot, "note INC-1 under fire", user="U0DAVE")
    await command(bot, "start checkout second one")
    await command(bot, "resolve INC-1", user="U0CAROL")
    await bot.sender.send_raw(b"payload=%7Bbroken", "application/x-www-form-urlencoded")
    await bot.sender.send_raw(b"{}", "application/json", bad_signature=True)
    await bot.idle()
    async with bot.http.get(f"{bot.base_url}/metrics") as response:
        metrics = await response.text()
    logs = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "access_refused" in logs and "triage_slack_rejected_total" in metrics
    for secret in ("xoxb-test-token", SIGNING_SECRET, ALERT_TOKEN):
        assert secret not in logs and secret not in metrics, secret


@pytest.mark.parametrize(("header", "ok"), [
    ("Bearer old-token", True), ("Bearer new-token", True), ("Bearer other", False),
    ("Basic " + base64.b64encode(b"am:new-token").decode(), True), ("Bearer ", False),
    ("Bearer old-token,new-token", False)])
def test_the_alert_token_rotates_with_two_tokens(header: str, ok: bool) -> None:
    assert authorized(header, "old-token, new-token") is ok
    assert authorized("Bearer new-token", "new-token")


async def test_only_an_admin_reopens_a_resolved_incident(bot: BotHarness) -> None:
    await command(bot, "start checkout errors")
    assert "Resolved INC-1" in await command(bot, "resolve INC-1 fixed by rollback")
    refused = await command(bot, "reopen INC-1", user="U0DAVE")
    assert "You need the admin role to reopen incidents" in refused
    assert "access.admins" in refused
    assert "Reopened INC-1" in await command(bot, "reopen INC-1 it came back", user="U0BOB")
    incident = await bot.services.triage.get("INC-1")
    assert incident is not None and incident.is_open and incident.resolved_by is None
    thread = [m.text for m in bot.slack.messages("C0CHECKOUT")]
    assert any("<@U0BOB> reopened INC-1: it came back" in t for t in thread)
    assert "INC-1 is open already" in await command(bot, "reopen INC-1", user="U0BOB")
    assert "needs the incident's id" in await command(bot, "reopen checkout", user="U0BOB")


async def test_another_workspace_is_refused_over_socket_mode(redis_url: str,
                                                             key_prefix: str) -> None:
    async with SlackStandIn() as slack:
        populate(slack)
        runtime = Runtime(socket_mode=True, channel_interval_s=0.01, drain_seconds=5)
        overrides = {"access": ACCESS, "slack": {"default_channel": "C0INCIDENTS",
                                                 "team_id": TEAM}}
        async with running_bot(redis_url, key_prefix, slack=slack, runtime=runtime,
                               overrides=overrides) as bot:
            await slack.wait_for_socket()
            sender = SlackSender(slack)
            await sender.slash_command("/triage", "start checkout errors", channel_id="C0CHECKOUT")
            await slack.wait_for_message("C0CHECKOUT")
            await bot.idle()
            sender.actor = Actor("U0EVE", "eve", "T0OTHER", "other", slack.ws.app_id)
            refused = await sender.slash_command("/triage", "resolve INC-1",
                                                 channel_id="C0CHECKOUT")
            ack = refused.ack()
            assert ack is not None and "only the workspace it is installed in" in ack["text"]
            await bot.idle()
            incident = await bot.services.triage.get("INC-1")
            assert incident is not None and incident.status is IncidentStatus.OPEN
