-- The Users page at service-provider scale: the order by name and the search come from
-- columns of pbx_users kept by triggers, so the first page walks an index instead of sorting
-- every user, and a search asks a trigram index (FTS5) instead of scanning every row.
--
-- sort_name: the name the page sorts by, lowercased (the Teams user's display name, or the
-- Teams object id while the Teams user is unknown).
-- search_text: what a search finds, lowercased, one field per line: display name, UPN,
-- extension, number, tag.

ALTER TABLE pbx_users ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
ALTER TABLE pbx_users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE INDEX pbx_users_by_name ON pbx_users (enterprise_id, state, sort_name, id);

-- A trigram index finds any substring of 3 characters or more, case-insensitively; rowid is
-- the PBX user's id.
CREATE VIRTUAL TABLE pbx_user_search USING fts5 (search_text, tokenize = 'trigram');

CREATE TRIGGER pbx_users_search_insert AFTER INSERT ON pbx_users BEGIN
    UPDATE pbx_users SET
        sort_name = LOWER(COALESCE((SELECT t.display_name FROM teams_users t
            WHERE t.enterprise_id = NEW.enterprise_id AND t.object_id = NEW.teams_user_object_id),
            NEW.teams_user_object_id)),
        search_text = LOWER(COALESCE((SELECT t.display_name || char(10) || t.upn FROM teams_users t
            WHERE t.enterprise_id = NEW.enterprise_id AND t.object_id = NEW.teams_user_object_id),
            char(10)) || char(10) || NEW.sip_user || char(10) || NEW.phone_number || char(10)
            || COALESCE(NEW.tag, ''))
    WHERE id = NEW.id;
END;

CREATE TRIGGER pbx_users_search_change AFTER UPDATE OF teams_user_object_id, sip_user,
    phone_number, tag ON pbx_users BEGIN
    UPDATE pbx_users SET
        sort_name = LOWER(COALESCE((SELECT t.display_name FROM teams_users t
            WHERE t.enterprise_id = NEW.enterprise_id AND t.object_id = NEW.teams_user_object_id),
            NEW.teams_user_object_id)),
        search_text = LOWER(COALESCE((SELECT t.display_name || char(10) || t.upn FROM teams_users t
            WHERE t.enterprise_id = NEW.enterprise_id AND t.object_id = NEW.teams_user_object_id),
            char(10)) || char(10) || NEW.sip_user || char(10) || NEW.phone_number || char(10)
            || COALESCE(NEW.tag, ''))
    WHERE id = NEW.id;
END;

CREATE TRIGGER teams_users_search_insert AFTER INSERT ON teams_users BEGIN
    UPDATE pbx_users SET sip_user = sip_user
    WHERE enterprise_id = NEW.enterprise_id AND teams_user_object_id = NEW.object_id;
END;

CREATE TRIGGER teams_users_search_change AFTER UPDATE OF display_name, upn ON teams_users
    WHEN NEW.display_name IS NOT OLD.display_name OR NEW.upn IS NOT OLD.upn BEGIN
    UPDATE pbx_users SET sip_user = sip_user
    WHERE enterprise_id = NEW.enterprise_id AND teams_user_object_id = NEW.object_id;
END;

CREATE TRIGGER pbx_users_search_index AFTER UPDATE OF search_text ON pbx_users BEGIN
    DELETE FROM pbx_user_search WHERE rowid = OLD.id;
    INSERT INTO pbx_user_search (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;

CREATE TRIGGER pbx_users_search_delete AFTER DELETE ON pbx_users BEGIN
    DELETE FROM pbx_user_search WHERE rowid = OLD.id;
END;

-- Existing users (the triggers above fill the index).
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

CREATE TRIGGER pbx_user_counts_insert AFTER INSERT ON pbx_users BEGIN
    INSERT INTO pbx_user_counts (enterprise_id, state, push_state, calling_enabled, voice_route_id, n)
    VALUES (NEW.enterprise_id, NEW.state, NEW.push_state, NEW.calling_enabled, NEW.voice_route_id, 1)
    ON CONFLICT (enterprise_id, state, push_state, calling_enabled, voice_route_id)
    DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER pbx_user_counts_delete AFTER DELETE ON pbx_users BEGIN
    UPDATE pbx_user_counts SET n = n - 1
    WHERE enterprise_id = OLD.enterprise_id AND state = OLD.state AND push_state = OLD.push_state
      AND calling_enabled = OLD.calling_enabled AND voice_route_id = OLD.voice_route_id;
END;

CREATE TRIGGER pbx_user_counts_update AFTER UPDATE OF enterprise_id, state, push_state,
    calling_enabled, voice_route_id ON pbx_users
    WHEN NEW.enterprise_id <> OLD.enterprise_id OR NEW.state <> OLD.state
      OR NEW.push_state <> OLD.push_state OR NEW.calling_enabled <> OLD.calling_enabled
      OR NEW.voice_route_id <> OLD.voice_route_id BEGIN
    UPDATE pbx_user_counts SET n = n - 1
    WHERE enterprise_id = OLD.enterprise_id AND state = OLD.state AND push_state = OLD.push_state
      AND calling_enabled = OLD.calling_enabled AND voice_route_id = OLD.voice_route_id;
    INSERT INTO pbx_user_counts (enterprise_id, state, push_state, calling_enabled, voice_route_id, n)
    VALUES (NEW.enterprise_id, NEW.state, NEW.push_state, NEW.calling_enabled, NEW.voice_route_id, 1)
    ON CONFLICT (enterprise_id, state, push_state, calling_enabled, voice_route_id)
    DO UPDATE SET n = n + 1;
END;

INSERT INTO pbx_user_counts (enterprise_id, state, push_state, calling_enabled, voice_route_id, n)
SELECT enterprise_id, state, push_state, calling_enabled, voice_route_id, COUNT(*)
FROM pbx_users GROUP BY enterprise_id, state, push_state, calling_enabled, voice_route_id;

-- The Users page's filters by push state (Failed, Pending, Changed in Teams) in name order.
CREATE INDEX pbx_users_by_push_state ON pbx_users (enterprise_id, state, push_state, sort_name, id);
