-- The Users page at service-provider scale: the order by name and the search come from
-- columns of pbx_users kept by triggers, so the first page walks an index instead of sorting
-- every user, and a search asks a trigram index (pg_trgm, part of Debian's PostgreSQL server
-- package) instead of scanning every row.
--
-- sort_name: the name the page sorts by, lowercased (the Teams user's display name, or the
-- Teams object id while the Teams user is unknown).
-- search_text: what a search finds, lowercased, one field per line: display name, UPN,
-- extension, number, tag.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE pbx_users ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
ALTER TABLE pbx_users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE INDEX pbx_users_by_name ON pbx_users (enterprise_id, state, sort_name, id);
CREATE INDEX pbx_user_search ON pbx_users USING gin (search_text gin_trgm_ops);

CREATE FUNCTION pbx_users_search_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    teams_name TEXT;
    teams_upn TEXT;
BEGIN
    SELECT t.display_name, t.upn INTO teams_name, teams_upn FROM teams_users t
    WHERE t.enterprise_id = NEW.enterprise_id AND t.object_id = NEW.teams_user_object_id;
    NEW.sort_name := LOWER(COALESCE(teams_name, NEW.teams_user_object_id));
    NEW.search_text := LOWER(COALESCE(teams_name, '') || E'\n' || COALESCE(teams_upn, '')
        || E'\n' || NEW.sip_user || E'\n' || NEW.phone_number || E'\n' || COALESCE(NEW.tag, ''));
    RETURN NEW;
END;
$$;

CREATE TRIGGER pbx_users_search_fill BEFORE INSERT OR UPDATE OF teams_user_object_id, sip_user,
    phone_number, tag ON pbx_users FOR EACH ROW EXECUTE FUNCTION pbx_users_search_fill();

CREATE FUNCTION teams_users_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pbx_users SET sip_user = sip_user
    WHERE enterprise_id = NEW.enterprise_id AND teams_user_object_id = NEW.object_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER teams_users_search_insert AFTER INSERT ON teams_users
    FOR EACH ROW EXECUTE FUNCTION teams_users_search_change();

CREATE TRIGGER teams_users_search_change AFTER UPDATE OF display_name, upn ON teams_users
    FOR EACH ROW WHEN (NEW.display_name IS DISTINCT FROM OLD.display_name
        OR NEW.upn IS DISTINCT FROM OLD.upn)
    EXECUTE FUNCTION teams_users_search_change();

-- Existing users (the trigger above fills both columns).
UPDATE pbx_users SET sip_user = sip_user;
