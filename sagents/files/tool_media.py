"""Images, audio and binary parts a tool returned, kept as session files.

A model sees a tool's media during its run only (``context/media_parts.py``);
saved in the session's workspace they outlive the run: the person can
download them and ``execute_python`` or a script can work on them. Each part
becomes ``tool-media/<call id>-<n><extension>``, announced by a
``file.created`` event. A part that does not fit the workspace is not kept
(logged); the tool's result is unchanged either way.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import re

from sagents.events import FileCreated
from sagents.files.names import BadPath, check_path
from sagents.files.store import FileConflict, SessionFiles, Upload, WorkspaceFull
from sagents.skills.manager import SkillManager
from sagents.tools.media import Media

log = logging.getLogger(__name__)
FOLDER = "tool-media"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


async def save_tool_media(
    skills: SkillManager, session_id: str, call_id: str, media: tuple[Media, ...]
) -> list[FileCreated]:
    """Store ``media`` in the session's workspace; the events to announce them."""
    stem = _UNSAFE.sub("_", call_id)[:64] or "call"
    uploads = []
    for index, part in enumerate(media, 1):
        extension = mimetypes.guess_extension(part.mime_type, strict=False) or ".bin"
        try:
            path = check_path(f"{FOLDER}/{stem}-{index}{extension}")
        except BadPath:
            continue
        uploads.append(Upload(path, io.BytesIO(part.data), part.size))
    try:
        stored = await SessionFiles.of(skills.workspace(session_id)).put(uploads)
    except (WorkspaceFull, FileConflict, ValueError, OSError) as error:
        log.warning("tool media of call %s not kept in the session's files: %s", call_id, error)
        return []
    return [
        FileCreated(path=i.path, size=i.size, media_type=i.media_type, call_id=call_id)
        for i in stored
    ]
