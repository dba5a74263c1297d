-- Bulk Upload files: each upload is checked against the live PBX and Teams data and kept
-- with its rows' results; applying it sets every row up as Save User does, as a job.

CREATE TABLE imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    file_name TEXT NOT NULL,
    -- Who uploaded it (an encoded audit actor).
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    -- The file as uploaded: applying checks it again against what holds then.
    content TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    bad_rows BIGINT NOT NULL,
    applied_rows BIGINT NOT NULL,
    -- checked, applying, done, failed.
    state TEXT NOT NULL,
    job_id BIGINT,
    finished_ms BIGINT,
    error TEXT
);
CREATE INDEX imports_enterprise ON imports (enterprise_id, id);

CREATE TABLE import_rows (
    import_id BIGINT NOT NULL REFERENCES imports (id),
    -- The row number a spreadsheet shows (the header is row 1).
    row_number BIGINT NOT NULL,
    upn TEXT NOT NULL,
    sip_user TEXT NOT NULL,
    -- ready, invalid, set_up, failed.
    outcome TEXT NOT NULL,
    -- JSON list of {"field", "message"}: every problem with the row.
    errors TEXT NOT NULL,
    pbx_user_id BIGINT REFERENCES pbx_users (id),
    PRIMARY KEY (import_id, row_number)
);
