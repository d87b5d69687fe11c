"""What a responder may type for a silence: durations and matchers, refused with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import InputError
from bot.models.silence import (
    Matcher,
    format_matchers,
    matchers_for_labels,
    parse_matchers,
    parse_silence_duration,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)), ("1h", timedelta(hours=1)), (" 4h ", timedelta(hours=4)),
    ("7d", timedelta(days=7)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_silence_duration(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("forever", "not a duration"), ("0m", "between 1 minute and 7 days"),
    ("8d", "between 1 minute and 7 days"), ("1.5h", "not a duration"), ("", "not a duration"),
])
def test_bad_durations_say_why(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_silence_duration(text)


def test_matchers_round_trip_every_operator() -> None:
    text = 'service="checkout"\nalertname=~"High.*", env!="dev"\npod!~"canary-.*"'
    matchers = parse_matchers(text)
    assert [m.operator() for m in matchers] == ["=", "=~", "!=", "!~"]
    assert parse_matchers(format_matchers(matchers)) == matchers


@pytest.mark.parametrize(("text", "message"), [
    ("", "at least one matcher"), ("not a matcher", "is not a matcher"),
    ('env!="dev"', "would mute every alert"), ('job=~".*"', "would mute every alert"),
])
def test_matchers_that_would_do_harm_or_nothing_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_matchers(text)


def test_prefill_from_group_labels_is_sorted_equality() -> None:
    assert matchers_for_labels({"service": "checkout", "alertname": "P99"}) == [
        Matcher(name="alertname", value="P99"), Matcher(name="service", value="checkout")]
