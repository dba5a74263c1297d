-- TOTP two-factor for local accounts (reseller admins, platform operators).
-- The shared secret, encrypted with the platform key; NULL while two-factor is off.
ALTER TABLE accounts ADD COLUMN totp_secret BYTEA;
-- The last 30-second time step whose code was accepted: a code is never accepted twice.
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;
-- A reseller admin can require two-factor for all of the reseller's accounts.
ALTER TABLE resellers ADD COLUMN require_two_factor BIGINT NOT NULL DEFAULT 0 CHECK (require_two_factor IN (0, 1));

-- One-time recovery codes, only their SHA-256 hashes; a used code is deleted.
CREATE TABLE account_recovery_codes (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (account_id, code_hash)
);
