"""MCP servers over HTTP: list, register, enable/disable, remove, refresh.

Reading is open to every user (they choose tools per chat); every change is
an admin operation (``app.admin``), since a stdio server runs a command on
the host. Registrations persist in the data directory; servers from
``mcp_setting.json`` can be disabled here but are removed by editing the file.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from app.admin import admin_user, check_command_allowed, is_admin
from app.deps import runtime
from app.errors import ApiError, not_found
from app.identity import current_user
from app.openapi_errors import error_responses
from sagents.runtime import Runtime
from sagents.tools.mcp import (
    McpManager,
    McpServerConflict,
    McpServerInfo,
    McpServerNotFound,
    McpServerRegistration,
    McpToolError,
    McpUnavailable,
    Transport,
)
from sagents.tools.mcp.catalog import Catalog
from sagents.wire_types import JsonBool

router = APIRouter(prefix="/api/v1/mcp/servers", tags=["mcp"])

Rt = Annotated[Runtime, Depends(runtime)]
User = Annotated[str, Depends(current_user)]
Admin = Annotated[str, Depends(admin_user)]
NOT_FOUND = error_responses(404, 503)
CHANGE = error_responses(404, 409, 503)


class ToolClashOut(BaseModel):
    tool: str = Field(description="The tool's name as offered to the model.")
    server: str = Field(description="The other MCP server offering that name.")


class McpServerOut(BaseModel):
    name: str
    origin: str
    """``file`` (mcp_setting.json) or ``api`` (registered over HTTP)."""
    status: str
    """``connected``, ``connecting``, ``error``, ``disabled`` or ``idle``."""
    transport: str | None
    disabled: bool
    tool_count: int
    tools: list[str]
    last_error: str | None
    skipped_tools: list[str]
    prefix: str = Field(
        default="", description="What its tool names start with (<prefix>_<tool>); '' for none."
    )
    shadowed: list[ToolClashOut] = Field(
        default_factory=list,
        description="Its tools not offered because another server (`server`) holds the name.",
    )
    shadows: list[ToolClashOut] = Field(
        default_factory=list,
        description="Names it holds that another server (`server`) offers too.",
    )
    notice: str | None = Field(
        default=None, description="The name clash in a sentence, when its tools are shadowed."
    )
    config: dict[str, Any] | None = None
    """The entry, for admins only, with env and header values masked."""

    @classmethod
    def of(cls, info: McpServerInfo, *, admin: bool) -> McpServerOut:
        config = None
        if admin and info.entry is not None:
            config = info.entry.to_json()
            for secret in ("env", "headers"):
                if secret in config:
                    config[secret] = dict.fromkeys(config[secret], "***")
        return cls(
            name=info.name,
            origin=info.origin.value,
            status=info.status.value,
            transport=info.transport.value if info.transport else None,
            disabled=info.disabled,
            tool_count=len(info.tools),
            tools=info.tools,
            last_error=info.last_error,
            skipped_tools=info.skipped_tools,
            prefix=info.prefix,
            shadowed=[ToolClashOut(tool=c.tool, server=c.server) for c in info.shadowed],
            shadows=[ToolClashOut(tool=c.tool, server=c.server) for c in info.shadows],
            notice=info.notice,
            config=config,
        )


class McpServerList(BaseModel):
    servers: list[McpServerOut]
    config_error: str | None
    """A problem with mcp_setting.json as a whole, if any."""


class McpServerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disabled: JsonBool


def _manager(rt: Runtime) -> McpManager:
    if rt.mcp is None:
        raise ApiError(503, "mcp_unavailable", "MCP support is not running in this server")
    return rt.mcp


def _info(manager: McpManager, name: str) -> McpServerInfo:
    try:
        return manager.info(name)
    except McpServerNotFound:
        raise not_found("MCP server", name) from None


def _conflict(error: McpServerConflict) -> ApiError:
    return ApiError(409, "conflict", str(error))


@router.get("", responses=error_responses(503))
async def list_servers(rt: Rt, user: User) -> McpServerList:
    manager = _manager(rt)
    admin = is_admin(rt.settings, user)
    return McpServerList(
        servers=[McpServerOut.of(i, admin=admin) for i in manager.list()],
        config_error=manager.config_error,
    )


@router.get("/{name}", responses=NOT_FOUND)
async def get_server(name: str, rt: Rt, user: User) -> McpServerOut:
    return McpServerOut.of(_info(_manager(rt), name), admin=is_admin(rt.settings, user))


class ResourceOut(BaseModel):
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None


class ResourceTemplateOut(BaseModel):
    uri_template: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None


class ResourceList(BaseModel):
    supported: bool = Field(description="Whether the server offers resources at all.")
    resources: list[ResourceOut]
    templates: list[ResourceTemplateOut]
    error: str | None = Field(
        default=None,
        description="Why the server could not list them now; the lists are then the last "
        "ones it gave.",
    )


class PromptArgumentOut(BaseModel):
    name: str
    description: str | None = None
    required: bool = False


class PromptOut(BaseModel):
    name: str
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgumentOut]


class PromptList(BaseModel):
    supported: bool = Field(description="Whether the server offers prompts at all.")
    prompts: list[PromptOut]
    error: str | None = Field(
        default=None,
        description="Why the server could not list them now; the list is then the last "
        "one it gave.",
    )


LISTING = error_responses(404, 409, 503)


async def _listing(
    rt: Runtime, name: str, kind: Literal["resources", "prompts"]
) -> tuple[Catalog, str | None]:
    """The server's lists now, or the last ones with why it could not answer."""
    manager = _manager(rt)
    _info(manager, name)
    try:
        return await manager.listing(name, kind), None
    except McpServerConflict as error:
        raise _conflict(error) from None
    except (McpUnavailable, McpToolError) as error:
        return manager.catalog(name), str(error)


@router.get("/{name}/resources", responses=LISTING)
async def list_resources(name: str, rt: Rt, user: User) -> ResourceList:
    """The server's resources and resource templates, listed now."""
    catalog, error = await _listing(rt, name, "resources")
    return ResourceList(
        supported=catalog.has_resources,
        error=error,
        resources=[
            ResourceOut(
                uri=str(r.uri),
                name=r.name,
                title=r.title,
                description=r.description,
                mime_type=r.mime_type,
                size=r.size,
            )
            for r in catalog.resources
        ],
        templates=[
            ResourceTemplateOut(
                uri_template=t.uri_template,
                name=t.name,
                title=t.title,
                description=t.description,
                mime_type=t.mime_type,
            )
            for t in catalog.templates
        ],
    )


@router.get("/{name}/prompts", responses=LISTING)
async def list_prompts(name: str, rt: Rt, user: User) -> PromptList:
    """The server's prompts and their arguments, listed now."""
    catalog, error = await _listing(rt, name, "prompts")
    return PromptList(
        supported=catalog.has_prompts,
        error=error,
        prompts=[
            PromptOut(
                name=p.name,
                title=p.title,
                description=p.description,
                arguments=[
                    PromptArgumentOut(
                        name=a.name, description=a.description, required=bool(a.required)
                    )
                    for a in p.arguments or []
                ],
            )
            for p in catalog.prompts
        ],
    )


@router.post("", status_code=201, responses=error_responses(409, 503))
async def register_server(
    registration: McpServerRegistration, rt: Rt, _admin: Admin
) -> McpServerOut:
    """Register, persist and connect; a connection failure is in ``last_error``.
    A server that runs a command needs ``SAGE_ALLOW_MCP_COMMANDS`` (403 otherwise)."""
    if registration.kind is Transport.STDIO:
        check_command_allowed(rt.settings)
    manager = _manager(rt)
    try:
        info = await manager.register(registration.name, registration.entry())
    except McpServerConflict as error:
        raise _conflict(error) from None
    return McpServerOut.of(info, admin=True)


@router.patch("/{name}", responses=CHANGE)
async def patch_server(name: str, patch: McpServerPatch, rt: Rt, _admin: Admin) -> McpServerOut:
    manager = _manager(rt)
    _info(manager, name)
    try:
        info = await manager.set_disabled(name, patch.disabled)
    except McpServerConflict as error:
        raise _conflict(error) from None
    return McpServerOut.of(info, admin=True)


@router.delete("/{name}", status_code=204, responses=CHANGE)
async def delete_server(name: str, rt: Rt, _admin: Admin) -> None:
    manager = _manager(rt)
    _info(manager, name)
    try:
        await manager.remove(name)
    except McpServerConflict as error:
        raise _conflict(error) from None


@router.post("/{name}/refresh", responses=CHANGE)
async def refresh_server(name: str, rt: Rt, _admin: Admin) -> McpServerOut:
    manager = _manager(rt)
    _info(manager, name)
    try:
        info = await manager.refresh(name)
    except McpServerConflict as error:
        raise _conflict(error) from None
    return McpServerOut.of(info, admin=True)
