"""The YAML front matter of ``SKILL.md``, read as bounded, JSON-compatible data.

Front matter comes from whoever uploaded the skill, and what it parses to is
served as JSON and put in prompts, so plain ``yaml.safe_load`` is not enough:

- **aliases** (``*name``) are refused: a few hundred bytes of nested aliases
  expand to gigabytes (the "billion laughs"). Anchors alone are harmless and
  ignored.
- **nesting** is bounded (``MAX_DEPTH``): PyYAML composes recursively, so
  ``[`` repeated 20,000 times raised ``RecursionError``.
- **only JSON types**: the tags of strings, integers, finite floats, booleans,
  null, lists and mappings. ``!!binary``, ``!!set``, ``!!timestamp``,
  ``!!python/...`` and local ``!tags`` are refused by name. Unquoted dates
  (``2024-01-01``) stay strings instead of becoming ``date`` objects, and
  mapping keys are always strings (a plain ``1:`` key is the string ``"1"``);
  a list or mapping used as a key is refused.
- **size** is bounded before parsing (``MAX_FRONT_MATTER_CHARS``), so with no
  aliases the parsed data is never much larger than the text.

PyYAML's ``SafeLoader`` is kept for scanning, parsing and constructing; this
module only adds the checks between composing the node tree and building
Python values from it.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FRONT_MATTER_CHARS = 64 * 1024
MAX_DEPTH = 16
"""Collections inside collections: the top mapping is depth 1, ``metadata`` 2."""

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_SCALAR_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null"))
_IMPLICIT_AS_TEXT = frozenset(_TAG + t for t in ("merge", "value"))
"""Plain ``<<`` and ``=`` resolve to these; with no aliases they are just text."""


class FrontMatterError(ValueError):
    """The front matter is not acceptable YAML; ``line`` is 1-based in SKILL.md."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _without_timestamps() -> dict[Any, list[tuple[str, Any]]]:
    return {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TAG + "timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and deep nesting while composing."""

    # A copy without the date rule: ``2024-01-01`` resolves to a string.
    yaml_implicit_resolvers = _without_timestamps()

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
        line = event.start_mark.line + 2 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent):
            raise FrontMatterError(f"aliases (*{event.anchor}) are not allowed", line)
        nests = isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
        if nests:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FrontMatterError(f"nested more than {MAX_DEPTH} levels deep", line)
        try:
            return super().compose_node(parent, index)
        finally:
            if nests:
                self.depth -= 1


def load_front_matter(text: str, *, string_maps: tuple[str, ...] = ()) -> Any:
    """Parse ``text`` into JSON-compatible data or raise ``FrontMatterError``.

    ``string_maps`` names top-level keys whose mapping values are read as
    text (``metadata``: the specification defines it as string to string,
    so ``version: 1.10`` stays ``"1.10"`` rather than becoming ``1.1``).
    """
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(f"longer than {MAX_FRONT_MATTER_CHARS} characters")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(node)
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if key.value in string_maps and isinstance(value, MappingNode):
                    _scalars_as_text(value)
        data = loader.construct_document(node)
    except FrontMatterError:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise FrontMatterError(
            f"not valid YAML: {error.problem or error.context}",
            mark.line + 2 if mark is not None else None,
        ) from None
    except yaml.YAMLError as error:
        raise FrontMatterError(f"not valid YAML: {error}") from None
    except ValueError as error:
        # int() refuses numbers of more than 4,300 digits
        raise FrontMatterError(f"a value cannot be read: {error}") from None
    finally:
        loader.dispose()
    _check_finite(data)
    return data


def _check(node: Node) -> None:
    """Allow only JSON tags; make every mapping key a string (bounded depth)."""
    line = node.start_mark.line + 2
    if isinstance(node, ScalarNode):
        if node.tag in _IMPLICIT_AS_TEXT:
            node.tag = _STR
        elif node.tag not in _SCALAR_TAGS:
            raise _bad_tag(node.tag, line)
    elif isinstance(node, SequenceNode):
        if node.tag != _TAG + "seq":
            raise _bad_tag(node.tag, line)
        for item in node.value:
            _check(item)
    elif isinstance(node, MappingNode):
        if node.tag != _TAG + "map":
            raise _bad_tag(node.tag, line)
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise FrontMatterError(
                    "mapping keys must be plain text, not lists or mappings",
                    key.start_mark.line + 2,
                )
            key.tag = _STR
            _check(value)


def _bad_tag(tag: str, line: int) -> FrontMatterError:
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return FrontMatterError(f"the tag {shown} is not allowed (JSON types only)", line)


def _scalars_as_text(mapping: MappingNode) -> None:
    for _, value in mapping.value:
        if isinstance(value, ScalarNode):
            value.tag = _STR


def _check_finite(data: Any) -> None:
    """JSON has no NaN or infinity (``.nan``, ``.inf``, ``1e999``)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise FrontMatterError(f"{item} is not a finite number (JSON has no NaN or infinity)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
