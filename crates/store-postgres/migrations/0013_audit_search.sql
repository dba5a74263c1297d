-- The Audit log's filters and paging: newest first by time, one page at a time from a cursor,
-- optionally by who made the change or by action, without reading the events skipped.

CREATE INDEX audit_events_time ON audit_events (enterprise_id, at_ms, id);
CREATE INDEX audit_events_actor ON audit_events (enterprise_id, actor, at_ms, id);
CREATE INDEX audit_events_action ON audit_events (enterprise_id, action, at_ms, id);
