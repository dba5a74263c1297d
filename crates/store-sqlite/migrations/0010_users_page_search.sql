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
