"""/triage through HTTP, signed like Slack, against the stand-in and a real Redis."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.app import METRICS
from tests.support.bot_harness import BotHarness
from tests.support.polling import eventually
from triage_sim.slack.blockkit import validate_blocks


def texts(blocks: Any) -> str:
    """All text in a list of blocks, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
    walk(blocks)
    return "\n".join(out)


async def reply(bot: BotHarness, delivery: Any) -> str:
    """The text the caller saw: the ack, or the response_url post after it."""
    ack = delivery.ack()
    if ack:
        return texts(ack.get("blocks")) + ack.get("text", "")
    post = await bot.slack.wait_for(lambda: bot.slack.response_posts(delivery.response_url),
                                    what="a response_url post")
    assert post[-1].payload.get("response_type") == "ephemeral"
    return texts(post[-1].payload.get("blocks")) + str(post[-1].payload.get("text"))


async def start(bot: BotHarness, text: str, channel: str = "C0CHECKOUT") -> str:
    delivery = await bot.sender.slash_command("/triage", text, channel_id=channel)
    answer = await reply(bot, delivery)
    await bot.idle()
    return answer


async def test_help_and_services_are_answered_in_the_ack(bot: BotHarness) -> None:
    delivery = await bot.sender.slash_command("/triage", "help", channel_id="C0RANDOM")
    assert delivery.status == 200 and delivery.latency < 3
    ack = delivery.ack()
    assert ack is not None and ack["response_type"] == "ephemeral"
    assert "/triage start <service>" in texts(ack["blocks"])
    services = (await bot.sender.slash_command("/triage", "services", channel_id="C0RANDOM")).ack()
    assert services is not None
    assert "*checkout* (aka checkout-api)" in texts(services["blocks"])
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_start_posts_a_valid_card_in_the_service_channel(bot: BotHarness) -> None:
    answer = await start(bot, "start checkout-api p99 above 2s --severity=critical", "C0RANDOM")
    assert "Declared INC-1 for checkout in <#C0CHECKOUT>" in answer
    card = bot.slack.messages("C0CHECKOUT")[0]
    assert validate_blocks(list(card.blocks)) == []
    shown = texts(card.blocks)
    assert "INC-1 · checkout" in shown and "p99 above 2s" in shown
    assert "critical" in shown and "Open" in shown and "nobody" in shown
    incident = await bot.services.triage.incidents.store.get("INC-1")
    assert incident is not None and incident.card_ts == card.ts
    assert incident.created_by == "U0ALICE"


async def test_unknown_verb_service_and_missing_args_store_nothing(bot: BotHarness) -> None:
    for text, expected in [("deploy now", "Unknown command `deploy`"),
                           ("start nosuch boom", "Unknown service `nosuch`"),
                           ("note", "`note` needs the text"),
                           ("assign INC-1 bob", "needs exactly one @mention")]:
        delivery = await bot.sender.slash_command("/triage", text, channel_id="C0CHECKOUT")
        ack = delivery.ack()
        assert ack is not None and ack["response_type"] == "ephemeral", text
        assert expected in ack["text"], ack
        assert "/triage" in ack["text"]
    await bot.idle()
    assert await bot.services.triage.incidents.store.list_open() == []
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_user_text_cannot_ping_the_channel(bot: BotHarness) -> None:
    await start(bot, "start checkout <!channel> everything is down")
    card = bot.slack.messages("C0CHECKOUT")[0]
    assert "<!channel>" not in texts(card.blocks)
    assert "&lt;!channel&gt;" in texts(card.blocks)


async def test_status_list_note_assign_resolve_in_the_service_channel(bot: BotHarness) -> None:
    await start(bot, "start checkout pool exhausted")
    card = bot.slack.messages("C0CHECKOUT")[0]
    assert "Noted on INC-1" in await start(bot, "note rolled back 1.4.2")
    assert "Assigned INC-1" in await start(bot, "assign <@U0BOB|bob>")
    assert "already assigned" in await start(bot, "assign INC-1 <@U0BOB>")
    status = await start(bot, "status")
    assert "rolled back 1.4.2" in status and "<@U0BOB>" in status and "Timeline" in status
    listing = await start(bot, "list", "C0RANDOM")
    assert "INC-1" in listing and "pool exhausted" in listing
    assert "Resolved INC-1" in await start(bot, "resolve checkout fixed pool size")
    assert "already resolved" in await start(bot, "resolve INC-1")
    thread = [m.text for m in bot.slack.thread("C0CHECKOUT", card.ts)[1:]]
    assert thread == [":memo: <@U0ALICE> noted: rolled back 1.4.2",
                      ":bust_in_silhouette: <@U0ALICE> assigned <@U0BOB>.",
                      ":white_check_mark: <@U0ALICE> resolved INC-1: fixed pool size"]
    final = bot.slack.message("C0CHECKOUT", card.ts)
    assert "Resolved by <@U0ALICE>" in texts(final.blocks)
    buttons = [e["action_id"] for b in final.blocks if b["type"] == "actions"
               for e in b["elements"]]
    assert buttons == ["walk.rca"]  # no Resolve, Assign or step buttons once resolved
    assert "No open incidents" in await start(bot, "list")
    kinds = [e.kind.value for e in await bot.services.triage.incidents.store.timeline("INC-1")]
    assert kinds == ["declared", "card_posted", "note", "assigned", "resolved"]


async def test_ambiguous_and_missing_references_are_explained(bot: BotHarness) -> None:
    assert "no open incident in this channel" in await start(bot, "status", "C0RANDOM")
    await start(bot, "start checkout one")
    await start(bot, "start payments two")
    answer = await start(bot, "note something", "C0CHECKOUT")
    assert "Several incidents are open in this channel" in answer
    assert "INC-1" in answer and "INC-2" in answer
    assert "There is no incident INC-77" in await start(bot, "status INC-77")
    assert "Noted on INC-2" in await start(bot, "note payments retrying")


async def test_bad_signature_and_stale_timestamp_are_rejected(bot: BotHarness) -> None:
    bad = await bot.sender.slash_command("/triage", "start checkout x", channel_id="C0CHECKOUT",
                                         bad_signature=True)
    stale = await bot.sender.slash_command("/triage", "start checkout x",
                                           channel_id="C0CHECKOUT", timestamp_offset=-600)
    assert (bad.status, stale.status) == (401, 401)
    await bot.idle()
    assert await bot.services.triage.incidents.store.list_open() == []
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_start_without_arguments_opens_the_modal_and_submission_declares(
    bot: BotHarness,
) -> None:
    await bot.sender.slash_command("/triage", "start", channel_id="C0RANDOM")
    call = await bot.slack.wait_for_call("views.open")
    assert call.ok
    view = bot.slack.views(open_only=True)[0]
    empty = await bot.sender.submit_view(view.id, {"service": {"service": "search"}})
    assert empty.ack() == {"response_action": "errors",
                           "errors": {"summary": "Say in a few words what is happening."}}
    done = await bot.sender.submit_view(view.id, {
        "service": {"service": "search"}, "summary": {"summary": "index lag"},
        "severity": {"severity": "warning"}})
    assert done.status == 200 and not done.ack()
    card = await bot.slack.wait_for_message("C0SEARCH")
    assert "index lag" in texts(card.blocks) and "warning" in texts(card.blocks)
    await bot.idle()
    notice = bot.slack.ephemerals("C0RANDOM", "U0ALICE")
    assert notice and "Declared INC-1 for search" in notice[-1].text


async def test_double_clicked_resolve_resolves_once(bot: BotHarness) -> None:
    await start(bot, "start checkout latency")
    card = bot.slack.messages("C0CHECKOUT")[0]
    clicks = await asyncio.gather(
        bot.sender.click("C0CHECKOUT", card.ts, "incident.resolve"),
        bot.sender.click("C0CHECKOUT", card.ts, "incident.resolve", user_id="U0BOB"))
    assert [c.status for c in clicks] == [200, 200]
    await bot.idle()
    replies = bot.slack.thread("C0CHECKOUT", card.ts)[1:]
    assert len(replies) == 1 and "resolved INC-1" in replies[0].text
    kinds = [e.kind.value for e in await bot.services.triage.incidents.store.timeline("INC-1")]
    assert kinds.count("resolved") == 1


async def test_assign_me_button(bot: BotHarness) -> None:
    await start(bot, "start search slow queries", "C0SEARCH")
    card = bot.slack.messages("C0SEARCH")[0]
    await bot.sender.click("C0SEARCH", card.ts, "incident.assign_me", user_id="U0BOB")
    await bot.idle()
    assert "<@U0BOB>" in texts(bot.slack.message("C0SEARCH", card.ts).blocks)


async def test_redelivered_event_is_answered_once(bot: BotHarness) -> None:
    await start(bot, "start checkout errors")
    root = bot.slack.add_user_message("C0CHECKOUT", "<@U0TRIAGEBOT> status", "U0ALICE")
    event = {"type": "app_mention", "user": "U0ALICE", "text": "<@U0TRIAGEBOT> status",
             "ts": root.ts, "channel": "C0CHECKOUT", "event_ts": root.ts}
    first = await bot.sender.event(event, event_id="Ev0STATUS1")
    assert first.status == 200
    answer = await bot.slack.wait_for(lambda: bot.slack.thread("C0CHECKOUT", root.ts)[1:],
                                      what="the answer in the thread")
    # Slack signs each delivery anew: a retry in the same second as the first would carry the
    # same signature and be refused as a replay, so it is signed a second later.
    retry = await bot.sender.send_raw(
        json.dumps(first.payload).encode(), "application/json", timestamp_offset=1,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status == 200
    duplicates = bot.app[METRICS].duplicates.labels("event")
    await eventually(lambda: duplicates._value.get() == 1, what="the retry to be ignored")
    await bot.idle()
    assert bot.slack.thread("C0CHECKOUT", root.ts)[1:] == answer
    assert "INC-1" in texts(answer[0].blocks)
