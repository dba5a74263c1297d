-- The billing summary: when each PBX user was configured (set up and not deleted; a disabled
-- user keeps its extension and counts), as spans kept by triggers, so a month's count is
-- right however often a user was set up, deleted or set up again, and whoever changed it.
-- A span starts at the user's created_ms (or the updated_ms of the change that configured it
-- again) and ends at the updated_ms of the change that deleted it.

CREATE TABLE configured_user_spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    pbx_user_id BIGINT NOT NULL REFERENCES pbx_users (id),
    from_ms BIGINT NOT NULL,
    until_ms BIGINT
);
CREATE INDEX configured_user_spans_by_enterprise ON configured_user_spans (enterprise_id, from_ms);
CREATE INDEX configured_user_spans_by_user ON configured_user_spans (pbx_user_id, until_ms);

CREATE TRIGGER configured_user_spans_insert AFTER INSERT ON pbx_users
    WHEN NEW.state IN ('active', 'disabled') BEGIN
    INSERT INTO configured_user_spans (enterprise_id, pbx_user_id, from_ms)
    VALUES (NEW.enterprise_id, NEW.id, NEW.created_ms);
END;

CREATE TRIGGER configured_user_spans_end AFTER UPDATE OF state ON pbx_users
    WHEN OLD.state IN ('active', 'disabled') AND NEW.state NOT IN ('active', 'disabled') BEGIN
    UPDATE configured_user_spans SET until_ms = NEW.updated_ms
    WHERE pbx_user_id = NEW.id AND until_ms IS NULL;
END;

CREATE TRIGGER configured_user_spans_begin AFTER UPDATE OF state ON pbx_users
    WHEN OLD.state NOT IN ('active', 'disabled') AND NEW.state IN ('active', 'disabled') BEGIN
    INSERT INTO configured_user_spans (enterprise_id, pbx_user_id, from_ms)
    VALUES (NEW.enterprise_id, NEW.id, NEW.updated_ms);
END;

-- Users from before this migration: configured since they were created; a deleted one until
-- its last change (the deletion, unless something changed it since).
INSERT INTO configured_user_spans (enterprise_id, pbx_user_id, from_ms, until_ms)
SELECT enterprise_id, id, created_ms,
       CASE WHEN state IN ('active', 'disabled') THEN NULL ELSE updated_ms END
FROM pbx_users;
