-- Directory sync: what the delta links track, and a short history of runs; the push journal.

ALTER TABLE sync_state ADD COLUMN scope TEXT;

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    started_ms BIGINT NOT NULL,
    finished_ms BIGINT NOT NULL,
    -- The engine's JSON summary: counts, duration, errors.
    report TEXT NOT NULL
);
CREATE INDEX sync_runs_enterprise ON sync_runs (enterprise_id, id);

-- What a push already sent to Microsoft that may still be propagating (the engine's JSON), so
-- a retry does not send it again.
ALTER TABLE pbx_users ADD COLUMN push_journal TEXT;
