"""``@tool``: a typed Python function becomes a ToolSpec.

The signature is the single source of truth: pydantic derives the JSON schema
the model sees *and* validates the arguments the model sends from the same
generated model, so the two cannot drift apart. The docstring supplies the
descriptions, so a well-documented function needs no extra metadata.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_origin, overload

import docstring_parser
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PydanticUserError,
    ValidationError,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema

from sagents.tools.spec import ToolArgumentError, ToolSource, ToolSpec


@overload
def tool(func: Callable[..., Any], /) -> ToolSpec: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    max_result_chars: int | None = None,
    requires_approval: bool = False,
) -> Callable[[Callable[..., Any]], ToolSpec]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    max_result_chars: int | None = None,
    requires_approval: bool = False,
) -> ToolSpec | Callable[[Callable[..., Any]], ToolSpec]:
    """Turn a typed function (sync or async) into a local ToolSpec.

    Use bare (``@tool``) or with options (``@tool(name=..., timeout_s=...)``).
    The decorated name is bound to the ToolSpec, not to the function: a tool is
    registered and called through the manager, and returning the spec keeps
    one object per tool. To keep the function callable as well, write
    ``spec = tool(func)`` instead of decorating.

    ``name`` defaults to the function's name; ``description`` to its
    docstring's description (parameter, return and raises sections are not
    included; parameters are described in the schema instead). Parameter
    descriptions come from ``Annotated[T, Field(description=...)]``, then
    ``Annotated[T, "text"]``, then the docstring (Google, NumPy or reST).

    Arguments are validated (and coerced, e.g. ``"3"`` to ``3``) against the
    same model the schema came from; unknown arguments are rejected rather
    than ignored, so a model that misnames a parameter is told so.

    ``requires_approval=True`` makes every call wait for a person's decision
    (approve, reject or edit the arguments) before it runs.

    Sync functions run in a worker thread so they never block the event loop.
    A thread cannot be interrupted: on timeout or cancellation the caller stops
    waiting at once and the function's eventual result is discarded, but the
    function itself runs to completion. Long or blocking work that must stop
    on cancel belongs in an async tool.

    Raises:
        TypeError: at decoration time, for ``*args``/``**kwargs``, parameters
            without a type annotation, annotations that cannot be resolved,
            generators, or a callable without a name.
    """

    def build(target: Callable[..., Any]) -> ToolSpec:
        return _build_spec(
            target,
            name=name,
            description=description,
            timeout_s=timeout_s,
            max_result_chars=max_result_chars,
            requires_approval=requires_approval,
        )

    if func is None:
        return build
    return build(func)


@dataclass(frozen=True, slots=True)
class _Argument:
    """How one validated model field is passed back to the function."""

    field: str
    parameter: str
    positional: bool


class _ToolSchemaGenerator(GenerateJsonSchema):
    """Schema without per-property titles.

    Titles only restate the property name ("count" -> "Count") and are sent on
    every LLM call, so they cost tokens for nothing.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _build_spec(
    func: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    timeout_s: float | None,
    max_result_chars: int | None,
    requires_approval: bool = False,
) -> ToolSpec:
    tool_name = name or getattr(func, "__name__", None)
    if not tool_name:
        raise TypeError(f"cannot derive a tool name from {func!r}; pass name=...")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"tool {tool_name!r}: generator functions are not supported")
    try:
        signature = inspect.signature(func, eval_str=True)
    except (NameError, SyntaxError, TypeError, ValueError) as error:
        raise TypeError(f"tool {tool_name!r}: cannot resolve its signature: {error}") from error

    docstring = docstring_parser.parse(inspect.getdoc(func) or "")
    param_docs = {p.arg_name: _text(p.description) for p in docstring.params if p.description}
    try:
        model, arguments = _arguments_model(tool_name, signature, param_docs)
        parameters = model.model_json_schema(by_alias=True, schema_generator=_ToolSchemaGenerator)
    except PydanticUserError as error:
        # A type pydantic cannot validate or describe (an arbitrary class, a
        # Callable...): the same decoration-time TypeError as other bad signatures.
        raise TypeError(f"tool {tool_name!r}: unsupported parameter type: {error}") from error
    parameters.pop("title", None)

    return ToolSpec(
        name=tool_name,
        description=description if description is not None else _text(docstring.description),
        parameters=parameters,
        source=ToolSource.LOCAL,
        invoke=_invoker(tool_name, func, model, arguments),
        timeout_s=timeout_s,
        max_result_chars=max_result_chars,
        requires_approval=requires_approval,
    )


def _arguments_model(
    tool_name: str, signature: inspect.Signature, param_docs: Mapping[str, str]
) -> tuple[type[BaseModel], tuple[_Argument, ...]]:
    """One pydantic model whose fields are the function's parameters.

    Fields get neutral internal names (``p0``, ``p1``...) and the parameter
    name as alias: a parameter called ``json``, ``schema`` or ``_private``
    would otherwise clash with BaseModel attributes or be taken for a private
    attribute and silently vanish from the schema.
    """
    fields: dict[str, Any] = {}
    arguments: list[_Argument] = []
    for index, param in enumerate(signature.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise TypeError(
                f"tool {tool_name!r}: {star}{param.name} is not supported; "
                "a tool takes named arguments only"
            )
        if param.annotation is param.empty:
            raise TypeError(
                f"tool {tool_name!r}: parameter {param.name!r} needs a type annotation "
                "(its JSON schema is derived from it)"
            )
        field_name = f"p{index}"
        info: dict[str, Any] = {"alias": param.name}
        described = _annotated_description(param.annotation)
        if described is not None:
            info["description"] = described
        elif param.name in param_docs:
            info["description"] = param_docs[param.name]
        if param.default is not param.empty:
            info["default"] = param.default
        fields[field_name] = (param.annotation, Field(**info))
        arguments.append(_Argument(field_name, param.name, param.kind is param.POSITIONAL_ONLY))

    model = create_model(
        f"{tool_name}_arguments",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )
    return model, tuple(arguments)


def _annotated_description(annotation: Any) -> str | None:
    """Description carried by ``Annotated`` metadata, if any.

    Computed here rather than left to pydantic because the field we attach
    (with the docstring text) would otherwise override it, and because pydantic
    ignores bare strings in ``Annotated``.
    """
    if get_origin(annotation) is not Annotated:
        return None
    metadata = annotation.__metadata__
    for item in metadata:
        if isinstance(item, FieldInfo) and item.description:
            return item.description
    for item in metadata:
        if isinstance(item, str):
            return item
    return None


def _invoker(
    tool_name: str,
    func: Callable[..., Any],
    model: type[BaseModel],
    arguments: tuple[_Argument, ...],
) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """The ``invoke`` coroutine function of the spec."""
    # The second check covers instances whose ``__call__`` is async.
    call_method: object = inspect.getattr_static(type(func), "__call__", None)
    is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call_method)

    async def invoke(raw: dict[str, Any]) -> Any:
        try:
            validated = model.model_validate(raw)
        except ValidationError as error:
            raise ToolArgumentError(_describe(tool_name, error)) from None
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for argument in arguments:
            # getattr, not model_dump: nested models must reach the function as
            # model instances, exactly as its annotations promise.
            value = getattr(validated, argument.field)
            if argument.positional:
                args.append(value)
            else:
                kwargs[argument.parameter] = value
        if is_async:
            return await func(*args, **kwargs)
        return await asyncio.to_thread(func, *args, **kwargs)

    return invoke


def _describe(tool_name: str, error: ValidationError) -> str:
    """A validation error as one line, one ``field: problem`` item per error.

    Written for the model: the field path and what was wrong, without the
    pydantic URL and echoed input that only cost tokens.
    """
    problems = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        problems.append(f"{location}: {item['msg']}")
    return f"invalid arguments for tool {tool_name!r}: " + "; ".join(problems)


def _text(value: str | None) -> str:
    return (value or "").strip()
