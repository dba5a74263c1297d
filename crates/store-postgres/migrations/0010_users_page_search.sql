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

-- How many PBX users each enterprise has in each state, push state, calling state and voice
-- route, kept by triggers: the Users page's totals and tabs and the Dashboard's counts add a
-- few of these rows up instead of counting every user.
CREATE TABLE pbx_user_counts (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    state TEXT NOT NULL,
    push_state TEXT NOT NULL,
    calling_enabled BIGINT NOT NULL,
    voice_route_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (enterprise_id, state, push_state, calling_enabled, voice_route_id)
);

CREATE FUNCTION pbx_user_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE pbx_user_counts SET n = n - 1
        WHERE enterprise_id = OLD.enterprise_id AND state = OLD.state
          AND push_state = OLD.push_state AND calling_enabled = OLD.calling_enabled
          AND voice_route_id = OLD.voice_route_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO pbx_user_counts (enterprise_id, state, push_state, calling_enabled,
            voice_route_id, n)
        VALUES (NEW.enterprise_id, NEW.state, NEW.push_state, NEW.calling_enabled,
            NEW.voice_route_id, 1)
        ON CONFLICT (enterprise_id, state, push_state, calling_enabled, voice_route_id)
        DO UPDATE SET n = pbx_user_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER pbx_user_counts_insert_delete AFTER INSERT OR DELETE ON pbx_users
    FOR EACH ROW EXECUTE FUNCTION pbx_user_counts_change();

CREATE TRIGGER pbx_user_counts_update AFTER UPDATE OF enterprise_id, state, push_state,
    calling_enabled, voice_route_id ON pbx_users
    FOR EACH ROW WHEN (NEW.enterprise_id <> OLD.enterprise_id OR NEW.state <> OLD.state
        OR NEW.push_state <> OLD.push_state OR NEW.calling_enabled <> OLD.calling_enabled
        OR NEW.voice_route_id <> OLD.voice_route_id)
    EXECUTE FUNCTION pbx_user_counts_change();

INSERT INTO pbx_user_counts (enterprise_id, state, push_state, calling_enabled, voice_route_id, n)
SELECT enterprise_id, state, push_state, calling_enabled, voice_route_id, COUNT(*)
FROM pbx_users GROUP BY enterprise_id, state, push_state, calling_enabled, voice_route_id;

-- The Users page's filters by push state (Failed, Pending, Changed in Teams) in name order.
CREATE INDEX pbx_users_by_push_state ON pbx_users (enterprise_id, state, push_state, sort_name, id);
