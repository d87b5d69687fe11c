"""Block Kit as HTML: what a Slack client would draw for a message's blocks, without Slack.

Text goes through :mod:`triage_sim.export.mrkdwn`'s tree, so every character that reaches the
page is escaped here exactly once and only the tags written below are ever emitted: message
text cannot inject markup, a ``javascript:`` link becomes plain text, and images come from
files written next to the page (an external ``image_url`` is linked, never fetched).
Interactive elements are drawn disabled: the page is a record, not a client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape
from types import MappingProxyType
from typing import Any

from triage_sim.export.mrkdwn import (
    NO_NAMES,
    Code,
    Emoji,
    LineBreak,
    Link,
    Mention,
    Names,
    Node,
    Quote,
    Styled,
    Text,
    parse_mrkdwn,
    parse_rich_text,
    parse_text_object,
    safe_url,
    text_lines,
)

__all__ = [
    "STYLESHEET",
    "blocks_to_html",
    "element_html",
    "file_html",
    "is_image",
    "meta_html",
    "mrkdwn_to_html",
    "nodes_to_html",
    "page_html",
    "parse_markdown",
    "text_object_html",
]

Block = Mapping[str, Any]
NO_IMAGES: Mapping[str, str] = MappingProxyType({})
_BUTTON_STYLES = {"primary": "bk-btn bk-primary", "danger": "bk-btn bk-danger"}
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
# Nothing runs and nothing is fetched but the files beside the page, even if markup slipped in.
_CSP = ("default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'")
_MONO = "12px/1.5 Monaco, Menlo, Consolas, 'Courier New', monospace"

# Slack's look, near enough for a screenshot: its fonts, greys, link blue and button greens.
STYLESHEET = (
    "*{box-sizing:border-box}"
    "body{margin:0;color:#1d1c1d;background:#fff;"
    "font:15px/1.47 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Arial,"
    "sans-serif,'Apple Color Emoji','Segoe UI Emoji','Noto Color Emoji'}"
    "a{color:#1264a3;text-decoration:none}.app{display:flex;min-height:100vh}"
    ".sidebar{flex:none;width:220px;background:#3f0e40;color:#cfc3cf;position:sticky;top:0;"
    "height:100vh;overflow:auto;padding-bottom:16px}"
    ".workspace{color:#fff;font-weight:900;font-size:18px;padding:14px 16px;"
    "border-bottom:1px solid #5d3a5e}"
    ".nav-title{font-size:13px;padding:14px 16px 4px;opacity:.8}"
    ".sidebar a{display:block;color:#cfc3cf;padding:3px 16px;white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis}"
    ".sidebar a:hover{background:#350d36;color:#fff}main{flex:1;min-width:0;padding-bottom:40px}"
    ".page-head{position:sticky;top:0;z-index:1;background:#fff;padding:10px 20px;"
    "border-bottom:1px solid #e2e2e2}"
    ".page-head h1{margin:0;font-size:18px;font-weight:900}"
    ".page-head p,.channel-head p{margin:2px 0 0;color:#616061;font-size:13px}"
    ".channel-head{padding:20px 20px 4px}"
    ".channel-head h2{margin:0;font-size:22px;font-weight:900}"
    ".day{display:flex;align-items:center;margin:16px 20px 4px;color:#1d1c1d;font-size:13px;"
    "font-weight:700}"
    ".day::before,.day::after{content:'';flex:1;border-top:1px solid #e2e2e2}"
    ".day span{border:1px solid #e2e2e2;border-radius:24px;padding:2px 14px;margin:0 8px}"
    ".msg{display:flex;gap:8px;padding:8px 20px}.msg:hover{background:#f8f8f8}"
    ".avatar{flex:none;width:36px;height:36px;border-radius:6px;color:#fff;font-weight:900;"
    "display:flex;align-items:center;justify-content:center}"
    ".reply .avatar{width:24px;height:24px;font-size:12px;border-radius:4px}"
    ".msg-body{flex:1;min-width:0;overflow-wrap:anywhere}"
    ".meta{display:flex;align-items:baseline;gap:6px}.author{font-weight:900}"
    ".badge{background:#e8e8e8;color:#616061;font-size:10px;font-weight:700;padding:0 3px;"
    "border-radius:2px}"
    "time,.edited{color:#616061;font-size:12px}"
    ".thread{margin-top:6px;border-left:3px solid #e2e2e2}"
    ".thread-head{color:#1264a3;font-size:13px;font-weight:700;padding:2px 10px}"
    ".thread .msg{padding:6px 10px}"
    ".orphan{color:#616061;font-style:italic}.deleted{background:#e2e2e2}.blocks>*{margin:4px 0}"
    ".bk-header{font-size:18px;font-weight:900;line-height:1.33;margin-top:2px}"
    ".bk-section{display:flex;gap:12px}.bk-section-body{flex:1;min-width:0}"
    ".bk-fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px;margin-top:8px}"
    ".bk-context{display:flex;flex-wrap:wrap;align-items:center;gap:4px 8px;color:#616061;"
    "font-size:12px}"
    ".bk-thumb{width:20px;height:20px;border-radius:3px;object-fit:cover}"
    ".bk-divider{border:0;border-top:1px solid #e2e2e2;margin:12px 0}"
    ".bk-actions{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0 6px}"
    ".bk-btn,.bk-select{display:inline-block;font:inherit;font-size:13px;font-weight:700;"
    "height:28px;line-height:26px;padding:0 12px;border:1px solid #bbbabb;border-radius:4px;"
    "background:#fff;color:#1d1c1d;opacity:1;cursor:default;white-space:nowrap}"
    ".bk-select{font-weight:400;color:#616061}"
    ".bk-primary{background:#007a5a;border-color:#007a5a;color:#fff}"
    ".bk-danger{background:#e01e5a;border-color:#e01e5a;color:#fff}.bk-image{margin:8px 0}"
    ".bk-picture,.file-image img{display:block;max-width:min(100%,800px);height:auto;"
    "border:1px solid #e2e2e2;border-radius:8px}"
    "figcaption,.file-title{color:#616061;font-size:13px;margin-bottom:4px}"
    ".files{display:flex;flex-direction:column;gap:10px;margin-top:6px}.file-image{margin:0}"
    ".file-link{display:inline-flex;gap:8px;align-items:center;align-self:flex-start;"
    "border:1px solid #e2e2e2;border-radius:8px;padding:8px 12px;color:#1d1c1d}"
    ".file-link small{color:#616061}"
    f"code{{font:{_MONO};color:#e01e5a;background:#f6f6f6;border:1px solid #e2e2e2;"
    "border-radius:3px;padding:0 3px}"
    f"pre{{font:{_MONO};background:#f8f8f8;border:1px solid #e2e2e2;border-radius:4px;padding:8px;"
    "margin:4px 0;white-space:pre-wrap;overflow-wrap:anywhere}"
    "blockquote{margin:4px 0;padding-left:12px;border-left:4px solid #ddd}"
    ".mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}"
    ".mention-broadcast{background:#fff4cc;color:#1d1c1d}"
    ".bk-deadlink{color:#616061;text-decoration:underline dotted}"
    ".bk-unknown{color:#616061;font-style:italic}"
)


def _esc(text: str) -> str:
    return escape(text, quote=True)


def _link_html(link: Link) -> str:
    if link.url is None:
        return f'<span class="bk-deadlink">{_esc(link.label)}</span>'
    return f'<a href="{_esc(link.url)}" rel="noopener noreferrer">{_esc(link.label)}</a>'


_NODE_HTML: Mapping[type, Callable[[Any], str]] = {
    Text: lambda n: _esc(n.text),
    Code: lambda n: f"<pre>{_esc(n.text)}</pre>" if n.block else f"<code>{_esc(n.text)}</code>",
    Styled: lambda n: f"<{n.style}>{nodes_to_html(n.children)}</{n.style}>",
    Link: _link_html,
    Mention: lambda n: f'<span class="mention mention-{n.kind}">{_esc(n.label)}</span>',
    Emoji: lambda n: f'<span class="emoji" title=":{_esc(n.name)}:">{_esc(n.char)}</span>',
    LineBreak: lambda _: "<br>",
    Quote: lambda n: f"<blockquote>{nodes_to_html(n.children)}</blockquote>",
}


def nodes_to_html(nodes: Sequence[Node]) -> str:
    """Nodes as HTML; the only markup is the tags written here, every text escaped."""
    return "".join(_NODE_HTML[type(node)](node) for node in nodes)


def mrkdwn_to_html(text: str, names: Names = NO_NAMES) -> str:
    """Slack mrkdwn (message text, entities escaped) as HTML."""
    return nodes_to_html(parse_mrkdwn(text, names))


def text_object_html(obj: Any, names: Names = NO_NAMES) -> str:
    """A Block Kit text object (mrkdwn or plain_text) as HTML."""
    return nodes_to_html(parse_text_object(obj, names))


def _plain(obj: Any) -> str:
    """A plain_text object as one escaped line (labels, placeholders, alt texts)."""
    return _esc(" ".join(text_lines(parse_text_object(obj))))


_MD_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^```[^\n]*$", re.MULTILINE), "```"),
    (re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE), r"\1• "),
    (re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)"), r"<\2|\1>"),
    (re.compile(r"(?<![\w*])\*(?!\*)([^*\n]+)\*(?![\w*])"), r"_\1_"),
    (re.compile(r"\*\*([^*\n]+)\*\*|__([^_\n]+)__"), r"*\1\2*"),
    (re.compile(r"~~([^~\n]+)~~"), r"~\1~"),
    (re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE), r"*\1*"),
)


def parse_markdown(text: str, names: Names = NO_NAMES) -> tuple[Node, ...]:
    """A ``markdown`` block (standard Markdown), basic: rewritten as mrkdwn, then parsed.

    Headings become bold lines, list items bullets, ``[label](url)`` a link, ``**b**`` and
    ``*i*`` Slack's ``*b*`` and ``_i_``. Markdown is raw text, so it is entity-escaped first.
    """
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for pattern, replacement in _MD_RULES:
        out = pattern.sub(replacement, out)
    return parse_mrkdwn(out, names)


# -- elements ---------------------------------------------------------------------------------
def _button(el: Block, _names: Names, _images: Mapping[str, str]) -> str:
    css = _BUTTON_STYLES.get(str(el.get("style")), "bk-btn")
    label = _plain(el.get("text"))
    url = safe_url(str(el.get("url") or ""))
    if url is not None:
        return f'<a class="{css}" href="{_esc(url)}" rel="noopener noreferrer">{label}</a>'
    action = _esc(str(el.get("action_id", "")))
    return f'<button type="button" class="{css}" title="{action}" disabled>{label}</button>'


def _picture(el: Block, images: Mapping[str, str], css: str) -> str:
    """A local image (an uploaded ``slack_file``); an external ``image_url`` only as a link."""
    alt = _esc(str(el.get("alt_text", "")))
    slack_file = el.get("slack_file")
    file_id = slack_file.get("id") if isinstance(slack_file, Mapping) else None
    if isinstance(file_id, str) and file_id in images:
        return f'<img class="{css}" src="{_esc(images[file_id])}" alt="{alt}">'
    url = safe_url(str(el.get("image_url") or ""))
    if url is not None:
        return f'<a class="bk-ext-image" href="{_esc(url)}" rel="noopener noreferrer">🖼 {alt}</a>'
    return f'<span class="bk-ext-image">🖼 {alt}</span>'


def _image_element(el: Block, _names: Names, images: Mapping[str, str]) -> str:
    return _picture(el, images, "bk-thumb")


def _menu(el: Block, _names: Names, _images: Mapping[str, str]) -> str:
    if el.get("type") == "overflow":
        return '<span class="bk-select bk-overflow" title="more actions">⋯</span>'
    initial = el.get("initial_option")
    shown = initial.get("text") if isinstance(initial, Mapping) else el.get("placeholder")
    label = _plain(shown) if shown else _esc(str(el.get("initial_date") or el.get("type")))
    return f'<span class="bk-select">{label} ▾</span>'


def _text_element(el: Block, names: Names, _images: Mapping[str, str]) -> str:
    return f"<span>{text_object_html(el, names)}</span>"


_ELEMENTS: Mapping[str, Callable[[Block, Names, Mapping[str, str]], str]] = {
    "button": _button,
    "image": _image_element,
    "mrkdwn": _text_element,
    "plain_text": _text_element,
}


def element_html(el: Any, names: Names = NO_NAMES, images: Mapping[str, str] = NO_IMAGES) -> str:
    """One interactive or context element; menus, pickers and the rest as a closed select."""
    if not isinstance(el, Mapping):
        return ""
    render = _ELEMENTS.get(str(el.get("type")), _menu)
    return render(el, names, images)


# -- blocks ---------------------------------------------------------------------------------------
def _header(block: Block, _names: Names, _images: Mapping[str, str]) -> str:
    return f'<div class="bk-header">{text_object_html(block.get("text"))}</div>'


def _section(block: Block, names: Names, images: Mapping[str, str]) -> str:
    parts = []
    if block.get("text"):
        parts.append(f'<div class="bk-text">{text_object_html(block.get("text"), names)}</div>')
    fields = [f'<div class="bk-field">{text_object_html(f, names)}</div>'
              for f in block.get("fields") or ()]
    if fields:
        parts.append(f'<div class="bk-fields">{"".join(fields)}</div>')
    body = f'<div class="bk-section-body">{"".join(parts)}</div>'
    accessory = block.get("accessory")
    if accessory is None:
        return f'<div class="bk-section">{body}</div>'
    side = f'<div class="bk-accessory">{element_html(accessory, names, images)}</div>'
    return f'<div class="bk-section bk-with-accessory">{body}{side}</div>'


def _context(block: Block, names: Names, images: Mapping[str, str]) -> str:
    elements = [element_html(el, names, images) for el in block.get("elements") or ()]
    return f'<div class="bk-context">{"".join(elements)}</div>'


def _divider(_block: Block, _names: Names, _images: Mapping[str, str]) -> str:
    return '<hr class="bk-divider">'


def _actions(block: Block, names: Names, images: Mapping[str, str]) -> str:
    elements = [element_html(el, names, images) for el in block.get("elements") or ()]
    return f'<div class="bk-actions">{"".join(elements)}</div>'


def _image(block: Block, _names: Names, images: Mapping[str, str]) -> str:
    title = block.get("title")
    caption = f"<figcaption>{_plain(title)}</figcaption>" if title else ""
    return f'<figure class="bk-image">{caption}{_picture(block, images, "bk-picture")}</figure>'


def _markdown(block: Block, names: Names, _images: Mapping[str, str]) -> str:
    html = nodes_to_html(parse_markdown(str(block.get("text", "")), names))
    return f'<div class="bk-markdown">{html}</div>'


def _rich_text(block: Block, names: Names, _images: Mapping[str, str]) -> str:
    return f'<div class="bk-rich-text">{nodes_to_html(parse_rich_text(block, names))}</div>'


def _unknown(block: Block, _names: Names, _images: Mapping[str, str]) -> str:
    kind = _esc(str(block.get("type", "unknown")))
    return f'<div class="bk-unknown">[{kind} block]</div>'


_BLOCKS: Mapping[str, Callable[[Block, Names, Mapping[str, str]], str]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "divider": _divider,
    "actions": _actions,
    "image": _image,
    "markdown": _markdown,
    "rich_text": _rich_text,
}


def blocks_to_html(
    blocks: Sequence[Any], names: Names = NO_NAMES, images: Mapping[str, str] = NO_IMAGES
) -> str:
    """A message's blocks as HTML, in order; ``images`` maps Slack file ids to local file names
    (for image blocks whose ``slack_file`` was uploaded). Unknown blocks show as a placeholder."""
    parts = []
    for block in blocks:
        if isinstance(block, Mapping):
            render = _BLOCKS.get(str(block.get("type")), _unknown)
            parts.append(render(block, names, images))
    return f'<div class="blocks">{"".join(parts)}</div>'


# -- files and the page ---------------------------------------------------------------------------
def is_image(content: bytes | None) -> bool:
    """PNG, JPEG or GIF by their bytes: drawn inline (never SVG, which can carry script)."""
    return content is not None and content.startswith(_IMAGE_MAGIC)


def file_html(title: str, name: str, href: str | None, content: bytes | None, *, alt: str) -> str:
    """A shared file: an image inline, anything else (the RCA's Markdown) as a link to it.

    ``href`` is the file's name beside the page, None when its bytes never arrived.
    """
    if href and is_image(content):
        return (f'<figure class="file-image"><figcaption class="file-title">{_esc(title)}'
                f'</figcaption><img src="{_esc(href)}" alt="{_esc(alt)}"></figure>')
    size = f"{len(content)} bytes" if content is not None else "not uploaded"
    inner = f"📄 <span>{_esc(title)}</span> <small>{_esc(name)} · {size}</small>"
    if href:
        return f'<a class="file-link" href="{_esc(href)}">{inner}</a>'
    return f'<span class="file-link">{inner}</span>'


def meta_html(author: str, app: bool, at: datetime, edited: str) -> str:
    """A message's byline: author, APP badge for the bot, time (UTC), ``(edited N times)``."""
    parts = [f'<span class="author">{_esc(author)}</span>',
             '<span class="badge">APP</span>' if app else "",
             f'<time datetime="{at:%Y-%m-%dT%H:%M:%SZ}" '
             f'title="{at:%Y-%m-%d %H:%M:%S} UTC">{at:%H:%M:%S}</time>',
             f'<span class="edited">({_esc(edited)})</span>' if edited else ""]
    return f'<div class="meta">{"".join(parts)}</div>'


def page_html(title: str, workspace: str, nav: str, subtitle: str, body: str) -> str:
    """A whole page in Slack's layout: the sidebar (``nav``: HTML links), a title bar and
    ``body`` (HTML). Self-contained: inline stylesheet, no script, a CSP to match."""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>\n{STYLESHEET}\n</style></head>\n"
            f'<body><div class="app"><nav class="sidebar"><div class="workspace">'
            f'{_esc(workspace)}</div><div class="nav-title">Channels</div>{nav}</nav>'
            f'<main><header class="page-head"><h1>{_esc(title)}</h1><p>{_esc(subtitle)}</p>'
            f"</header>\n{body}</main></div></body></html>\n")
