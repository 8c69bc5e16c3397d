-- Recording a change for undo keeps each user's newest 20 changes (`undo::KEPT`) in the
-- same statement as the insert, so a task write costs one commit more, not two (on SQLite
-- every commit is an fsync). Older changes than the undo window are never read
-- (store.rs asks for changes made since then); they go when they fall out of the 20.
CREATE TRIGGER changes_keep_newest AFTER INSERT ON changes
BEGIN
    DELETE FROM changes WHERE user_id = NEW.user_id AND id NOT IN
        (SELECT id FROM changes WHERE user_id = NEW.user_id ORDER BY id DESC LIMIT 20);
END;
