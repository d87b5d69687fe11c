from __future__ import annotations

import pytest

from bot.sources import (
    Matcher,
    logql_selector,
    matcher_list,
    prom_selector,
    quote,
    render_logql,
    render_promql,
)


def test_quote_escapes_backslash_quote_and_newline() -> None:
    assert quote('a"b') == r'"a\"b"'
    assert quote("a\\b") == r'"a\\b"'
    assert quote("a\nb") == r'"a\nb"'
    assert quote("tab\tcr\r") == r'"tab\tcr\r"'


def test_quote_escapes_other_control_characters_and_keeps_unicode() -> None:
    assert quote("bell\x07") == r'"bell\u0007"'
    assert quote("moon🌙 é") == '"moon🌙 é"'


def test_injection_attempt_stays_one_literal() -> None:
    hostile = 'x"} or vector(1) # \\'
    selector = prom_selector({"job": hostile})
    assert selector == r'{job="x\"} or vector(1) # \\"}'


def test_prom_selector_keeps_catalog_order_and_adds_extra() -> None:
    assert prom_selector({"job": "checkout", "env": "prod"}) == '{job="checkout",env="prod"}'
    assert prom_selector({"job": "checkout"}, {"code": "500"}) == '{job="checkout",code="500"}'
    assert prom_selector({"job": "a"}, {"job": "a"}) == '{job="a"}'


def test_prom_selector_rejects_contradictions_empty_and_bad_names() -> None:
    with pytest.raises(ValueError, match="matched twice"):
        prom_selector({"job": "a"}, {"job": "b"})
    with pytest.raises(ValueError, match="no label matchers"):
        prom_selector({})
    with pytest.raises(ValueError, match="invalid label name"):
        prom_selector({"bad-name": "x"})


def test_matchers_with_operators() -> None:
    more = [Matcher("code", "=~", "5.."), Matcher("route", "!=", "/health")]
    assert matcher_list({"job": "x"}, more=more) == 'job="x",code=~"5..",route!="/health"'
    with pytest.raises(ValueError, match="operator"):
        Matcher("code", "==", "5")  # type: ignore[arg-type]


def test_render_promql_fills_the_selector_only() -> None:
    template = "sum by (le) (rate(http_request_duration_seconds_bucket{selector}[5m]))"
    assert render_promql(template, {"job": "checkout"}) == (
        'sum by (le) (rate(http_request_duration_seconds_bucket{job="checkout"}[5m]))'
    )


def test_render_promql_with_template_matchers_after_the_selector() -> None:
    template = 'sum(rate(http_requests_total{selector, code=~"5.."}[5m]))'
    assert render_promql(template, {"job": "x"}) == (
        'sum(rate(http_requests_total{job="x", code=~"5.."}[5m]))'
    )
    # With nothing to select on, the template's own matchers remain, without a stray comma.
    assert render_promql(template, {}) == 'sum(rate(http_requests_total{ code=~"5.."}[5m]))'


def test_render_promql_does_not_format_other_braces() -> None:
    template = 'label_replace(up{selector}, "x", "{0}", "job", "(.*)")'
    assert render_promql(template, {"job": "a{b}"}) == (
        'label_replace(up{job="a{b}"}, "x", "{0}", "job", "(.*)")'
    )


def test_render_requires_the_placeholder() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        render_promql("sum(rate(http_requests_total[5m]))", {"job": "x"})


def test_logql_selector_and_template() -> None:
    assert logql_selector({"app": "checkout"}, {"level": "error"}) == (
        '{app="checkout",level="error"}'
    )
    assert render_logql('sum(count_over_time({selector} |= "panic" [5m]))',
                        {"app": 'chk"out'}) == (
        r'sum(count_over_time({app="chk\"out"} |= "panic" [5m]))'
    )


def test_logql_needs_a_non_empty_equality_matcher() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        logql_selector({"app": ""})
    with pytest.raises(ValueError, match="non-empty"):
        logql_selector({}, more=[Matcher("app", "=~", ".+")])
