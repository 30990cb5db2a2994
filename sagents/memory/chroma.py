"""The default memory driver: ChromaDB, embedded or as a server.

Embedded (``chromadb.PersistentClient`` under ``<data dir>/chroma``) unless
``SAGE_CHROMA_URL`` names a Chroma server. Chroma's client is synchronous,
so every call runs in a worker thread.

Isolation is enforced twice: each user has a collection of their own (named
by a hash of the user id, so ids never need escaping), and every read also
filters on the ``user_id`` metadata. A recall for one user therefore cannot
return another's memories even if two ids hashed alike.

A server that does not answer raises ``MemoryUnavailable``: refused
connections at once, a hung server after ``SERVER_TIMEOUT_S``. Chroma's
HTTP client has no timeout of its own (``timeout=None``), so the bound is
put around the worker thread; the thread of a hung call stays blocked until
the server closes the connection, which the bound cannot prevent.

Embeddings are computed here (``Embedder``) and handed to Chroma, so the
collections carry no embedding function of Chroma's own, whose default
would download a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx  # what chromadb's HTTP client raises on a transport failure

from sagents.memory.driver import MemoryUnavailable
from sagents.memory.embeddings import Embedder
from sagents.memory.records import Memory, MemoryHit, MemoryKind

COLLECTION_PREFIX = "sage_mem_"
SERVER_TIMEOUT_S = 30.0
"""Longest a call to a Chroma server may take before it counts as down."""

T = TypeVar("T")


def collection_name(user_id: str) -> str:
    return COLLECTION_PREFIX + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:48]


class ChromaMemoryDriver:
    def __init__(self, embedder: Embedder, *, path: Path | None = None, url: str | None = None):
        if (path is None) == (url is None):
            raise ValueError("give exactly one of path (embedded) or url (server)")
        self.embedder = embedder
        self.path = path
        self.url = url
        self._client: Any = None
        self._lock = threading.Lock()

    # -- the client, created on first use -------------------------------------

    def _has_store(self) -> bool:
        """Whether anything was ever stored; if not, reads need no client."""
        return (
            self.url is not None
            or self._client is not None
            or (self.path is not None and self.path.exists())
        )

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                # Telemetry off: it would phone home, and there is no network.
                settings = ChromaSettings(anonymized_telemetry=False)
                if self.url is not None:
                    parts = urlsplit(self.url)
                    try:
                        # It asks the server for its tenant at once: a server
                        # that is down fails here (a ValueError from chromadb).
                        self._client = chromadb.HttpClient(
                            host=parts.hostname or "localhost",
                            port=parts.port or (443 if parts.scheme == "https" else 8000),
                            ssl=parts.scheme == "https",
                            settings=settings,
                        )
                    except (ValueError, httpx.TransportError) as exc:
                        raise MemoryUnavailable(
                            f"the Chroma server at {self.url} does not answer: {exc}"
                        ) from exc
                else:
                    assert self.path is not None
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            return self._client

    def _collection(self, user_id: str, *, create: bool) -> Any | None:
        if not create and not self._has_store():
            return None
        client = self._get_client()
        name = collection_name(user_id)
        if create:
            return client.get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        from chromadb.errors import NotFoundError

        try:
            return client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None

    # -- blocking operations ---------------------------------------------------

    def _add(self, memory: Memory) -> None:
        [vector] = self.embedder.embed([memory.text])
        collection = self._collection(memory.user_id, create=True)
        assert collection is not None
        collection.add(
            ids=[memory.id],
            embeddings=[vector],
            documents=[memory.text],
            metadatas=[
                {
                    "user_id": memory.user_id,
                    "kind": memory.kind.value,
                    "source": memory.source,
                    "created_at": memory.created_at,
                }
            ],
        )

    def _search(self, user_id: str, query: str, k: int) -> list[MemoryHit]:
        collection = self._collection(user_id, create=False)
        if collection is None or k <= 0:
            return []
        [vector] = self.embedder.embed([query])
        result = collection.query(
            query_embeddings=[vector],
            n_results=k,
            where={"user_id": user_id},
            include=["documents", "metadatas", "distances"],
        )
        hits = []
        for memory_id, text, meta, distance in zip(
            result["ids"][0],
            result["documents"][0],
            result["metadatas"][0],
            result["distances"][0],
            strict=True,
        ):
            memory = _memory(memory_id, text, meta)
            if memory.user_id == user_id:
                hits.append(MemoryHit(memory=memory, distance=float(distance)))
        return hits

    def _get_many(self, user_id: str, ids: list[str] | None) -> list[Memory]:
        collection = self._collection(user_id, create=False)
        if collection is None:
            return []
        result = collection.get(
            ids=ids, where={"user_id": user_id}, include=["documents", "metadatas"]
        )
        memories = [
            _memory(memory_id, text, meta)
            for memory_id, text, meta in zip(
                result["ids"], result["documents"], result["metadatas"], strict=True
            )
        ]
        return sorted(
            (m for m in memories if m.user_id == user_id), key=lambda m: (m.created_at, m.id)
        )

    def _delete(self, user_id: str, memory_id: str) -> bool:
        if not self._get_many(user_id, [memory_id]):
            return False
        collection = self._collection(user_id, create=False)
        assert collection is not None
        collection.delete(ids=[memory_id], where={"user_id": user_id})
        return True

    # -- the driver interface -------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn`` in a worker thread; bounded, with failures named, for a server."""
        if self.url is None:
            return await asyncio.to_thread(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn, *args), SERVER_TIMEOUT_S)
        except TimeoutError as exc:
            raise MemoryUnavailable(
                f"the Chroma server at {self.url} did not answer in {SERVER_TIMEOUT_S:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise MemoryUnavailable(
                f"the Chroma server at {self.url} does not answer: {exc!r}"
            ) from exc

    async def add(self, memory: Memory) -> None:
        await self._call(self._add, memory)

    async def search(self, user_id: str, query: str, k: int) -> list[MemoryHit]:
        return await self._call(self._search, user_id, query, k)

    async def get(self, user_id: str, memory_id: str) -> Memory | None:
        found = await self._call(self._get_many, user_id, [memory_id])
        return found[0] if found else None

    async def delete(self, user_id: str, memory_id: str) -> bool:
        return await self._call(self._delete, user_id, memory_id)

    async def list(self, user_id: str) -> list[Memory]:
        return await self._call(self._get_many, user_id, None)

    async def aclose(self) -> None:
        # Chroma's clients hold no resource that needs an explicit close.
        self._client = None


def _memory(memory_id: str, text: str | None, meta: Any) -> Memory:
    meta = dict(meta or {})
    kind = meta.get("kind", MemoryKind.FACT.value)
    return Memory(
        id=memory_id,
        user_id=str(meta.get("user_id", "")),
        text=text or "",
        kind=MemoryKind(kind) if kind in MemoryKind._value2member_map_ else MemoryKind.FACT,
        source=str(meta.get("source", "")),
        created_at=float(meta.get("created_at", 0.0)),
    )
