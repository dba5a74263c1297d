-- The JSON API: its tokens (only their SHA-256 is kept) and the answers to POSTs that carried
-- an Idempotency-Key, kept for a day so a repeated request is answered without being redone.

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers (id),
    -- NULL: reseller-wide.
    enterprise_id BIGINT REFERENCES enterprises (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    read_only BIGINT NOT NULL,
    rate_per_minute BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    expires_ms BIGINT,
    last_used_ms BIGINT,
    revoked_ms BIGINT
);
CREATE UNIQUE INDEX api_tokens_secret ON api_tokens (secret_sha256);
CREATE INDEX api_tokens_scope ON api_tokens (reseller_id, enterprise_id);

CREATE TABLE api_idempotency (
    token_id BIGINT NOT NULL REFERENCES api_tokens (id),
    idempotency_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status BIGINT NOT NULL,
    location TEXT,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (token_id, idempotency_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_ms);
