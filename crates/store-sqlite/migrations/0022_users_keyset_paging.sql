-- Keyset paging of the Users page: each sort walks an index from the cursor row instead of
-- sorting (or skipping) every user of the enterprise. The name and calling-state sorts have
-- theirs since 0010; these serve the extension (numeric first), number and calling sorts.
CREATE INDEX pbx_users_by_extension ON pbx_users (enterprise_id, state, LENGTH(sip_user), sip_user, id);
CREATE INDEX pbx_users_by_number ON pbx_users (enterprise_id, state, phone_number, id);
CREATE INDEX pbx_users_by_calling ON pbx_users (enterprise_id, state, push_state, calling_enabled, id);
