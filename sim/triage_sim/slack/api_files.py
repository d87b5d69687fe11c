"""The files v2 upload flow: getUploadURLExternal → POST bytes → completeUploadExternal.

``files.upload`` was retired in 2025; slack_sdk's ``files_upload_v2`` drives these three
steps. Completing an upload with ``channel_id`` shares the files as one message (in the
thread when ``thread_ts`` is given), its text being ``initial_comment``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from triage_sim.slack.blockkit import MAX_MESSAGE_TEXT
from triage_sim.slack.state import ApiError, Message, StoredFile, Workspace

__all__ = [
    "add_shared_file",
    "files_complete_upload_external",
    "files_get_upload_url_external",
    "files_info",
    "receive_upload",
]

MAX_FILES_PER_COMPLETE = 10


def files_get_upload_url_external(
    ws: Workspace, args: dict[str, Any], upload_url: Callable[[str], str]
) -> dict[str, Any]:
    """Reserve a file id and hand out the URL its bytes go to."""
    filename, length = args.get("filename"), args.get("length")
    missing = [k for k, v in (("filename", filename), ("length", length)) if v in (None, "")]
    if missing:
        raise ApiError(
            "invalid_arguments", messages=[f"missing required field: {k}" for k in missing]
        )
    try:
        size = int(str(length))
    except ValueError as exc:
        raise ApiError("invalid_arguments", messages=["length must be an integer"]) from exc
    if size <= 0:
        raise ApiError("invalid_arguments", messages=["length must be greater than 0"])
    token = secrets.token_urlsafe(18)
    file_id = ws.new_id("F")
    ws.files[file_id] = StoredFile(
        id=file_id,
        filename=str(filename),
        length=size,
        upload_token=token,
        alt_txt=args.get("alt_txt"),
    )
    return {"upload_url": upload_url(token), "file_id": file_id}


def receive_upload(ws: Workspace, token: str, content: bytes) -> StoredFile | None:
    """Store the bytes POSTed to an upload URL; ``None`` for an unknown URL."""
    for file in ws.files.values():
        if file.upload_token == token and not file.completed:
            stored = replace(file, content=content)
            ws.files[file.id] = stored
            return stored
    return None


def _requested_files(args: dict[str, Any]) -> list[dict[str, Any]]:
    raw = args.get("files")
    try:
        files = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise ApiError("invalid_arguments", messages=["files must be a JSON array"]) from exc
    if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
        raise ApiError("invalid_arguments", messages=["missing required field: files"])
    if len(files) > MAX_FILES_PER_COMPLETE:
        raise ApiError("invalid_arguments", messages=["no more than 10 items allowed"])
    return files


def files_complete_upload_external(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """Finish uploads; share them in ``channel_id`` (and ``thread_ts``) when given."""
    requested = _requested_files(args)
    channel_ref = args.get("channel_id") or None
    channel = ws.channel(channel_ref) if channel_ref else None
    thread_ts = args.get("thread_ts") or None
    if thread_ts and channel is None:
        raise ApiError("invalid_arguments", messages=["thread_ts requires channel_id"])
    comment = args.get("initial_comment") or ""
    if len(str(comment)) > MAX_MESSAGE_TEXT:
        raise ApiError("msg_too_long")
    done: list[StoredFile] = []
    for item in requested:
        file = ws.files.get(str(item.get("id")))
        if file is None or file.content is None or file.completed:
            raise ApiError("file_not_found")
        done.append(file)
    for file, item in zip(done, requested, strict=True):
        ws.files[file.id] = replace(
            file,
            title=item.get("title") or file.filename,
            completed=True,
            channel=channel.id if channel else None,
            thread_ts=str(thread_ts) if thread_ts else None,
        )
    finished = [ws.files[f.id] for f in done]
    if channel is not None:
        ws.append_message(
            Message(
                channel=channel.id,
                ts=ws.next_ts(),
                text=str(comment),
                user=ws.bot_user_id,
                thread_ts=str(thread_ts) if thread_ts else None,
                files=tuple(f.as_slack() for f in finished),
                bot_id=ws.bot_id,
                via="files.completeUploadExternal",
                extra={"app_id": ws.app_id},
            )
        )
    return {"files": [{"id": f.id, "title": f.title} for f in finished]}


def files_info(ws: Workspace, args: dict[str, Any],
               private_url: Callable[[str, str], str]) -> dict[str, Any]:
    """files.info: the file with its ``url_private`` and where it is shared (``shares``)."""
    file = ws.files.get(str(args.get("file") or ""))
    if file is None or not file.completed:
        raise ApiError("file_not_found")
    body = file.as_slack()
    url = private_url(file.id, file.filename)
    body.update(url_private=url, url_private_download=url + "?download=1",
                user=file.user or ws.bot_user_id, shares={})
    if file.channel is not None:
        share: dict[str, Any] = {"ts": file.message_ts or "", "channel_name": ""}
        if file.thread_ts:
            share["thread_ts"] = file.thread_ts
        private = ws.channels[file.channel].is_private if file.channel in ws.channels else False
        body["shares"] = {"private" if private else "public": {file.channel: [share]}}
    return {"file": body, "comments": [], "response_metadata": {"next_cursor": ""}}


def add_shared_file(ws: Workspace, *, channel: str, user: str, filename: str, content: bytes,
                    thread_ts: str | None = None) -> tuple[StoredFile, Message]:
    """A person uploads ``content`` into a channel (or a thread): the file and its message."""
    ws.channel(channel)
    ws.user(user)
    ts = ws.next_ts()
    file = StoredFile(id=ws.new_id("F"), filename=filename, length=len(content),
                      upload_token="", content=content, title=filename, completed=True,
                      channel=channel, thread_ts=thread_ts, user=user, message_ts=ts)
    ws.files[file.id] = file
    message = ws.append_message(Message(channel=channel, ts=ts, text="", user=user,
                                        thread_ts=thread_ts, files=(file.as_slack(),),
                                        extra={"subtype": "file_share"}))
    return file, message
