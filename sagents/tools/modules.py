"""A user's own ``@tool`` functions, loaded from Python modules by name.

``sage serve --tools my_pkg.tools`` (or ``SAGE_TOOLS=my_pkg.tools,other``)
imports each module and registers every ``ToolSpec`` it defines at module
level (``@tool`` binds the decorated name to its spec). Installed packages
can offer tools without any configuration through the ``sage.tools`` entry
point group; an entry point names a module, one ``ToolSpec``, or a list of
them.

A module that cannot be imported is a configuration mistake the operator
must see at once: :func:`load_tools` raises :class:`ToolModuleError` naming
the module and the error, and ``sage serve`` prints it and exits non-zero
instead of starting a service without the tools its users expect.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

from sagents.tools.spec import ToolSpec

ENTRY_POINT_GROUP = "sage.tools"


class ToolModuleError(Exception):
    """A tool module or entry point could not be loaded; the message names it."""

    def __init__(self, what: str, error: BaseException) -> None:
        self.what = what
        # The last frame says where it broke (the user's file and line), the
        # rest of a traceback is importlib's machinery.
        where = ""
        frames = traceback.extract_tb(error.__traceback__)
        if frames and not isinstance(error, ModuleNotFoundError):
            last = frames[-1]
            where = f" ({last.filename}, line {last.lineno})"
        super().__init__(f"cannot load tools from {what}: {type(error).__name__}: {error}{where}")


def module_tools(module: ModuleType) -> list[ToolSpec]:
    """The ``ToolSpec``s a module holds at top level, in definition order
    (names starting with ``_`` are private and skipped)."""
    return [
        value
        for name, value in vars(module).items()
        if isinstance(value, ToolSpec) and not name.startswith("_")
    ]


def _entry_point_tools(entry: EntryPoint) -> list[ToolSpec]:
    what = f"entry point {entry.name!r} ({entry.value}) of group {ENTRY_POINT_GROUP!r}"
    try:
        loaded = entry.load()
    except (Exception, SystemExit) as error:
        raise ToolModuleError(what, error) from error
    if isinstance(loaded, ModuleType):
        return module_tools(loaded)
    if isinstance(loaded, ToolSpec):
        return [loaded]
    if isinstance(loaded, list | tuple) and all(isinstance(item, ToolSpec) for item in loaded):
        return list(loaded)
    raise ToolModuleError(
        what, TypeError(f"expected a module, a ToolSpec or a list of them, got {type(loaded)}")
    )


def load_tools(modules: Iterable[str], *, entry_points_group: bool = True) -> list[ToolSpec]:
    """Import ``modules`` (and the ``sage.tools`` entry points) and return
    their tools, each spec once, in the order found.

    Raises:
        ToolModuleError: for the first module or entry point that fails to
            load (an import error, or any exception its code raised), or
            that defines a tool name another one already did.
    """
    found: dict[str, tuple[str, ToolSpec]] = {}
    for what, spec in _iter_tools(modules, entry_points_group):
        if spec.name in found and found[spec.name][1] is not spec:
            first = found[spec.name][0]
            raise ToolModuleError(
                what, ValueError(f"a tool named {spec.name!r} is defined in {first} too")
            )
        found.setdefault(spec.name, (what, spec))
    return [spec for _, spec in found.values()]


def _iter_tools(modules: Iterable[str], with_entry_points: bool) -> Iterator[tuple[str, ToolSpec]]:
    for name in modules:
        what = f"module {name!r}"
        try:
            module = importlib.import_module(name)
        except (Exception, SystemExit) as error:  # SystemExit: a module that calls exit()
            raise ToolModuleError(what, error) from error
        for spec in module_tools(module):
            yield what, spec
    if with_entry_points:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            what = f"entry point {entry.name!r}"
            for spec in _entry_point_tools(entry):
                yield what, spec
