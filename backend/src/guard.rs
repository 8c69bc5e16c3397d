//! Guards against abuse and overload: the client address a request counts against,
//! growing back-off after failed sign-ins (per account and per address), a sign-up quota
//! per address, and a fixed pool of threads for password hashes, so that memory stays
//! bounded under any mix of requests (each argon2 hash takes 19 MiB).
//!
//! Every table here is bounded ([`TABLE_CAPACITY`] keys): a flood of distinct keys cannot
//! grow memory; when a table is full, stale keys go first, then keys not being held back.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::config::Limits;
use crate::error::ApiError;

/// Most keys one table remembers.
pub const TABLE_CAPACITY: usize = 100_000;
/// The first wait after the free failures; each further failure doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
pub const LONGEST_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
pub const FORGET_FAILURES_AFTER: Duration = Duration::from_secs(60 * 60);
/// Hashes that may wait for a hashing thread, per thread; more get 503.
pub const HASH_QUEUE_PER_THREAD: usize = 8;

/// The guards one server shares.
#[derive(Debug)]
pub struct Guards {
    /// The password hashing threads.
    pub hashes: PasswordHashes,
    accounts: Backoff<String>,
    addresses: Backoff<IpAddr>,
    signups: Quota<IpAddr>,
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl Guards {
    /// Guards sized by `limits`; starts the hashing threads.
    pub fn new(
        limits: &Limits,
        hash: impl Fn(HashJob) -> HashOutcome + Send + Sync + 'static,
    ) -> Self {
        Self {
            hashes: PasswordHashes::start(limits.password_hashes, hash),
            accounts: Backoff::new(limits.signin_failures_per_account),
            addresses: Backoff::new(limits.signin_failures_per_address),
            signups: Quota::new(
                limits.signups_per_address_per_hour,
                Duration::from_secs(3600),
            ),
            trusted_proxies: limits.trusted_proxies.clone(),
        }
    }

    /// Refuses a sign-in (429) while the account or the address is held back.
    pub fn check_signin(&self, email: &str, client: &ClientAddress) -> Result<(), ApiError> {
        let now = Instant::now();
        let wait = [
            self.accounts.wait(&email.to_string(), now),
            client
                .key()
                .and_then(|address| self.addresses.wait(&address, now)),
        ]
        .into_iter()
        .flatten()
        .max();
        match wait {
            Some(wait) => Err(too_many(
                "too many failed sign-ins: wait before trying again",
                wait,
            )),
            None => Ok(()),
        }
    }

    /// Records a failed sign-in against the account and the address.
    pub fn signin_failed(&self, email: &str, client: &ClientAddress) {
        let now = Instant::now();
        self.accounts.fail(email.to_string(), now);
        if let Some(address) = client.key() {
            self.addresses.fail(address, now);
        }
    }

    /// Clears the account's failures after a successful sign-in (the address keeps its own).
    pub fn signin_succeeded(&self, email: &str) {
        self.accounts.forget(&email.to_string());
    }

    /// Takes one sign-up from the address's hourly quota, or refuses (429). A request that
    /// names no client (a trusted proxy's own) is not counted.
    pub fn take_signup(&self, client: &ClientAddress) -> Result<(), ApiError> {
        let Some(address) = client.key() else {
            return Ok(());
        };
        self.signups
            .take(address, Instant::now())
            .map_err(|wait| too_many("too many sign-ups from this address: try again later", wait))
    }

    /// The client address of a request: the peer, or what a trusted proxy says it got the
    /// request from; none when a trusted proxy sends a request without saying (limits per
    /// address would otherwise count every user behind it as one).
    fn client_of(&self, parts: &Parts) -> ClientAddress {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
        else {
            return ClientAddress(None);
        };
        if !self.is_trusted(peer) {
            return ClientAddress(Some(peer));
        }
        // The nearest hop that is not a trusted proxy is the client.
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        let client = forwarded
            .into_iter()
            .rev()
            .find(|hop| !self.is_trusted(*hop));
        ClientAddress(client)
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.trusted_proxies
            .iter()
            .any(|network| network.contains(&address))
    }
}

/// A 429 with `Retry-After`.
fn too_many(detail: &str, wait: Duration) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail).with_retry_after(wait)
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The client a request counts against (an extractor); `None` when a trusted proxy sent
/// the request without naming its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// The key limits use: the address, or its /64 network for IPv6 (one host usually
    /// holds a whole /64).
    pub fn key(&self) -> Option<IpAddr> {
        self.0.map(|address| match canonical(address) {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
            v4 => v4,
        })
    }
}

impl FromRequestParts<crate::AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(state.guards.client_of(parts))
    }
}

/// A bounded map from keys to per-key state, pruned when full.
#[derive(Debug)]
struct Table<K, V> {
    entries: Mutex<HashMap<K, V>>,
}

impl<K: Eq + Hash, V> Table<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `change` on the key's entry (created with `fresh` when there is room).
    fn update<T>(
        &self,
        key: K,
        fresh: impl FnOnce() -> V,
        stale: impl Fn(&V) -> bool,
        held: impl Fn(&V) -> bool,
        change: impl FnOnce(&mut V) -> T,
    ) -> Option<T> {
        let mut entries = self.entries.lock().ok()?;
        if !entries.contains_key(&key) && entries.len() >= TABLE_CAPACITY {
            entries.retain(|_, value| !stale(value));
            if entries.len() >= TABLE_CAPACITY {
                entries.retain(|_, value| held(value));
            }
            if entries.len() >= TABLE_CAPACITY {
                return None;
            }
        }
        Some(change(entries.entry(key).or_insert_with(fresh)))
    }

    fn read<T>(&self, key: &K, read: impl FnOnce(&V) -> T) -> Option<T> {
        self.entries.lock().ok()?.get(key).map(read)
    }

    fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

/// Failures of one key.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    blocked_until: Instant,
}

/// Growing back-off: `free` failures cost nothing, then each failure makes the key wait
/// [`FIRST_BACKOFF`], doubled per failure, at most [`LONGEST_BACKOFF`].
#[derive(Debug)]
struct Backoff<K> {
    free: u32,
    table: Table<K, Failures>,
}

impl<K: Eq + Hash> Backoff<K> {
    fn new(free: u32) -> Self {
        Self {
            free,
            table: Table::new(),
        }
    }

    /// How long the key must still wait, if at all.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        self.table
            .read(key, |failures| {
                failures.blocked_until.checked_duration_since(now)
            })
            .flatten()
            .filter(|wait| !wait.is_zero())
    }

    fn fail(&self, key: K, now: Instant) {
        let free = self.free;
        self.table.update(
            key,
            || Failures {
                count: 0,
                last: now,
                blocked_until: now,
            },
            |failures| now.duration_since(failures.last) > FORGET_FAILURES_AFTER,
            |failures| failures.blocked_until > now,
            |failures| {
                if now.duration_since(failures.last) > FORGET_FAILURES_AFTER {
                    failures.count = 0;
                }
                failures.count = failures.count.saturating_add(1);
                failures.last = now;
                if failures.count > free {
                    let doublings = (failures.count - free - 1).min(20);
                    let wait = FIRST_BACKOFF
                        .saturating_mul(1 << doublings)
                        .min(LONGEST_BACKOFF);
                    failures.blocked_until = now + wait;
                }
            },
        );
    }

    fn forget(&self, key: &K) {
        self.table.remove(key);
    }
}

/// A token bucket per key: `per_period` tokens, refilled evenly over `period`.
#[derive(Debug)]
struct Quota<K> {
    capacity: f64,
    refill_per_second: f64,
    table: Table<K, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Eq + Hash> Quota<K> {
    fn new(per_period: u32, period: Duration) -> Self {
        Self {
            capacity: f64::from(per_period),
            refill_per_second: f64::from(per_period) / period.as_secs_f64(),
            table: Table::new(),
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        let (capacity, rate) = (self.capacity, self.refill_per_second);
        let refilled = move |bucket: &Bucket| {
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(capacity)
        };
        self.table
            .update(
                key,
                || Bucket {
                    tokens: capacity,
                    at: now,
                },
                |bucket| refilled(bucket) >= capacity,
                |bucket| refilled(bucket) < 1.0,
                |bucket| {
                    let tokens = refilled(bucket);
                    bucket.at = now;
                    if tokens >= 1.0 {
                        bucket.tokens = tokens - 1.0;
                        Ok(())
                    } else {
                        bucket.tokens = tokens;
                        Err(Duration::from_secs_f64((1.0 - tokens) / rate))
                    }
                },
            )
            .unwrap_or(Ok(()))
    }
}

/// What a hashing thread is asked to do.
#[derive(Debug)]
pub enum HashJob {
    /// Hash a new password.
    Hash(String),
    /// Check a password against a stored hash (`None`: an unknown account; hash anyway, so
    /// that the answer takes as long as for a known one).
    Verify(String, Option<String>),
}

/// What a hashing thread answers.
#[derive(Debug)]
pub enum HashOutcome {
    /// The PHC string of a new hash.
    Hashed(Result<String, String>),
    /// Whether the password matched.
    Verified(bool),
}

type Job = (HashJob, tokio::sync::oneshot::Sender<HashOutcome>);

/// A fixed set of threads that compute password hashes, with a short queue. A fixed set,
/// not `spawn_blocking`: the number of hashes in memory at once is the number of threads,
/// and each thread's allocator keeps its one hash buffer for the next hash instead of
/// every blocking thread keeping one.
#[derive(Debug)]
pub struct PasswordHashes {
    queue: mpsc::SyncSender<Job>,
}

impl PasswordHashes {
    fn start(
        threads: usize,
        hash: impl Fn(HashJob) -> HashOutcome + Send + Sync + 'static,
    ) -> Self {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::sync_channel::<Job>(threads * HASH_QUEUE_PER_THREAD);
        let jobs = Arc::new(Mutex::new(jobs));
        let hash = Arc::new(hash);
        for n in 0..threads {
            let jobs = jobs.clone();
            let hash = hash.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let next = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        let Ok((job, reply)) = next else { return };
                        let _ = reply.send(hash(job));
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Self { queue }
    }

    /// Runs `job` on a hashing thread; 503 with `Retry-After` when the queue is full.
    pub async fn run(&self, job: HashJob) -> Result<HashOutcome, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        match self.queue.try_send((job, reply)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                tracing::warn!("password hashing is saturated: a sign-in or sign-up was refused");
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server is busy checking passwords: try again in a second",
                )
                .with_retry_after(Duration::from_secs(1)));
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(ApiError::internal("the password hashing threads are gone"));
            }
        }
        answer
            .await
            .map_err(|_| ApiError::internal("a password hashing thread failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_after_the_free_failures_and_doubles() {
        let backoff = Backoff::new(2);
        let start = Instant::now();
        backoff.fail("ann", start);
        backoff.fail("ann", start);
        assert_eq!(backoff.wait(&"ann", start), None, "two failures are free");
        backoff.fail("ann", start);
        assert_eq!(backoff.wait(&"ann", start), Some(FIRST_BACKOFF));
        backoff.fail("ann", start);
        assert_eq!(backoff.wait(&"ann", start), Some(FIRST_BACKOFF * 2));
        for _ in 0..40 {
            backoff.fail("ann", start);
        }
        assert_eq!(backoff.wait(&"ann", start), Some(LONGEST_BACKOFF));
        assert_eq!(backoff.wait(&"bob", start), None, "keys are apart");
        assert_eq!(backoff.wait(&"ann", start + LONGEST_BACKOFF), None);
        backoff.forget(&"ann");
        backoff.fail("ann", start);
        assert_eq!(
            backoff.wait(&"ann", start),
            None,
            "forgotten after a success"
        );
    }

    #[test]
    fn failures_are_forgotten_after_an_hour() {
        let backoff = Backoff::new(1);
        let start = Instant::now();
        backoff.fail("ann", start);
        let later = start + FORGET_FAILURES_AFTER + Duration::from_secs(1);
        backoff.fail("ann", later);
        assert_eq!(backoff.wait(&"ann", later), None);
    }

    #[test]
    fn quotas_refill_over_their_period() {
        let quota = Quota::new(2, Duration::from_secs(3600));
        let start = Instant::now();
        assert!(quota.take("a", start).is_ok());
        assert!(quota.take("a", start).is_ok());
        let wait = quota.take("a", start).unwrap_err();
        assert_eq!(wait.as_secs(), 1800);
        assert!(quota.take("b", start).is_ok(), "keys are apart");
        assert!(quota.take("a", start + Duration::from_secs(1800)).is_ok());
    }

    #[test]
    fn full_tables_drop_stale_keys_first() {
        let backoff = Backoff::new(0);
        let long_ago = Instant::now();
        let start = long_ago + FORGET_FAILURES_AFTER * 2;
        backoff.fail(0usize, start);
        for key in 1..TABLE_CAPACITY {
            backoff.fail(key, long_ago);
        }
        backoff.fail(TABLE_CAPACITY, start);
        assert!(backoff.wait(&0, start).is_some(), "a held key is kept");
        assert!(backoff.wait(&TABLE_CAPACITY, start).is_some());
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        let client = |text: &str| ClientAddress(Some(text.parse().unwrap()));
        let a = client("2001:db8:1:2:aaaa::1");
        let b = client("2001:db8:1:2:bbbb::2");
        let c = client("2001:db8:1:3::1");
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
        let mapped = client("::ffff:192.0.2.7");
        assert_eq!(mapped.key(), Some("192.0.2.7".parse::<IpAddr>().unwrap()));
    }
}
