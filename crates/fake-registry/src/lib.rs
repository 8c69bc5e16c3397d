//! An in-process container registry on 127.0.0.1, for tests that push images.
//!
//! No registry can be pulled or reached from these machines, so the push paths
//! (`deploykit-image`'s `Engine::push`, `cargo xtask deploy --registry`) are tested
//! against this: a real HTTP server speaking the part of the OCI distribution API that
//! `docker push` and `docker pull` use — the `/v2/` check (with optional Basic
//! authentication), chunked and monolithic blob uploads with digest verification, blob
//! mounts, manifests by tag and by digest, and tag lists. Docker treats `127.0.0.0/8`
//! as an insecure registry by default, so the daemon pushes to it over plain HTTP.
//!
//! ```no_run
//! # async fn example() {
//! let registry = deploykit_fake_registry::FakeRegistry::start().await;
//! // docker tag todo-backend:abc <host>/team/todo-backend:abc && docker push ...
//! let host = registry.host();
//! assert!(registry.tags("team/todo-backend").is_empty());
//! # let _ = host;
//! # }
//! ```

mod api;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::oneshot;

/// A running registry; it stops when dropped.
pub struct FakeRegistry {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
}

/// What the registry holds.
#[derive(Default)]
struct State {
    /// `user:password` that every request must carry, when set.
    credentials: Option<(String, String)>,
    /// Blob contents by digest (`sha256:...`), shared by all repositories.
    blobs: HashMap<String, Vec<u8>>,
    /// Blob uploads in progress, by upload id.
    uploads: HashMap<String, Vec<u8>>,
    /// Manifests by repository, then by digest.
    manifests: BTreeMap<String, BTreeMap<String, Manifest>>,
    /// Tags by repository: tag → manifest digest.
    tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Every request as `METHOD path`, in order.
    requests: Vec<String>,
    /// The number of uploads started, for upload ids.
    next_upload: u64,
}

/// A stored manifest: its media type and its exact bytes.
#[derive(Clone)]
struct Manifest {
    media_type: String,
    bytes: Vec<u8>,
}

impl FakeRegistry {
    /// Starts a registry that takes pushes from anyone.
    pub async fn start() -> FakeRegistry {
        Self::serve(State::default()).await
    }

    /// Starts a registry that answers 401 unless a request carries these Basic
    /// credentials (as `docker login` would store them).
    pub async fn start_with_credentials(user: &str, password: &str) -> FakeRegistry {
        Self::serve(State {
            credentials: Some((user.to_string(), password.to_string())),
            ..State::default()
        })
        .await
    }

    async fn serve(state: State) -> FakeRegistry {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the fake registry");
        let address = listener
            .local_addr()
            .expect("the fake registry's local address");
        let state = Arc::new(Mutex::new(state));
        let (stop, stopped) = oneshot::channel();
        let app = api::router(Arc::clone(&state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        FakeRegistry {
            address,
            state,
            stop: Some(stop),
        }
    }

    /// `127.0.0.1:PORT`: the registry part of an image reference.
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// The repository's tags, sorted.
    pub fn tags(&self, repository: &str) -> Vec<String> {
        self.lock()
            .tags
            .get(repository)
            .map(|tags| tags.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The manifest `repository:tag` points at, parsed.
    pub fn manifest(&self, repository: &str, tag: &str) -> Option<Value> {
        let state = self.lock();
        let digest = state.tags.get(repository)?.get(tag)?;
        let manifest = state.manifests.get(repository)?.get(digest)?;
        serde_json::from_slice(&manifest.bytes).ok()
    }

    /// True when a blob with this digest was uploaded.
    pub fn has_blob(&self, digest: &str) -> bool {
        self.lock().blobs.contains_key(digest)
    }

    /// The repositories that hold at least one manifest.
    pub fn repositories(&self) -> BTreeSet<String> {
        self.lock().manifests.keys().cloned().collect()
    }

    /// Every request so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Locks the state, also after a handler panicked (a test's assertion reports that).
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
