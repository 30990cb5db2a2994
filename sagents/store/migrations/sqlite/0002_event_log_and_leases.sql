-- Sage store (SQLite), migration 2: the durable event log and run leases.
--
-- run_events keeps every event of a run as the JSON a client receives, so a
-- reader can resume (Last-Event-ID) after a restart or read a finished run
-- back. WITHOUT ROWID clusters the rows by (run_id, seq): a replay is one
-- range scan. The foreign key cascades: deleting a session deletes its runs
-- and so their events.
--
-- lease_until is when the process executing a run stops vouching for it
-- unless it renews (epoch seconds); owner names that process. Recovery marks
-- `interrupted` only running runs whose lease has expired (or that have
-- none: runs written before this migration), so a second process on the
-- same file never touches another's live runs.

CREATE TABLE IF NOT EXISTS run_events (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until REAL;
