-- Teamline schema, version 1. Booleans are stored as 0/1 integers and times as Unix
-- milliseconds, identically on SQLite and PostgreSQL, so one set of queries serves both.

CREATE TABLE resellers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    services TEXT,
    billing_reference TEXT,
    created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX resellers_name_uq ON resellers (name);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    reseller_id BIGINT REFERENCES resellers (id),
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_email_uq ON accounts (email);

CREATE TABLE sbc_regions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    gateway_fqdn TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX sbc_regions_name_uq ON sbc_regions (name);

CREATE TABLE enterprises (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers (id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    tenant_id TEXT,
    global_admin_email TEXT NOT NULL,
    user_limit BIGINT,
    pbx_music_on_hold BIGINT NOT NULL CHECK (pbx_music_on_hold IN (0, 1)),
    access_sip_data BIGINT NOT NULL CHECK (access_sip_data IN (0, 1)),
    request_management_consent BIGINT NOT NULL CHECK (request_management_consent IN (0, 1)),
    state TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX enterprises_slug_uq ON enterprises (slug);
CREATE UNIQUE INDEX enterprises_tenant_uq ON enterprises (tenant_id);

CREATE TABLE enterprise_sbc_regions (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    region_id BIGINT NOT NULL REFERENCES sbc_regions (id),
    PRIMARY KEY (enterprise_id, region_id)
);

CREATE TABLE consents (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    kind TEXT NOT NULL,
    granted_ms BIGINT,
    granted_by TEXT,
    PRIMARY KEY (enterprise_id, kind)
);

CREATE TABLE voice_routes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    region_id BIGINT NOT NULL REFERENCES sbc_regions (id),
    name TEXT NOT NULL,
    subdomain TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX voice_routes_region_uq ON voice_routes (enterprise_id, region_id);

CREATE TABLE pbx_locations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    name TEXT NOT NULL,
    pbx_type TEXT NOT NULL,
    dns_lookup TEXT NOT NULL,
    sip_domain TEXT NOT NULL,
    proxy TEXT NOT NULL,
    voicemail_code TEXT NOT NULL,
    api_base_url TEXT NOT NULL,
    api_auth_kind TEXT NOT NULL,
    oauth_client_id TEXT,
    oauth_username TEXT,
    -- AES-256-GCM ciphertexts (see teamline_store::crypto); never plaintext.
    api_key_enc BLOB,
    oauth_client_secret_enc BLOB,
    oauth_password_enc BLOB,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX pbx_locations_name_uq ON pbx_locations (enterprise_id, name);

CREATE TABLE sync_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    group_object_id TEXT NOT NULL,
    display_name TEXT NOT NULL
);
CREATE UNIQUE INDEX sync_groups_uq ON sync_groups (enterprise_id, group_object_id);

CREATE TABLE sync_state (
    enterprise_id BIGINT PRIMARY KEY REFERENCES enterprises (id),
    users_delta_link TEXT,
    groups_delta_link TEXT,
    last_full_sync_ms BIGINT,
    last_sync_ms BIGINT,
    last_result TEXT
);

CREATE TABLE teams_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    object_id TEXT NOT NULL,
    upn TEXT NOT NULL,
    display_name TEXT NOT NULL,
    account_enabled BIGINT NOT NULL CHECK (account_enabled IN (0, 1)),
    user_type TEXT NOT NULL,
    teams_plan TEXT NOT NULL,
    teams_phone_plan TEXT NOT NULL,
    calling_plan BIGINT NOT NULL CHECK (calling_plan IN (0, 1)),
    teams_phone_assigned_ms BIGINT,
    sync_groups TEXT NOT NULL,
    in_scope BIGINT NOT NULL CHECK (in_scope IN (0, 1)),
    deleted_in_tenant BIGINT NOT NULL CHECK (deleted_in_tenant IN (0, 1)),
    last_seen_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX teams_users_object_uq ON teams_users (enterprise_id, object_id);
CREATE INDEX teams_users_upn ON teams_users (enterprise_id, upn);

CREATE TABLE pbx_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    pbx_location_id BIGINT NOT NULL REFERENCES pbx_locations (id),
    voice_route_id BIGINT NOT NULL REFERENCES voice_routes (id),
    teams_user_object_id TEXT NOT NULL,
    sip_user TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    use_teams_voicemail BIGINT NOT NULL CHECK (use_teams_voicemail IN (0, 1)),
    caller_name_policy TEXT NOT NULL,
    caller_name TEXT,
    forwarded_caller_id TEXT NOT NULL,
    assign_dial_plan BIGINT NOT NULL CHECK (assign_dial_plan IN (0, 1)),
    device TEXT NOT NULL,
    tag TEXT,
    state TEXT NOT NULL,
    calling_enabled BIGINT NOT NULL CHECK (calling_enabled IN (0, 1)),
    push_state TEXT NOT NULL,
    last_error TEXT,
    observed TEXT,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
-- The product's promises (SET UP PBX USER's rules, crates/domain/src/pbx_user/mod.rs), enforced
-- by the database as well as by the forms:
-- an extension, a number and a Teams user each belong to at most one active-or-disabled user.
CREATE UNIQUE INDEX pbx_users_sip_user_uq ON pbx_users (pbx_location_id, sip_user)
    WHERE state IN ('active', 'disabled');
CREATE UNIQUE INDEX pbx_users_number_uq ON pbx_users (enterprise_id, phone_number)
    WHERE state IN ('active', 'disabled');
CREATE UNIQUE INDEX pbx_users_teams_user_uq ON pbx_users (enterprise_id, teams_user_object_id)
    WHERE state IN ('active', 'disabled');
CREATE INDEX pbx_users_list ON pbx_users (enterprise_id, state, id);

CREATE TABLE device_handles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    pbx_location_id BIGINT NOT NULL REFERENCES pbx_locations (id),
    extension TEXT NOT NULL,
    auth_id TEXT NOT NULL,
    password_enc BLOB NOT NULL,
    created_by_teamline BIGINT NOT NULL CHECK (created_by_teamline IN (0, 1)),
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX device_handles_uq ON device_handles (pbx_location_id, auth_id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT REFERENCES enterprises (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    lane TEXT NOT NULL,
    idempotency_key TEXT,
    state TEXT NOT NULL,
    priority BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    run_after_ms BIGINT NOT NULL,
    locked_by TEXT,
    locked_until_ms BIGINT,
    progress_done BIGINT NOT NULL,
    progress_total BIGINT,
    progress_message TEXT,
    last_error TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    finished_ms BIGINT
);
-- Enqueueing with a key already waiting returns the waiting job. A running job does not
-- count: it may have read its input before the change that queues the next one.
CREATE UNIQUE INDEX jobs_idempotency_uq ON jobs (idempotency_key)
    WHERE state = 'queued';
CREATE INDEX jobs_due ON jobs (state, run_after_ms);
CREATE INDEX jobs_lane ON jobs (lane, state);
CREATE INDEX jobs_enterprise ON jobs (enterprise_id, id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT REFERENCES enterprises (id),
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_events_enterprise ON audit_events (enterprise_id, id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expiry_ms BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry_ms);
