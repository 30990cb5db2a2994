"""The long-lived services of one Sage installation, built once and passed down.

Nothing in Sage reaches for a global: the HTTP app, the CLI and tests build
a ``Runtime`` and hand it to ``SAgent``. Any part can be replaced when
building one (a ScriptedLLM instead of the OpenAI client, a Redis registry
instead of the local one).

A Runtime that opens the embedded SQLite store owns its data directory and
holds a lock on it for its whole life (``sagents.data_dir_lock``), so a
second server on the same directory is refused at start. A Runtime on
PostgreSQL (``SAGE_DATABASE_URL``), or given its own store, does not take
it: a server database is shared by design, by any number of replicas.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field

from sagents.context.history import HistoryPreparer
from sagents.data_dir_lock import DataDirLock
from sagents.flow.catalog import FlowCatalog
from sagents.flow.default import default_catalog
from sagents.llm.types import ChatModel
from sagents.memory.extractor import MemoryExtractor
from sagents.memory.manager import UserMemoryManager
from sagents.observability.redact import Redactor
from sagents.observability.setup import Observability
from sagents.runs.approvals import ApprovalGate
from sagents.runs.journal import RunJournal
from sagents.runs.local import LocalRunRegistry
from sagents.runs.registry import RunRegistry
from sagents.settings import Settings
from sagents.skills.manager import SkillManager
from sagents.store.factory import store_from_settings
from sagents.store.protocol import Store
from sagents.store.records import new_id
from sagents.tools.builtin import builtin_tools, register_builtins
from sagents.tools.manager import ToolManager
from sagents.tools.mcp.manager import McpManager
from sagents.tools.modules import load_tools


async def _registry(settings: Settings, journal: RunJournal) -> RunRegistry:
    """Redis when ``SAGE_REDIS_URL`` is set (replicas share it), else in-process."""
    if settings.redis_url is None:
        return LocalRunRegistry(
            retention_s=settings.run_retention_s,
            max_run_bytes=settings.run_log_max_bytes,
            max_total_bytes=settings.run_log_total_bytes,
            journal=journal,
        )
    from sagents.runs.redis_registry import RedisRunRegistry

    registry = RedisRunRegistry(
        settings.redis_url.get_secret_value(),
        lease_s=settings.run_lease_s,
        retention_s=settings.run_retention_s,
        max_run_bytes=settings.run_log_max_bytes,
        max_total_bytes=settings.run_log_total_bytes,
        journal=journal,
    )
    await registry.open()
    return registry


def instance_name() -> str:
    """host:pid:random, unique per Runtime: what ``runs.owner`` shows an
    operator, and unique even when two Runtimes share a process (tests)."""
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('rt')[-8:]}"


@dataclass
class Runtime:
    settings: Settings
    llm: ChatModel
    store: Store
    tools: ToolManager = field(default_factory=ToolManager)
    runs: RunRegistry = field(default_factory=LocalRunRegistry)
    catalog: FlowCatalog = field(default_factory=default_catalog)
    history: HistoryPreparer | None = None
    """Fits session history into model windows; keeps per-session BM25 indexes."""
    memory: UserMemoryManager | None = None
    memory_extractor: MemoryExtractor | None = None
    mcp: McpManager | None = None
    """The MCP servers whose tools are registered in ``tools``."""
    skills: SkillManager | None = None
    """Bundled, installation and per-user skills, and the sandbox for their scripts."""
    data_dir_lock: DataDirLock | None = None
    """Held while the Runtime owns ``settings.data_dir``; released by :meth:`aclose`."""
    observability: Observability = field(default_factory=Observability.disabled)
    """Traces and metrics (``OTEL_*`` variables, ``SAGE_METRICS_ENABLED``); off by default."""
    redactor: Redactor = field(default_factory=Redactor)
    """Takes secrets out of log lines, exports and error texts."""
    journal: RunJournal | None = None
    """The durable event log and the leases of the runs this process executes."""
    instance_id: str = field(default_factory=lambda: instance_name())
    """Names this process as the owner of its runs (``runs.owner``)."""
    approvals: ApprovalGate = field(init=False)
    """Where tool calls that need a person's approval wait for it."""

    def __post_init__(self) -> None:
        # Always there: a tool that needs approval never runs unasked, however
        # the Runtime was built.
        self.approvals = ApprovalGate(
            self.store,
            timeout_s=self.settings.approval_timeout_s,
            poll_s=self.settings.approval_poll_s,
        )
        if self.journal is not None:
            self.approvals.flush = self.journal.flush

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        llm: ChatModel | None = None,
        store: Store | None = None,
        tools: ToolManager | None = None,
        runs: RunRegistry | None = None,
        catalog: FlowCatalog | None = None,
        memory: UserMemoryManager | None = None,
        data_dir_lock: DataDirLock | None = None,
        observability: Observability | None = None,
    ) -> Runtime:
        """Build and open every service; the store recovers crashed runs here.

        Without ``tools``, a ToolManager is made holding the tools of the
        modules in ``settings.tools`` and of the ``sage.tools`` entry points
        (``ToolModuleError`` if one cannot be loaded).

        Without a ``store``, the data directory is locked first (raising
        ``DataDirInUse`` if another process has it), unless the caller took
        the lock already and passes it as ``data_dir_lock`` (``sage serve``
        does, to refuse before the server starts). The Runtime owns a lock
        it is given or takes, and releases it in :meth:`aclose`, or at once
        if building fails.
        """
        lock = data_dir_lock
        if lock is None and store is None and settings.database_url is None:
            lock = await asyncio.to_thread(DataDirLock.acquire, settings.data_dir)
        try:
            return await cls._build(
                settings,
                llm=llm,
                store=store,
                tools=tools,
                runs=runs,
                catalog=catalog,
                memory=memory,
                lock=lock,
                observability=observability,
            )
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    @classmethod
    async def _build(
        cls,
        settings: Settings,
        *,
        llm: ChatModel | None,
        store: Store | None,
        tools: ToolManager | None,
        runs: RunRegistry | None,
        catalog: FlowCatalog | None,
        memory: UserMemoryManager | None,
        lock: DataDirLock | None,
        observability: Observability | None,
    ) -> Runtime:
        if llm is None:
            from sagents.llm.openai_model import OpenAIChatModel

            llm = OpenAIChatModel.from_settings(settings)
        if store is None:
            store = store_from_settings(settings, exclusive=lock is not None)
        await store.open()
        instance_id = instance_name()
        journal = RunJournal(
            store,
            owner=instance_id,
            lease_s=settings.run_lease_s,
            flush_s=settings.event_log_flush_s,
            batch=settings.event_log_batch,
            log_events=settings.event_log_enabled,
        )
        journal.start()
        try:
            # Before anything else is started: Redis not answering fails
            # here, and only the journal and the store need closing.
            runs = runs or await _registry(settings, journal)
        except BaseException:
            await journal.aclose()
            await store.close()
            raise
        if tools is None:
            tools = ToolManager()
            # The user's own @tool modules (SAGE_TOOLS) and the sage.tools
            # entry points; a module that fails to import fails the build.
            for spec in load_tools(settings.tools):
                tools.add(spec)
        if tools.max_result_chars is None:
            tools.max_result_chars = settings.tool_max_result_chars
        # Connects every configured MCP server concurrently, waiting at most
        # settings.mcp_startup_wait_s; a failing server is reported, not fatal.
        mcp = McpManager.from_settings(settings, tools)
        await mcp.start()
        memory = memory or (
            UserMemoryManager.from_settings(settings) if settings.memory_enabled else None
        )
        extractor = None
        if memory is not None and settings.memory_extract:
            extractor = MemoryExtractor(
                memory,
                llm,
                store,
                queue_size=settings.memory_queue_size,
                pending_path=settings.data_dir / "memory_jobs.json",
            )
            await extractor.start()
        skills = SkillManager(settings)
        skills.start()
        register_builtins(tools, builtin_tools(settings, skills, memory))
        # Without one given, what the OTEL_* variables configure (nothing by
        # default); the Runtime owns and closes it either way.
        obs = observability or Observability.from_environment(settings)
        obs.metrics.watch_mcp(lambda: [(i.name, str(i.status)) for i in mcp.list()])
        redactor = Redactor.from_settings(settings, mcp.secret_values)
        if extractor is not None:
            extractor.observe(obs, redactor.text)
        history = HistoryPreparer(settings)
        # Load the tokenizer now (~0.3 s, off the loop) rather than in the
        # first chat, which would otherwise pay for it.
        await asyncio.to_thread(history.counters.for_model, settings.model_for("simple"))
        return cls(
            settings=settings,
            llm=llm,
            store=store,
            tools=tools,
            runs=runs,
            catalog=catalog or default_catalog(),
            history=history,
            memory=memory,
            memory_extractor=extractor,
            mcp=mcp,
            skills=skills,
            data_dir_lock=lock,
            observability=obs,
            redactor=redactor,
            journal=journal,
            instance_id=instance_id,
        )

    async def aclose(self) -> None:
        """Stop active runs first (they still write to the store), then close."""
        await self.approvals.aclose()  # no run is resumed from here on
        await self.runs.aclose()
        await self.observability.aclose()  # flush the last runs' spans
        if self.mcp is not None:  # before the store: no MCP child outlives the Runtime
            await self.mcp.aclose()
        if self.skills is not None:
            await self.skills.aclose()
        if self.memory_extractor is not None:
            await self.memory_extractor.aclose()
        if self.memory is not None:
            await self.memory.aclose()
        if self.journal is not None:  # after the runs: their last events
            await self.journal.aclose()
        try:
            await self.store.close()
            await self.llm.aclose()
        finally:
            # Last: the next owner may start as soon as this is released.
            if self.data_dir_lock is not None:
                self.data_dir_lock.release()
