"""Read a flamegraph SVG (inferno, as pprof-rs serves it, or flamegraph.pl) back into stacks.

A flamegraph keeps no stacks, only boxes: each frame's ``<title>`` says its function and its
inclusive count (``func (1,234 samples, 12.34%)``, with ``; +x.xx%`` appended in differential
graphs, and the unit word configurable, e.g. "bytes"). Depth comes from the box's ``y`` and the
caller is the box one level closer to the root whose horizontal extent contains it; inferno's
exact ``fg:x``/``fg:w`` attributes are used when present, pixel geometry otherwise. A frame's
self count is its count minus its children's; each frame with a self count becomes a stack,
which feeds the same :func:`~bot.sources.pprof.analysis.totals_from_stacks` as pprof profiles.

flamegraph.pl leaves out boxes narrower than 0.1 px; their samples then show up as self time
of the parent, which is the best the file allows.
"""

from __future__ import annotations

import bisect
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bot.errors import InputError
from bot.sources.pprof.analysis import FrameTotals, totals_from_stacks
from bot.sources.pprof.model import Profile, Sample, ValueType

MAX_SVG_BYTES = 64 * 1024 * 1024
_FG = "{http://github.com/jonhoo/inferno}"
_TITLE = re.compile(
    r"^(?P<name>.*) \((?P<count>[\d,]+(?:\.\d+)?) (?P<unit>[^,()]+), (?P<percent>[\d.]+)%"
    r"(?:; (?P<delta>[+-]?[\d.]+)%)?\)$",
    re.DOTALL,
)
_ROOT_NAME = "all"


class FlamegraphError(InputError):
    """The SVG is not a flamegraph this reader understands; the message says why."""


@dataclass(frozen=True)
class FlameFrame:
    """One box: ``count`` is inclusive, ``self_count`` what no drawn child accounts for."""

    name: str
    depth: int
    count: int
    self_count: int
    parent: int | None
    delta_percent: float | None = None


@dataclass(frozen=True)
class Flamegraph:
    """The frames of a flamegraph (root first) and its total, in ``unit`` (e.g. "samples")."""

    frames: tuple[FlameFrame, ...]
    total: int
    unit: str

    def stacks(self) -> tuple[tuple[tuple[str, ...], int], ...]:
        """(leaf-first stack, self count) for every frame with a self count; no "all" root."""
        result = []
        for frame in self.frames:
            if frame.self_count > 0 and not self._is_synthetic_root(frame):
                result.append((self._path(frame), frame.self_count))
        return tuple(result)

    def totals(self) -> FrameTotals:
        """Flat and cumulative totals per function, as for a pprof profile."""
        return totals_from_stacks(self.stacks(), ValueType(self.unit, "count"), total=self.total)

    def to_profile(self) -> Profile:
        """The flamegraph as a one-value profile, for the pprof reports and encoder."""
        samples = tuple(Sample(stack, (value,)) for stack, value in self.stacks())
        return Profile(sample_types=(ValueType(self.unit, "count"),), samples=samples)

    def _is_synthetic_root(self, frame: FlameFrame) -> bool:
        return frame.parent is None and frame.name == _ROOT_NAME

    def _path(self, frame: FlameFrame) -> tuple[str, ...]:
        names = []
        current: FlameFrame | None = frame
        while current is not None and not self._is_synthetic_root(current):
            names.append(current.name)
            current = self.frames[current.parent] if current.parent is not None else None
        return tuple(names)


@dataclass(frozen=True)
class _Box:
    name: str
    count: int
    delta: float | None
    x: float
    width: float
    y: float


def read_flamegraph(data: bytes, unit: str | None = "samples") -> Flamegraph:
    """Parse a flamegraph SVG; ``unit`` is the count word in titles (None accepts any)."""
    if len(data) > MAX_SVG_BYTES:
        raise FlamegraphError(f"the SVG is larger than {MAX_SVG_BYTES} bytes")
    if b"<!ENTITY" in data:
        raise FlamegraphError("the SVG declares XML entities; refusing to expand them")
    try:
        # Entities are refused above and expat never fetches external DTDs.
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FlamegraphError(f"not a well-formed SVG ({exc})") from None
    boxes, words = _boxes(root, unit)
    if not boxes:
        raise FlamegraphError(
            "no flamegraph frames found (expected <g> elements with a <title> like "
            f"'func (12 {unit or 'samples'}, 1.5%)' and a <rect>)"
        )
    frames = _link(boxes)
    total = _total(root, frames)
    return Flamegraph(frames, total, unit or (words.pop() if len(words) == 1 else "samples"))


def _boxes(root: ET.Element, unit: str | None) -> tuple[list[_Box], set[str]]:
    boxes: list[_Box] = []
    words: set[str] = set()
    for group in root.iter():
        if _local(group.tag) != "g":
            continue
        title = next((c for c in group if _local(c.tag) == "title"), None)
        rect = next((c for c in group if _local(c.tag) == "rect"), None)
        if title is None or rect is None:
            continue
        match = _TITLE.match((title.text or "").rstrip())
        if match is None or (unit is not None and match["unit"] != unit):
            continue
        words.add(match["unit"])
        boxes.append(_box(match, rect))
    return boxes, words


def _box(match: re.Match[str], rect: ET.Element) -> _Box:
    try:
        count = round(_number(match["count"].replace(",", "")))
        delta = _number(match["delta"]) if match["delta"] else None
    except ValueError:
        raise FlamegraphError(f"frame {match['name']!r} has an unreadable count") from None
    try:
        if rect.get(f"{_FG}x") is not None:
            x, width = _number(rect.get(f"{_FG}x")), _number(rect.get(f"{_FG}w"))
        else:
            x, width = _number(rect.get("x")), _number(rect.get("width"))
        y = _number(rect.get("y"))
    except ValueError:
        raise FlamegraphError(f"frame {match['name']!r} has unreadable geometry") from None
    # perf writes unsymbolized frames with an empty name; pprof calls those "<unknown>".
    return _Box(match["name"].strip() or "<unknown>", count, delta, x, width, y)


def _number(value: str | None) -> float:
    if value is None:
        raise ValueError("missing")
    number = float(value.rstrip("%"))
    if not math.isfinite(number):  # nan would break the ordering of rows and boxes
        raise ValueError("not finite")
    return number


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _link(boxes: list[_Box]) -> tuple[FlameFrame, ...]:
    """Order boxes root first and find each one's caller from the geometry."""
    levels = sorted({b.y for b in boxes})
    # The root row is at one end (bottom for flame graphs, top for icicle graphs) and holds
    # every sample, so it outweighs the row at the other end.
    top_sum = sum(b.count for b in boxes if b.y == levels[0])
    bottom_sum = sum(b.count for b in boxes if b.y == levels[-1])
    if bottom_sum >= top_sum:
        levels.reverse()
    depth_of = {y: depth for depth, y in enumerate(levels)}
    ordered = sorted(boxes, key=lambda b: (depth_of[b.y], b.x))
    index_of = {id(b): i for i, b in enumerate(ordered)}
    by_depth: dict[int, list[_Box]] = {}
    for box in ordered:
        by_depth.setdefault(depth_of[box.y], []).append(box)
    starts = {depth: [b.x for b in level] for depth, level in by_depth.items()}
    parents: list[int | None] = []
    for box in ordered:
        depth = depth_of[box.y] - 1
        parent = _container(by_depth.get(depth, []), starts.get(depth, []), box)
        parents.append(index_of[id(parent)] if parent is not None else None)
    child_counts = [0] * len(ordered)
    for parent_index, box in zip(parents, ordered, strict=True):
        if parent_index is not None:
            child_counts[parent_index] += box.count
    return tuple(
        FlameFrame(box.name, depth_of[box.y], box.count, max(box.count - child_counts[i], 0),
                   parents[i], box.delta)
        for i, box in enumerate(ordered)
    )


def _container(candidates: list[_Box], starts: list[float], box: _Box) -> _Box | None:
    """The candidate (sorted by x; ``starts`` their x) whose extent contains ``box``'s centre."""
    centre = box.x + box.width / 2
    position = bisect.bisect_right(starts, centre) - 1
    if position < 0:
        return None
    candidate = candidates[position]
    return candidate if centre <= candidate.x + candidate.width else None


def _total(root: ET.Element, frames: tuple[FlameFrame, ...]) -> int:
    for element in root.iter():
        value = element.get("total_samples")
        if value is not None and value.isdigit():
            return int(value)
    return sum(f.count for f in frames if f.parent is None)
