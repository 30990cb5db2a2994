-- Sage store (PostgreSQL), migration 1: the first schema.
--
-- The same tables and columns as the SQLite migration 1, so one set of row
-- conversions (sagents/store/_rows.py) serves both. Differences, and why:
-- - times are DOUBLE PRECISION: epoch seconds need more than REAL's 24 bits;
-- - JSON columns stay TEXT: the store never queries inside them, and one
--   codec for both backends keeps a round trip byte-identical;
-- - PostgreSQL has no rowid, so tables listed in insertion order get an
--   identity column ``pos`` (messages already have ``seq``).
--
-- Applied by PostgresStore.open() inside one transaction, under an advisory
-- lock, with its number recorded in schema_migrations.

CREATE TABLE IF NOT EXISTS sessions (
    pos         BIGINT GENERATED ALWAYS AS IDENTITY,
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL
);

CREATE INDEX IF NOT EXISTS sessions_user_updated ON sessions (user_id, updated_at);
CREATE INDEX IF NOT EXISTS sessions_status ON sessions (status);

CREATE TABLE IF NOT EXISTS runs (
    pos            BIGINT GENERATED ALWAYS AS IDENTITY,
    id             TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    input          TEXT NOT NULL,
    options        TEXT NOT NULL DEFAULT '{}',
    error          TEXT,
    answer         TEXT,
    input_tokens   BIGINT NOT NULL DEFAULT 0,
    output_tokens  BIGINT NOT NULL DEFAULT 0,
    started_at     DOUBLE PRECISION NOT NULL,
    ended_at       DOUBLE PRECISION
);

CREATE INDEX IF NOT EXISTS runs_session ON runs (session_id, started_at);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);

CREATE TABLE IF NOT EXISTS messages (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    run_id        TEXT,
    role          TEXT NOT NULL,
    content       TEXT,
    tool_calls    TEXT,
    tool_call_id  TEXT,
    name          TEXT,
    agent         TEXT,
    kind          TEXT,
    interrupted   INTEGER NOT NULL DEFAULT 0,
    created_at    DOUBLE PRECISION NOT NULL,
    completed_at  DOUBLE PRECISION
);

CREATE INDEX IF NOT EXISTS messages_session_seq ON messages (session_id, seq);

CREATE TABLE IF NOT EXISTS tasks (
    pos          BIGINT GENERATED ALWAYS AS IDENTITY,
    id           TEXT NOT NULL,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    depends_on   TEXT NOT NULL DEFAULT '[]',
    result       TEXT NOT NULL DEFAULT '',
    run_id       TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session_id, id)
);
