//! `cargo xtask dev --watch`: watches each service's source folder and, for every batch of
//! saved changes, rebuilds only the services whose files changed and restarts only those
//! whose binary changed.
//!
//! - Events are debounced ([`changes::DEBOUNCE`]), so an editor's save or `cargo fmt` over many
//!   files makes one cycle. Paths under a `target` folder and paths `.gitignore` ignores
//!   (the workspace's and the service folder's) start nothing.
//! - A compile error is shown (cargo prints it) and the running version stays up.
//! - A build whose binary has the same bytes as the running one (an edited comment)
//!   restarts nothing.
//! - Each process runs from a hard link of its binary (`target/dev/bin/<binary>-<pid>-<n>`),
//!   so cargo replacing the binary never touches the
//!   running one, and a new version that fails to become healthy is replaced by the
//!   previous one. Only the current and the previous link are kept.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::Context;
use notify_debouncer_full::DebounceEventResult;
use tokio::signal::unix::{SignalKind, signal};

use super::{Launch, stop, wait_healthy};
use crate::cargo_build::{self, Compiled};
use crate::changes::{self, Affected, ChangeFilter, changed_paths, describe_paths, seconds};
use crate::project::{self, Service};

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
    let (debouncer, mut events) = changes::watch(root, &[], &[])?;

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

/// The step for a service running the binary at `running` (`None`: not running) once the
/// build wrote `built`.
pub(crate) fn step_after_build(running: Option<&Path>, built: &Path) -> anyhow::Result<Step> {
    Ok(match running {
        None => Step::Start,
        Some(running) if same_contents(running, built)? => Step::Keep,
        Some(_) => Step::Restart,
    })
}

/// Whether two files hold the same bytes: their sizes first, then their contents, up to
/// the first difference. Cheaper than hashing the new binary (64 MB in the debug profile):
/// a changed binary nearly always differs in size or in its first pages (the ELF header
/// records where its sections end), and both files are in the page cache.
pub(crate) fn same_contents(a: &Path, b: &Path) -> anyhow::Result<bool> {
    let open = |path: &Path| {
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let (mut first, mut second) = (open(a)?, open(b)?);
    let size = |file: &std::fs::File, path: &Path| {
        file.metadata()
            .map(|metadata| metadata.len())
            .with_context(|| format!("cannot read {}", path.display()))
    };
    if size(&first, a)? != size(&second, b)? {
        return Ok(false);
    }
    const CHUNK: usize = 1 << 20;
    let (mut left, mut right) = (vec![0; CHUNK], vec![0; CHUNK]);
    loop {
        let read = read_full(&mut first, &mut left)
            .with_context(|| format!("cannot read {}", a.display()))?;
        let other = read_full(&mut second, &mut right[..read.max(1)])
            .with_context(|| format!("cannot read {}", b.display()))?;
        if read != other || left[..read] != right[..read] {
            return Ok(false);
        }
        if read == 0 {
            return Ok(true);
        }
    }
}

/// Fills `buffer` from `file` unless the file ends first; how many bytes were read.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    Ok(filled)
}

/// `cargo build` of one service's binary, returning once cargo reports the binary written
/// ([`cargo_build::until_binary`]); `quiet` leaves out cargo's progress, not its errors.
fn compile(root: &Path, package: &str, release: bool, quiet: bool) -> anyhow::Result<Compiled> {
    cargo_build::until_binary(super::build_command(root, package, release, quiet), package)
}

/// A service's process and the binary it runs.
struct Running {
    /// `None` once the process exited on its own.
    child: Option<Child>,
    /// The link it was started from.
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
    previous: HashMap<&'static str, PathBuf>,
    /// How many links to run from were made (each link's name is new).
    links: u32,
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
            links: 0,
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
        let compiled = match compile(self.root, service.package, self.release, quiet) {
            Ok(compiled) => compiled,
            Err(error) => {
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
        };
        let compile_time = compile_started.elapsed();
        let built = compiled.executable.clone();
        // `compile` is cargo up to the binary being written; `compare` is telling whether
        // it changed. cargo may still be writing its fingerprints meanwhile.
        let compare_started = Instant::now();
        let running = self
            .running
            .get(service.name)
            .filter(|running| running.child.is_some())
            .map(|running| running.binary.as_path());
        let line = match step_after_build(running, &built) {
            Ok(step) => {
                let compile = format!(
                    "{}, compare {}",
                    seconds(compile_time),
                    seconds(compare_started.elapsed())
                );
                self.apply_build(service, &built, step, &compile, &url)
            }
            Err(error) => format!("built, but {error:#}"),
        };
        compiled.finish(service.package);
        line
    }

    /// Takes `step` for the process of `service` after a build whose binary is `built`:
    /// the block's line.
    fn apply_build(
        &mut self,
        service: &'static Service,
        built: &Path,
        step: Step,
        compile: &str,
        url: &str,
    ) -> String {
        match step {
            Step::Keep => {
                format!("rebuilt (compile {compile}), binary unchanged: nothing restarted ({url})")
            }
            step => match self.replace(service, built) {
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
    fn replace(&mut self, service: &'static Service, built: &Path) -> anyhow::Result<String> {
        let binary = self.link_for_launch(service, built)?;
        let restart_started = Instant::now();
        if let Some(mut old) = self.running.remove(service.name) {
            if let Some(child) = old.child.as_mut() {
                stop(service.binary, child);
            }
            self.previous.insert(service.name, old.binary);
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
        let Some(binary) = self.previous.get(service.name).cloned() else {
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

    /// A hard link (else a copy) of `built` under a new name, to run from.
    fn link_for_launch(&mut self, service: &Service, built: &Path) -> anyhow::Result<PathBuf> {
        let folder = self.launch.work.join("bin");
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        self.links += 1;
        let link = folder.join(format!(
            "{}-{}-{}",
            service.binary,
            std::process::id(),
            self.links
        ));
        // A link left by an earlier session with the same process id.
        let _ = std::fs::remove_file(&link);
        if std::fs::hard_link(built, &link).is_err() {
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
            self.previous.get(service.name).map(PathBuf::as_path),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_different_binary_restarts_a_running_service() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let write = |name: &str, content: &[u8]| {
            let path = folder.path().join(name);
            std::fs::write(&path, content).expect("write");
            path
        };
        let running = write("running", b"\x7fELF same");
        let same = write("same", b"\x7fELF same");
        let other = write("other", b"\x7fELF othr");
        let longer = write("longer", b"\x7fELF same, and more");
        let table = [
            (None, &same, Step::Start),
            (Some(&running), &same, Step::Keep),
            (Some(&running), &other, Step::Restart),
            (Some(&running), &longer, Step::Restart),
        ];
        for (running, built, expected) in table {
            let step = step_after_build(running.map(PathBuf::as_path), built).expect("compared");
            assert_eq!(step, expected, "{running:?} {built:?}");
        }
        let missing = folder.path().join("missing");
        assert!(step_after_build(Some(&running), &missing).is_err());
    }

    #[test]
    fn files_larger_than_a_chunk_compare_by_every_byte() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let mut content = vec![7u8; (1 << 20) * 2 + 123];
        let a = folder.path().join("a");
        std::fs::write(&a, &content).expect("write");
        let b = folder.path().join("b");
        std::fs::write(&b, &content).expect("write");
        assert!(same_contents(&a, &b).expect("compared"));
        if let Some(last) = content.last_mut() {
            *last = 8;
        }
        std::fs::write(&b, &content).expect("write");
        assert!(!same_contents(&a, &b).expect("compared"));
    }
}
