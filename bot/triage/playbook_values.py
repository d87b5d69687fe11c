"""Values inside playbooks: quantities with units, signal names, text and PromQL templates.

Split from the schema (``playbook``) so each stays readable; everything here is pure and is
what makes a typo in a playbook fail at load time rather than during an incident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator

from bot.errors import TriageError
from bot.triage.exporters import ROLES
from bot.triage.signal_names import NUMBERS, SPAN_CATEGORIES

#: Where a value sits in a playbook document: keys and list indexes, as pydantic reports them.
Loc = tuple[str | int, ...]

#: PromQL template placeholders: the service's selector and the metric-name roles the metrics
#: step detects (bot.triage.exporters.ROLES).
PLACEHOLDERS = frozenset({"selector", *ROLES})

_SUFFIXES: Mapping[str, tuple[float, str]] = {
    "us": (1e-6, "s"), "µs": (1e-6, "s"), "ms": (1e-3, "s"), "s": (1.0, "s"),
    "m": (60.0, "s"), "min": (60.0, "s"),
    "h": (3600.0, "s"), "d": (86400.0, "s"),
    "B": (1.0, "bytes"), "KiB": (1024.0, "bytes"), "MiB": (1024.0**2, "bytes"),
    "GiB": (1024.0**3, "bytes"), "TiB": (1024.0**4, "bytes"), "%": (0.01, "ratio"),
}
_QUANTITY_RE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([A-Za-zµ%]*)(/s)?\s*$")
UNIT_KINDS = frozenset({"s", "bytes", "bytes/s", "ratio"})
_LOCAL_SIGNAL_RE = re.compile(r"^x\.[a-z][a-z0-9_]*$")
#: ``{value}``, ``{frame}`` and ``{signal:NAME}`` in titles, summaries and ``because`` texts.
TEXT_FIELD_RE = re.compile(r"\{([a-z_]+)(?::([^{}]*))?\}")
_PROMQL_FIELD_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\s*(\}|,)")
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class MissingRoleError(TriageError):
    """A PromQL template needs metric names the metrics step did not find for this service."""

    def __init__(self, missing: tuple[str, ...], template: str) -> None:
        super().__init__(
            f"no metric found for {', '.join(missing)} (needed by query {template!r})"
        )
        self.missing = missing
        self.template = template


def parse_quantity(value: object) -> tuple[float, str | None]:
    """``"500ms"`` -> ``(0.5, "s")``, ``"1MiB/s"`` -> ``(1048576.0, "bytes/s")``, ``"10%"``
    -> ``(0.1, "ratio")``, ``3`` -> ``(3.0, None)``: numbers with units, in base units.
    """
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, int | float):
        return float(value), None
    match = _QUANTITY_RE.match(str(value))
    suffix = match.group(2) if match else None
    if match is None or (suffix and suffix not in _SUFFIXES):
        raise ValueError(
            f"invalid quantity {value!r}: use a number, optionally with one of "
            f"{', '.join(_SUFFIXES)} (bytes may take /s)"
        )
    number = float(match.group(1))
    if not suffix:
        return number, None
    scale, unit = _SUFFIXES[suffix]
    if match.group(3):
        if unit != "bytes":
            raise ValueError(f"invalid quantity {value!r}: only byte sizes take /s")
        unit = "bytes/s"
    return number * scale, unit


def is_signal_name(name: str) -> bool:
    """A number signal the steps produce, or a playbook-local ``x.name``."""
    return name in NUMBERS or bool(_LOCAL_SIGNAL_RE.match(name))


def _signal_name(value: str) -> str:
    if not is_signal_name(value):
        close = get_close_matches(value, NUMBERS, n=1)
        raise ValueError(
            f"unknown signal {value!r}: "
            + (f"did you mean {close[0]!r}? " if close else "")
            + "use a name from bot/triage/signal_names.py (e.g. tokio.busy_ratio) or a "
            "playbook-local x.name defined by steps.metrics.queries"
        )
    return value


def template_fields(text: str) -> list[tuple[str, str | None]]:
    """The ``{value}``, ``{frame}`` and ``{signal:NAME}`` placeholders of a text template."""
    return [(m.group(1), m.group(2)) for m in TEXT_FIELD_RE.finditer(text)]


def _text_template(text: str) -> str:
    for name, arg in template_fields(text):
        if name in ("value", "frame") and arg is None:
            continue
        if name == "signal" and arg:
            _signal_name(arg)
            continue
        shown = "{" + name + (f":{arg}" if arg is not None else "") + "}"
        raise ValueError(f"unknown placeholder {shown}: use {{value}}, {{frame}} or "
                         "{signal:NAME}")
    return text


def promql_placeholders(template: str) -> list[tuple[str, bool]]:
    """Each ``{name}`` placeholder of a PromQL template, with whether a comma follows it."""
    return [(m.group(1), m.group(2) == ",") for m in _PROMQL_FIELD_RE.finditer(template)]


def _promql_template(template: str) -> str:
    fields = promql_placeholders(template)
    for name, comma in fields:
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}}: use {{selector}} or a metric "
                             f"role ({', '.join(sorted(ROLES))})")
        if comma and name != "selector":
            raise ValueError(f"only {{selector, ...}} may add matchers, not {{{name}, ...}}")
    if not any(name == "selector" for name, _ in fields):
        raise ValueError("query has no {selector}: it would read every service's series")
    return template


def render_promql(template: str, selector: str, roles: Mapping[str, str]) -> str:
    """Fill a playbook query: ``{selector}`` with the service's matchers, roles with names.

    ``selector`` is the matcher list (``job="checkout"``, braces optional); ``roles`` maps a
    role (``rss``) to the metric the metrics step found (``process_resident_memory_bytes``).
    ``{selector, code="500"}`` keeps the template's own matchers after the service's.
    Raises MissingRoleError naming the roles not found, ValueError for a bad template.
    """
    inner = selector.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    if not inner:
        raise ValueError("empty selector: the service needs prometheus labels in the catalog")
    _promql_template(template)
    missing = tuple(sorted({n for n, _ in promql_placeholders(template)
                            if n != "selector" and n not in roles}))
    if missing:
        raise MissingRoleError(missing, template)

    def fill(match: re.Match[str]) -> str:
        name, end = match.group(1), match.group(2)
        if name == "selector":
            return "{" + inner + end
        if not _METRIC_NAME_RE.match(roles[name]):
            raise ValueError(f"invalid metric name for {name}: {roles[name]!r}")
        return roles[name]

    return _PROMQL_FIELD_RE.sub(fill, template)


def _compile(value: object) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError("expected a regular expression (a non-empty string)")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from None


def _span_category(value: str) -> str:
    if value not in SPAN_CATEGORIES:
        raise ValueError(f"unknown span category {value!r}: use one of "
                         f"{', '.join(sorted(SPAN_CATEGORIES))}")
    return value


Regex = Annotated[re.Pattern[str], PlainValidator(_compile),
                  PlainSerializer(lambda p: p.pattern, return_type=str)]
SignalName = Annotated[str, AfterValidator(_signal_name)]
TextTemplate = Annotated[str, AfterValidator(_text_template)]
PromqlTemplate = Annotated[str, AfterValidator(_promql_template)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
SpanCategory = Annotated[str, AfterValidator(_span_category)]
Unit = Literal["s", "bytes", "bytes/s", "ratio", "count", "count/s", "cores", "bool"]
Op = Literal[">", ">=", "<", "<=", "=="]
