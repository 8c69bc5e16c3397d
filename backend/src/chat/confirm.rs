//! Bulk changes waiting for a "yes": one per user, kept in memory for
//! [`Confirmations::TIME_LIMIT`]. Any other message from the user drops it. With several
//! backend replicas the "yes" may reach another replica, which answers that nothing is
//! waiting: the user asks again (nothing happens that was not confirmed).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::intent::BulkAction;

/// A bulk change the user was asked to confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// What to do.
    pub action: BulkAction,
    /// The ids of the tasks the question listed: only they change.
    pub ids: Vec<i64>,
    /// How the question described them ("finished tasks").
    pub what: String,
}

/// The pending bulk changes, by user.
#[derive(Debug, Default)]
pub struct Confirmations {
    pending: Mutex<HashMap<i64, (Instant, Pending)>>,
}

impl Confirmations {
    /// How long a question waits for its answer.
    pub const TIME_LIMIT: Duration = Duration::from_secs(10 * 60);

    /// Remembers `pending` for `user`, replacing an older question.
    pub fn ask(&self, user: i64, pending: Pending) {
        let mut map = self.lock();
        // Drop the answers nobody gave, so the map holds only live questions.
        if map.len() > 1000 {
            map.retain(|_, (asked, _)| asked.elapsed() < Self::TIME_LIMIT);
        }
        map.insert(user, (Instant::now(), pending));
    }

    /// Takes `user`'s question, if one is waiting and not too old.
    pub fn take(&self, user: i64) -> Option<Pending> {
        let (asked, pending) = self.lock().remove(&user)?;
        (asked.elapsed() < Self::TIME_LIMIT).then_some(pending)
    }

    /// Whether `user` has a question waiting.
    pub fn waiting(&self, user: i64) -> bool {
        self.lock()
            .get(&user)
            .is_some_and(|(asked, _)| asked.elapsed() < Self::TIME_LIMIT)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (Instant, Pending)>> {
        // A panic while holding the lock leaves a map that is still whole: keep using it.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
