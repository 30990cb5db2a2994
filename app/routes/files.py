"""Session files: upload into a session's workspace, list, download, delete.

The workspace is where the session's skill scripts and ``execute_python``
read and write (``sagents.files``); a person hands a file to the agent by
uploading it and takes the agent's results away by downloading them.

What is downloaded was written by a script or a model: it is always sent
as an attachment, with ``X-Content-Type-Options: nosniff`` and a sandboxing
Content-Security-Policy, and with its own media type only when a browser
shows that type passively (``sagents.files.media``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.deps import runtime
from app.errors import ApiError, not_found
from app.identity import current_user
from app.openapi_errors import ErrorBody, error_responses
from sagents.files import (
    BadPath,
    FileConflict,
    FileInfo,
    FileNotInWorkspace,
    SessionFiles,
    Upload,
    WorkspaceFull,
    check_path,
    sanitise_name,
)
from sagents.files.media import served_as
from sagents.runtime import Runtime

router = APIRouter(prefix="/api/v1/sessions", tags=["files"])
UPLOAD_PATH = r"^/api/v1/sessions/[^/]+/files/?$"
"""The upload's path, which gets its own body limit (SAGE_SESSION_UPLOAD_MAX_BYTES)."""

User = Annotated[str, Depends(current_user)]
Rt = Annotated[Runtime, Depends(runtime)]
_CHUNK = 64 * 1024


class FileOut(BaseModel):
    path: str = Field(description="Relative to the session's workspace, '/'-separated.")
    size: int
    media_type: str
    modified: float = Field(description="Seconds since the epoch.")

    @classmethod
    def of(cls, info: FileInfo) -> FileOut:
        return cls(
            path=info.path, size=info.size, media_type=info.media_type, modified=info.modified
        )


class FileList(BaseModel):
    items: list[FileOut]
    total_bytes: int
    max_bytes: int = Field(description="What the workspace may hold (SAGE_SKILL_WORKSPACE_MB).")
    max_files: int = Field(description="Files and folders it may hold.")


async def _files(rt: Runtime, user: str, session_id: str) -> SessionFiles:
    """The caller's session's files; another user's session is not found."""
    if await rt.store.get_session(user, session_id) is None:
        raise not_found("session", session_id)
    if rt.skills is None:
        raise ApiError(503, "files_unavailable", "session files are not enabled on this server")
    try:
        return SessionFiles.of(rt.skills.workspace(session_id))
    except ValueError:  # an id no workspace can have (no stored session has one)
        raise not_found("session", session_id) from None


def _path(path: str) -> str:
    try:
        return check_path(path)
    except BadPath as error:
        raise ApiError(
            422, "bad_path", str(error), [{"field": "path", "problem": str(error)}]
        ) from None


@router.get("/{session_id}/files", responses=error_responses(404, 503))
async def list_files(session_id: str, user: User, rt: Rt) -> FileList:
    files = await _files(rt, user, session_id)
    items = await files.list()
    return FileList(
        items=[FileOut.of(i) for i in items],
        total_bytes=sum(i.size for i in items),
        max_bytes=files.limits.max_bytes,
        max_files=files.limits.max_entries,
    )


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "A path runs through a file or names a folder.", "model": ErrorBody},
    413: {
        "description": "Over SAGE_SESSION_UPLOAD_MAX_BYTES or SAGE_SESSION_UPLOAD_MAX_FILES, "
        "or the workspace would exceed its limits (`workspace_full`).",
        "model": ErrorBody,
    },
    **error_responses(404, 503),
}


@router.post(
    "/{session_id}/files", status_code=201, responses=UPLOAD_RESPONSES, response_model=None
)
async def upload_files(
    session_id: str,
    files: list[UploadFile],
    user: User,
    rt: Rt,
    folder: Annotated[
        str, Form(description="Folder of the workspace to put the files in ('' for the top).")
    ] = "",
) -> list[FileOut]:
    """Store the uploaded files (multipart field ``files``, repeatable) in the
    session's workspace under their sanitised names, replacing files of the
    same path; all of them or, on any error, none."""
    store = await _files(rt, user, session_id)
    cap = rt.settings.session_upload_max_files
    if len(files) > cap:
        raise ApiError(
            413, "too_many_files", f"{len(files)} files in one upload; at most {cap} are taken"
        )
    prefix = _path(folder) + "/" if folder.strip("/") else ""
    uploads: list[Upload] = []
    for upload in files:
        try:
            name = sanitise_name(upload.filename or "")
        except BadPath as error:
            raise ApiError(
                422, "bad_file_name", str(error), [{"field": "files", "problem": str(error)}]
            ) from None
        path = _path(prefix + name)
        uploads.append(Upload(path, upload.file, upload.size or 0))
    try:
        stored = await store.put(uploads)
    except WorkspaceFull as error:
        raise ApiError(413, "workspace_full", str(error)) from None
    except FileConflict as error:
        raise ApiError(409, "file_conflict", str(error)) from None
    return [FileOut.of(i) for i in stored]


DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, as an attachment.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    **error_responses(404, 503),
}


@router.get(
    "/{session_id}/files/{path:path}",
    response_class=StreamingResponse,
    responses=DOWNLOAD_RESPONSES,
)
async def download_file(session_id: str, path: str, user: User, rt: Rt) -> StreamingResponse:
    files = await _files(rt, user, session_id)
    checked = _path(path)
    try:
        fd, info = await files.open(checked)
    except FileNotInWorkspace:
        raise not_found("file", checked) from None
    name = checked.rsplit("/", 1)[-1]
    headers = {
        "Content-Length": str(info.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
    }
    return StreamingResponse(_read(fd), media_type=served_as(checked), headers=headers)


async def _read(fd: int) -> AsyncIterator[bytes]:
    """The open file's bytes; the descriptor is closed however the stream ends."""
    try:
        while chunk := await asyncio.to_thread(os.read, fd, _CHUNK):
            yield chunk
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


@router.delete(
    "/{session_id}/files/{path:path}", status_code=204, responses=error_responses(404, 503)
)
async def delete_file(session_id: str, path: str, user: User, rt: Rt) -> None:
    """Delete a file (or a folder with everything in it) from the workspace."""
    files = await _files(rt, user, session_id)
    checked = _path(path)
    if not await files.delete(checked):
        raise not_found("file", checked)
