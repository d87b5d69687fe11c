"""PromQL, LogQL and TraceQL selectors built from catalog label matchers.

Label values come from the service catalog (or from playbooks), never from what a user typed,
and they are still escaped: a value with a quote, a backslash or a newline must stay one string
literal. The three languages share Go's string-literal escapes, so one quoting function serves
all of them. Templates are filled by replacing one token, not with ``str.format``: PromQL is
full of braces, and a format string would turn every ``{`` into a trap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Matcher",
    "logql_selector",
    "matcher_list",
    "prom_selector",
    "quote",
    "render_logql",
    "render_promql",
]

_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SELECTOR_TOKEN = re.compile(r"\{selector\s*(?:(,)|(?=\}))")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}

MatchOp = Literal["=", "!=", "=~", "!~"]


def quote(value: str) -> str:
    """``value`` as a double-quoted PromQL/LogQL/TraceQL string literal.

    Backslash, double quote, newline, carriage return and tab get their short escapes; any
    other control character becomes ``\\u00XX``, which all three lexers unquote the Go way.
    """
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Matcher:
    """One label matcher; ``value`` is a literal for ``=``/``!=`` and an RE2 regex otherwise."""

    name: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if not _LABEL_NAME_RE.match(self.name):
            raise ValueError(f"invalid label name {self.name!r}")
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"invalid match operator {self.op!r}")

    def render(self) -> str:
        """``name="value"`` with the value escaped."""
        return f"{self.name}{self.op}{quote(self.value)}"


def _matchers(
    matchers: Mapping[str, str], extra: Mapping[str, str] | None, more: Iterable[Matcher]
) -> list[Matcher]:
    merged: dict[str, str] = dict(matchers)
    for name, value in (extra or {}).items():
        if name in merged and merged[name] != value:
            raise ValueError(
                f"label {name!r} is matched twice with different values "
                f"({merged[name]!r} and {value!r}); the selector could never match"
            )
        merged[name] = value
    return [Matcher(name, "=", value) for name, value in merged.items()] + list(more)


def matcher_list(
    matchers: Mapping[str, str],
    extra: Mapping[str, str] | None = None,
    more: Sequence[Matcher] = (),
) -> str:
    """The comma-separated matchers without braces: ``job="checkout",env="prod"``."""
    return ",".join(m.render() for m in _matchers(matchers, extra, more))


def prom_selector(
    matchers: Mapping[str, str],
    extra: Mapping[str, str] | None = None,
    more: Sequence[Matcher] = (),
) -> str:
    """A PromQL series selector: ``{job="checkout"}``.

    Raises ValueError when there is nothing to match on: a bare ``{}`` is invalid PromQL, and
    a catalog entry without Prometheus labels must not silently query every service.
    """
    inner = matcher_list(matchers, extra, more)
    if not inner:
        raise ValueError("no label matchers: the service needs prometheus labels in the catalog")
    return "{" + inner + "}"


def logql_selector(
    matchers: Mapping[str, str],
    extra: Mapping[str, str] | None = None,
    more: Sequence[Matcher] = (),
) -> str:
    """A LogQL stream selector: ``{app="checkout"}``.

    Loki needs at least one equality matcher with a non-empty value; raises ValueError otherwise.
    """
    found = _matchers(matchers, extra, more)
    if not any(m.op == "=" and m.value for m in found):
        raise ValueError(
            "no usable label matcher: the service needs loki labels in the catalog "
            "(at least one with a non-empty value)"
        )
    return "{" + ",".join(m.render() for m in found) + "}"


def _render(template: str, inner: str) -> str:
    if not _SELECTOR_TOKEN.search(template):
        raise ValueError(f"query template has no {{selector}} placeholder: {template!r}")

    def replace(match: re.Match[str]) -> str:
        comma = match.group(1) is not None
        return "{" + inner + ("," if comma and inner else "")

    return _SELECTOR_TOKEN.sub(replace, template)


def render_promql(
    template: str,
    matchers: Mapping[str, str],
    extra: Mapping[str, str] | None = None,
    more: Sequence[Matcher] = (),
) -> str:
    """Fill a PromQL template's ``{selector}`` with the service's matchers.

    ``rate(http_requests_total{selector}[5m])`` becomes ``rate(http_requests_total{job="x"}[5m])``;
    ``x{selector, code=~"5.."}`` keeps the template's own matchers after the service's. Only
    the ``{selector`` token is touched; every other brace is left as written.
    """
    return _render(template, matcher_list(matchers, extra, more))


def render_logql(
    template: str,
    matchers: Mapping[str, str],
    extra: Mapping[str, str] | None = None,
    more: Sequence[Matcher] = (),
) -> str:
    """Fill a LogQL template's ``{selector}``.

    ``sum(count_over_time({selector} |= "panic" [5m]))`` gets the service's stream selector.
    """
    selector = logql_selector(matchers, extra, more)
    return _render(template, selector[1:-1])
