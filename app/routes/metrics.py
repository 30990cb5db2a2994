"""``GET /metrics``: Prometheus text, when ``SAGE_METRICS_ENABLED`` is on.

Off by default (404, as for any path that does not exist). When API keys
are configured a scraper needs one, like any other client; without keys the
local-user rule applies (loopback only).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.deps import runtime
from app.errors import ApiError
from app.identity import current_user
from sagents.observability.prometheus import CONTENT_TYPE, render
from sagents.runtime import Runtime

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(
    user: Annotated[str, Depends(current_user)],
    rt: Annotated[Runtime, Depends(runtime)],
) -> Response:
    reader = rt.observability.prometheus
    if reader is None:
        raise ApiError(404, "not_found", "metrics are off; set SAGE_METRICS_ENABLED=true")
    return Response(render(reader.get_metrics_data()), media_type=CONTENT_TYPE)
