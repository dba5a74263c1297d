-- The operator area: a reseller can be suspended (its admins cannot sign in and are told the
-- reason the operator gave).

ALTER TABLE resellers ADD COLUMN suspended_reason TEXT;
ALTER TABLE resellers ADD COLUMN suspended_ms BIGINT;
