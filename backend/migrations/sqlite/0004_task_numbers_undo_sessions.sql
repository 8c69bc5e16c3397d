-- Per-user task numbers, the changes that can be undone, and signed-out sessions (issue 20).
--
-- Task numbers: a user's first task is 1, the next 2, and so on. A number is never handed
-- out again, not even after its task is deleted (as issue trackers do): the user row keeps
-- the last number given, and existing tasks are numbered per user in the order they were
-- created. The task's JSON (the generated column) carries the number, so the table is
-- rebuilt as in 0002, with its rows, ids and id sequence kept.
ALTER TABLE users ADD COLUMN last_task_number INTEGER NOT NULL DEFAULT 0;

CREATE TABLE tasks_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    completed INTEGER NOT NULL DEFAULT 0,
    priority TEXT NOT NULL DEFAULT 'medium',
    due_date TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    json TEXT NOT NULL GENERATED ALWAYS AS (json_object(
        'id', id, 'number', number, 'title', title, 'description', description,
        'completed', json(CASE WHEN completed = 1 THEN 'true' ELSE 'false' END),
        'priority', priority, 'due_date', due_date, 'tags', json(tags),
        'created_at', created_at, 'updated_at', updated_at)) STORED
);

INSERT INTO tasks_new (id, user_id, number, title, description, completed, priority, due_date,
                       tags, created_at, updated_at)
SELECT id, user_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id), title, description,
       completed, priority, due_date, tags, created_at, updated_at
FROM tasks;

DELETE FROM sqlite_sequence WHERE name = 'tasks_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'tasks_new', seq FROM sqlite_sequence WHERE name = 'tasks';

DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_by_user ON tasks (user_id, id);
CREATE INDEX tasks_by_user_status ON tasks (user_id, completed);
CREATE UNIQUE INDEX tasks_by_user_number ON tasks (user_id, number);

UPDATE users SET last_task_number =
    COALESCE((SELECT MAX(number) FROM tasks WHERE tasks.user_id = users.id), 0);

-- A new task takes its number from its user's row (store.rs reads `last_task_number + 1` in
-- the INSERT); this writes the number back in the same statement, so numbers are never
-- handed out twice nor again. A task put back by undo keeps its old, lower number.
CREATE TRIGGER tasks_take_number AFTER INSERT ON tasks
BEGIN
    UPDATE users SET last_task_number = NEW.number
    WHERE id = NEW.user_id AND last_task_number < NEW.number;
END;

-- The last changes of each user, for undo: `tasks` is a JSON array of {"before", "after"}
-- (each a task as the API shows it, or null when the change created or deleted it);
-- `made_at` is in Unix milliseconds.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    summary TEXT NOT NULL,
    tasks TEXT NOT NULL,
    made_at INTEGER NOT NULL
);
CREATE INDEX changes_by_user ON changes (user_id, id);

-- Sessions ended by signing out, until their tokens expire (`expires_at`, Unix seconds).
CREATE TABLE revoked_sessions (
    session TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
