//! The database: connecting (SQLite or PostgreSQL through sqlx's `Any` driver), running the
//! embedded migrations, and every query the API makes. One set of SQL serves both databases:
//! `$n` placeholders, BIGINT integers, text timestamps. PostgreSQL connections come from
//! sqlx's pool; the SQLite file's from a fixed set of connections (`SqliteConnections`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row};

use crate::config::Database;
use crate::model::{
    Counts, NewTask, Priority, SortOrder, StatusFilter, Task, TaskPatch, TaskQuery, User,
};
use crate::undo::{Outcome, TaskChange};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a PostgreSQL connection may sit idle before it is checked before use.
const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(30);

const TASK_COLUMNS: &str =
    "id, number, title, description, completed, priority, due_date, tags, created_at, updated_at";

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite folder could not be created or written.
    #[error(
        "cannot use the SQLite database {path}: {reason}; make its folder writable by the user the server runs as, or set DATABASE_URL"
    )]
    SqliteFolder {
        /// The database file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Connecting failed.
    #[error(
        "cannot connect to the {kind} database {url}: {source}; check DATABASE_URL and that the database accepts connections"
    )]
    Connect {
        /// sqlite or postgres.
        kind: &'static str,
        /// The redacted URL.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("cannot migrate the {kind} database {url}: {source}")]
    Migrate {
        /// sqlite or postgres.
        kind: &'static str,
        /// The redacted URL.
        url: String,
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },
}

/// A user row with its password hash (never serialized).
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2 PHC string.
    pub password_hash: String,
}

/// Why a sign-up could not be stored.
#[derive(Debug)]
pub enum SignUpError {
    /// The email is registered already.
    EmailTaken,
    /// The database failed.
    Database(sqlx::Error),
}

/// The connections and the queries.
#[derive(Debug, Clone)]
pub struct Store {
    connections: Connections,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Where queries run.
#[derive(Debug, Clone)]
enum Connections {
    /// sqlx's pool: it reconnects, and checks connections that sat idle (PostgreSQL).
    Pool(AnyPool),
    /// A fixed set of connections to the SQLite file (see [`SqliteConnections`]).
    Sqlite(Arc<SqliteConnections>),
}

impl Store {
    /// Connects, creating the SQLite folder and file when needed, and runs the migrations
    /// (PostgreSQL: under an advisory lock, so replicas starting together take turns).
    pub async fn open(database: &Database) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let migrate_error = |source| StoreError::Migrate {
            kind: database.kind(),
            url: database.to_string(),
            source,
        };
        match database {
            Database::Sqlite { path, .. } => {
                prepare_sqlite_folder(path)?;
                let connections = SqliteConnections::open(database.url().expose())
                    .await
                    .map_err(|source| StoreError::SqliteFolder {
                        path: path.display().to_string(),
                        reason: source.to_string(),
                    })?;
                // Through a pool of its own: the migrator takes its connection from a pool.
                let migrations = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|connection, _| {
                        Box::pin(async move { connection.execute(SQLITE_PRAGMAS).await.map(drop) })
                    })
                    .connect(database.url().expose())
                    .await
                    .map_err(|source| {
                        migrate_error(sqlx::migrate::MigrateError::Execute(source))
                    })?;
                let migrated = SQLITE_MIGRATIONS.run(&migrations).await;
                migrations.close().await;
                migrated.map_err(migrate_error)?;
                let connections = Arc::new(connections);
                tokio::spawn(keep_the_wal_small(
                    Arc::downgrade(&connections),
                    wal_path(path),
                ));
                Ok(Self {
                    connections: Connections::Sqlite(connections),
                    kind: Kind::Sqlite,
                })
            }
            Database::Postgres { .. } => {
                // Ping only connections that sat idle for a while (the server or a proxy may
                // have closed them), not before every query: that would double the round trips.
                let pool = AnyPoolOptions::new()
                    .max_connections(10)
                    .test_before_acquire(false)
                    .before_acquire(|connection, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= POSTGRES_PING_AFTER_IDLE {
                                connection.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(database.url().expose())
                    .await
                    .map_err(|source| StoreError::Connect {
                        kind: database.kind(),
                        url: database.to_string(),
                        source,
                    })?;
                POSTGRES_MIGRATIONS
                    .run(&pool)
                    .await
                    .map_err(migrate_error)?;
                Ok(Self {
                    connections: Connections::Pool(pool),
                    kind: Kind::Postgres,
                })
            }
        }
    }

    /// A connection for one query.
    async fn connection(&self) -> Result<Lease<'_>, sqlx::Error> {
        Ok(match &self.connections {
            Connections::Pool(pool) => Lease::Pool(pool.acquire().await?),
            Connections::Sqlite(connections) => Lease::Sqlite(connections.get().await?),
        })
    }

    /// Closes every connection (waits for the ones in use).
    pub async fn close(&self) {
        match &self.connections {
            Connections::Pool(pool) => pool.close().await,
            Connections::Sqlite(connections) => connections.close().await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.connection().await?)
            .await
            .map(drop)
    }

    /// Stores a new user.
    pub async fn create_user(
        &self,
        email: &str,
        name: Option<&str>,
        password_hash: &str,
    ) -> Result<User, SignUpError> {
        let now = now();
        let mut connection = self.connection().await.map_err(SignUpError::Database)?;
        let insert = sqlx::query(
            "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(email)
        .bind(name)
        .bind(password_hash)
        .bind(&now);
        let row = write_returning(insert, &mut connection)
            .await
            .and_then(|row| row.ok_or(sqlx::Error::RowNotFound))
            .map_err(|error| match &error {
                sqlx::Error::Database(db) if db.is_unique_violation() => SignUpError::EmailTaken,
                _ => SignUpError::Database(error),
            })?;
        Ok(User {
            id: row.try_get("id").map_err(SignUpError::Database)?,
            email: email.to_string(),
            name: name.map(str::to_string),
            created_at: now,
        })
    }

    /// A user and their password hash, by email.
    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&mut *self.connection().await?)
        .await?;
        row.map(|row| {
            Ok(Credentials {
                password_hash: row.try_get("password_hash")?,
                user: user_from_row(&row)?,
            })
        })
        .transpose()
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query("SELECT id, email, name, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.connection().await?)
            .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    /// A page of the user's tasks as a JSON array (built by the database in one query, so
    /// a list costs one round trip however many tasks it holds), how many tasks match, and
    /// the user's counts by status.
    pub async fn list_tasks_json(
        &self,
        user: i64,
        query: &TaskQuery,
        limit: i64,
        offset: i64,
    ) -> Result<(String, i64, Counts), sqlx::Error> {
        let mut filter = String::from("user_id = $1");
        let mut texts: Vec<String> = Vec::new();
        match query.status {
            StatusFilter::All => {}
            StatusFilter::Open => filter.push_str(" AND completed = 0"),
            StatusFilter::Done => filter.push_str(" AND completed = 1"),
        }
        if let Some(priority) = query.priority {
            texts.push(priority.as_str().to_string());
            filter.push_str(&format!(" AND priority = ${}", texts.len() + 3));
        }
        if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            texts.push(like_pattern(q));
            let n = texts.len() + 3;
            filter.push_str(&format!(
                " AND (LOWER(title) LIKE ${n} ESCAPE '\\' OR LOWER(description) LIKE ${n} ESCAPE '\\' \
                 OR LOWER(tags) LIKE ${n} ESCAPE '\\')"
            ));
        }
        let order = match query.sort {
            SortOrder::Created => "id DESC",
            SortOrder::Due => "CASE WHEN due_date IS NULL THEN 1 ELSE 0 END, due_date, id DESC",
            SortOrder::Priority => {
                "CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, id DESC"
            }
        };
        let page = match self.kind {
            // Each row holds its task's JSON (a generated column, see the migrations): the
            // page is those texts joined.
            Kind::Sqlite => format!(
                "SELECT '[' || COALESCE(group_concat(json, ','), '') || ']' FROM (\
                 SELECT json FROM tasks WHERE {filter} ORDER BY {order} LIMIT $2 OFFSET $3)"
            ),
            Kind::Postgres => format!(
                "SELECT COALESCE(json_agg(obj ORDER BY position), '[]'::json)::text FROM (\
                 SELECT json_build_object('id', id, 'number', number, 'title', title, 'description', description, \
                 'completed', completed = 1, 'priority', priority, 'due_date', due_date, \
                 'tags', tags::json, 'created_at', created_at, 'updated_at', updated_at) AS obj, \
                 row_number() OVER (ORDER BY {order}) AS position \
                 FROM tasks WHERE {filter} ORDER BY {order} LIMIT $2 OFFSET $3) page"
            ),
        };
        // One pass over the user's tasks for both counts; the filtered total needs its own
        // count only when there is a filter besides the user.
        let total = if filter == "user_id = $1" {
            "counts.all_tasks".to_string()
        } else {
            format!("(SELECT COUNT(*) FROM tasks WHERE {filter})")
        };
        let sql = format!(
            "SELECT ({page}) AS tasks, {total} AS total, counts.all_tasks, counts.done FROM (\
             SELECT COUNT(*) AS all_tasks, COUNT(CASE WHEN completed = 1 THEN 1 END) AS done \
             FROM tasks WHERE user_id = $1) counts"
        );
        let mut select = sqlx::query(&sql).bind(user).bind(limit).bind(offset);
        for text in &texts {
            select = select.bind(text.as_str());
        }
        let row = select.fetch_one(&mut *self.connection().await?).await?;
        let all: i64 = row.try_get("all_tasks")?;
        let done: i64 = row.try_get("done")?;
        Ok((
            row.try_get("tasks")?,
            row.try_get("total")?,
            Counts {
                all,
                open: all - done,
                done,
            },
        ))
    }

    /// Like [`Store::list_tasks_json`], with the tasks parsed.
    pub async fn list_tasks(
        &self,
        user: i64,
        query: &TaskQuery,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Task>, i64, Counts), sqlx::Error> {
        let (json, total, counts) = self.list_tasks_json(user, query, limit, offset).await?;
        let tasks = serde_json::from_str(&json).map_err(|error| sqlx::Error::ColumnDecode {
            index: "tasks".into(),
            source: error.into(),
        })?;
        Ok((tasks, total, counts))
    }

    /// Stores a checked new task with the user's next task number, in one statement (so
    /// concurrent creations get different numbers, and a deleted task's number is never
    /// handed out again): on PostgreSQL the statement takes the number from the user's row
    /// first; on SQLite it reads it, and a trigger (migration 0004) writes it back.
    ///
    /// One statement rather than a transaction: when SQLite rolls a transaction back by
    /// itself (a full disk), sqlx 0.8 still counts it as open and the connection's next
    /// transaction never ends, so its reads stay at an old snapshot.
    pub async fn create_task(&self, user: i64, task: &NewTask) -> Result<Task, sqlx::Error> {
        let now = now();
        let columns = "user_id, number, title, description, completed, priority, due_date, tags, \
                       created_at, updated_at";
        let sql = match self.kind {
            Kind::Sqlite => format!(
                "INSERT INTO tasks ({columns}) SELECT $1, last_task_number + 1, $2, $3, $4, $5, \
                 $6, $7, $8, $8 FROM users WHERE id = $1 RETURNING {TASK_COLUMNS}"
            ),
            Kind::Postgres => format!(
                "WITH taken AS (UPDATE users SET last_task_number = last_task_number + 1 \
                 WHERE id = $1 RETURNING last_task_number) \
                 INSERT INTO tasks ({columns}) SELECT $1, last_task_number, $2, $3, $4, $5, $6, \
                 $7, $8, $8 FROM taken RETURNING {TASK_COLUMNS}"
            ),
        };
        let statement = sqlx::query(&sql)
            .bind(user)
            .bind(task.title.as_str())
            .bind(task.description.as_str())
            .bind(i64::from(task.completed))
            .bind(task.priority.as_str())
            .bind(task.due_date.map(|date| date.to_string()))
            .bind(tags_json(&task.tags))
            .bind(now);
        let row = write_returning(statement, &mut *self.connection().await?)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        task_from_row(&row)
    }

    /// One of the user's tasks, by the user's own task number.
    pub async fn task_by_number(
        &self,
        user: i64,
        number: i64,
    ) -> Result<Option<Task>, sqlx::Error> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND number = $2");
        let row = sqlx::query(&sql)
            .bind(user)
            .bind(number)
            .fetch_optional(&mut *self.connection().await?)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// One of the user's tasks.
    pub async fn task(&self, user: i64, id: i64) -> Result<Option<Task>, sqlx::Error> {
        read_task(&mut *self.connection().await?, user, id, "").await
    }

    /// Applies a checked patch in one statement, so only the fields the patch names are
    /// written (a field changed meanwhile by another request is left as that request left
    /// it); `None` when the user has no such task.
    pub async fn update_task(
        &self,
        user: i64,
        id: i64,
        patch: &TaskPatch,
    ) -> Result<Option<Task>, sqlx::Error> {
        let sql = format!(
            "UPDATE tasks SET title = COALESCE($3, title), \
             description = COALESCE($4, description), completed = COALESCE($5, completed), \
             priority = COALESCE($6, priority), \
             due_date = CASE WHEN $7 = 1 THEN $8 ELSE due_date END, \
             tags = COALESCE($9, tags), updated_at = $10 WHERE id = $1 AND user_id = $2 \
             RETURNING {TASK_COLUMNS}"
        );
        let statement = sqlx::query(&sql)
            .bind(id)
            .bind(user)
            .bind(patch.title.as_deref())
            .bind(patch.description.as_deref())
            .bind(patch.completed.map(i64::from))
            .bind(patch.priority.map(|priority| priority.as_str()))
            .bind(i64::from(patch.due_date.is_some()))
            .bind(patch.due_date.flatten().map(|date| date.to_string()))
            .bind(patch.tags.as_deref().map(tags_json))
            .bind(now());
        let row = write_returning(statement, &mut *self.connection().await?).await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Flips `completed`; `None` when the user has no such task.
    pub async fn toggle_task(&self, user: i64, id: i64) -> Result<Option<Task>, sqlx::Error> {
        let sql = format!(
            "UPDATE tasks SET completed = 1 - completed, updated_at = $3 \
             WHERE id = $1 AND user_id = $2 RETURNING {TASK_COLUMNS}"
        );
        let statement = sqlx::query(&sql).bind(id).bind(user).bind(now());
        let row = write_returning(statement, &mut *self.connection().await?).await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Deletes a task, returning it; `None` when the user has no such task.
    pub async fn delete_task(&self, user: i64, id: i64) -> Result<Option<Task>, sqlx::Error> {
        let sql =
            format!("DELETE FROM tasks WHERE id = $1 AND user_id = $2 RETURNING {TASK_COLUMNS}");
        let statement = sqlx::query(&sql).bind(id).bind(user);
        let row = write_returning(statement, &mut *self.connection().await?).await?;
        row.as_ref().map(task_from_row).transpose()
    }
}

/// Changes kept for undo, sessions ended by signing out.
impl Store {
    /// Records a change for undo, in one statement that also forgets the user's changes
    /// beyond the newest [`crate::undo::KEPT`] (SQLite: a trigger, migration 0005;
    /// PostgreSQL: a CTE), so recording costs one commit. Returns its id.
    pub async fn record_change(
        &self,
        user: i64,
        summary: &str,
        tasks: &[TaskChange],
        made_at_ms: i64,
    ) -> Result<i64, sqlx::Error> {
        let tasks =
            serde_json::to_string(tasks).map_err(|error| sqlx::Error::Encode(error.into()))?;
        let insert = "INSERT INTO changes (user_id, summary, tasks, made_at) \
                      VALUES ($1, $2, $3, $4) RETURNING id";
        let sql = match self.kind {
            Kind::Sqlite => insert.to_string(),
            // The DELETE sees the table as it was before the INSERT: the new change is
            // never among the ones it removes.
            Kind::Postgres => format!(
                "WITH forgotten AS (DELETE FROM changes WHERE user_id = $1 AND id NOT IN \
                 (SELECT id FROM changes WHERE user_id = $1 ORDER BY id DESC LIMIT {})) {insert}",
                crate::undo::KEPT - 1
            ),
        };
        let row = write_returning(
            sqlx::query(&sql)
                .bind(user)
                .bind(summary)
                .bind(tasks)
                .bind(made_at_ms),
            &mut *self.connection().await?,
        )
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
        row.try_get(0)
    }

    /// The user's newest change made at or after `since_ms`: its id, summary and time (ms).
    pub async fn last_change(
        &self,
        user: i64,
        since_ms: i64,
    ) -> Result<Option<(i64, String, i64)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, summary, made_at FROM changes WHERE user_id = $1 AND made_at >= $2 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(user)
        .bind(since_ms)
        .fetch_optional(&mut *self.connection().await?)
        .await?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .transpose()
    }

    /// Undoes one change of the user's made at or after `since_ms` (`change`, else the
    /// newest), all or nothing: in one transaction the change is taken off the record (which
    /// claims it: two undos of one change cannot both apply it), every task it touched is
    /// checked to be still as the change left it (and locked: SQLite's `BEGIN IMMEDIATE`
    /// holds the write lock, PostgreSQL's `FOR UPDATE` the rows), then each is put back. If
    /// any task is not as the change left it, the transaction is rolled back, so no task
    /// moves, and the change is then dropped from the record on its own.
    ///
    /// Runs as a task of its own: a request cancelled half-way must not hand its connection
    /// back inside an open transaction.
    pub async fn undo_change(
        &self,
        user: i64,
        change: Option<i64>,
        since_ms: i64,
    ) -> Result<Outcome, sqlx::Error> {
        let store = self.clone();
        tokio::spawn(async move { store.undo_in_transaction(user, change, since_ms).await })
            .await
            .map_err(|error| sqlx::Error::Protocol(format!("the undo stopped: {error}")))?
    }

    /// [`Store::undo_change`] on one connection. The transaction is begun and ended by
    /// plain statements, not sqlx's `Transaction`: when SQLite rolls a transaction back by
    /// itself (a full disk), sqlx 0.8 still counts it as open and the connection's next
    /// transaction never ends (see [`Store::create_task`]); a `ROLLBACK` that finds no
    /// transaction leaves this connection as it should be.
    async fn undo_in_transaction(
        &self,
        user: i64,
        change: Option<i64>,
        since_ms: i64,
    ) -> Result<Outcome, sqlx::Error> {
        let mut connection = self.connection().await?;
        let begin = match self.kind {
            Kind::Sqlite => "BEGIN IMMEDIATE",
            Kind::Postgres => "BEGIN",
        };
        connection.execute(begin).await?;
        let plan = undo_statements(&mut connection, self.kind, user, change, since_ms).await;
        match plan {
            Ok(UndoPlan::Applied { summary, tasks }) => {
                if let Err(error) = connection.execute("COMMIT").await {
                    // SQLite keeps the transaction open after some failed commits (busy).
                    let _ = connection.execute("ROLLBACK").await;
                    return Err(error);
                }
                Ok(Outcome::Undone { summary, tasks })
            }
            Ok(UndoPlan::Missing) => {
                connection.execute("ROLLBACK").await?;
                Ok(if change.is_some() {
                    Outcome::Gone
                } else {
                    Outcome::Nothing
                })
            }
            Ok(UndoPlan::Refused {
                id,
                summary,
                change,
            }) => {
                connection.execute("ROLLBACK").await?;
                sqlx::query("DELETE FROM changes WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user)
                    .execute(&mut *connection)
                    .await?;
                let now = match touched_id(&change) {
                    Some(task) => read_task(&mut connection, user, task, "").await?,
                    None => None,
                };
                Ok(changed_since(summary, &change, now))
            }
            Err(error) => {
                // The statement's error is the one to report; the transaction may be
                // gone already (SQLite ends it by itself on some errors).
                let _ = connection.execute("ROLLBACK").await;
                Err(error)
            }
        }
    }

    /// Whether user `user` exists and whether session `session` was ended, in one query
    /// (made for every authenticated request).
    pub async fn session_state(
        &self,
        user: i64,
        session: &str,
    ) -> Result<SessionState, sqlx::Error> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM users WHERE id = $1) AS users, \
             (SELECT COUNT(*) FROM revoked_sessions WHERE session = $2) AS revoked",
        )
        .bind(user)
        .bind(session)
        .fetch_one(&mut *self.connection().await?)
        .await?;
        let users: i64 = row.try_get("users")?;
        let revoked: i64 = row.try_get("revoked")?;
        Ok(if users == 0 {
            SessionState::NoSuchUser
        } else if revoked > 0 {
            SessionState::Revoked
        } else {
            SessionState::Valid
        })
    }

    /// Ends `session` until `expires_at` (Unix seconds, the token's own expiry); forgets
    /// sessions whose tokens have expired by `now` (they are refused anyway).
    pub async fn revoke_session(
        &self,
        session: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut connection = self.connection().await?;
        sqlx::query(
            "INSERT INTO revoked_sessions (session, expires_at) VALUES ($1, $2) \
             ON CONFLICT (session) DO NOTHING",
        )
        .bind(session)
        .bind(expires_at)
        .execute(&mut *connection)
        .await?;
        sqlx::query("DELETE FROM revoked_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *connection)
            .await?;
        Ok(())
    }
}

/// Whether a token's session may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// The user exists and the session was not ended.
    Valid,
    /// The session was ended by signing out.
    Revoked,
    /// The token's user does not exist (any more).
    NoSuchUser,
}

/// What an undo answers when `change`'s task is not as the change left it (`now`).
fn changed_since(summary: String, change: &TaskChange, now: Option<Task>) -> Outcome {
    let deleted = now.is_none();
    match change
        .after
        .clone()
        .or(now)
        .or_else(|| change.before.clone())
    {
        Some(task) => Outcome::ChangedSince {
            summary,
            task,
            deleted,
        },
        None => Outcome::Gone,
    }
}

/// What the statements of an undo found, before its transaction ends.
enum UndoPlan {
    /// No change to undo: nothing was written.
    Missing,
    /// The change was claimed and every task put back: to be committed.
    Applied {
        /// The change's summary.
        summary: String,
        /// The tasks as they are now.
        tasks: Vec<Task>,
    },
    /// A task is not as change `id` left it: to be rolled back.
    Refused {
        /// The change's id.
        id: i64,
        /// The change's summary.
        summary: String,
        /// The part of the change whose task is not as it was left.
        change: Box<TaskChange>,
    },
}

/// The statements of an undo, inside its transaction: claim the change, check (and lock)
/// every task it touched, then put each back. Stops at the first task that is not as the
/// change left it.
async fn undo_statements(
    connection: &mut AnyConnection,
    kind: Kind,
    user: i64,
    change: Option<i64>,
    since_ms: i64,
) -> Result<UndoPlan, sqlx::Error> {
    let Some((id, summary, changes)) = claim_change(connection, user, change, since_ms).await?
    else {
        return Ok(UndoPlan::Missing);
    };
    let lock = match kind {
        Kind::Sqlite => "",
        Kind::Postgres => " FOR UPDATE",
    };
    let refused = |change: &TaskChange, summary: String| UndoPlan::Refused {
        id,
        summary,
        change: Box::new(change.clone()),
    };
    for change in &changes {
        let Some(task) = touched_id(change) else {
            continue;
        };
        if read_task(connection, user, task, lock).await? != change.after {
            return Ok(refused(change, summary));
        }
    }
    let mut restored = Vec::with_capacity(changes.len());
    for change in changes.iter().rev() {
        let applied = match (&change.before, &change.after) {
            (None, Some(after)) => {
                sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2 AND updated_at = $3")
                    .bind(after.id)
                    .bind(user)
                    .bind(after.updated_at.as_str())
                    .execute(&mut *connection)
                    .await?
                    .rows_affected()
                    == 1
            }
            (Some(before), after) => put_back(connection, user, before, after.as_ref()).await?,
            (None, None) => true,
        };
        if !applied {
            return Ok(refused(change, summary));
        }
        restored.extend(change.before.clone().or_else(|| change.after.clone()));
    }
    restored.reverse();
    Ok(UndoPlan::Applied {
        summary,
        tasks: restored,
    })
}

/// Takes change `change` (else the user's newest) made at or after `since_ms` off the
/// record: its id, summary and tasks; `None` when there is no such change.
async fn claim_change(
    connection: &mut AnyConnection,
    user: i64,
    change: Option<i64>,
    since_ms: i64,
) -> Result<Option<(i64, String, Vec<TaskChange>)>, sqlx::Error> {
    let claim = match change {
        Some(id) => sqlx::query(
            "DELETE FROM changes WHERE id = $1 AND user_id = $2 AND made_at >= $3 \
             RETURNING id, summary, tasks",
        )
        .bind(id)
        .bind(user)
        .bind(since_ms),
        None => sqlx::query(
            "DELETE FROM changes WHERE id = (SELECT MAX(id) FROM changes \
             WHERE user_id = $1 AND made_at >= $2) RETURNING id, summary, tasks",
        )
        .bind(user)
        .bind(since_ms),
    };
    let Some(row) = write_returning(claim, connection).await? else {
        return Ok(None);
    };
    let tasks: String = row.try_get("tasks")?;
    let changes = serde_json::from_str(&tasks).map_err(|error| sqlx::Error::ColumnDecode {
        index: "tasks".into(),
        source: error.into(),
    })?;
    Ok(Some((row.try_get("id")?, row.try_get("summary")?, changes)))
}

/// The id of the task a change touched.
fn touched_id(change: &TaskChange) -> Option<i64> {
    change
        .after
        .as_ref()
        .or(change.before.as_ref())
        .map(|task| task.id)
}

/// One of the user's tasks, read on `connection`; `suffix` ends the query (a lock clause).
async fn read_task(
    connection: &mut AnyConnection,
    user: i64,
    id: i64,
    suffix: &str,
) -> Result<Option<Task>, sqlx::Error> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2{suffix}");
    sqlx::query(&sql)
        .bind(id)
        .bind(user)
        .fetch_optional(connection)
        .await?
        .as_ref()
        .map(task_from_row)
        .transpose()
}

/// Writes `task` back as it was: inserted again with its id and number when the change
/// deleted it (`after` None), else its fields and `updated_at` set back, provided it is
/// still as the change left it. Whether it was written.
async fn put_back(
    connection: &mut AnyConnection,
    user: i64,
    task: &Task,
    after: Option<&Task>,
) -> Result<bool, sqlx::Error> {
    let sql = if after.is_none() {
        "INSERT INTO tasks (id, user_id, title, description, completed, priority, due_date, tags, \
         updated_at, number, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    } else {
        "UPDATE tasks SET title = $3, description = $4, completed = $5, priority = $6, \
         due_date = $7, tags = $8, updated_at = $9 WHERE id = $1 AND user_id = $2 \
         AND number = $10 AND created_at = $11 AND updated_at = $12"
    };
    let mut statement = sqlx::query(sql)
        .bind(task.id)
        .bind(user)
        .bind(task.title.as_str())
        .bind(task.description.as_str())
        .bind(i64::from(task.completed))
        .bind(task.priority.as_str())
        .bind(task.due_date.map(|date| date.to_string()))
        .bind(tags_json(&task.tags))
        .bind(task.updated_at.as_str())
        .bind(task.number)
        .bind(task.created_at.as_str());
    if let Some(after) = after {
        statement = statement.bind(after.updated_at.as_str());
    }
    match statement.execute(connection).await {
        Ok(done) => Ok(done.rows_affected() == 1),
        // The id is taken again: the task was put back meanwhile.
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(false),
        Err(error) => Err(error),
    }
}

/// Runs a write with a `RETURNING` clause and returns its row (at most one is expected).
///
/// Every row is read, so the statement runs to its end: SQLite commits an autocommit write
/// when its statement finishes, and sqlx 0.8's `fetch_one`/`fetch_optional` stop after the
/// first row and reset the statement, dropping the commit's error (a full disk: the write
/// is rolled back, the caller is told it succeeded). Read to the end, the error surfaces.
async fn write_returning<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    connection: &mut AnyConnection,
) -> Result<Option<AnyRow>, sqlx::Error> {
    Ok(query.fetch_all(connection).await?.into_iter().next())
}

/// Set on every SQLite connection. `synchronous = FULL`: a commit is on disk before the
/// API answers (NORMAL may lose the last commits on a power cut). `journal_size_limit`:
/// the WAL file is cut back to 4 MiB whenever a checkpoint resets it.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                              PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                              PRAGMA journal_size_limit = 4194304;";

/// How often the WAL file's size is looked at.
const WAL_CHECK_EVERY: Duration = Duration::from_millis(250);

/// A WAL larger than this is checkpointed and truncated at the next look.
pub const WAL_TRUNCATE_ABOVE: u64 = 8 * 1024 * 1024;

/// The WAL file next to the database file.
fn wal_path(database: &Path) -> std::path::PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    std::path::PathBuf::from(name)
}

/// Keeps the WAL file bounded while the server runs. SQLite's automatic checkpoint (after
/// each commit past 1,000 pages) copies pages back but can only restart the WAL from its
/// beginning when no reader is using it, which under steady load is never: the file grew
/// by every write (hundreds of MB in seconds). A `TRUNCATE` checkpoint waits for the
/// readers (up to the busy timeout) and empties the file. Ends when the connections close.
async fn keep_the_wal_small(
    connections: std::sync::Weak<SqliteConnections>,
    wal: std::path::PathBuf,
) {
    let mut every = tokio::time::interval(WAL_CHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let size = tokio::fs::metadata(&wal).await.map_or(0, |meta| meta.len());
        if size <= WAL_TRUNCATE_ABOVE {
            if connections.strong_count() == 0 {
                return;
            }
            continue;
        }
        let Some(owner) = connections.upgrade() else {
            return;
        };
        let mut lease = match owner.get().await {
            Ok(lease) => lease,
            Err(sqlx::Error::PoolClosed) => return,
            Err(_) => continue,
        };
        let connection = lease
            .connection
            .as_mut()
            .unwrap_or_else(|| unreachable!("a lease holds its connection until dropped"));
        match sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_all(connection)
            .await
        {
            Ok(_) => tracing::debug!(wal_bytes = size, "WAL checkpointed and truncated"),
            Err(error) => {
                // A full disk fails every checkpoint: try again later, not four times a second.
                tracing::warn!(%error, wal_bytes = size, "WAL checkpoint failed; retrying in 10 s");
                drop(lease);
                tokio::time::sleep(WAL_RETRY_AFTER_FAILURE).await;
            }
        }
    }
}

/// How long the WAL task waits after a failed checkpoint.
const WAL_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// How many connections the SQLite file gets (each runs on its own thread in sqlx).
const SQLITE_CONNECTIONS: usize = 8;

/// How long a query waits for a free SQLite connection before it fails.
const SQLITE_WAIT: Duration = Duration::from_secs(10);

/// The SQLite file's connections, each used by one query at a time. Not sqlx's pool: it
/// pings every connection it takes back, a second round trip to the connection's thread per
/// query, and a connection to a local file has nothing to check. A query abandoned half-way
/// (its request cancelled) leaves its connection usable: sqlx runs a connection's commands
/// one after the other on its thread.
#[derive(Debug)]
struct SqliteConnections {
    idle: std::sync::Mutex<Vec<AnyConnection>>,
    free: tokio::sync::Semaphore,
}

impl SqliteConnections {
    async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let mut idle = Vec::with_capacity(SQLITE_CONNECTIONS);
        for _ in 0..SQLITE_CONNECTIONS {
            let mut connection = AnyConnection::connect(url).await?;
            connection.execute(SQLITE_PRAGMAS).await?;
            idle.push(connection);
        }
        Ok(Self {
            idle: std::sync::Mutex::new(idle),
            free: tokio::sync::Semaphore::new(SQLITE_CONNECTIONS),
        })
    }

    /// Waits for an idle connection (at most [`SQLITE_WAIT`]).
    async fn get(&self) -> Result<SqliteLease<'_>, sqlx::Error> {
        let permit = match self.free.try_acquire() {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(sqlx::Error::PoolClosed),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                tokio::time::timeout(SQLITE_WAIT, self.free.acquire())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?
                    .map_err(|_| sqlx::Error::PoolClosed)?
            }
        };
        let connection = self
            .idle
            .lock()
            .map_err(|_| sqlx::Error::PoolClosed)?
            .pop()
            .ok_or(sqlx::Error::PoolClosed)?;
        Ok(SqliteLease {
            owner: self,
            connection: Some(connection),
            _permit: permit,
        })
    }

    /// Waits for the connections in use, then closes them all; later queries fail.
    async fn close(&self) {
        let Ok(all) = self.free.acquire_many(SQLITE_CONNECTIONS as u32).await else {
            return;
        };
        self.free.close();
        drop(all);
        let connections = match self.idle.lock() {
            Ok(mut idle) => std::mem::take(&mut *idle),
            Err(_) => return,
        };
        for connection in connections {
            let _ = connection.close().await;
        }
    }
}

/// A connection taken from [`SqliteConnections`], given back when dropped.
struct SqliteLease<'a> {
    owner: &'a SqliteConnections,
    connection: Option<AnyConnection>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for SqliteLease<'_> {
    fn drop(&mut self) {
        // Back in the idle list before the permit (a field, dropped after this) lets the
        // next query in.
        if let (Some(connection), Ok(mut idle)) = (self.connection.take(), self.owner.idle.lock()) {
            idle.push(connection);
        }
    }
}

/// A connection for one query, from either kind of [`Connections`].
enum Lease<'a> {
    Pool(PoolConnection<Any>),
    Sqlite(SqliteLease<'a>),
}

impl std::ops::Deref for Lease<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Pool(connection) => connection,
            Self::Sqlite(lease) => lease
                .connection
                .as_ref()
                .unwrap_or_else(|| unreachable!("a lease holds its connection until dropped")),
        }
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Pool(connection) => connection,
            Self::Sqlite(lease) => lease
                .connection
                .as_mut()
                .unwrap_or_else(|| unreachable!("a lease holds its connection until dropped")),
        }
    }
}

/// Creates the SQLite file's folder and checks that it is writable, so that a read-only
/// volume fails with a sentence rather than SQLite's "unable to open database file".
fn prepare_sqlite_folder(path: &Path) -> Result<(), StoreError> {
    let fail = |reason: String| StoreError::SqliteFolder {
        path: path.display().to_string(),
        reason,
    };
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder).map_err(|error| {
        fail(format!(
            "cannot create folder {}: {error}",
            folder.display()
        ))
    })?;
    let probe = folder.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|error| {
        fail(format!(
            "folder {} is not writable: {error}",
            folder.display()
        ))
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_string())
}

/// `%text%` in lower case with LIKE's wildcards escaped.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn task_from_row(row: &AnyRow) -> Result<Task, sqlx::Error> {
    let decode = |column: &str, error: String| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: error.into(),
    };
    let priority: String = row.try_get("priority")?;
    let due_date: Option<String> = row.try_get("due_date")?;
    let tags: String = row.try_get("tags")?;
    Ok(Task {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        completed: row.try_get::<i64, _>("completed")? != 0,
        priority: Priority::parse(&priority)
            .ok_or_else(|| decode("priority", format!("unknown priority `{priority}`")))?,
        due_date: due_date
            .map(|date| NaiveDate::parse_from_str(&date, "%Y-%m-%d"))
            .transpose()
            .map_err(|error| decode("due_date", error.to_string()))?,
        tags: serde_json::from_str(&tags).map_err(|error| decode("tags", error.to_string()))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }
}
