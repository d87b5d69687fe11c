"""Property tests: Slack's inputs are read without any exception but the project's own.

- the door's ``parse_slack_request``: never raises; a request or None, for any bytes and
  content type;
  and whatever it lets through, Bolt can build its context from and match listeners on;
- the ``/triage`` grammar ``parse_command``: a Command or InputError, for any text;
- the modal readers (declare, RCA): a form or FormError/InputError, for arbitrary views and
  mutations of the real view_submission and of the views the bot itself builds;
- the listeners' body readers (``bot.slack.payloads``): never raise, always a string, for
  block_actions bodies whose ``actions``, ``user``, ``value`` are missing or of the wrong type.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_bolt.listener_matcher import builtins as bolt_matchers
from slack_bolt.request import BoltRequest
from slack_bolt.request import payload_utils as bolt_payloads
from slack_bolt.response import BoltResponse

from bot.errors import InputError
from bot.models import commands as cmd
from bot.slack import payloads
from bot.slack.cards import ACTION_ASSIGN_ME, ACTION_RESOLVE
from bot.slack.modals import DeclareForm, FormError, read_declare_form
from bot.slack.rca_modal import RcaSubmission, read_rca_submission
from bot.slack.walk_blocks import ACTION_RCA, STEP_ACTIONS
from handlers.slack_http import parse_slack_request
from tests.fuzz.slack_bodies import (
    BLOCK_ACTIONS,
    CATALOG,
    EVENT,
    FORM,
    SLASH,
    VIEW_SUBMISSION,
    as_form,
    filled_declare_view,
    filled_rca_view,
)
from tests.fuzz.strategies import FUZZ, SLACK_WORDS, json_values, mangled_bytes, mutated


def parse_slack_body(body: bytes, content_type: str) -> dict[str, object] | None:
    """The fields the door hands to Bolt, or None when it refuses the body."""
    request = parse_slack_request(body, "", {"Content-Type": content_type})
    return None if request is None else request.body


ACTION_IDS = [ACTION_ASSIGN_ME, ACTION_RESOLVE, ACTION_RCA, *STEP_ACTIONS.values()]
DOOR_BODIES = [(SLASH, FORM), (as_form(BLOCK_ACTIONS), FORM), (as_form(VIEW_SUBMISSION), FORM),
               (json.dumps(EVENT).encode(), "application/json")]


# --- the door --------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_door_mangled_bodies(data: st.DataObject) -> None:
    body, content_type = data.draw(st.sampled_from(DOOR_BODIES))
    content_type = data.draw(st.sampled_from([content_type, FORM, "application/json", ""]))
    parsed = parse_slack_body(data.draw(mangled_bytes(body)), content_type)
    assert parsed is None or isinstance(parsed, dict)


@FUZZ
@given(data=st.data())
def test_door_mutated_payloads(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from([BLOCK_ACTIONS, VIEW_SUBMISSION, EVENT]))
    doc = data.draw(mutated(original, SLACK_WORDS))
    for body, content_type in ((as_form(doc), FORM), (json.dumps(doc).encode(),
                                                       "application/json")):
        parsed = parse_slack_body(body, content_type)
        assert parsed is None or isinstance(parsed, dict)


def test_door_refuses_deeply_nested_payloads() -> None:
    """json.loads raises RecursionError (not ValueError) past ~1000 levels."""
    deep = "[" * 100_000 + "]" * 100_000
    assert parse_slack_body(urlencode({"payload": deep}).encode(), FORM) is None
    assert parse_slack_body(deep.encode(), "application/json") is None


# --- the command grammar ---------------------------------------------------------------------

def _is_ref(word: str) -> bool:
    return word.upper().startswith("INC-") or CATALOG.get(word) is not None


_words = st.one_of(st.sampled_from([*cmd.USAGE, "declare", "export", "INC-7", "checkout",
                                    "<@U0ALICE>", "<@U0BOB|bob>", "--severity=p1",
                                    "--severity=\u00e9", "--severity=", "@alice"]),
                   st.text(max_size=12))


@FUZZ
@given(text=st.one_of(st.text(max_size=300), st.lists(_words, max_size=6).map(" ".join),
                      st.text(min_size=1990, max_size=2100)))
def test_command_grammar(text: str) -> None:
    try:
        command = cmd.parse_command(text, _is_ref)
    except InputError as exc:
        assert str(exc)
        return
    for value in vars(command).values():
        assert value is None or isinstance(value, str | bool) or hasattr(value, "value")


# --- the modal readers -----------------------------------------------------------------------

def _read_declare(view: Any) -> DeclareForm | None:
    try:
        form = read_declare_form(payloads.mapping(view), CATALOG)
    except FormError as exc:
        assert exc.block_id in {"service", "summary", "severity"}
        return None
    assert CATALOG.get(form.service) is not None and form.summary
    return form


def _read_rca(view: Any) -> RcaSubmission | None:
    try:
        submission = read_rca_submission(payloads.mapping(view))
    except InputError as exc:
        assert "damaged" in str(exc)
        return None
    assert isinstance(submission.incident_id, str) and isinstance(submission.version, int)
    assert all(isinstance(text, str) for text in submission.texts.values())
    return submission


def test_real_and_own_views_read() -> None:
    assert _read_declare(filled_declare_view()) is not None
    assert _read_rca(filled_rca_view()) is not None
    assert _read_declare(VIEW_SUBMISSION["view"]) is None  # not our form: "pick a service"


@FUZZ
@given(view=json_values(SLACK_WORDS))
def test_modal_readers_arbitrary_views(view: Any) -> None:
    _read_declare(view)
    _read_rca(view)


@FUZZ
@given(data=st.data())
def test_modal_readers_mutated_views(data: st.DataObject) -> None:
    declare = data.draw(mutated(filled_declare_view(), SLACK_WORDS))
    _read_declare(declare)
    rca = data.draw(mutated(filled_rca_view(), SLACK_WORDS))
    _read_rca(rca)
    rca = filled_rca_view()
    metadata = json.loads(rca["private_metadata"])
    rca["private_metadata"] = json.dumps(data.draw(mutated(metadata, SLACK_WORDS)))
    _read_rca(rca)
    _read_declare(data.draw(mutated(VIEW_SUBMISSION["view"], SLACK_WORDS)))


def test_rca_version_that_is_not_a_whole_number_is_damage() -> None:
    view = filled_rca_view()
    for version in (1e400, "3", None, True, [3]):
        metadata = json.loads(view["private_metadata"])
        metadata["version"] = version
        view["private_metadata"] = json.dumps(metadata)
        assert _read_rca(view) is None


# --- what listeners read of block_actions bodies ---------------------------------------------

@FUZZ
@given(data=st.data())
def test_interaction_fields(data: st.DataObject) -> None:
    body = data.draw(st.one_of(mutated(BLOCK_ACTIONS, SLACK_WORDS),
                               mutated(VIEW_SUBMISSION, SLACK_WORDS)))
    for key in ("actions", "user", "view", "response_url", "response_urls"):
        if data.draw(st.booleans()):
            body[key] = data.draw(json_values(SLACK_WORDS, leaves=6))
    assert isinstance(payloads.action_value(body), str)
    assert isinstance(payloads.user_id(body), str)
    assert isinstance(payloads.view(body), dict)
    assert payloads.response_url(body) is None or isinstance(payloads.response_url(body), str)


# --- what the door lets through, Bolt can route -----------------------------------------------

_MATCHERS = [bolt_matchers.command("/triage"), bolt_matchers.event("app_mention"),
             bolt_matchers.view("triage.declare"), bolt_matchers.view("triage.rca"),
             *(bolt_matchers.action(action_id) for action_id in ACTION_IDS)]
_EXTRACTORS = [bolt_payloads.to_event, bolt_payloads.to_message, bolt_payloads.to_command,
               bolt_payloads.to_action, bolt_payloads.to_options, bolt_payloads.to_shortcut,
               bolt_payloads.to_view, bolt_payloads.to_step]


def _bolt_routes(body: bytes, content_type: str) -> None:
    """Build Bolt's request (its context) and run the matchers and the argument builders."""
    request = BoltRequest(body=body.decode(), headers={"content-type": content_type})
    response = BoltResponse(status=200)
    for matcher in _MATCHERS:
        matcher.matches(request, response)
    for extract in _EXTRACTORS:
        extract(request.body)


@FUZZ
@given(data=st.data())
def test_what_the_door_accepts_bolt_can_route(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from([BLOCK_ACTIONS, VIEW_SUBMISSION, EVENT,
                                          filled_declare_view()]))
    doc = data.draw(mutated(original, SLACK_WORDS))
    for body, content_type in ((as_form(doc), FORM), (json.dumps(doc).encode(),
                                                      "application/json")):
        if parse_slack_body(body, content_type) is not None:
            _bolt_routes(body, content_type)


@pytest.mark.parametrize("payload", [
    {**BLOCK_ACTIONS, "actions": [{"value": "INC-1"}]},
    {**BLOCK_ACTIONS, "actions": []},
    {**BLOCK_ACTIONS, "actions": {"0": {}}},
    {**BLOCK_ACTIONS, "user": 5},
    {**BLOCK_ACTIONS, "authorizations": "x"},
    {**BLOCK_ACTIONS, "response_urls": ["x"]},
    {**VIEW_SUBMISSION, "view": {**VIEW_SUBMISSION["view"], "type": None}},
    {**VIEW_SUBMISSION, "view": "V1"},
    {**EVENT, "event": "app_mention"},
    {"type": "workflow_step_edit", "callback_id": "x"},
])
def test_door_refuses_shapes_bolt_cannot_route(payload: dict[str, Any]) -> None:
    assert parse_slack_body(as_form(payload), FORM) is None


def test_door_reads_a_repeated_field_as_bolt_does() -> None:
    """Bolt keeps the last ``payload``; checking the first would let the second through."""
    body = as_form(BLOCK_ACTIONS) + b"&" + as_form({**BLOCK_ACTIONS, "actions": []})
    assert parse_slack_body(body, FORM) is None
