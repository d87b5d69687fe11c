"""Channels of the Slack stand-in as a folder a person can open, and as a terminal transcript.

The demo plays a whole incident against :class:`~triage_sim.slack.standin.SlackStandIn` and
then shows what a responder would have seen: :func:`export_channel` writes ``index.html`` (the
channels drawn like Slack from each message's latest blocks, threads under their parents,
charts inline) beside the files shared in them, and :func:`channel_transcript` prints one
channel as text. Ephemeral messages are not part of a channel, so neither shows them.

Everything is read from the stand-in first and written afterwards; the writing is blocking
file I/O, so async callers run it with ``asyncio.to_thread`` once the incident is over.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from types import MappingProxyType
from typing import Any

from triage_sim.export.html import (
    blocks_to_html,
    file_html,
    is_image,
    meta_html,
    mrkdwn_to_html,
    page_html,
    parse_markdown,
)
from triage_sim.export.mrkdwn import (
    Names,
    parse_mrkdwn,
    parse_rich_text,
    parse_text_object,
    text_lines,
)
from triage_sim.slack.records import Message, StoredFile
from triage_sim.slack.standin import SlackStandIn

__all__ = [
    "ExportResult",
    "Thread",
    "blocks_to_text",
    "channel_threads",
    "channel_transcript",
    "export_channel",
    "safe_file_name",
]

NO_EXTRA_FILES: Mapping[str, bytes] = MappingProxyType({})
PAGE_NAME = "index.html"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_channel` wrote; every path is inside ``directory``."""

    directory: Path
    index_html: Path
    images: tuple[Path, ...]
    attachments: tuple[Path, ...]
    extra: tuple[Path, ...]
    messages: int

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written, the page first."""
        return (self.index_html, *self.images, *self.attachments, *self.extra)


@dataclass(frozen=True)
class Thread:
    """A top-level message and its replies; ``parent`` is None when it was deleted."""

    parent: Message | None
    replies: tuple[Message, ...]

    @property
    def ts(self) -> str:
        """Where the thread sits in the channel: its parent's ts."""
        return self.parent.ts if self.parent else (self.replies[0].thread_ts or "0")


def channel_threads(standin: SlackStandIn, channel_id: str) -> list[Thread]:
    """The channel's live messages, oldest first, each with its replies under it."""
    messages = standin.messages(channel_id, include_replies=True)
    replies: dict[str, list[Message]] = {}
    parents: list[Message] = []
    for m in messages:
        if m.thread_ts in (None, m.ts):
            parents.append(m)
        else:
            replies.setdefault(str(m.thread_ts), []).append(m)
    threads = [Thread(p, tuple(replies.pop(p.ts, ()))) for p in parents]
    threads.extend(Thread(None, tuple(rest)) for rest in replies.values())
    return sorted(threads, key=lambda t: float(t.ts))


def safe_file_name(name: str, taken: set[str]) -> str:
    """``name`` reduced to ``[A-Za-z0-9._-]`` (no path, no leading dot, its extension kept),
    unique in ``taken`` (compared case-insensitively, as some file systems do), added to it."""
    base = _UNSAFE.sub("-", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(".-") or "file"
    stem, dot, ext = base.rpartition(".")
    stem, ext = (stem, f".{ext}") if dot and stem and len(ext) <= 10 else (base, "")
    stem = stem[: MAX_NAME - len(ext)].rstrip(".-") or "file"
    candidate, number = stem + ext, 2
    while candidate.lower() in taken:
        candidate, number = f"{stem}-{number}{ext}", number + 1
    taken.add(candidate.lower())
    return candidate


# -- what the page shows of each file ---------------------------------------------------------
@dataclass(frozen=True)
class _File:
    """A shared file as the page shows it; ``local`` is None when its bytes never arrived."""

    name: str
    title: str
    alt: str
    local: str | None
    content: bytes | None

    @property
    def image(self) -> bool:
        """Drawn inline: PNG, JPEG or GIF by their bytes (never SVG, which can carry script)."""
        return is_image(self.content)


def _file(shared: Mapping[str, Any], stored: StoredFile | None, taken: set[str]) -> _File:
    content = stored.content if stored is not None else None
    name = str(shared.get("name") or (stored.filename if stored else "") or "file")
    title = str(shared.get("title") or name)
    local = safe_file_name(name, taken) if content is not None else None
    return _File(name, title, str(shared.get("alt_txt") or title), local, content)


def _block_file_ids(blocks: Iterable[Mapping[str, Any]]) -> list[str]:
    """Uploaded files that image blocks (or image elements) show by ``slack_file.id``."""
    found = []
    for block in blocks:
        for part in (block, block.get("accessory"), *(block.get("elements") or ())):
            slack_file = part.get("slack_file") if isinstance(part, Mapping) else None
            if isinstance(slack_file, Mapping) and isinstance(slack_file.get("id"), str):
                found.append(slack_file["id"])
    return found


def _plan_files(
    standin: SlackStandIn, channel_ids: Sequence[str], taken: set[str]
) -> dict[str, _File]:
    """Every file the channels show, by id, each given one safe local name."""
    stored = {f.id: f for f in standin.files()}
    plan: dict[str, _File] = {}
    for channel_id in channel_ids:
        for message in standin.messages(channel_id):
            shared = [*message.files, *(stored[i].as_slack() for i in
                                        _block_file_ids(message.blocks) if i in stored)]
            for item in shared:
                file_id = str(item.get("id"))
                if file_id not in plan:
                    plan[file_id] = _file(item, stored.get(file_id), taken)
    return plan


# -- who and when -----------------------------------------------------------------------------
def _author(standin: SlackStandIn, message: Message) -> tuple[str, bool]:
    """The name shown on a message and whether it is an app's (the bot's) message."""
    user = standin.ws.users.get(message.user)
    if message.bot_id or (user is not None and user.is_bot):
        return (user.name if user else message.bot_id or message.user), True
    return ((user.real_name or user.name) if user else message.user), False


def _moment(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


def _edited(message: Message) -> str:
    count = len(message.edits)
    return "" if not count else "edited once" if count == 1 else f"edited {count} times"


# -- the page -----------------------------------------------------------------------------------
_AVATAR_COLOURS = ("#1264a3", "#2bac76", "#e01e5a", "#e8912d", "#7c3085", "#0b4c8c")  # 6
_APP_COLOUR = "#611f69"
_DELETED = "the message that started this thread was deleted"


@dataclass(frozen=True)
class _Page:
    """What every message on the page needs: the stand-in, names and the files' local names."""

    standin: SlackStandIn
    names: Names
    files: Mapping[str, _File]
    images: Mapping[str, str]  # Slack file id → local file name, for image blocks


def _esc(text: str) -> str:
    return escape(text, quote=True)


def _message_html(message: Message, page: _Page, *, reply: bool = False, thread: str = "") -> str:
    """One message: avatar, author, time, its latest blocks (or text), files, then ``thread``."""
    author, app = _author(page.standin, message)
    colour = _APP_COLOUR if app else _AVATAR_COLOURS[sum(map(ord, message.user)) % 6]
    initial = next((c for c in author if c.isalnum()), "?").upper()
    if message.blocks:
        content = blocks_to_html(message.blocks, page.names, page.images)
    elif message.text:
        content = f'<div class="msg-text">{mrkdwn_to_html(message.text, page.names)}</div>'
    else:
        content = ""
    files = [page.files[i] for i in (str(f.get("id")) for f in message.files) if i in page.files]
    shared = "".join(file_html(f.title, f.name, f.local, f.content, alt=f.alt) for f in files)
    shared = f'<div class="files">{shared}</div>' if shared else ""
    anchor = _esc(f"m-{message.ts.replace('.', '-')}")
    return (f'<article class="msg{" reply" if reply else ""}" id="{anchor}">'
            f'<div class="avatar" style="background:{colour}">{_esc(initial)}</div>'
            f'<div class="msg-body">{meta_html(author, app, _moment(message.ts), _edited(message))}'
            f"{content}{shared}{thread}</div></article>")


def _thread_html(thread: Thread, page: _Page) -> str:
    """A top-level message with its replies indented under it."""
    replies = "".join(_message_html(r, page, reply=True) for r in thread.replies)
    count = len(thread.replies)
    head = f'<div class="thread-head">{count} {"reply" if count == 1 else "replies"}</div>'
    below = f'<div class="thread">{head}{replies}</div>' if replies else ""
    if thread.parent is None:  # as Slack shows a deleted message that has replies
        return ('<div class="msg"><div class="avatar deleted"></div><div class="msg-body">'
                f'<div class="orphan">{_DELETED}</div>{below}</div></div>')
    return _message_html(thread.parent, page, thread=below)


def _channel_html(channel_id: str, page: _Page) -> str:
    """A channel's heading, then its threads with a divider wherever the (UTC) day changes."""
    threads = channel_threads(page.standin, channel_id)
    count = sum(len(t.replies) + (t.parent is not None) for t in threads)
    parts = [f'<section class="channel" id="c-{_esc(channel_id)}"><div class="channel-head">'
             f"<h2>{_esc(page.names.channel(channel_id))}</h2>"
             f"<p>{count} messages · times in UTC</p></div>"]
    day = None
    for thread in threads:
        moment = _moment(thread.ts)
        if moment.date() != day:
            day = moment.date()
            parts.append(f'<div class="day"><span>{moment:%A}, {moment.day} '
                         f"{moment:%B %Y}</span></div>")
        parts.append(_thread_html(thread, page))
    return "".join(parts) + "</section>"


def _page_html(page: _Page, channel_ids: Sequence[str], title: str, extra: Sequence[str]) -> str:
    nav = [f'<a href="#c-{_esc(c)}">{_esc(page.names.channel(c))}</a>' for c in channel_ids]
    if extra:
        nav.append('<div class="nav-title">Files</div>')
        nav.extend(f'<a href="{_esc(name)}">📄 {_esc(name)}</a>' for name in extra)
    body = "".join(_channel_html(c, page) for c in channel_ids)
    subtitle = f"{len(page.files)} files · times in UTC"
    return page_html(title, page.standin.ws.team_domain, "".join(nav), subtitle, body)


# -- the transcript ------------------------------------------------------------------------------
def _one_line(obj: Any, names: Names) -> str:
    return " ".join(text_lines(parse_text_object(obj, names)))


def _element_text(el: Any, names: Names) -> str:
    """``[Label]`` for a button, ``[choice ▾]`` for a menu, the text of a text element."""
    kind = el.get("type") if isinstance(el, Mapping) else None
    if kind in ("mrkdwn", "plain_text"):
        return _one_line(el, names)
    if kind == "image":
        return f"(image: {el.get('alt_text', '')})"
    if kind == "button":
        return f"[{_one_line(el.get('text'), names)}]"
    if kind == "overflow":
        return "[⋯]"
    shown = el.get("placeholder") if isinstance(el, Mapping) else None
    return f"[{_one_line(shown, names) if shown else kind} ▾]"


def _field_text(field: Any, names: Names) -> str:
    """``label: value`` for the usual ``*Label*\\nvalue`` field."""
    lines = text_lines(parse_text_object(field, names))
    if len(lines) > 1 and len(lines[0]) <= 60:
        return f"{lines[0]}: {' '.join(lines[1:])}"
    return " ".join(lines)


def _section_text(block: Mapping[str, Any], names: Names) -> list[str]:
    lines = text_lines(parse_text_object(block.get("text"), names))
    lines.extend(_field_text(f, names) for f in block.get("fields") or ())
    if block.get("accessory") is not None:
        lines.append(_element_text(block["accessory"], names))
    return lines


_TEXT_BLOCKS: Mapping[str, Callable[[Mapping[str, Any], Names], list[str]]] = {
    "header": lambda b, n: [_one_line(b.get("text"), n)],
    "section": _section_text,
    "context": lambda b, n: ["  ".join(_element_text(e, n) for e in b.get("elements") or ())],
    "divider": lambda _b, _n: ["─" * 40],
    "actions": lambda b, n: [" ".join(_element_text(e, n) for e in b.get("elements") or ())],
    "image": lambda b, n: [f"(image: {_one_line(b.get('title'), n) or b.get('alt_text', '')})"],
    "markdown": lambda b, n: text_lines(parse_markdown(str(b.get("text", "")), n)),
    "rich_text": lambda b, n: text_lines(parse_rich_text(b, n)),
}


def blocks_to_text(blocks: Sequence[Any], names: Names) -> list[str]:
    """A message's blocks as plain lines: fields as ``label: value``, buttons as ``[Label]``."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Mapping):
            render = _TEXT_BLOCKS.get(str(block.get("type")))
            lines.extend(render(block, names) if render else [f"[{block.get('type')} block]"])
    return lines


def _message_lines(
    standin: SlackStandIn, message: Message, names: Names, lead: str, width: int
) -> list[str]:
    """``[10:42:07] triage-bot: <first line>`` then the rest indented, wrapped to ``width``."""
    author, _ = _author(standin, message)
    if message.blocks:
        body = blocks_to_text(message.blocks, names)
    else:
        body = text_lines(parse_mrkdwn(message.text, names))
    if message.files:
        body.append(" ".join(f"(file: {f.get('name') or f.get('id')})" for f in message.files))
    head = body.pop(0) if body else ""
    edited = f"  ({_edited(message)})" if message.edits else ""
    indent = " " * (len(lead) + 4)
    first = f"{lead}[{_moment(message.ts):%H:%M:%S}] {author}: {head}{edited}"
    lines = textwrap.wrap(first, width, subsequent_indent=indent) or [first]
    for line in body:
        lines.extend(textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent,
                                   break_on_hyphens=False) or [""])
    return lines


def channel_transcript(standin: SlackStandIn, channel_id: str, *, width: int = 100) -> str:
    """The channel for a terminal: in order, replies under ``↳``, wrapped at ``width`` chars."""
    names = Names.of(standin.ws)
    threads = channel_threads(standin, channel_id)
    count = sum(len(t.replies) + (t.parent is not None) for t in threads)
    lines = [f"{names.channel(channel_id)} · {count} messages · times in UTC"]
    for thread in threads:
        if thread.parent is None:
            lines.append(f"({_DELETED})")
        else:
            lines.extend(_message_lines(standin, thread.parent, names, "", width))
        for reply in thread.replies:
            lines.extend(_message_lines(standin, reply, names, "  ↳ ", width))
    return "\n".join(lines) + "\n"


# -- the folder ------------------------------------------------------------------------------------
def export_channel(
    standin: SlackStandIn,
    channel_ids: Sequence[str],
    out_dir: Path,
    *,
    title: str,
    extra_files: Mapping[str, bytes] = NO_EXTRA_FILES,
) -> ExportResult:
    """Write ``index.html`` for ``channel_ids`` and every file they show into ``out_dir``.

    ``extra_files`` (e.g. ``{"rca.md": ...}``) are written beside them and linked from the
    page's sidebar; every name is made safe and unique first (``index.html`` is the page's).
    Existing files of the same names are replaced; others in ``out_dir`` are left alone.
    """
    taken = {PAGE_NAME}
    extra = {safe_file_name(name, taken): data for name, data in extra_files.items()}
    files = _plan_files(standin, channel_ids, taken)
    images = {i: f.local for i, f in files.items() if f.local and f.image}
    page = _Page(standin, Names.of(standin.ws), files, images)
    html = _page_html(page, channel_ids, title, list(extra))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {f.local: f.content for f in files.values() if f.local and f.content is not None}
    for name, data in {**written, **extra}.items():
        (out_dir / name).write_bytes(data)
    (out_dir / PAGE_NAME).write_text(html, encoding="utf-8")
    shown = [f for f in files.values() if f.local in written]
    return ExportResult(
        directory=out_dir, index_html=out_dir / PAGE_NAME,
        images=tuple(out_dir / str(f.local) for f in shown if f.image),
        attachments=tuple(out_dir / str(f.local) for f in shown if not f.image),
        extra=tuple(out_dir / name for name in extra),
        messages=sum(len(standin.messages(c)) for c in channel_ids))
