"""The ASGI application: ``create_app()`` builds it around one Runtime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.body_limit import BodyLimitMiddleware
from app.cross_site import CrossSiteGuardMiddleware
from app.errors import install_error_handlers
from app.host_guard import HostGuardMiddleware, HostPolicy
from app.openapi_errors import install_error_documentation
from app.routes import (
    agui,
    approvals,
    chat,
    files,
    flow,
    health,
    mcp,
    openai_compat,
    sessions,
    skills,
    web,
)
from app.routes import memory as memory_routes
from app.routes import metrics as metrics_routes
from app.routes import status as status_routes
from app.routes import tools as tools_routes
from app.sse import StreamExit
from sagents.data_dir_lock import DataDirLock
from sagents.flow.catalog import FlowCatalog
from sagents.observability.logs import use_redactor
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.settings import NOT_CONFIGURED_MESSAGE, Settings
from sagents.tools import ToolManager

log = logging.getLogger(__name__)

BODY_SLACK_BYTES = 64 * 1024
"""Room for the JSON around the message (options, system_context), and for
the multipart framing around an uploaded skill archive."""


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    tools: ToolManager | None = None,
    catalog: FlowCatalog | None = None,
    data_dir_lock: DataDirLock | None = None,
) -> FastAPI:
    """Build the app. Pass ``runtime`` to serve a pre-built one (embedding);
    otherwise one is built from ``settings`` (with ``tools``, the flow
    ``catalog``, and owning ``data_dir_lock`` if the caller took it already)
    at start-up, in the server's own event loop, and closed at shutdown."""
    if runtime is not None:
        settings = runtime.settings
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or await Runtime.create(
            settings, tools=tools, catalog=catalog, data_dir_lock=data_dir_lock
        )
        app.state.runtime = rt
        app.state.sagent = SAgent(rt)
        use_redactor(rt.redactor)
        if not settings.llm_configured:
            log.warning(NOT_CONFIGURED_MESSAGE)
        try:
            yield
        finally:
            if runtime is None:
                await rt.aclose()
            else:
                await rt.runs.aclose()

    app = FastAPI(
        title="Sage",
        version="0.1.0",
        summary="Multi-agent orchestration with streaming, cancellation and resumable runs.",
        lifespan=lifespan,
    )
    app.state.sse_exit = StreamExit()
    install_error_handlers(app)
    install_error_documentation(app, bearer=bool(settings.api_keys))
    # Added innermost first: a request meets the Host check, then the
    # cross-site check, then the body limit, so nothing is read for a request
    # that is refused anyway.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_message_bytes + BODY_SLACK_BYTES,
        timeout_s=settings.http_body_timeout_s,
        path_limits={skills.router.prefix: settings.skill_archive_max_bytes + BODY_SLACK_BYTES},
        pattern_limits=[
            (files.UPLOAD_PATH, settings.session_upload_max_bytes + BODY_SLACK_BYTES),
        ],
    )
    app.add_middleware(CrossSiteGuardMiddleware, keys=bool(settings.api_keys))
    if not settings.api_keys or settings.trusted_hosts:
        # Without keys the Host is what stops a DNS-rebinding page; with keys
        # it is checked only when the operator lists the served names.
        app.add_middleware(HostGuardMiddleware, policy=HostPolicy(settings.trusted_hosts))
    app.include_router(health.router)
    app.include_router(metrics_routes.router)
    app.include_router(status_routes.router)
    app.include_router(chat.router)
    app.include_router(sessions.router)
    app.include_router(approvals.router)
    app.include_router(files.router)
    app.include_router(flow.router)
    app.include_router(skills.router)
    app.include_router(mcp.router)
    app.include_router(tools_routes.router)
    app.include_router(memory_routes.router)
    app.include_router(openai_compat.router)
    app.include_router(agui.router)
    app.include_router(web.router)
    app.mount("/web", web.static_files(), name="web")
    return app
