-- The Enterprise portal's second pass.

-- Move to another person: the PBX user that took over an extension points at the one it
-- replaced, whose calling its first push removes in Teams before it assigns the number again.
ALTER TABLE pbx_users ADD COLUMN replaces_pbx_user_id BIGINT REFERENCES pbx_users (id);

-- A device Teamline creates on the PBX when the user is saved (the missing `<ext>tm`; never
-- before Save), with the emergency address the PBX wants for it.
ALTER TABLE pbx_users ADD COLUMN create_device BIGINT NOT NULL DEFAULT 0 CHECK (create_device IN (0, 1));
ALTER TABLE pbx_users ADD COLUMN device_emergency_address TEXT;

-- A user detail page reads one object's history.
CREATE INDEX audit_events_object ON audit_events (enterprise_id, object_type, object_id, id);
