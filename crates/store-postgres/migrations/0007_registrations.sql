-- The SIP gateway: each PBX user's device-handle registration as the gateway last reported
-- it, and named leases (one Teamline instance at a time drives the gateway).

CREATE TABLE registrations (
    pbx_user_id BIGINT PRIMARY KEY REFERENCES pbx_users (id),
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    device TEXT NOT NULL,
    -- The gateway's id of the registration (uac_reg's l_uuid).
    registration TEXT NOT NULL,
    state TEXT NOT NULL,
    since_ms BIGINT,
    target TEXT,
    expires_ms BIGINT,
    last_error TEXT,
    observed_ms BIGINT NOT NULL
);
CREATE INDEX registrations_enterprise ON registrations (enterprise_id, state);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
