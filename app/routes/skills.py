"""Skills: list what a user can see, read one, upload and delete their own.

Every lookup goes through the user's ``SkillView``, so a skill another user
installed is indistinguishable from a missing one (404). Uploaded archives
are checked before anything is written (see ``sagents.skills.archive``); an
archive may hold several skills, each installed or refused on its own.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from app.deps import runtime
from app.errors import ApiError, not_found
from app.identity import current_user
from app.openapi_errors import ErrorBody, error_responses
from app.schemas import RecordOut
from sagents.runtime import Runtime
from sagents.skills import ArchiveRejected, InstallResult, Skill, SkillManager, SkillNotFound

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
    usable: bool = Field(
        description="Whether runs are offered the skill: it needs no Python packages, or "
        "they are installed."
    )
    unusable_reason: str | None = None


class EnvironmentOut(BaseModel):
    status: Literal["ready", "installing", "failed", "disabled"]
    error: str | None = Field(default=None, description="pip's reason, when it failed.")


class ProblemOut(BaseModel):
    file: str
    field: str | None
    message: str
    severity: Literal["error", "warning"]


class SkillDetail(SkillOut):
    compatibility: str | None = None
    allowed_tools: list[str]
    metadata: dict[str, Any]
    unknown_fields: dict[str, Any] = Field(
        description="Front-matter fields the Agent Skills specification does not define, "
        "kept as given (each has a warning)."
    )
    warnings: list[ProblemOut]
    body: str
    files: list[str]
    requirements: list[str] = Field(
        description="The Python packages its requirements.txt lists (normalised)."
    )
    environment: EnvironmentOut | None = Field(
        default=None, description="Their installation; null when it lists none."
    )


class SandboxOut(BaseModel):
    available: bool
    detail: str


class SkillList(BaseModel):
    items: list[SkillOut]
    sandbox: SandboxOut


class InstallResultOut(BaseModel):
    """One skill of a multi-skill archive: installed (``skill``) or not (``problems``)."""

    source: str = Field(description="The skill's folder in the archive ('' for its root).")
    name: str | None
    ok: bool
    problems: list[ProblemOut] = Field(description="Errors when refused; warnings either way.")
    skill: SkillDetail | None = None


class InstallReport(BaseModel):
    """The answer to an archive holding several skills: one item per skill."""

    items: list[InstallResultOut]


def _detail(skill: Skill) -> SkillDetail:
    environment = skill.environment
    return SkillDetail.of(
        skill,
        files=skill.files(),
        warnings=[p.as_dict() for p in skill.warnings],
        requirements=list(skill.requirements),
        environment=(
            EnvironmentOut(status=environment.status, error=environment.error)
            if environment is not None
            else None
        ),
    )


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


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Installed. One skill: its detail. Several: an `InstallReport` "
        "with every item `ok`.",
        "model": SkillDetail | InstallReport,
    },
    207: {
        "description": "Several skills, some installed and some refused: an "
        "`InstallReport`; each refused item lists its problems.",
        "model": InstallReport,
    },
    400: {
        "description": "The archive is unsafe or malformed (`archive_rejected`).",
        "model": ErrorBody,
    },
    413: {
        "description": "The upload is larger than `SAGE_SKILL_ARCHIVE_MAX_BYTES`.",
        "model": ErrorBody,
    },
    422: {
        "description": "No skill in the archive is valid (`invalid_skill`).",
        "model": ErrorBody,
    },
    **error_responses(503),
}


@router.post("", status_code=201, response_model=None, responses=UPLOAD_RESPONSES)
async def upload_skill(file: UploadFile, user: User, skills: Skills) -> JSONResponse:
    """Install the skills of a .zip or .tar.gz: every folder holding a SKILL.md.

    One skill: 201 with its detail, or 422 with its problems. Several: each
    is installed or refused on its own (a collection with one broken skill
    still installs the rest): 201 when all are installed, 207 when some
    are, 422 when none is; 201 and 207 carry one result per skill.
    """
    data = await file.read()
    try:
        results = await skills.install(user, data, file.filename or "")
    except ArchiveRejected as rejected:
        raise ApiError(
            400, "archive_rejected", f"archive rejected: {rejected}", rejected.problems
        ) from None
    if not any(r.ok for r in results):
        raise _invalid(results)
    if len(results) == 1 and results[0].skill is not None:
        body: BaseModel = _detail(results[0].skill)
        return JSONResponse(body.model_dump(mode="json"), status_code=201)
    report = InstallReport(items=[_result_out(r) for r in results])
    status = 201 if all(r.ok for r in results) else 207
    return JSONResponse(report.model_dump(mode="json"), status_code=status)


def _result_out(result: InstallResult) -> InstallResultOut:
    return InstallResultOut(
        source=result.source,
        name=result.name,
        ok=result.ok,
        problems=[ProblemOut.model_validate(p.as_dict()) for p in result.problems],
        skill=_detail(result.skill) if result.skill is not None else None,
    )


def _invalid(results: list[InstallResult]) -> ApiError:
    """422 naming every problem; with several skills each names its folder."""
    several = len(results) > 1
    details = []
    for result in results:
        for problem in result.problems:
            item: dict[str, Any] = problem.as_dict()
            if several:
                item["skill"] = result.source or result.name
            details.append(item)
    if several:
        summary = "; ".join(f"{r.source or r.name}: {_errors(r)}" for r in results)
    else:
        summary = _errors(results[0])
    what = "no skill in the archive is valid" if several else "invalid skill"
    return ApiError(422, "invalid_skill", f"{what}: {summary}", details)


def _errors(result: InstallResult) -> str:
    return "; ".join(str(p) for p in result.problems if p.is_error)


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
