-- Sage store (PostgreSQL), migration 2: the durable event log and run leases.
-- Same meaning as the SQLite migration 2 (see there); here the event rows are
-- clustered by their primary key index, which serves a replay's range scan.

CREATE TABLE IF NOT EXISTS run_events (
    run_id  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

ALTER TABLE runs ADD COLUMN IF NOT EXISTS owner TEXT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS lease_until DOUBLE PRECISION;
