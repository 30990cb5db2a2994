"""Settings of running several replicas: the shared database, the shared run
registry, and how a run's liveness and events reach them.

A new setting about PostgreSQL (``sagents/store/postgres.py``), Redis or the
run registry and event log (``sagents/runs/``) goes here.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class ScaleOutSettings(BaseModel):
    """Part of ``Settings``."""

    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://… to keep sessions, runs, messages and the event log in "
        "PostgreSQL (shared by every replica); unset means SQLite in data_dir.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, le=200, description="Most PostgreSQL connections one process opens."
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://… for the run registry shared by replicas (cancel from any "
        "replica, live events, the per-session lock); unset means in-process.",
    )
    run_lease_s: float = Field(
        default=30.0,
        ge=2.0,
        description="A run's lease: its process renews it every third of this; a run whose "
        "lease expired (its process died) is marked interrupted by the next recovery.",
    )
    event_log_flush_s: float = Field(
        default=0.2,
        gt=0,
        le=10,
        description="Most time a run's events wait before being written to the event log.",
    )
    event_log_batch: int = Field(
        default=512,
        ge=1,
        description="Events that make the event log writer flush at once.",
    )
    event_log_enabled: bool = Field(
        default=True,
        description="Write every run's events to the store (resume after a restart, replay "
        "of finished runs). Off: events are kept in memory only, for run_retention_s; a "
        "single process saves one commit per run. Replicas (redis_url) need it on.",
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("database_url must start with postgresql:// (or postgres://)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _replicas_need_the_event_log(self) -> Self:
        """Replicas follow each other's runs through the stored log only."""
        if self.redis_url is not None and not self.event_log_enabled:
            raise ValueError(
                "event_log_enabled=false cannot go with redis_url: replicas read each "
                "other's runs from the event log"
            )
        return self
