"""The running server under mutated input: no 5xx on any endpoint, no ERROR in the bot's log.

One real bot (tests/support/bot_harness.running_bot, real Redis, the Slack stand-in) gets:

- ``POST /slack/events``: signed mutations of the real slash-command, block_actions,
  view_submission and event_callback bodies, pointed at the bot's own commands, buttons and
  modals so they reach the listeners; signed bodies with mangled bytes; unsigned and wrongly
  signed ones;
- ``POST /alerts/alertmanager``: authenticated mutations of the real webhook payloads (and of
  a payload naming a catalog service, so the intake and the announcement run), and mangled
  bytes;
- ``GET /healthz``, ``/readyz``, ``/metrics`` with junk query strings.

A signed, well-formed-but-odd interaction is acked and then handled after the ack; a crash
there shows as "command failed" / "task failed" in the log, so the test waits for the bot's
background work to finish before it reads the log. Bodies come from a seeded mutator (the
same in every run); FUZZ_ENDPOINT_SEED picks other ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import string
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from bot.slack.cards import ACTION_ASSIGN_ME, ACTION_RESOLVE
from bot.slack.walk_blocks import ACTION_RCA, STEP_ACTIONS
from tests.fuzz.mutation import mangle, mutate, random_json
from tests.fuzz.slack_bodies import (
    BLOCK_ACTIONS,
    EVENT,
    FORM,
    SLASH,
    VIEW_SUBMISSION,
    as_form,
    filled_declare_view,
    filled_rca_view,
)
from tests.fuzz.strategies import ALERTMANAGER_WORDS, SLACK_WORDS, alertmanager_fixtures
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import ALERT_TOKEN, SIGNING_SECRET, BotHarness, running_bot
from triage_sim.slack.sender import slack_signature

BODIES_PER_ENDPOINT = int(os.environ.get("FUZZ_ENDPOINT_BODIES", "1000"))
SEED = int(os.environ.get("FUZZ_ENDPOINT_SEED", "12"))
PARALLEL = 4
ACTION_IDS = [ACTION_ASSIGN_ME, ACTION_RESOLVE, ACTION_RCA, *STEP_ACTIONS.values(), "other"]
VERBS = ["help", "start", "status", "list", "note", "assign", "resolve", "services", "metrics",
         "logs", "traces", "profile", "rca", "declare", "export", "checkout", "search",
         "INC-1", "INC-2", "INC-99", "<@U0ALICE>", "<@U0BOB|bob>", "--severity=p1", "<!here>"]
USERS = ["U0ALICE", "U0BOB", "W111"]
CHANNELS = ["C0CHECKOUT", "C0SEARCH", "C0INCIDENTS", "C0NOWHERE"]
Request = tuple[str, bytes, dict[str, str]]


class Bodies:
    """Makes the mutated requests; needs the stand-in for response URLs and trigger ids."""

    def __init__(self, bot: BotHarness, rng: random.Random) -> None:
        self.bot, self.rng = bot, rng
        self.serial = 0

    def _grants(self) -> tuple[str, str, str]:
        """A user, and a response_url and trigger_id the stand-in will accept for them."""
        user = self.rng.choice(USERS)
        channel = self.rng.choice(CHANNELS)
        return (user, self.bot.slack.issue_response_url(channel, user),
                self.bot.slack.issue_trigger_id(user))

    def _command_text(self) -> str:
        return " ".join(self.rng.choice(VERBS) for _ in range(self.rng.randrange(5)))

    def slash(self) -> tuple[bytes, str]:
        user, url, trigger = self._grants()
        fields = dict(parse_qsl(SLASH.decode()))
        fields |= {"command": "/triage", "text": self._command_text(), "user_id": user,
                   "channel_id": self.rng.choice(CHANNELS), "response_url": url,
                   "trigger_id": trigger}
        for _ in range(self.rng.randrange(3)):
            key = self.rng.choice([*fields, "command"])
            if self.rng.random() < 0.3 and key != "command":
                fields.pop(key, None)
            else:
                fields[key] = str(random_json(self.rng, VERBS, depth=0))
        return urlencode(fields).encode(), FORM

    def block_actions(self) -> tuple[bytes, str]:
        user, url, trigger = self._grants()
        body = json.loads(json.dumps(BLOCK_ACTIONS))
        body |= {"user": {"id": user}, "response_url": url, "trigger_id": trigger,
                 "channel": {"id": "C0CHECKOUT"}}
        body["actions"][0] |= {"action_id": self.rng.choice(ACTION_IDS),
                               "value": self.rng.choice(["INC-1", "INC-2", "INC-99", ""])}
        return as_form(self._maybe_mutated(body)), FORM

    def view_submission(self) -> tuple[bytes, str]:
        user, _, trigger = self._grants()
        body = json.loads(json.dumps(VIEW_SUBMISSION))
        view = self.rng.choice([filled_declare_view, lambda: filled_rca_view("INC-1")])()
        body |= {"user": {"id": user}, "trigger_id": trigger, "view": view}
        if self.rng.random() < 0.3:
            metadata = json.loads(view["private_metadata"])
            view["private_metadata"] = json.dumps(mutate(self.rng, metadata, SLACK_WORDS))
        return as_form(self._maybe_mutated(body)), FORM

    def event(self) -> tuple[bytes, str]:
        self.serial += 1
        body = json.loads(json.dumps(EVENT))
        body["event_id"] = f"EvFuzz{self.serial}"
        body["event"] |= {"text": f"<@UBOT> {self._command_text()}", "channel": "C0CHECKOUT"}
        return json.dumps(self._maybe_mutated(body)).encode(), "application/json"

    def _maybe_mutated(self, body: dict[str, Any]) -> Any:
        return mutate(self.rng, body, SLACK_WORDS) if self.rng.random() < 0.8 else body

    def slack(self) -> Request:
        """A request to /slack/events: mostly signed, some mangled, some unsigned."""
        make: Callable[[], tuple[bytes, str]] = self.rng.choice(
            [self.slash, self.block_actions, self.view_submission, self.event])
        body, content_type = make()
        roll = self.rng.random()
        if roll < 0.1:
            body = mangle(self.rng, body)
        headers = {"Content-Type": content_type}
        stamp = str(int(time.time()))
        if roll < 0.85:
            headers |= {"X-Slack-Request-Timestamp": stamp,
                        "X-Slack-Signature": slack_signature(SIGNING_SECRET, stamp, body)}
        elif roll < 0.92:
            headers |= {"X-Slack-Request-Timestamp": self.rng.choice([stamp, "abc", "", "-1"]),
                        "X-Slack-Signature": "v0=" + "0" * 64}
        return "/slack/events", body, headers

    def alertmanager(self, fixtures: list[Any]) -> Request:
        """An authenticated webhook body: a mutated real payload, or its bytes mangled."""
        original = self.rng.choice(fixtures)
        roll = self.rng.random()
        if roll < 0.15:
            body = mangle(self.rng, json.dumps(original).encode())
        else:
            body = json.dumps(mutate(self.rng, original, ALERTMANAGER_WORDS)).encode()
        auth = f"Bearer {ALERT_TOKEN}" if roll < 0.95 else "Bearer wrong"
        return "/alerts/alertmanager", body, {"Content-Type": "application/json",
                                              "Authorization": auth}

    def query(self, path: str) -> str:
        """``path`` with a junk query string: random printable, percent-escapes, raw bytes."""
        pick = self.rng.randrange(3)
        if pick == 0:
            junk = "".join(self.rng.choice(string.printable) for _ in range(self.rng.randrange(40)))
            return f"{path}?{quote(junk, safe='=&%')}"
        if pick == 1:
            return f"{path}?" + "&".join(f"{self.rng.choice(['a', 'name[]', '', '='])}="
                                         f"%{self.rng.randrange(256):02x}" for _ in range(5))
        return f"{path}?x={quote(bytes(self.rng.randrange(256) for _ in range(20)))}"


def alert_fixtures() -> list[Any]:
    ours = notification('{}:{alertname="MemoryGrowth"}', [
        alert("MemoryGrowth", service="checkout", instance="a"),
        alert("HighP99", service="search", instance="b", starts_at="2026-11-27T10:05:00"),
    ])
    return [ours, *(json.loads(path.read_text()) for path in alertmanager_fixtures())]


async def _post_all(bot: BotHarness, requests: list[Request]) -> Counter[int]:
    """POST every request, PARALLEL at a time; the count of each status."""
    statuses: Counter[int] = Counter()
    queue = list(reversed(requests))

    async def worker() -> None:
        while queue:
            path, body, headers = queue.pop()
            async with bot.http.post(bot.base_url + path, data=body, headers=headers) as answer:
                await answer.read()
                statuses[answer.status] += 1

    await asyncio.gather(*(worker() for _ in range(PARALLEL)))
    return statuses


async def _get_all(bot: BotHarness, urls: list[str]) -> Counter[int]:
    statuses: Counter[int] = Counter()
    for url in urls:
        async with bot.http.get(bot.base_url + url) as answer:
            await answer.read()
            statuses[answer.status] += 1
    return statuses


async def test_no_endpoint_answers_5xx_or_logs_an_error(
        redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(SEED)
    caplog.set_level(logging.WARNING)
    started = time.perf_counter()
    async with running_bot(redis_url, key_prefix) as bot:
        # INC-1 exists (checkout) so clicks and forms that name it reach real work.
        opened = await bot.post_alert(alert_fixtures()[0])
        assert opened.status == 200 and opened.body["incident"] == "INC-1"
        bodies = Bodies(bot, rng)
        fixtures = alert_fixtures()
        slack = await _post_all(bot, [bodies.slack() for _ in range(BODIES_PER_ENDPOINT)])
        alerts = await _post_all(bot, [bodies.alertmanager(fixtures)
                                       for _ in range(BODIES_PER_ENDPOINT)])
        health = {path: await _get_all(bot, [bodies.query(path)
                                             for _ in range(BODIES_PER_ENDPOINT // 3)])
                  for path in ("/healthz", "/readyz", "/metrics")}
        await bot.idle(within=60)
    elapsed = time.perf_counter() - started
    print(f"\nendpoint fuzz ({elapsed:.1f}s): /slack/events {dict(slack)}; "
          f"/alerts/alertmanager {dict(alerts)}; "
          + "; ".join(f"{path} {dict(counts)}" for path, counts in health.items()))
    for counts in (slack, alerts, *health.values()):
        assert not [status for status in counts if status >= 500], counts
    assert slack[200] > BODIES_PER_ENDPOINT // 4 and alerts[200] > BODIES_PER_ENDPOINT // 10
    errors = [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
              if r.levelno >= logging.ERROR or "command failed" in r.getMessage()]
    assert not errors, "\n".join(errors[:5])
