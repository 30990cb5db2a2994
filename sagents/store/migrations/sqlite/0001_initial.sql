-- Sage store (SQLite), migration 1: the first schema.
--
-- Applied inside one transaction by SQLiteStore.open() when PRAGMA user_version
-- is below 1. Later changes go into new numbered files, never into this one:
-- a database already at version 1 will not read this file again. (This is
-- the former schema.sql, unchanged, so a data directory made before the
-- migrations folder existed is at version 1 and upgrades from there.)
--
-- Times are Unix epoch seconds (REAL). JSON columns hold json.dumps() text.

CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);

-- Serves list_sessions: one user's sessions, newest-updated first.
CREATE INDEX IF NOT EXISTS sessions_user_updated ON sessions (user_id, updated_at);

-- Serves the start-up recovery scan without reading every session.
CREATE INDEX IF NOT EXISTS sessions_status ON sessions (status);

CREATE TABLE IF NOT EXISTS runs (
    id             TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    input          TEXT NOT NULL,
    options        TEXT NOT NULL DEFAULT '{}',
    error          TEXT,
    answer         TEXT,
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    started_at     REAL NOT NULL,
    ended_at       REAL
);

-- Foreign keys are not indexed automatically; the cascade and list_runs need it.
CREATE INDEX IF NOT EXISTS runs_session ON runs (session_id, started_at);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);

CREATE TABLE IF NOT EXISTS messages (
    -- seq, not created_at, defines order: clocks can step back, seq cannot.
    -- AUTOINCREMENT so a seq is never reused after the newest row is deleted.
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
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
    created_at    REAL NOT NULL,
    completed_at  REAL
);

CREATE INDEX IF NOT EXISTS messages_session_seq ON messages (session_id, seq);

CREATE TABLE IF NOT EXISTS tasks (
    id           TEXT NOT NULL,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    depends_on   TEXT NOT NULL DEFAULT '[]',
    result       TEXT NOT NULL DEFAULT '',
    run_id       TEXT,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (session_id, id)
);
