-- Edit Enterprise: the reseller's own billing reference for an enterprise (free text, e.g. a
-- contract or customer number; NULL = none); the enterprise's version, raised by every change
-- of its row (the API's ETag: an edit made meanwhile is never overwritten); and the PBX
-- location fields the reseller locked (a comma-separated list of field keys, '' = none): the
-- enterprise's admins see them read-only and cannot change them; only the reseller can.
ALTER TABLE enterprises ADD COLUMN billing_reference TEXT;
ALTER TABLE enterprises ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE pbx_locations ADD COLUMN locked_fields TEXT NOT NULL DEFAULT '';
