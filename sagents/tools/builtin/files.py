"""``list_files``, ``read_file``, ``write_file``: the session's workspace.

The same files a person uploads and downloads (``sagents.files``) and
``execute_python`` and skill scripts work in; every path is checked
(``sagents.files.names``) and walked without following links.
"""

from __future__ import annotations

import asyncio
import io
import os
from typing import Annotated

from pydantic import Field

from sagents.files import (
    BadPath,
    FileConflict,
    FileNotInWorkspace,
    SessionFiles,
    Upload,
    WorkspaceFull,
    check_path,
)
from sagents.files.announce import announce_files
from sagents.skills.manager import SkillManager
from sagents.tools.builtin.scope import BuiltinToolError, session_and_user
from sagents.tools.decorator import tool
from sagents.tools.spec import ToolSpec

MAX_READ_CHARS = 60_000
MAX_WRITE_CHARS = 1_000_000
MAX_LISTED = 500


def file_tools(skills: SkillManager) -> list[ToolSpec]:
    def files() -> SessionFiles:
        session_id, _ = session_and_user()
        return SessionFiles.of(skills.workspace(session_id))

    def checked(path: str) -> str:
        try:
            return check_path(path)
        except BadPath as error:
            raise BuiltinToolError(str(error)) from None

    @tool(name="list_files")
    async def list_files(
        folder: Annotated[str, Field(description="Only files under this folder; '' for all.")] = "",
    ) -> str:
        """List the files in this session's workspace (uploads, and what code and
        scripts wrote), with their sizes."""
        prefix = checked(folder) + "/" if folder.strip("/") else ""
        items = [i for i in await files().list() if i.path.startswith(prefix)]
        if not items:
            return "(no files)"
        lines = [f"{i.path}  ({i.size} bytes, {i.media_type})" for i in items[:MAX_LISTED]]
        if len(items) > MAX_LISTED:
            lines.append(f"… and {len(items) - MAX_LISTED} more")
        return "\n".join(lines)

    @tool(name="read_file", max_result_chars=MAX_READ_CHARS + 200)
    async def read_file(
        path: Annotated[str, Field(description="The file's path in the workspace.")],
    ) -> str:
        """Read a text file from this session's workspace."""
        target = checked(path)
        try:
            fd, info = await files().open(target)
        except FileNotInWorkspace:
            raise BuiltinToolError(f"no file {target!r} in the workspace") from None
        try:
            data = await asyncio.to_thread(os.read, fd, MAX_READ_CHARS * 4 + 4)
        finally:
            os.close(fd)
        if b"\0" in data[:8192]:
            return f"({target} is a binary file of {info.size} bytes)"
        text = data.decode("utf-8", errors="replace")
        if len(text) > MAX_READ_CHARS or info.size > len(data):
            return text[:MAX_READ_CHARS] + f"\n[cut: the file has {info.size} bytes]"
        return text

    @tool(name="write_file")
    async def write_file(
        path: Annotated[str, Field(description="The file's path in the workspace.")],
        content: Annotated[str, Field(description="The whole text of the file.")],
    ) -> str:
        """Write a text file into this session's workspace (replacing one of the
        same path); the person can download it."""
        target = checked(path)
        if len(content) > MAX_WRITE_CHARS:
            raise BuiltinToolError(f"content is over {MAX_WRITE_CHARS} characters")
        data = content.encode()
        try:
            stored = await files().put([Upload(target, io.BytesIO(data), len(data))])
        except (WorkspaceFull, FileConflict) as error:
            raise BuiltinToolError(str(error)) from None
        announce_files((i.path, i.size) for i in stored)
        return f"wrote {target} ({len(data)} bytes)"

    return [list_files, read_file, write_file]
