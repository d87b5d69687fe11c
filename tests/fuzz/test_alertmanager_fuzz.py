"""Property tests: ``parse_alertmanager`` raises only InputError, and what it accepts is usable.

Four kinds of body: arbitrary JSON with the webhook's field names, real payloads mutated in
1-3 places, real payloads truncated or with bytes overwritten, and valid payloads with odd
parts (times with and without a zone, huge label maps, non-string label values). Whatever is
accepted must be safe for what comes after the parser: times are zone-aware, starts far enough
from datetime's ends for the walk's window arithmetic, and the alert's state round-trips
through its stored JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InputError
from bot.models.alerts import AlertGroup, AlertState, alert_state, parse_alertmanager
from tests.fuzz.strategies import (
    ALERTMANAGER_WORDS,
    FUZZ,
    alertmanager_fixtures,
    json_values,
    mangled_bytes,
    mutated,
)
from tests.support.alert_payloads import alert, notification

FIXTURES = [path.read_bytes() for path in alertmanager_fixtures()]
# The walk looks back from the earliest start; a day either way must not overflow.
MARGIN = timedelta(days=1)


def check_usable(group: AlertGroup) -> None:
    """What the intake, the store and the walk do with a parsed group must not fail."""
    starts = [a.starts_at for a in group.alerts]
    for moment in [*starts, *(a.ends_at for a in group.alerts if a.ends_at)]:
        assert moment.utcoffset() is not None
    for moment in starts:
        assert moment - MARGIN < moment + MARGIN
    if starts:
        min(starts)  # zoned and zoneless times mixed in one group broke this
    for item in group.alerts:
        state = alert_state(item)
        assert AlertState.model_validate_json(state.model_dump_json()) == state
        json.dumps([item.labels, item.annotations, item.fingerprint]).encode()


def only_input_errors(body: bytes) -> AlertGroup | None:
    """Parse ``body``: an InputError, or a group that is safe to use; nothing else."""
    try:
        group = parse_alertmanager(body)
    except InputError as exc:
        assert str(exc)
        return None
    check_usable(group)
    return group


def test_fixtures_parse() -> None:
    for body in FIXTURES:
        assert only_input_errors(body) is not None


@FUZZ
@given(doc=json_values(ALERTMANAGER_WORDS))
def test_arbitrary_json(doc: Any) -> None:
    only_input_errors(json.dumps(doc).encode())


@FUZZ
@given(data=st.data())
def test_mutated_real_payloads(data: st.DataObject) -> None:
    original = json.loads(data.draw(st.sampled_from(FIXTURES)))
    only_input_errors(json.dumps(data.draw(mutated(original, ALERTMANAGER_WORDS))).encode())


@FUZZ
@given(data=st.data())
def test_mangled_bytes(data: st.DataObject) -> None:
    only_input_errors(data.draw(mangled_bytes(data.draw(st.sampled_from(FIXTURES)))))


_times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda t: t.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    st.sampled_from(["2026-11-27T10:00:00", "2026-11-27T10:00:00Z", "2026-11-27T10:00:00+14:00",
                     "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59-23:59", "1970-01-01T00:00:00", "2026-11-27"]),
)
_label_values = st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none(),
                          st.booleans(), st.lists(st.text(max_size=3), max_size=2))


@FUZZ
@given(starts=st.lists(_times, min_size=1, max_size=4), ends=st.lists(_times, max_size=4),
       extra=st.dictionaries(st.text(max_size=12), _label_values, max_size=8))
def test_odd_times_and_labels(starts: list[str], ends: list[str], extra: dict[str, Any]) -> None:
    alerts = [alert("MemoryGrowth", starts_at=start, service="checkout", instance=f"i{n}")
              for n, start in enumerate(starts)]
    for item, end in zip(alerts, ends, strict=False):
        item["endsAt"] = end
    alerts[0]["labels"].update(extra)
    only_input_errors(json.dumps(notification("{}:{alertname=\"MemoryGrowth\"}", alerts)).encode())


def test_zoneless_times_are_read_as_utc() -> None:
    """One zoned and one zoneless ``startsAt`` in a group: both aware, comparable, UTC."""
    body = notification("{}:{}", [
        alert("A", starts_at="2026-11-27T10:00:00+02:00", instance="a"),
        alert("B", starts_at="2026-11-27T09:00:00", instance="b"),
    ])
    group = parse_alertmanager(json.dumps(body).encode())
    zoned, zoneless = (a.starts_at for a in group.alerts)
    assert zoneless == datetime(2026, 11, 27, 9, tzinfo=UTC)
    assert min(zoned, zoneless) == zoned  # 08:00 UTC
    check_usable(group)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
                                  "9999-12-31T23:59:59-23:59"])
def test_start_at_the_ends_of_time_is_refused(when: str) -> None:
    body = notification("{}:{}", [alert("A", starts_at=when)])
    with pytest.raises(InputError, match="startsAt"):
        parse_alertmanager(json.dumps(body).encode())


def test_huge_label_map_is_accepted_or_refused_plainly() -> None:
    labels = {f"l{n}": "v" * 50 for n in range(20000)}
    body = notification("{}:{}", [alert("A", **labels)])
    only_input_errors(json.dumps(body).encode())


def test_non_string_label_value_is_refused() -> None:
    body = notification("{}:{}", [alert("A")])
    body["alerts"][0]["labels"]["replicas"] = 3
    with pytest.raises(InputError, match=r"labels\.replicas"):
        parse_alertmanager(json.dumps(body).encode())
