-- Calls through the SIP gateway: one row per call leg (one SIP Call-ID), made from the
-- gateway's call events, scoped to the enterprise whose device handle carried the call.
-- Rows older than the retention setting are deleted.

CREATE TABLE call_records (
    call_id TEXT PRIMARY KEY,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    pbx_user_id BIGINT REFERENCES pbx_users (id),
    -- to_teams (the PBX called the user) or to_pbx (the user called out).
    direction TEXT NOT NULL,
    device TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    tenant_fqdn TEXT NOT NULL,
    microsoft_proxy TEXT,
    started_ms BIGINT NOT NULL,
    ringing_ms BIGINT,
    answered_ms BIGINT,
    ended_ms BIGINT,
    -- in_progress, answered, busy, no_answer, cancelled, rejected, failed.
    result TEXT NOT NULL,
    sip_code BIGINT,
    codec TEXT,
    srtp BIGINT,
    observed_ms BIGINT NOT NULL
);
CREATE INDEX call_records_enterprise ON call_records (enterprise_id, started_ms);
CREATE INDEX call_records_started ON call_records (started_ms);
