//! `cargo xtask dev --watch`: watches each service's source folder and, for every batch of
//! saved changes, rebuilds only the services whose files changed and restarts only those
//! whose binary changed.
//!
//! - Events are debounced ([`DEBOUNCE`]), so an editor's save or `cargo fmt` over many
//!   files makes one cycle. Paths under a `target` folder and paths `.gitignore` ignores
//!   (the workspace's and the service folder's) start nothing.
//! - A compile error is shown (cargo prints it) and the running version stays up.
//! - A build whose binary hashes as the running one (an edited comment) restarts nothing.
//! - Each process runs from a hard link of its binary named after its hash
//!   (`target/dev/bin/<binary>-<hash>`), so cargo replacing the binary never touches the
//!   running one, and a new version that fails to become healthy is replaced by the
//!   previous one. Only the current and the previous link are kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::Context;
use ignore::gitignore::Gitignore;
use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use sha2::{Digest, Sha256};
use tokio::signal::unix::{SignalKind, signal};

use super::{Launch, build, stop, wait_healthy};
use crate::project::{self, Service};

/// How long the tree must stay quiet before a cycle starts: an editor's save (a temporary
/// file, then a rename) and a formatter touching several files come as one batch.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// How many changed paths a cycle's block names before it says "and N more".
const SHOWN_PATHS: usize = 5;

/// Runs both services and rebuilds and restarts them as their source changes, until
/// Ctrl-C (or SIGTERM) stops both.
pub fn run(root: &Path, launch: &Launch, release: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _entered = runtime.enter();
    // Registered before the first build, so a Ctrl-C at any moment is seen by the loop.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;

    let filter = ChangeFilter::new(root)?;
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        // The receiver only goes away when the loop ends.
        let _ = events_tx.send(result);
    })
    .context("cannot start the file watcher")?;
    for service in project::SERVICES {
        let folder = root.join(service.source);
        debouncer
            .watch(&folder, RecursiveMode::Recursive)
            .with_context(|| {
                format!(
                    "cannot watch {}: on Linux, raise fs.inotify.max_user_watches if the limit is reached",
                    folder.display()
                )
            })?;
    }

    let mut services = Services::new(root, launch, release);
    let everything: Vec<Affected> = project::SERVICES
        .iter()
        .map(|service| Affected {
            service,
            paths: Vec::new(),
        })
        .collect();
    services.cycle("first build", &everything);
    let folders: Vec<String> = project::SERVICES
        .iter()
        .map(|service| format!("{}/", service.source))
        .collect();
    println!("watching {}; press Ctrl-C to stop", folders.join(" and "));

    // The cycles run outside `block_on`: they block (cargo, reqwest's blocking client),
    // which tokio forbids inside it.
    loop {
        let wakeup = runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => Wakeup::Stop,
                _ = terminate.recv() => Wakeup::Stop,
                Some(result) = events.recv() => Wakeup::Changes(result),
                _ = tokio::time::sleep(Duration::from_millis(500)) => Wakeup::Tick,
            }
        });
        match wakeup {
            Wakeup::Stop => break,
            Wakeup::Tick => services.notice_exits(),
            Wakeup::Changes(result) => {
                let affected = filter.affected(changed_paths(result));
                if !affected.is_empty() {
                    let header = format!("changed: {}", describe_paths(&affected));
                    services.cycle(&header, &affected);
                }
            }
        }
    }
    drop(debouncer);
    services.stop_all();
    println!("stopped");
    Ok(())
}

/// What the loop woke up for.
enum Wakeup {
    /// Ctrl-C or SIGTERM.
    Stop,
    /// A debounced batch of file events.
    Changes(DebounceEventResult),
    /// Time to look for processes that exited on their own.
    Tick,
}

/// The paths of a debounced batch whose content may have changed (reads are left out).
fn changed_paths(result: DebounceEventResult) -> Vec<PathBuf> {
    match result {
        Ok(events) => events
            .into_iter()
            .filter(|event| !event.kind.is_access())
            .flat_map(|event| event.event.paths)
            .collect(),
        Err(errors) => {
            for error in errors {
                eprintln!("warning: file watcher: {error}");
            }
            Vec::new()
        }
    }
}

/// One service a batch of changes touches, with its changed files (relative to the root).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Affected {
    /// The service to rebuild.
    pub service: &'static Service,
    /// Its changed files, sorted, without repeats.
    pub paths: Vec<String>,
}

/// Decides which changed files matter, and to which service.
pub(crate) struct ChangeFilter {
    root: PathBuf,
    /// The workspace's `.gitignore`, then each service folder's, when they exist.
    gitignores: Vec<Gitignore>,
}

impl ChangeFilter {
    /// Reads the `.gitignore` files of the workspace and of each service folder.
    pub(crate) fn new(root: &Path) -> anyhow::Result<Self> {
        let folders = std::iter::once(root.to_path_buf()).chain(
            project::SERVICES
                .iter()
                .map(|service| root.join(service.source)),
        );
        let mut gitignores = Vec::new();
        for folder in folders {
            let file = folder.join(".gitignore");
            if !file.is_file() {
                continue;
            }
            let (gitignore, error) = Gitignore::new(&file);
            if let Some(error) = error {
                anyhow::bail!("cannot read {}: {error}", file.display());
            }
            gitignores.push(gitignore);
        }
        Ok(Self {
            root: root.to_path_buf(),
            gitignores,
        })
    }

    /// The service whose source `path` (absolute) belongs to; `None` for a path outside
    /// every service folder, under a `target` folder, or ignored by a `.gitignore`.
    pub(crate) fn service_of(&self, path: &Path) -> Option<&'static Service> {
        let relative = path.strip_prefix(&self.root).ok()?;
        if relative
            .components()
            .any(|component| component.as_os_str() == "target")
        {
            return None;
        }
        let service = project::SERVICES
            .iter()
            .find(|service| relative.starts_with(service.source))?;
        let ignored = self.gitignores.iter().any(|gitignore| {
            // A deleted path cannot say whether it was a folder: as a file, a rule for
            // folders still matches through its parents.
            path.starts_with(gitignore.path())
                && gitignore
                    .matched_path_or_any_parents(path, path.is_dir())
                    .is_ignore()
        });
        (!ignored).then_some(service)
    }

    /// The services `paths` touch, in start order, each with its changed files.
    pub(crate) fn affected(&self, paths: impl IntoIterator<Item = PathBuf>) -> Vec<Affected> {
        let mut by_service: HashMap<&'static str, Vec<String>> = HashMap::new();
        for path in paths {
            if let Some(service) = self.service_of(&path) {
                let relative = path.strip_prefix(&self.root).unwrap_or(&path);
                by_service
                    .entry(service.name)
                    .or_default()
                    .push(relative.display().to_string());
            }
        }
        project::SERVICES
            .iter()
            .filter_map(|service| {
                let mut paths = by_service.remove(service.name)?;
                paths.sort();
                paths.dedup();
                Some(Affected { service, paths })
            })
            .collect()
    }
}

/// What a cycle does with a service whose build succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing runs (first cycle, or the process exited): start the new binary.
    Start,
    /// Another binary runs: stop it and start the new one.
    Restart,
    /// The running binary is the one just built: leave it.
    Keep,
}

/// The step for a service running the binary hashed `running` (`None`: not running) once
/// the build produced one hashed `built`.
pub(crate) fn step_after_build(running: Option<&str>, built: &str) -> Step {
    match running {
        None => Step::Start,
        Some(running) if running == built => Step::Keep,
        Some(_) => Step::Restart,
    }
}

/// The SHA-256 of a file, in hex.
pub(crate) fn hash_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// A service's process and the binary it runs.
struct Running {
    /// `None` once the process exited on its own.
    child: Option<Child>,
    hash: String,
    /// The hash-named link it was started from.
    binary: PathBuf,
}

/// The services' processes and the work of one cycle.
struct Services<'a> {
    root: &'a Path,
    launch: &'a Launch,
    release: bool,
    cycles: u32,
    running: HashMap<&'static str, Running>,
    /// The previous healthy version of each service, started again if a new one fails.
    previous: HashMap<&'static str, (String, PathBuf)>,
}

impl<'a> Services<'a> {
    fn new(root: &'a Path, launch: &'a Launch, release: bool) -> Self {
        Self {
            root,
            launch,
            release,
            cycles: 0,
            running: HashMap::new(),
            previous: HashMap::new(),
        }
    }

    /// Rebuilds the affected services and restarts those whose binary changed, printing
    /// one block that starts with `header`.
    fn cycle(&mut self, header: &str, affected: &[Affected]) {
        self.cycles += 1;
        println!();
        println!("[{}] {header}", self.cycles);
        for item in affected {
            let line = self.rebuild(item.service);
            println!("    {}: {line}", item.service.name);
        }
        let untouched: Vec<&str> = project::SERVICES
            .iter()
            .filter(|service| !affected.iter().any(|item| item.service == *service))
            .map(|service| service.name)
            .collect();
        if !untouched.is_empty() {
            println!("    not affected: {}", untouched.join(", "));
        }
    }

    /// Builds one service and starts, restarts or keeps its process: the block's line.
    fn rebuild(&mut self, service: &'static Service) -> String {
        let url = self.launch.url(service);
        let compile_started = Instant::now();
        // After the first cycle, cargo's progress lines would split the block in two.
        let quiet = self.cycles > 1;
        if let Err(error) = build(self.root, service.package, self.release, quiet) {
            let now = if self.is_running(service) {
                format!("the running version stays up at {url}")
            } else {
                "nothing runs until it builds".to_string()
            };
            return format!(
                "not rebuilt: {error:#} (compile {}); {now}",
                seconds(compile_started.elapsed())
            );
        }
        let profile = if self.release { "release" } else { "debug" };
        let built = project::target_dir(self.root)
            .join(profile)
            .join(service.binary);
        let hash = match hash_file(&built) {
            Ok(hash) => hash,
            Err(error) => return format!("built, but {error:#}"),
        };
        let compile = seconds(compile_started.elapsed());
        let running_hash = self
            .running
            .get(service.name)
            .filter(|running| running.child.is_some())
            .map(|running| running.hash.as_str());
        match step_after_build(running_hash, &hash) {
            Step::Keep => {
                format!("rebuilt (compile {compile}), binary unchanged: nothing restarted ({url})")
            }
            step => match self.replace(service, &built, hash) {
                Ok(times) => format!(
                    "rebuilt (compile {compile}), {} ({times}): {url}",
                    if step == Step::Start {
                        "started"
                    } else {
                        "restarted"
                    }
                ),
                Err(error) => format!("rebuilt (compile {compile}), but {error:#}"),
            },
        }
    }

    fn is_running(&self, service: &Service) -> bool {
        self.running
            .get(service.name)
            .is_some_and(|running| running.child.is_some())
    }

    /// Stops the running version of `service` and starts `built`; if that one does not
    /// become healthy, starts the previous version again. Returns the phases' times.
    fn replace(
        &mut self,
        service: &'static Service,
        built: &Path,
        hash: String,
    ) -> anyhow::Result<String> {
        let binary = self.link_for_launch(service, built, &hash)?;
        let restart_started = Instant::now();
        if let Some(mut old) = self.running.remove(service.name) {
            if let Some(child) = old.child.as_mut() {
                stop(service.binary, child);
            }
            self.previous.insert(service.name, (old.hash, old.binary));
        }
        let mut child = self.launch.spawn(service, &binary)?;
        let restart = restart_started.elapsed();
        let ready_started = Instant::now();
        let url = self.launch.url(service);
        if let Err(error) = wait_healthy(service.binary, &mut child, &url) {
            stop(service.binary, &mut child);
            return Err(self.start_previous(service, error));
        }
        let ready = ready_started.elapsed();
        self.running.insert(
            service.name,
            Running {
                child: Some(child),
                hash,
                binary,
            },
        );
        self.prune_links(service);
        Ok(format!(
            "restart {}, ready {}",
            seconds(restart),
            seconds(ready)
        ))
    }

    /// After a new version failed: starts the previous one again, if there is one.
    fn start_previous(
        &mut self,
        service: &'static Service,
        failure: anyhow::Error,
    ) -> anyhow::Error {
        let Some((hash, binary)) = self.previous.get(service.name).cloned() else {
            return failure.context("the new version did not start; fix it and save again");
        };
        let url = self.launch.url(service);
        let restarted = self.launch.spawn(service, &binary).and_then(|mut child| {
            wait_healthy(service.binary, &mut child, &url)?;
            Ok(child)
        });
        match restarted {
            Ok(child) => {
                self.running.insert(
                    service.name,
                    Running {
                        child: Some(child),
                        hash,
                        binary,
                    },
                );
                failure.context(format!(
                    "the new version did not start; the previous one runs again at {url}"
                ))
            }
            Err(again) => failure.context(format!(
                "the new version did not start, nor did the previous one ({again:#})"
            )),
        }
    }

    /// A hard link (else a copy) of `built` named after its hash, to run from.
    fn link_for_launch(
        &self,
        service: &Service,
        built: &Path,
        hash: &str,
    ) -> anyhow::Result<PathBuf> {
        let folder = self.launch.work.join("bin");
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        let link = folder.join(format!("{}-{}", service.binary, &hash[..16]));
        if !link.exists() && std::fs::hard_link(built, &link).is_err() {
            std::fs::copy(built, &link).with_context(|| {
                format!("cannot copy {} to {}", built.display(), link.display())
            })?;
        }
        Ok(link)
    }

    /// Removes the links of `service` other than the running and the previous one.
    fn prune_links(&self, service: &Service) {
        let keep: Vec<&Path> = [
            self.running
                .get(service.name)
                .map(|running| running.binary.as_path()),
            self.previous
                .get(service.name)
                .map(|(_, binary)| binary.as_path()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let Ok(entries) = std::fs::read_dir(self.launch.work.join("bin")) else {
            return;
        };
        let prefix = format!("{}-", service.binary);
        for entry in entries.flatten() {
            let path = entry.path();
            let ours = entry.file_name().to_string_lossy().starts_with(&prefix);
            if ours && !keep.contains(&path.as_path()) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    /// Reports processes that exited on their own; the next change starts them again.
    fn notice_exits(&mut self) {
        for (name, running) in &mut self.running {
            let Some(child) = running.child.as_mut() else {
                continue;
            };
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!(
                    "{name} exited on its own with {status}: save a change to start it again"
                );
                running.child = None;
            }
        }
    }

    fn stop_all(&mut self) {
        for service in project::SERVICES {
            if let Some(child) = self
                .running
                .get_mut(service.name)
                .and_then(|running| running.child.as_mut())
            {
                stop(service.binary, child);
            }
        }
    }
}

/// The changed files of a cycle, for its block's first line.
fn describe_paths(affected: &[Affected]) -> String {
    let paths: Vec<&str> = affected
        .iter()
        .flat_map(|item| item.paths.iter().map(String::as_str))
        .collect();
    let mut shown = paths
        .iter()
        .take(SHOWN_PATHS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN_PATHS {
        shown.push_str(&format!(" and {} more", paths.len() - SHOWN_PATHS));
    }
    shown
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> (ChangeFilter, PathBuf) {
        let root = project::root();
        (
            ChangeFilter::new(&root).expect("the workspace's .gitignore reads"),
            root,
        )
    }

    #[test]
    fn each_changed_path_rebuilds_only_its_service() {
        let (filter, root) = filter();
        let table: &[(&str, Option<&str>)] = &[
            ("backend/src/main.rs", Some("backend")),
            ("backend/migrations/sqlite/0001_init.sql", Some("backend")),
            ("backend/Cargo.toml", Some("backend")),
            ("frontend/src/views.rs", Some("frontend")),
            ("frontend/assets/app.js", Some("frontend")),
            // build output, wherever it is
            ("target/debug/todo-backend", None),
            ("backend/target/debug/build/x", None),
            // ignored by the workspace's .gitignore
            ("backend/data/todo.db", None),
            ("frontend/todo.db-journal", None),
            ("backend/.env", None),
            // outside every service folder
            ("charts/todo-app/values.yaml", None),
            ("README.md", None),
            (".env", None),
            ("backendish/src/main.rs", None),
        ];
        for (path, expected) in table {
            let service = filter
                .service_of(&root.join(path))
                .map(|service| service.name);
            assert_eq!(service, *expected, "{path}");
        }
        assert_eq!(
            filter.service_of(Path::new("/elsewhere/backend/src/main.rs")),
            None
        );
    }

    #[test]
    fn a_batch_groups_its_files_by_service_in_start_order() {
        let (filter, root) = filter();
        let batch = [
            "frontend/src/views.rs",
            "target/debug/todo-frontend",
            "backend/src/routes.rs",
            "frontend/src/views.rs",
            "backend/src/main.rs",
        ]
        .map(|path| root.join(path));
        let affected = filter.affected(batch);
        let summary: Vec<(&str, Vec<&str>)> = affected
            .iter()
            .map(|item| {
                (
                    item.service.name,
                    item.paths.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "backend",
                    vec!["backend/src/main.rs", "backend/src/routes.rs"]
                ),
                ("frontend", vec!["frontend/src/views.rs"]),
            ]
        );
        assert!(
            filter
                .affected([root.join("target/x"), root.join("docs/a.md")])
                .is_empty()
        );
    }

    #[test]
    fn a_service_folders_own_gitignore_is_honoured() {
        let root = tempfile::tempdir().expect("temporary folder");
        std::fs::create_dir_all(root.path().join("frontend/src")).expect("folders");
        std::fs::write(root.path().join(".gitignore"), "*.db\n").expect(".gitignore");
        std::fs::write(
            root.path().join("frontend/.gitignore"),
            "/generated/\n*.tmp\n",
        )
        .expect("frontend/.gitignore");
        let filter = ChangeFilter::new(root.path()).expect("filter");
        let service_of = |path: &str| {
            filter
                .service_of(&root.path().join(path))
                .map(|service| service.name)
        };
        assert_eq!(service_of("frontend/src/main.rs"), Some("frontend"));
        assert_eq!(service_of("frontend/src/x.tmp"), None);
        assert_eq!(service_of("frontend/generated/a.css"), None);
        assert_eq!(service_of("backend/x.db"), None);
        assert_eq!(service_of("backend/x.tmp"), Some("backend"));
    }

    #[test]
    fn only_a_different_binary_restarts_a_running_service() {
        let table = [
            (None, "aa", Step::Start),
            (Some("aa"), "aa", Step::Keep),
            (Some("aa"), "bb", Step::Restart),
        ];
        for (running, built, expected) in table {
            assert_eq!(
                step_after_build(running, built),
                expected,
                "{running:?} {built}"
            );
        }
    }

    #[test]
    fn equal_files_hash_equal_and_different_ones_do_not() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let write = |name: &str, content: &str| {
            let path = folder.path().join(name);
            std::fs::write(&path, content).expect("write");
            path
        };
        let (a, b, c) = (write("a", "same"), write("b", "same"), write("c", "other"));
        let hash = |path: &Path| hash_file(path).expect("hash");
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(hash(&a), hash(&c));
        assert!(hash_file(&folder.path().join("missing")).is_err());
    }

    #[test]
    fn a_block_names_a_few_paths_then_counts_the_rest() {
        let service = project::service("backend").expect("backend");
        let paths: Vec<String> = (1..=7).map(|n| format!("backend/src/f{n}.rs")).collect();
        let line = describe_paths(&[Affected { service, paths }]);
        assert!(line.ends_with("backend/src/f5.rs and 2 more"), "{line}");
    }
}
