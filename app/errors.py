"""One JSON error shape for every failure a client can cause or see.

``{"error": {"type": ..., "message": ..., "details": [...]}}``. Unexpected
exceptions are logged with their traceback and answered with a 500 that
says only where to look, never the traceback itself. A 405 lists in
``Allow`` every method the path takes, not only those of the first route
that matched it (Starlette's answer when one path has several routes).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.details = details


def error_body(type_: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error shape; client text echoed in it (a field name, an id) is made
    encodable first, so reporting bad input can never fail on it."""
    body: dict[str, Any] = {"type": type_, "message": _encodable(message)}
    if details is not None:
        body["details"] = _encodable(details)
    return {"error": body}


def _encodable(value: Any) -> Any:
    """``value`` with lone surrogates in its strings written as ``\\udXXX``."""
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    return value


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} '{ident}' not found")


def allowed_methods(request: Request) -> set[str]:
    """Every method of the resource this request's path matched first.

    Starlette's 405 lists the methods of that first route alone, while a
    path may have several (GET, PATCH and DELETE of one MCP server are three
    routes); here every route with the same path template counts.
    """
    template = getattr(request.scope.get("route"), "path_format", None)
    methods: set[str] = set()
    if template is not None:
        for context in iter_route_contexts(request.app.routes):
            if context.path_format == template and context.methods:
                methods |= context.methods
    return methods


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One ``{field, problem, type}`` per error. A check across fields (a
    model validator) has no location of its own; it may name its field and
    problem in the error's context (``field``, ``message``)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        ctx = err.get("ctx") or {}
        problem = str(err.get("msg", "")).removeprefix("Value error, ")
        if not loc and "field" in ctx:
            loc = [str(ctx["field"])]
            problem = str(ctx.get("message", problem))
        out.append({"field": ".".join(loc) or "body", "problem": problem, "type": err.get("type")})
    return out


def _name_the_content_type(request: Request, details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A JSON body sent without ``Content-Type: application/json`` (curl's
    ``-d`` says form-urlencoded) is not parsed, so the whole body fails as
    "not an object": say which header is wrong instead of leaving the
    client to guess."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return details
    for detail in details:
        if detail["field"] == "body" and detail["type"] in ("model_attributes_type", "dict_type"):
            detail["problem"] = (
                "the body must be a JSON object sent with the header "
                f"'Content-Type: application/json' (this request's Content-Type: {media or 'none'})"
            )
    return details


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(error_body(exc.type, exc.message, exc.details), status_code=exc.status)

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = _name_the_content_type(request, _validation_details(exc))
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
        return JSONResponse(
            error_body("validation_error", f"invalid request: {summary}", details), status_code=422
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        type_ = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        headers = dict(exc.headers or {})
        message = str(exc.detail)
        if exc.status_code == 405:
            methods = allowed_methods(request) or {
                m.strip() for m in headers.get("Allow", "").split(",") if m.strip()
            }
            allowed = ", ".join(sorted(methods))
            headers["Allow"] = allowed
            message = f"{request.method} is not allowed here; allowed: {allowed}"
        return JSONResponse(
            error_body(type_, message), status_code=exc.status_code, headers=headers
        )

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "internal error; see the server log"), status_code=500
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
