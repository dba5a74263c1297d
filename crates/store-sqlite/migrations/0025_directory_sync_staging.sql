-- A full sync of several sync groups stages each group's members here page by page, so a
-- user in two groups is stored once with both without holding every member in memory; the
-- merge into teams_users then reads the staged users back in keyset pages. Emptied before
-- and after each such sync (one sync per enterprise runs at a time).
CREATE TABLE directory_sync_staged_users (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    upn TEXT NOT NULL,
    display_name TEXT NOT NULL,
    account_enabled BIGINT NOT NULL,
    user_type TEXT NOT NULL,
    teams_plan TEXT NOT NULL,
    teams_phone_plan TEXT NOT NULL,
    calling_plan BIGINT NOT NULL,
    teams_phone_assigned_ms BIGINT,
    PRIMARY KEY (enterprise_id, object_id)
);
CREATE TABLE directory_sync_staged_memberships (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    group_object_id TEXT NOT NULL,
    PRIMARY KEY (enterprise_id, object_id, group_object_id)
);
