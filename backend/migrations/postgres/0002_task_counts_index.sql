-- The counts by status of a task list read this index, not every task row; it also serves
-- the open/done filters.
CREATE INDEX IF NOT EXISTS tasks_by_user_status ON tasks (user_id, completed);
