"""The playbook schema: one failure pattern per YAML file, validated field by field.

A playbook says which alerts seed it, what each step of the walk should look at (PromQL
templates, log patterns, trace filters, which profile to take), which conditions on the walk's
signals become findings, how the evidence moves its rank in the diagnosis, and the RCA hints it
contributes. Everything a typo could break (signal names, regexes, placeholders, units) is
checked here, at load time, so a rule never silently fails to match in the middle of an
incident. References between playbooks (log categories, ``x.*`` signals) are checked by the
set, in ``playbook_loader``.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.models import FrameShare, Severity
from bot.triage.playbook_values import (
    UNIT_KINDS,
    Category,
    Key,
    Op,
    PromqlTemplate,
    Regex,
    Share,
    SignalName,
    SpanCategory,
    TextTemplate,
    Unit,
    parse_quantity,
    promql_placeholders,
)
from bot.triage.signal_names import NUMBERS

__all__ = [
    "AllOf",
    "AnyOf",
    "Cause",
    "Condition",
    "FrameCondition",
    "FrameHint",
    "LeafCondition",
    "LogCondition",
    "MetricQuery",
    "Playbook",
    "SignalCondition",
    "SpanCondition",
    "leaves",
]

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelRule(_Strict):
    """An alert label that must equal a value, or fully match a regex (as Prometheus does)."""

    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    equals: str | None = None
    regex: Regex | None = None

    @model_validator(mode="after")
    def _one_test(self) -> LabelRule:
        if (self.equals is None) == (self.regex is None):
            raise ValueError("a label rule needs exactly one of equals or regex")
        return self

    def holds(self, labels: Mapping[str, str]) -> bool:
        """Whether the alert's labels satisfy this rule (a missing label never does)."""
        value = labels.get(self.name)
        if value is None:
            return False
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        return value == self.equals


class Matches(_Strict):
    """Which alerts seed this playbook: a name glob (any) and every label rule."""

    alerts: list[str] = Field(default_factory=list)
    labels: list[LabelRule] = Field(default_factory=list)

    def holds(self, alertname: str | None, labels: Mapping[str, str]) -> bool:
        """Alertmanager-like: any glob matches the name (case-insensitive) and all rules hold.

        An empty ``alerts`` list accepts any name; a playbook with neither list never matches.
        """
        if not self.alerts and not self.labels:
            return False
        name = (alertname or labels.get("alertname") or "").lower()
        if self.alerts and not any(fnmatchcase(name, g.lower()) for g in self.alerts):
            return False
        return all(rule.holds(labels) for rule in self.labels)


class MetricQuery(_Strict):
    """An extra PromQL query whose last value becomes ``signal`` (a known or ``x.`` name)."""

    name: Key
    promql: PromqlTemplate
    signal: SignalName
    unit: Unit | None = None

    @model_validator(mode="after")
    def _unit_agrees(self) -> MetricQuery:
        if self.signal in NUMBERS and self.unit not in (None, NUMBERS[self.signal][0]):
            raise ValueError(f"{self.signal} is in {NUMBERS[self.signal][0]}, not {self.unit}")
        return self

    @property
    def roles(self) -> tuple[str, ...]:
        """The metric roles this query needs (besides the selector)."""
        return tuple(sorted({n for n, _ in promql_placeholders(self.promql) if n != "selector"}))


class MetricsStep(_Strict):
    """Queries the metrics step runs for this playbook, after its standard ones."""

    queries: list[MetricQuery] = Field(default_factory=list)


class LogPattern(_Strict):
    """Log lines matching ``regex`` count towards ``category``."""

    category: Category
    regex: Regex


class LogsStep(_Strict):
    """Log categories this playbook defines, and an optional LogQL ``|~`` line filter."""

    patterns: list[LogPattern] = Field(default_factory=list)
    line_filter: Regex | None = None


def _duration(value: object) -> float:
    number, unit = parse_quantity(value)
    if unit not in (None, "s") or number <= 0:
        raise ValueError(f"expected a positive duration such as 500ms or 2s, not {value!r}")
    return number


class TracesStep(_Strict):
    """Which traces count as slow, and which span categories matter to this pattern."""

    min_duration: Annotated[float, PlainValidator(_duration)] = 0.5
    span_categories_of_interest: list[SpanCategory] = Field(default_factory=list)


class FrameHint(_Strict):
    """A profile frame pattern and what it means when it takes ``min_share`` of the profile.

    ``share: cum`` takes the largest cumulative share among matching frames (a call and its
    callees); ``flat`` sums self shares (allocator functions spread over many symbols).
    """

    key: Key
    pattern: Regex
    hint: str = Field(min_length=1)
    min_share: Share = 0.05
    share: Literal["flat", "cum"] = "cum"
    under_worker: bool | None = None
    severity: Severity = Severity.WARNING
    #: Only frames whose own-code owner matches ``owner`` (and not ``owner_excludes``) count,
    #: so the hint follows the service's frame: a cache insert is retention, not a cycle.
    owner: Regex | None = None
    owner_excludes: Regex | None = None

    def counts(self, frame: FrameShare) -> bool:
        """Whether ``frame``'s owner lets it count for this hint."""
        if self.owner is not None and not (frame.owner and self.owner.search(frame.owner)):
            return False
        return not (self.owner_excludes is not None and frame.owner
                    and self.owner_excludes.search(frame.owner))


class ProfileStep(_Strict):
    """Which profile to take (CPU, or two heap snapshots diffed) and the frames to look for."""

    kind: Literal["cpu", "heap_diff"] = "cpu"
    seconds: int = Field(default=10, ge=1, le=300)
    interval_seconds: int = Field(default=30, ge=1, le=3600)
    frames: list[FrameHint] = Field(default_factory=list)


class Steps(_Strict):
    """What each step of the walk does for this playbook."""

    metrics: MetricsStep = Field(default_factory=MetricsStep)
    logs: LogsStep = Field(default_factory=LogsStep)
    traces: TracesStep = Field(default_factory=TracesStep)
    profile: ProfileStep = Field(default_factory=ProfileStep)


class SignalCondition(_Strict):
    """A number signal compared with a value (units allowed: ``500ms``, ``1MiB``, ``90%``)."""

    signal: SignalName
    op: Op
    value: float

    @field_validator("value", mode="before")
    @classmethod
    def _quantity(cls, value: object, info: ValidationInfo) -> float:
        number, unit = parse_quantity(value)
        signal = info.data.get("signal")
        if unit is None or not isinstance(signal, str) or signal not in NUMBERS:
            return number
        expected = NUMBERS[signal][0]
        if expected not in UNIT_KINDS:
            raise ValueError(f"{signal} is in {expected}: write a plain number, not {value!r}")
        if unit != expected:
            raise ValueError(f"{signal} is in {expected}; {value!r} is in {unit}")
        return number


class FrameCondition(_Strict):
    """A profile frame (regex) taking at least ``min_share`` of the profile above its normal
    share; with ``owner`` only frames whose first own-code caller matches it count, with
    ``owner_excludes`` frames whose own-code caller matches it do not.
    """

    frame: Regex
    min_share: Share = 0.05
    share: Literal["flat", "cum"] = "cum"
    under_worker: bool | None = None
    owner: Regex | None = None
    owner_excludes: Regex | None = None


class LogCondition(_Strict):
    """At least ``min_count`` log lines of a category (defined by some playbook)."""

    log: Category
    min_count: int = Field(default=1, ge=1)


class SpanCondition(_Strict):
    """A span category taking at least ``min_share`` of slow traces' self time."""

    span: SpanCategory
    min_share: Share = 0.2


_LEAF_TAGS: tuple[tuple[str, str, type[BaseModel]], ...] = (
    ("signal", "signal-condition", SignalCondition),
    ("frame", "frame-condition", FrameCondition),
    ("log", "log-condition", LogCondition),
    ("span", "span-condition", SpanCondition),
)
#: Union tags pydantic puts in error locations; they are not YAML keys (hence the dashes).
UNION_TAGS = frozenset({"signal-condition", "frame-condition", "log-condition",
                        "span-condition", "all-condition", "any-condition"})


def _tag(value: Any, keys: tuple[tuple[str, str, type[BaseModel]], ...]) -> str | None:
    for key, tag, model in keys:
        if isinstance(value, model) or (isinstance(value, dict) and key in value):
            return tag
    return None


_LEAF_ERROR = "inside all/any, each item needs one of signal, frame, log or span (one level deep)"
_LEAF = (Annotated[SignalCondition, Tag("signal-condition")]
         | Annotated[FrameCondition, Tag("frame-condition")]
         | Annotated[LogCondition, Tag("log-condition")]
         | Annotated[SpanCondition, Tag("span-condition")])
LeafCondition = Annotated[_LEAF, Discriminator(lambda v: _tag(v, _LEAF_TAGS),
                                               custom_error_type="condition",
                                               custom_error_message=_LEAF_ERROR)]


class AllOf(_Strict):
    """Every listed condition holds."""

    all: list[LeafCondition] = Field(min_length=1)


class AnyOf(_Strict):
    """At least one listed condition holds."""

    any: list[LeafCondition] = Field(min_length=1)


_ALL_TAGS = (*_LEAF_TAGS, ("all", "all-condition", AllOf), ("any", "any-condition", AnyOf))
Condition = Annotated[
    _LEAF | Annotated[AllOf, Tag("all-condition")] | Annotated[AnyOf, Tag("any-condition")],
    Discriminator(lambda v: _tag(v, _ALL_TAGS), custom_error_type="condition",
                  custom_error_message="a condition needs one of signal, frame, log, span, "
                                       "all or any"),
]


def leaves(condition: Condition) -> list[SignalCondition | FrameCondition | LogCondition
                                         | SpanCondition]:
    """The simple conditions inside ``condition`` (itself when it is one)."""
    if isinstance(condition, AllOf):
        return list(condition.all)
    if isinstance(condition, AnyOf):
        return list(condition.any)
    return [condition]


class FindingRule(_Strict):
    """When ``when`` holds, the walk reports a finding with these texts and hints."""

    key: Key
    when: Condition
    title: TextTemplate
    severity: Severity = Severity.WARNING
    summary: TextTemplate = ""
    hints: list[str] = Field(default_factory=list)


class Weighted(_Strict):
    """Evidence for (or against) the pattern: ``weight`` counts when ``when`` holds."""

    when: Condition
    weight: float = Field(gt=0, le=10)
    because: TextTemplate


class DiagnosisSpec(_Strict):
    """How evidence moves this pattern's score; ``prior`` counts when the alert matches."""

    prior: float = Field(default=1.0, ge=0, le=10)
    supports: list[Weighted] = Field(default_factory=list)
    contradicts: list[Weighted] = Field(default_factory=list)


class Cause(_Strict):
    """One specific cause within a playbook's family: its own candidate in the ranking.

    Its score is the family's (the playbook's ``diagnosis``) plus its own ``supports`` minus
    its own ``contradicts``, so the evidence that tells the causes apart decides between them.
    ``frames`` names the profile frame hints (keys) that are this cause's evidence;
    ``reproduce`` is the skeleton of a local reproduction (``{signal:...}`` allowed).
    """

    key: Key
    title: str = Field(min_length=1, max_length=150)
    summary: str = Field(min_length=1)
    prior: float = Field(default=0.0, ge=0, le=10)
    supports: list[Weighted] = Field(default_factory=list)
    contradicts: list[Weighted] = Field(default_factory=list)
    frames: list[Key] = Field(default_factory=list)
    root_cause: str = Field(min_length=1)
    fixes: list[str] = Field(default_factory=list)
    reproduce: TextTemplate = ""
    next_check: str = ""


class Rca(_Strict):
    """What this pattern contributes to the RCA draft."""

    root_causes: list[str] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list)
    prevention: list[str] = Field(default_factory=list)
    contributing_factors: list[str] = Field(default_factory=list)


class Playbook(_Strict):
    """One failure pattern. ``id`` equals the file's stem; one playbook is ``generic``."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=1, max_length=150)
    summary: str = Field(min_length=1)
    generic: bool = False
    family: str | None = Field(default=None, max_length=150)
    matches: Matches = Field(default_factory=Matches)
    steps: Steps = Field(default_factory=Steps)
    findings: list[FindingRule] = Field(default_factory=list)
    diagnosis: DiagnosisSpec = Field(default_factory=DiagnosisSpec)
    rca: Rca = Field(default_factory=Rca)
    causes: list[Cause] = Field(default_factory=list)

    @model_validator(mode="after")
    def _causes_distinct(self) -> Playbook:
        keys = [c.key for c in self.causes]
        if len(keys) != len(set(keys)):
            raise ValueError(f"cause keys must be distinct: {keys}")
        hints = {h.key for h in self.steps.profile.frames}
        for cause in self.causes:
            unknown = sorted(set(cause.frames) - hints)
            if unknown:
                raise ValueError(f"cause {cause.key} names unknown frame hints {unknown}")
        return self

    @property
    def family_title(self) -> str:
        """The family this playbook's causes are shown under."""
        return self.family or self.title

    def cause(self, key: str | None) -> Cause | None:
        """The cause called ``key`` (None for None or an unknown key)."""
        return next((c for c in self.causes if c.key == key), None)

    def signal_units(self) -> dict[str, str]:
        """Units of the signals this playbook's queries produce (for rendering values)."""
        return {q.signal: q.unit or NUMBERS.get(q.signal, ("", ""))[0]
                for q in self.steps.metrics.queries}
