-- Sage store (PostgreSQL), migration 3: tool calls waiting for a person's
-- approval. Same meaning as the SQLite migration 3 (see there).

CREATE TABLE IF NOT EXISTS approvals (
    run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    call_id           TEXT NOT NULL,
    session_id        TEXT NOT NULL,
    tool              TEXT NOT NULL,
    arguments         TEXT NOT NULL,
    reason            TEXT NOT NULL,
    requested_at      DOUBLE PRECISION NOT NULL,
    expires_at        DOUBLE PRECISION NOT NULL,
    decision          TEXT,
    decided_by        TEXT,
    decided_at        DOUBLE PRECISION,
    edited_arguments  TEXT,
    decision_reason   TEXT,
    PRIMARY KEY (run_id, call_id)
);
