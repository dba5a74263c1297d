-- The Reseller portal: local accounts lock after repeated failed sign-ins, and the invitations
-- sent to enterprises' Global Administrators (by nonce, so a link works once and a resend
-- supersedes the links sent before).

ALTER TABLE accounts ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN locked_until_ms BIGINT;

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    nonce TEXT NOT NULL,
    sent_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    message_id TEXT,
    used_ms BIGINT,
    superseded_ms BIGINT
);
CREATE UNIQUE INDEX invitations_nonce_uq ON invitations (nonce);
CREATE INDEX invitations_enterprise ON invitations (enterprise_id);
