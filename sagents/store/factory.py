"""Which store the settings ask for: PostgreSQL when ``SAGE_DATABASE_URL`` is
set, else the embedded SQLite file in the data directory."""

from __future__ import annotations

from sagents.settings import Settings
from sagents.store.protocol import Store


def store_from_settings(settings: Settings, *, exclusive: bool = False) -> Store:
    """``exclusive``: the caller holds the data directory's lock (SQLite only)."""
    if settings.database_url is not None:
        # Imported here: the default install never loads the PostgreSQL driver.
        from sagents.store.postgres import PostgresStore

        return PostgresStore(
            settings.database_url.get_secret_value(), pool_size=settings.database_pool_size
        )
    from sagents.store.sqlite import SQLiteStore

    return SQLiteStore(settings.db_path, exclusive=exclusive)
