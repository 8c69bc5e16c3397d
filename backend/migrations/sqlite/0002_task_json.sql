-- Each task keeps its JSON (the API's Task object) in a STORED generated column: SQLite
-- computes it on every insert and update of the row, in the same write, so it can never
-- disagree with the other columns, and a list of tasks is a concatenation of these texts
-- instead of 50 JSON objects built per request. Change it together with `Task` (model.rs).
-- SQLite cannot add a STORED column to a table: the table is rebuilt with its rows, ids and
-- id sequence kept.
CREATE TABLE tasks_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    completed INTEGER NOT NULL DEFAULT 0,
    priority TEXT NOT NULL DEFAULT 'medium',
    due_date TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    json TEXT NOT NULL GENERATED ALWAYS AS (json_object(
        'id', id, 'title', title, 'description', description,
        'completed', json(CASE WHEN completed = 1 THEN 'true' ELSE 'false' END),
        'priority', priority, 'due_date', due_date, 'tags', json(tags),
        'created_at', created_at, 'updated_at', updated_at)) STORED
);

INSERT INTO tasks_new (id, user_id, title, description, completed, priority, due_date, tags,
                       created_at, updated_at)
SELECT id, user_id, title, description, completed, priority, due_date, tags, created_at, updated_at
FROM tasks;

-- Ids of deleted tasks are never reused: carry the sequence over.
DELETE FROM sqlite_sequence WHERE name = 'tasks_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'tasks_new', seq FROM sqlite_sequence WHERE name = 'tasks';

DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_by_user ON tasks (user_id, id);
