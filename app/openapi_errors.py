"""The error answers in the OpenAPI document, with the error body's schema.

A route declares the errors of its own logic next to it
(``responses=error_responses(404, 409)``). The answers every route of a kind
can give come from layers around the routes, so they are added here, to the
generated document, for every operation they apply to:

- 400: a Host that is not served (``app.host_guard``), on every operation;
- 401: no or unknown API key, on operations that identify the caller (those
  FastAPI marks with the bearer scheme of ``app.identity``), when keys are
  configured;
- 403: a cross-site request (``app.cross_site``), or not an admin, on every
  method but GET;
- 408 / 413: a body too slow or too large (``app.body_limit``) on POST, PUT
  and PATCH;
- 422: invalid parameters or body, in our error shape rather than FastAPI's.

With API keys configured the document keeps the bearer scheme, so a client
generator (or a fuzzer) knows which operations need the key; without keys
nothing needs one, and the scheme is dropped.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field


class ErrorInfo(BaseModel):
    type: str = Field(description="What kind of error, e.g. 'not_found', 'validation_error'.")
    message: str = Field(description="What was wrong, for a person.")
    details: Any = Field(
        default=None,
        description="Per-field problems (a list of {field, problem, type}) or other specifics.",
    )


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer's body."""

    error: ErrorInfo


DESCRIPTIONS = {
    400: "Bad request: a malformed header or parameter, or a Host this server does not serve.",
    401: "No API key, or an unknown one.",
    403: "Refused: a cross-site request, or an operation the caller may not perform.",
    404: "Not found (another user's resources are not found either).",
    405: "Method not allowed; the Allow header lists the path's methods.",
    408: "The request body did not arrive in time.",
    409: "Conflict with the resource's current state.",
    410: "Gone: no longer kept.",
    413: "The request body or the message is too large.",
    415: "Unsupported media type.",
    422: "Invalid parameters or body; details name each field.",
    503: "A service this operation needs is not running.",
}
BODY_METHODS = frozenset({"post", "put", "patch"})
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
_REF = "#/components/schemas/ErrorBody"


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code with its description and ErrorBody."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


def install_error_documentation(app: FastAPI, *, bearer: bool) -> None:
    """Make ``app.openapi()`` add the common error answers (and the bearer
    scheme when ``bearer``) to the document FastAPI generates."""
    generate = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not done or done[0] is not schema:  # FastAPI regenerates when routes change
            _document(schema, bearer=bearer)
            done[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(schema: dict[str, Any], *, bearer: bool) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    if not bearer:
        components.pop("securitySchemes", None)
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            identified = bool(operation.get("security"))
            if not bearer:
                operation.pop("security", None)
            codes = {400}
            if identified and bearer:
                codes.add(401)
            if method in UNSAFE_METHODS:
                codes.add(403)
            if method in BODY_METHODS:
                codes |= {408, 413}
            if operation.get("parameters") or operation.get("requestBody"):
                codes.add(422)
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(str(code), {})
            for code, response in responses.items():
                if not code.isdigit() or int(code) < 400:
                    continue
                # Errors are JSON whatever the route's success type (FastAPI
                # documents a route's declared errors in that type), unless
                # the route documents a JSON error body of its own.
                if code == "422" or "application/json" not in response.get("content", {}):
                    response["content"] = {"application/json": {"schema": {"$ref": _REF}}}
                response.setdefault("description", DESCRIPTIONS.get(int(code), "Error."))
                if code == "422":
                    response["description"] = DESCRIPTIONS[422]
            operation["responses"] = dict(sorted(responses.items()))
    # FastAPI's own 422 schema is replaced everywhere by ours.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
