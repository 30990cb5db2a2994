"""Skills: list what a user can see, read one, upload and delete their own.

Every lookup goes through the user's ``SkillView``, so a skill another user
installed is indistinguishable from a missing one (404). Uploaded archives
are checked before anything is written (see ``sagents.skills.archive``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from app.deps import runtime
from app.errors import ApiError, not_found
from app.identity import current_user
from app.openapi_errors import error_responses
from app.schemas import RecordOut
from sagents.runtime import Runtime
from sagents.skills import (
    ArchiveRejected,
    Skill,
    SkillInvalid,
    SkillManager,
    SkillNotFound,
)

router = APIRouter(prefix="/api/v1/skills", tags=["skills"])

User = Annotated[str, Depends(current_user)]


async def skill_manager(rt: Annotated[Runtime, Depends(runtime)]) -> SkillManager:
    if rt.skills is None:
        raise ApiError(503, "skills_unavailable", "skills are not enabled on this server")
    return rt.skills


Skills = Annotated[SkillManager, Depends(skill_manager)]


class SkillOut(RecordOut):
    name: str
    description: str
    origin: str
    """``bundled``, ``installation`` or ``user`` (the caller's own)."""
    license: str | None = None


class SkillDetail(SkillOut):
    allowed_tools: list[str]
    metadata: dict[str, Any]
    body: str
    files: list[str]


class SandboxOut(BaseModel):
    available: bool
    detail: str


class SkillList(BaseModel):
    items: list[SkillOut]
    sandbox: SandboxOut


def _detail(skill: Skill) -> SkillDetail:
    return SkillDetail.of(skill, files=skill.files())


async def _visible(skills: SkillManager, user: str, name: str) -> Skill:
    skill = (await skills.for_user(user)).get(name)
    if skill is None:
        raise not_found("skill", name)
    return skill


@router.get("", responses=error_responses(503))
async def list_skills(user: User, skills: Skills) -> SkillList:
    view = await skills.for_user(user)
    status = await skills.sandbox.probe()
    return SkillList(
        items=[SkillOut.of(s) for s in view],
        sandbox=SandboxOut(available=status.available, detail=status.detail),
    )


@router.post("", status_code=201, responses=error_responses(503))
async def upload_skill(file: UploadFile, user: User, skills: Skills) -> SkillDetail:
    """Install a .zip or .tar.gz whose root holds SKILL.md (or one folder that does)."""
    data = await file.read()
    try:
        skill = await skills.install(user, data, file.filename or "")
    except ArchiveRejected as rejected:
        raise ApiError(
            400, "archive_rejected", f"archive rejected: {rejected}", rejected.problems
        ) from None
    except SkillInvalid as invalid:
        raise ApiError(
            422,
            "invalid_skill",
            f"invalid skill: {invalid}",
            [p.as_dict() for p in invalid.problems],
        ) from None
    return _detail(skill)


@router.get("/{name}", responses=error_responses(404, 503))
async def get_skill(name: str, user: User, skills: Skills) -> SkillDetail:
    return _detail(await _visible(skills, user, name))


@router.get(
    "/{name}/files/{path:path}",
    response_class=PlainTextResponse,
    responses=error_responses(404, 415, 503),
)
async def get_skill_file(name: str, path: str, user: User, skills: Skills) -> PlainTextResponse:
    skill = await _visible(skills, user, name)
    # The path is looked up in the skill's own file list, never joined blindly.
    if path not in await asyncio.to_thread(skill.files):
        raise not_found("file", f"{name}/{path}")
    data = await asyncio.to_thread((skill.path / path).read_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(
            415, "binary_file", f"'{path}' is a binary file; only text files are served"
        ) from None
    return PlainTextResponse(text)


@router.delete("/{name}", status_code=204, responses=error_responses(404, 503))
async def delete_skill(name: str, user: User, skills: Skills) -> None:
    """Delete one of the caller's own skills; bundled ones and others' are 404."""
    try:
        await skills.delete(user, name)
    except SkillNotFound:
        raise not_found("skill", name) from None
