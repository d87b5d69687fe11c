"""The RCA through Slack: the modal opens at once, fills in, saves with a version check,
and exports as Markdown to the thread."""

from __future__ import annotations

from bot.models import Section
from tests.handlers.test_commands import start, texts
from tests.support.bot_harness import BotHarness
from triage_sim.slack.blockkit import validate_view


async def open_form(bot: BotHarness, user: str = "U0ALICE") -> str:
    card = bot.slack.messages("C0CHECKOUT", include_replies=False)[0]
    before = {v.id for v in bot.slack.views()}
    await bot.sender.click("C0CHECKOUT", card.ts, "walk.rca", user_id=user)
    view = await bot.slack.wait_for(
        lambda: next((v for v in bot.slack.views() if v.id not in before and v.updates), None),
        what="the RCA form filled in")
    assert view is not None
    return view.id


def form_values(bot: BotHarness, view_id: str, **changes: str) -> dict[str, dict[str, str]]:
    blocks = bot.slack.view(view_id).view["blocks"]
    values = {b["block_id"]: {"text": b["element"].get("initial_value", "")}
              for b in blocks if b["type"] == "input"}
    for section, text in changes.items():
        values[section] = {"text": text}
    return values


async def test_draft_rca_opens_at_once_then_fills_in(bot: BotHarness) -> None:
    await start(bot, "start checkout p99 above 2s")
    view_id = await open_form(bot)
    calls = [c.method for c in bot.slack.calls if c.method.startswith("views.")]
    assert calls[:2] == ["views.open", "views.update"]
    view = bot.slack.view(view_id).view
    assert validate_view(dict(view)) == []
    prefilled = " ".join(b["element"].get("initial_value", "") for b in view["blocks"]
                         if b["type"] == "input")
    assert "has not run" in prefilled  # no evidence yet, and the draft says so
    assert "declared (U0ALICE): p99 above 2s" in prefilled
    assert "No evidence cited yet" in texts(view["blocks"])
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels == ["Observed symptom", "Contributing factors", "Root cause", "Fix",
                      "Prevention", "Timeline"]


async def test_save_records_the_author_and_a_conflicting_save_is_refused(
    bot: BotHarness,
) -> None:
    await start(bot, "start checkout memory climbing")
    alice_form = await open_form(bot, "U0ALICE")
    bob_form = await open_form(bot, "U0BOB")
    saved = await bot.sender.submit_view(alice_form, form_values(
        bot, alice_form, root_cause="SessionCache keeps an Arc to every session"),
        user_id="U0ALICE")
    assert saved.status == 200 and not saved.ack()
    refused = await bot.sender.submit_view(bob_form, form_values(
        bot, bob_form, root_cause="It was the network"), user_id="U0BOB")
    ack = refused.ack()
    assert ack is not None and ack["response_action"] == "errors"
    assert "U0ALICE saved a newer version" in ack["errors"]["symptom"]
    await bot.idle()
    rca = await bot.services.triage.rca.rcas.get("INC-1")
    assert rca is not None and rca.version == 1
    root = rca.sections[Section.ROOT_CAUSE]
    assert (root.text, root.origin, root.edited_by) == (
        "SessionCache keeps an Arc to every session", "human", "U0ALICE")
    assert rca.sections[Section.SYMPTOM].origin == "draft"  # untouched: still the bot's
    replies = [m.text for m in bot.slack.messages("C0CHECKOUT")[1:]]
    assert any("edited the RCA of INC-1 (version 1)" in r for r in replies)
    # Bob reopens and sees Alice's text, marked as hers.
    again = await open_form(bot, "U0BOB")
    blocks = {b["block_id"]: b for b in bot.slack.view(again).view["blocks"]
              if b["type"] == "input"}
    assert blocks["root_cause"]["element"]["initial_value"].startswith("SessionCache")
    assert blocks["root_cause"]["hint"]["text"] == "Written by U0ALICE"


async def test_rca_export_posts_markdown_to_the_thread(bot: BotHarness) -> None:
    await start(bot, "start checkout errors after deploy")
    answer = await start(bot, "rca export")
    assert "Posted the RCA of INC-1 to its thread" in answer
    files = bot.slack.files()
    assert [f.filename for f in files] == ["rca-INC-1.md"]
    text = (files[0].content or b"").decode()
    assert text.startswith("# RCA INC-1: errors after deploy")
    assert "## Root cause" in text
    card = bot.slack.messages("C0CHECKOUT", include_replies=False)[0]
    assert any(m.files for m in bot.slack.thread("C0CHECKOUT", card.ts)[1:])
