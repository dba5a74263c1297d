-- The enterprise's user counts (Dashboard, the reseller's Enterprises list) include the users
-- whose Teams account needs attention; this index holds only those, so counting them reads a
-- handful of rows instead of every Teams user of the tenant.
CREATE INDEX teams_users_flagged ON teams_users (enterprise_id, object_id)
    WHERE deleted_in_tenant = 1 OR account_enabled = 0 OR teams_phone_plan <> 'enabled'
        OR in_scope = 0;

-- The scheduler asks, for the whole fleet at once, when each enterprise's last job of a kind
-- (the drift check) finished: the newest job of that kind per enterprise, from this index.
CREATE INDEX jobs_kind_enterprise ON jobs (kind, enterprise_id, id);
