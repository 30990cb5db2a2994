"""Field types for what clients send, validated as their JSON schema reads.

Pydantic's defaults are lenient where the published schema is not: a plain
``int`` takes ``"45"`` and ``true``, a plain ``bool`` takes ``0`` and
``"yes"``, and a plain ``str`` takes a lone surrogate. A client reading the
document (or a fuzzer testing it) expects each of these refused, and the
surrogate fails later, far from the request (SQLite, a log line, the LLM
request), as a 500. These types make the server accept exactly what the
document says.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError


def _encodable(value: str) -> str:
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise PydanticCustomError(
            "string_unicode",
            "must be valid Unicode text; a lone surrogate is at position {position}",
            {"position": error.start},
        ) from None
    return value


def _json_integer(value: Any) -> Any:
    # JSON Schema's "integer" is a number without a fractional part: 45.0 is
    # one, "45" and true are not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Utf8Str = Annotated[str, AfterValidator(_encodable)]
"""A ``str`` that encodes to UTF-8 (no lone surrogates)."""

JSON_INTEGER = BeforeValidator(_json_integer)
"""Makes an ``int`` field an integer as JSON Schema means it: ``45`` or
``45.0``, not ``"45"`` or ``true``. Bounds go before it
(``Annotated[int, Field(ge=1), JSON_INTEGER]``), or the schema shows them
as unknown keywords inside a union."""

JsonInt = Annotated[int, JSON_INTEGER]
"""An unbounded (or ``Field``-bounded, outside a union) JSON integer."""

JsonBool = Annotated[bool, Field(strict=True)]
"""``true`` or ``false``, not ``0``, ``1`` or ``"yes"``."""
