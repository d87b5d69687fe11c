"""The part of LogQL the service stand-in understands, parsed the way Loki reports errors.

Log queries: a stream selector (``=``, ``!=``, ``=~``, ``!~``) followed by line filters
(``|=``, ``!=``, ``|~``, ``!~``) with double-quoted (Go escapes) or back-quoted strings. Metric
queries: ``count_over_time`` or ``rate`` of such a query over a range, optionally inside
``sum(...)``. Anything else is refused with Loki's wording ("parse error at line 1, col N:
..."), so a playbook using more of LogQL fails loudly in tests rather than matching nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["LogQLError", "LogQuery", "MetricQuery", "parse"]

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MATCH_OPS = ("=~", "!~", "!=", "=")
_FILTER_OPS = ("|=", "|~", "!=", "!~")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_METRIC = re.compile(r"^\s*(?:(sum)\s*\(\s*)?(count_over_time|rate)\s*\((.*)\[([^\]]+)\]\s*\)"
                     r"\s*(\))?\s*$", re.S)


class LogQLError(ValueError):
    """A query the stand-in cannot run; the message reads like Loki's."""


@dataclass(frozen=True)
class LogQuery:
    """A stream selector and line filters, as predicates."""

    matchers: tuple[tuple[str, str, str], ...]
    filters: tuple[tuple[str, str], ...]

    def selects(self, labels: Mapping[str, str]) -> bool:
        """Whether a stream with ``labels`` is selected."""
        return all(_label_matches(labels.get(name, ""), op, value)
                   for name, op, value in self.matchers)

    def keeps(self) -> Callable[[str], bool]:
        """A predicate on line text applying every filter in order."""
        tests: list[Callable[[str], bool]] = []
        for op, value in self.filters:
            if op in ("|~", "!~"):
                pattern = _regex(value)
                tests.append(_search(pattern, positive=op == "|~"))
            else:
                tests.append(_contains(value, positive=op == "|="))
        return lambda line: all(test(line) for test in tests)


@dataclass(frozen=True)
class MetricQuery:
    """``[sum(] count_over_time|rate (<log query> [range]) [)]``."""

    function: str
    inner: LogQuery
    range_s: float
    summed: bool


def _search(pattern: re.Pattern[str], positive: bool) -> Callable[[str], bool]:
    return lambda line: bool(pattern.search(line)) == positive


def _contains(text: str, positive: bool) -> Callable[[str], bool]:
    return lambda line: (text in line) == positive


def _label_matches(actual: str, op: str, value: str) -> bool:
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    matched = _regex(value).fullmatch(actual) is not None
    return matched if op == "=~" else not matched


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise LogQLError(f"parse error : error parsing regexp: {exc}: `{value}`") from None


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> LogQLError:
        return LogQLError(f"parse error at line 1, col {self.pos + 1}: syntax error: {message}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, *options: str) -> str | None:
        self.skip()
        for option in options:
            if self.text.startswith(option, self.pos):
                self.pos += len(option)
                return option
        return None

    def name(self) -> str:
        self.skip()
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.fail(f"unexpected {self._near()}, expecting IDENTIFIER")
        self.pos = match.end()
        return match.group()

    def string(self) -> str:
        self.skip()
        if self.text.startswith("`", self.pos):
            end = self.text.find("`", self.pos + 1)
            if end < 0:
                raise self.fail("unterminated raw string")
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        match = re.compile(r'"(?:[^"\\]|\\.)*"').match(self.text, self.pos)
        if match is None:
            raise self.fail(f"unexpected {self._near()}, expecting STRING")
        self.pos = match.end()
        try:
            return str(json.loads(match.group()))
        except ValueError:
            raise self.fail(f"invalid string {match.group()}") from None

    def _near(self) -> str:
        rest = self.text[self.pos :].strip()
        return repr(rest[:12]) if rest else "end of input"


def _log_query(text: str) -> LogQuery:
    reader = _Reader(text)
    if reader.take("{") is None:
        raise reader.fail("unexpected input, expecting {")
    matchers = []
    while True:
        name = reader.name()
        op = reader.take(*_MATCH_OPS)
        if op is None:
            raise reader.fail(f"unexpected {reader._near()}, expecting = or =~ or != or !~")
        matchers.append((name, op, reader.string()))
        if reader.take("}") is not None:
            break
        if reader.take(",") is None:
            raise reader.fail(f"unexpected {reader._near()}, expecting , or }}")
    if not any(op == "=" and value for _, op, value in matchers):
        raise LogQLError("parse error : queries require at least one regexp or equality matcher "
                         "that does not have an empty-compatible value. For instance, app=~\".*\" "
                         "does not meet this requirement, but app=~\".+\" will")
    filters = []
    while (op := reader.take(*_FILTER_OPS)) is not None:
        filters.append((op, reader.string()))
    reader.skip()
    if reader.pos < len(text):
        raise LogQLError(
            f"parse error at line 1, col {reader.pos + 1}: {text[reader.pos:].strip()[:40]!r} "
            "is not supported by the service stand-in (selectors and line filters only)")
    query = LogQuery(tuple(matchers), tuple(filters))
    query.keeps()  # compile regexes now, so a bad one is a 400 before any work
    return query


def _duration(text: str) -> float:
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(a + b for a, b in parts) != text.strip():
        raise LogQLError(f"parse error : not a valid duration string: {text.strip()!r}")
    return sum(float(amount) * _UNITS[unit] for amount, unit in parts)


def parse(text: str) -> LogQuery | MetricQuery:
    """A log query or a supported metric query; LogQLError says why not otherwise."""
    if text.lstrip().startswith("{"):
        return _log_query(text)
    match = _METRIC.match(text)
    if match is None or bool(match.group(1)) != bool(match.group(5)):
        raise LogQLError("parse error at line 1, col 1: only selectors with line filters, and "
                         "[sum] count_over_time/rate over them, are supported by the service "
                         "stand-in")
    return MetricQuery(match.group(2), _log_query(match.group(3)), _duration(match.group(4)),
                       summed=bool(match.group(1)))
