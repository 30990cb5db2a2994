-- Sage store (SQLite), migration 3: tool calls waiting for a person's approval.
--
-- One row per call that needs approval, written when the run starts to wait
-- and updated once with the decision (decision IS NULL while pending). Kept
-- here rather than in memory so the wait survives a restart and any replica
-- can take the decision. Deleted with its run (and so with its session).
-- JSON columns (arguments, edited_arguments) hold json.dumps() text.

CREATE TABLE IF NOT EXISTS approvals (
    run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    call_id           TEXT NOT NULL,
    session_id        TEXT NOT NULL,
    tool              TEXT NOT NULL,
    arguments         TEXT NOT NULL,
    reason            TEXT NOT NULL,
    requested_at      REAL NOT NULL,
    expires_at        REAL NOT NULL,
    decision          TEXT,
    decided_by        TEXT,
    decided_at        REAL,
    edited_arguments  TEXT,
    decision_reason   TEXT,
    PRIMARY KEY (run_id, call_id)
) WITHOUT ROWID;
