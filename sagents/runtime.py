"""The long-lived services of one Sage installation, built once and passed down.

Nothing in Sage reaches for a global: the HTTP app, the CLI and tests build
a ``Runtime`` and hand it to ``SAgent``. Any part can be replaced when
building one (a ScriptedLLM instead of the OpenAI client, a Redis registry
instead of the local one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sagents.flow.catalog import FlowCatalog
from sagents.flow.default import default_catalog
from sagents.llm.types import ChatModel
from sagents.runs.local import LocalRunRegistry
from sagents.runs.registry import RunRegistry
from sagents.settings import Settings
from sagents.store.protocol import Store
from sagents.store.sqlite import SQLiteStore
from sagents.tools.manager import ToolManager


@dataclass
class Runtime:
    settings: Settings
    llm: ChatModel
    store: Store
    tools: ToolManager = field(default_factory=ToolManager)
    runs: RunRegistry = field(default_factory=LocalRunRegistry)
    catalog: FlowCatalog = field(default_factory=default_catalog)

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
    ) -> Runtime:
        """Build and open every service; the store recovers crashed runs here."""
        if llm is None:
            from sagents.llm.openai_model import OpenAIChatModel

            llm = OpenAIChatModel.from_settings(settings)
        if store is None:
            store = SQLiteStore(settings.db_path)
        await store.open()
        return cls(
            settings=settings,
            llm=llm,
            store=store,
            tools=tools or ToolManager(),
            runs=runs or LocalRunRegistry(retention_s=settings.run_retention_s),
            catalog=catalog or default_catalog(),
        )

    async def aclose(self) -> None:
        """Stop active runs first (they still write to the store), then close."""
        await self.runs.aclose()
        await self.store.close()
        await self.llm.aclose()
