-- The counts by status of a task list read this index alone, not every task row; it also
-- serves the open/done filters in id order.
CREATE INDEX IF NOT EXISTS tasks_by_user_status ON tasks (user_id, completed);
