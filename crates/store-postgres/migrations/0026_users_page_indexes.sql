-- The Users page right after a bulk import. A GIN index with "fast update" parks new rows in
-- a pending list until (auto)vacuum merges them; until then the planner prices the trigram
-- index so high that a search scans every user (measured: 11 ms at 20 000 users, ten times
-- that at 200 000). Users are added rarely and read often, so new rows go straight into the
-- index; the pending list already there is merged now.
ALTER INDEX pbx_user_search SET (fastupdate = off);
SELECT gin_clean_pending_list('pbx_user_search'::regclass);

-- The enterprise's user counts (Dashboard, the reseller's Enterprises list) include the users
-- whose Teams account needs attention; this index holds only those, so counting them reads a
-- handful of rows instead of every Teams user of the tenant.
CREATE INDEX teams_users_flagged ON teams_users (enterprise_id, object_id)
    WHERE deleted_in_tenant = 1 OR account_enabled = 0 OR teams_phone_plan <> 'enabled'
        OR in_scope = 0;

-- The scheduler asks, for the whole fleet at once, when each enterprise's last job of a kind
-- (the drift check) finished: the newest job of that kind per enterprise, from this index.
CREATE INDEX jobs_kind_enterprise ON jobs (kind, enterprise_id, id);
