"""Log records that say which run they belong to, as text or JSON lines.

A run's task binds its session, run and trace ids in a context variable
(``bind_run``, called at the start of the run body); ``RunFields`` copies
them onto every record logged from that task and from the tasks it starts,
whichever logger made it. A context variable rather than a logger adapter,
so library code deep in a run (the store, an MCP proxy) needs no changes.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagents.observability.redact import Redactor

_RUN: ContextVar[tuple[str, str, str] | None] = ContextVar("sage_log_run", default=None)
"""(session id, run id, trace id) of the run the current task works for."""

FIELDS = ("session_id", "run_id", "trace_id")


def bind_run(session_id: str, run_id: str, trace_id: str) -> None:
    """Mark the current task (and the tasks it creates) as working for a run.

    Set, never reset: a run body is its task's whole life."""
    _RUN.set((session_id, run_id, trace_id))


def current_run() -> tuple[str, str, str] | None:
    return _RUN.get()


class RunFields(logging.Filter):
    """Adds ``session_id``, ``run_id`` and ``trace_id`` (empty outside a run)
    to each record, and redacts its message when given a ``Redactor``."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _RUN.get() or ("", "", "")
        for name, value in zip(FIELDS, ids, strict=True):
            if not hasattr(record, name):
                setattr(record, name, value)
        if self.redactor is not None:
            message = record.getMessage()
            cleaned = self.redactor.text(message)
            if record.exc_info:
                # The formatted traceback goes through the same redaction.
                record.exc_text = self.redactor.text(
                    logging.Formatter().formatException(record.exc_info)
                )
                record.exc_info = None
            if cleaned != message or record.args:
                record.msg, record.args = cleaned, None
        return True


class TextFormatter(logging.Formatter):
    """The usual line, with the run's ids when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        run_id = getattr(record, "run_id", "")
        if run_id:
            session_id = getattr(record, "session_id", "")
            trace_id = getattr(record, "trace_id", "")
            line += f" [session={session_id} run={run_id} trace={trace_id}]"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``SAGE_LOG_FORMAT=json``)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, "")
            if value:
                data[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


def configure_logging(
    log_format: str, redactor: Redactor | None, level: int = logging.INFO
) -> None:
    """The root handler of ``sage serve``: run ids on every line, secrets
    redacted, text or JSON. Called once by the command, before the server
    starts (logging's handlers are the process's, not a Runtime's)."""
    handler = logging.StreamHandler()
    handler.addFilter(RunFields(redactor))
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def use_redactor(redactor: Redactor) -> None:
    """Hand the Runtime's redactor (which knows the MCP servers' secrets) to
    the handlers ``configure_logging`` installed; no-op without them."""
    for handler in logging.getLogger().handlers:
        for item in handler.filters:
            if isinstance(item, RunFields):
                item.redactor = redactor
