"""Slack's text formats (mrkdwn, plain_text, rich_text) read into one small tree, and as text.

Message text and mrkdwn arrive as Slack stores them: ``&``, ``<`` and ``>`` as entities, and a
real ``<...>`` is Slack's own markup (link, mention, date). :func:`parse_mrkdwn` reads that once
into nodes, so entities, mentions and links are handled in one place; the renderers
(:func:`nodes_to_text` here, :mod:`triage_sim.export.html`) only walk nodes and never see raw
markup, which keeps a log line saying ``<!channel>`` or ``<script>`` mere text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

from triage_sim.slack.state import Workspace

__all__ = [
    "BREAK", "EMOJI", "NO_NAMES", "Code", "Emoji", "LineBreak", "Link", "Mention", "Names",
    "Node", "Quote", "Styled", "Text", "decode_entities", "emojify", "nodes_to_text",
    "parse_mrkdwn", "parse_rich_text", "parse_text_object", "safe_url", "text_lines",
]

# The shortcodes the bot's renderers use (grep ``:[a-z_]+:`` in bot/slack), and a few common
# ones people type; anything else stays as ``:name:`` text, as Slack shows an unknown one.
EMOJI: Mapping[str, str] = MappingProxyType({
    "rotating_light": "🚨", "red_circle": "🔴", "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡", "large_blue_circle": "🔵", "large_green_circle": "🟢",
    "white_circle": "⚪", "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌",
    "fire": "🔥", "memo": "📝", "bust_in_silhouette": "👤", "warning": "⚠️", "zap": "⚡",
    "alarm_clock": "⏰", "hourglass_flowing_sand": "⏳", "dart": "🎯", "grey_question": "❔",
    "mag": "🔍", "chart_with_upwards_trend": "📈", "bar_chart": "📊", "scroll": "📜",
    "link": "🔗", "heavy_plus_sign": "➕", "heavy_minus_sign": "➖", "heartbeat": "💓",
    "first_place_medal": "🥇", "second_place_medal": "🥈", "third_place_medal": "🥉",
    "sunrise": "🌅", "tada": "🎉", "eyes": "👀", "+1": "👍", "bulb": "💡", "wrench": "🔧",
    "stopwatch": "⏱️", "no_entry": "⛔", "robot_face": "🤖",
})


# -- the tree both renderers walk ------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    """Plain characters, already decoded: render them escaped for the target, nothing else."""
    text: str


@dataclass(frozen=True)
class Styled:
    """Bold (``b``), italic (``i``) or struck-through (``s``) content."""
    style: Literal["b", "i", "s"]
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Code:
    """Inline code, or a preformatted block when ``block``."""
    text: str
    block: bool = False


@dataclass(frozen=True)
class Link:
    """A link; ``url`` is None when the target was not http(s)/mailto (shown as text only)."""
    url: str | None
    label: str


@dataclass(frozen=True)
class Mention:
    """``@name``, ``#channel``, ``@here``: the label is what a reader sees."""
    kind: Literal["user", "channel", "broadcast", "group"]
    label: str


@dataclass(frozen=True)
class Emoji:
    """A known shortcode and its Unicode character."""
    name: str
    char: str


@dataclass(frozen=True)
class LineBreak:
    """A newline in the source text."""

@dataclass(frozen=True)
class Quote:
    """Quoted lines (``>`` at a line's start)."""
    children: tuple[Node, ...]


Node = Text | Styled | Code | Link | Mention | Emoji | LineBreak | Quote
BREAK = LineBreak()


@dataclass(frozen=True)
class Names:
    """Who and what ids stand for, so ``<@U123>`` reads ``@alice`` when the workspace knows."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, ws: Workspace) -> Names:
        """The names a stand-in workspace knows."""
        return cls({u.id: u.name for u in ws.users.values()},
                   {c.id: c.name for c in ws.channels.values()})

    def user(self, user_id: str, label: str = "") -> str:
        """``@name``: the workspace's name, else the label Slack sent, else the id."""
        return "@" + (self.users.get(user_id) or label.lstrip("@") or user_id)

    def channel(self, channel_id: str, label: str = "") -> str:
        """``#name``, likewise."""
        return "#" + (self.channels.get(channel_id) or label.lstrip("#") or channel_id)


NO_NAMES = Names()


def safe_url(url: str) -> str | None:
    """The URL when it is http(s) or mailto, else None (no ``javascript:``, no ``file:``)."""
    url = url.strip()
    scheme = next((s for s in _SAFE_SCHEMES if url.lower().startswith(s)), None)
    return url if scheme is not None and len(url) > len(scheme) else None


# -- mrkdwn -------------------------------------------------------------------------------------
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_PLACEHOLDER_BASE = 0xF0000  # plane 15, private use: one character stands for one atom
_ATOM = re.compile(r"```(?P<pre>[\s\S]*?)```|`(?P<code>[^`\n]+)`|<(?P<angle>[^<>\n]*)>")
_HOLE = re.compile("([\U000f0000-\U000ffffd])")  # a placeholder, or a stray one to scrub
_QUOTE = re.compile(r"^(?:&gt;|>) ?")
_STYLE = re.compile(
    r"(?<![\w*])\*(?P<b>[^*\n]*?[^\s*])\*(?![\w*])"
    r"|(?<![\w_])_(?P<i>[^_\n]*?[^\s_])_(?![\w_])"
    r"|(?<![\w~])~(?P<s>[^~\n]*?[^\s~])~(?![\w~])"
)
_TAGS: Mapping[str, Literal["b", "i", "s"]] = {"b": "b", "i": "i", "s": "s"}
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_YEAR_10000 = 253402300800
_BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}
_SHORTCODE = re.compile(r":([a-z0-9_+\-]+):")


def decode_entities(text: str) -> str:
    """Undo Slack's three entities, once (``&amp;lt;`` reads ``&lt;``, as in Slack)."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def _date(parts: list[str], label: str) -> Node:
    """A date's fallback text; without one, the timestamp in UTC (if it is one)."""
    seconds = parts[1] if len(parts) > 1 and parts[1].isdigit() else ""
    if label or not seconds or int(seconds) >= _YEAR_10000:
        return Text(decode_entities(label) or "(date)")
    return Text(datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%d %H:%M UTC"))


def _special(target: str, label: str) -> Node:
    parts = target.split("^")
    if parts[0] in _BROADCASTS:
        return Mention("broadcast", _BROADCASTS[parts[0]])
    if parts[0] == "subteam":
        return Mention("group", "@" + (decode_entities(label).lstrip("@") or parts[-1]))
    if parts[0] == "date":
        return _date(parts, label)
    return Text(decode_entities(label or target))


def _angle(inner: str, names: Names) -> Node:
    """``<...>``: a user, channel, broadcast, date or link, as Slack reads it."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return Mention("user", names.user(target[1:], decode_entities(label)))
    if target.startswith("#"):
        return Mention("channel", names.channel(target[1:], decode_entities(label)))
    if target.startswith("!"):
        return _special(target[1:], label)
    url = decode_entities(target)
    if safe_url(url) is None and not label:
        return Text(f"<{url}>")  # not markup Slack knows: show what was written
    return Link(safe_url(url), decode_entities(label) or url)


def _atom(match: re.Match[str], names: Names) -> Node:
    if match.group("pre") is not None:
        body = decode_entities(match.group("pre"))
        return Code(body.removeprefix("\n").removesuffix("\n"), block=True)
    code = match.group("code")
    return _angle(match.group("angle"), names) if code is None else Code(decode_entities(code))


def emojify(text: str) -> list[Node]:
    """Known shortcodes as :class:`Emoji`; ``std::x::y`` and unknown names stay text."""
    nodes: list[Node] = []
    pos, last_end = 0, -1
    for m in _SHORTCODE.finditer(text):
        char = EMOJI.get(m.group(1))
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        glued = before.isalnum() or after.isalnum() or (before == ":" and m.start() != last_end)
        if char is None or glued:
            continue
        if m.start() > pos:
            nodes.append(Text(text[pos:m.start()]))
        nodes.append(Emoji(m.group(1), char))
        pos = last_end = m.end()
    if pos < len(text):
        nodes.append(Text(text[pos:]))
    return nodes


def _plain(text: str, atoms: Sequence[Node]) -> list[Node]:
    nodes: list[Node] = []
    for piece in _HOLE.split(text):
        if len(piece) == 1 and _HOLE.fullmatch(piece):
            nodes.append(atoms[ord(piece) - _PLACEHOLDER_BASE])
        elif piece:
            nodes.extend(emojify(decode_entities(piece)))
    return nodes


def _inline(text: str, atoms: Sequence[Node]) -> list[Node]:
    nodes: list[Node] = []
    pos = 0
    for m in _STYLE.finditer(text):
        tag = _TAGS[m.lastgroup or "b"]
        nodes.extend(_plain(text[pos:m.start()], atoms))
        nodes.append(Styled(tag, tuple(_inline(m.group(tag), atoms))))
        pos = m.end()
    nodes.extend(_plain(text[pos:], atoms))
    return nodes


def _lines(lines: Sequence[str], inline: Any) -> tuple[Node, ...]:
    """Lines joined by breaks, runs of ``>`` lines gathered into :class:`Quote` nodes."""
    out: list[Node] = []
    quoted: list[Node] = []
    for line in lines:
        marker = _QUOTE.match(line)
        if marker:
            quoted.extend([BREAK] * bool(quoted) + inline(line[marker.end():]))
            continue
        if quoted:
            out.append(Quote(tuple(quoted)))
            quoted = []
        elif out:
            out.append(BREAK)
        out.extend(inline(line))
    if quoted:
        out.append(Quote(tuple(quoted)))
    return tuple(n for i, n in enumerate(out) if not (n == BREAK and _beside_block(out, i)))


def _beside_block(nodes: Sequence[Node], index: int) -> bool:
    """A break next to a quote or code block adds nothing: those start on their own line."""
    return any(_is_block(nodes[i]) for i in (index - 1, index + 1) if 0 <= i < len(nodes))


def _is_block(node: Node) -> bool:
    return isinstance(node, Quote) or (isinstance(node, Code) and node.block)


def parse_mrkdwn(text: str, names: Names = NO_NAMES) -> tuple[Node, ...]:
    """Slack mrkdwn (entities escaped, ``<...>`` markup) as nodes.

    Code and ``<...>`` markup are cut out first (as placeholders from a private-use plane the
    input is scrubbed of), so ``*`` inside code or a URL never starts bold text.
    """
    atoms: list[Node] = []

    def hold(match: re.Match[str]) -> str:
        atoms.append(_atom(match, names))
        return chr(_PLACEHOLDER_BASE + len(atoms) - 1)

    flat = _ATOM.sub(hold, _HOLE.sub("\ufffd", text))
    return _lines(flat.split("\n"), lambda line: _inline(line, atoms))


def parse_text_object(obj: Any, names: Names = NO_NAMES) -> tuple[Node, ...]:
    """A Block Kit text object: mrkdwn parsed, plain_text taken literally (emoji expanded)."""
    if not isinstance(obj, Mapping):
        return ()
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return parse_mrkdwn(text, names)
    expand = obj.get("emoji", True) is not False
    return _lines(text.split("\n"), lambda line: emojify(line) if expand else [Text(line)])


# -- rich_text blocks --------------------------------------------------------------
_STYLE_KEYS: tuple[tuple[str, Literal["b", "i", "s"]], ...] = (
    ("strike", "s"), ("italic", "i"), ("bold", "b"))


def _rich_run(el: Mapping[str, Any], _names: Names) -> list[Node]:
    raw = el.get("style")
    style: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    nodes: list[Node] = []
    for index, piece in enumerate(str(el.get("text", "")).split("\n")):
        node: Node = Code(piece) if style.get("code") else Text(piece)
        for key, tag in _STYLE_KEYS:
            node = Styled(tag, (node,)) if style.get(key) else node
        nodes.extend([BREAK] * bool(index) + [node] * bool(piece))
    return nodes


_RICH_INLINE: Mapping[str, Callable[[Mapping[str, Any], Names], list[Node]]] = {
    "text": _rich_run,
    "link": lambda el, _: [Link(safe_url(str(el.get("url", ""))),
                                str(el.get("text") or el.get("url", "")))],
    "emoji": lambda el, _: emojify(f":{el.get('name', '')}:"),
    "user": lambda el, n: [Mention("user", n.user(str(el.get("user_id", ""))))],
    "channel": lambda el, n: [Mention("channel", n.channel(str(el.get("channel_id", ""))))],
    "usergroup": lambda el, _: [Mention("group", f"@{el.get('usergroup_id', '')}")],
    "broadcast": lambda el, _: [Mention("broadcast", f"@{el.get('range', 'here')}")],
    "date": lambda el, _: [_date(["date", str(el.get("timestamp", ""))],
                                 str(el.get("fallback", "")))],
}


def _rich_section(el: Mapping[str, Any], names: Names) -> list[Node]:
    nodes: list[Node] = []
    for child in el.get("elements") or ():
        if isinstance(child, Mapping):
            render = _RICH_INLINE.get(str(child.get("type")))
            nodes.extend(render(child, names) if render else [Text(str(child.get("text", "")))])
    return nodes


def _rich_list(el: Mapping[str, Any], names: Names) -> list[Node]:
    ordered = el.get("style") == "ordered"
    indent = "    " * int(el.get("indent") or 0)
    nodes: list[Node] = []
    for number, item in enumerate(el.get("elements") or (), start=1 + int(el.get("offset") or 0)):
        nodes.extend([BREAK] * bool(nodes))
        nodes.append(Text(f"{indent}{number}. " if ordered else f"{indent}• "))
        nodes.extend(_rich_section(item, names) if isinstance(item, Mapping) else [])
    return nodes


def parse_rich_text(block: Mapping[str, Any], names: Names = NO_NAMES) -> tuple[Node, ...]:
    """A ``rich_text`` block's sections, lists, quotes and preformatted parts, as nodes."""
    out: list[Node] = []
    for el in block.get("elements") or ():
        if not isinstance(el, Mapping):
            continue
        kind = el.get("type")
        if out and kind in ("rich_text_section", "rich_text_list") and not _is_block(out[-1]):
            out.append(BREAK)
        if kind == "rich_text_list":
            out.extend(_rich_list(el, names))
        elif kind == "rich_text_quote":
            out.append(Quote(tuple(_rich_section(el, names))))
        elif kind == "rich_text_preformatted":
            out.append(Code(nodes_to_text(_rich_section(el, names)), block=True))
        else:
            out.extend(_rich_section(el, names))
    return tuple(out)


# -- plain text -----------------------------------------------------------------------------------
def _link_text(link: Link) -> str:
    if link.url is None or link.label in (link.url, link.url.removeprefix("mailto:")):
        return link.label
    return f"{link.label} ({link.url})"


def _quote_text(quote: Quote) -> str:
    lines = nodes_to_text(quote.children).split("\n")
    return "\n" + "\n".join(f"│ {line}" for line in lines) + "\n"


_TEXT_OF: Mapping[type, Callable[[Any], str]] = {
    Text: lambda n: n.text, Mention: lambda n: n.label, Emoji: lambda n: n.char,
    LineBreak: lambda _: "\n", Link: _link_text, Quote: _quote_text,
    Code: lambda n: f"\n{n.text}\n" if n.block else n.text,
    Styled: lambda n: nodes_to_text(n.children),
}


def nodes_to_text(nodes: Sequence[Node]) -> str:
    """Nodes as plain text: markers dropped, links as ``label (url)``, quotes as ``│ ``;
    quotes and code blocks on lines of their own."""
    out = ""
    for node in nodes:
        piece = _TEXT_OF[type(node)](node)
        out += piece[1:] if _is_block(node) and out.endswith("\n") else piece
    return out


def text_lines(nodes: Sequence[Node]) -> list[str]:
    """Nodes as lines, trailing spaces and leading/trailing blank lines dropped."""
    text = "\n".join(line.rstrip() for line in nodes_to_text(nodes).split("\n")).strip("\n")
    return text.split("\n") if text else []
