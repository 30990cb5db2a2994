-- Sage store (SQLite), migration 2: the durable event log and run leases.
--
-- run_events keeps every event of a run as the JSON a client receives, so a
-- reader can resume (Last-Event-ID) after a restart or read a finished run
-- back. WITHOUT ROWID clusters the rows by (run_id, seq): a replay is one
-- range scan. No foreign key to runs: a run's first events are written
-- while its row is being created (run.started comes first), and the log
-- must not depend on that order; deleting a session deletes its runs'
-- events in the same transaction (the stores do it).
--
-- lease_until is when the process executing a run stops vouching for it
-- unless it renews (epoch seconds); owner names that process. Recovery marks
-- `interrupted` only running runs whose lease has expired (or that have
-- none: runs written before this migration), so a second process on the
-- same file never touches another's live runs.

CREATE TABLE IF NOT EXISTS run_events (
    run_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until REAL;
