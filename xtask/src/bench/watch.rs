//! `cargo xtask bench watch`: how long a saved change takes to be served through the watch
//! loops, phase by phase, next to the same change through the command without `--watch`,
//! in one run.
//!
//! Each run replaces the response string of the backend's `GET /readyz` handler and polls
//! `/readyz` until the new string comes back. Besides the phases each cycle's block reports,
//! two moments are measured from outside: when the new binary was written (its
//! modification time) and when the new string was first served; "new binary → served" is
//! what issue 19 aims to keep under a second.
//!
//! The benchmark works on a temporary copy of the project (`--project-dir`), so the
//! workspace's files are never edited, and builds that copy into `target/watch-e2e`, which
//! the watch tests keep warm (never run both at once: both copies write the same
//! artifacts). The compose part runs under its own project, container names, ports and
//! `.env`; it removes its containers, volume and images at the end and puts `latest` back
//! where it was (the anchor, `compose-up`, moves it). The deploy-local part
//! (`deploy_local.rs`) deploys to the in-process fake API server through a stand-in
//! minikube, and cleans up the same way.

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;

// The fake API server is a dev-dependency, and comes with the `bench-deploy` feature.
#[cfg(any(test, feature = "bench-deploy"))]
mod deploy_local;
#[cfg(not(any(test, feature = "bench-deploy")))]
mod deploy_local {
    /// Says how to build xtask with the deploy-local loop.
    pub(super) fn measure(_bench: &mut super::Bench<'_>) -> anyhow::Result<super::Table> {
        anyhow::bail!(
            "--loop deploy-local needs the fake API server, which this build of xtask leaves \
             out: run `cargo run -p xtask --features bench-deploy -- bench watch --loop \
             deploy-local`"
        )
    }
}

use super::latest_tags::{self, LatestTags, docker};
use super::{load_average, median};
use crate::compose::tool::COMPOSE_VARIABLE;
use crate::project;

/// The handler whose response string each run changes (`GET /readyz`).
const HANDLER_FILE: &str = "backend/src/api.rs";
/// Its response string in the project as it is.
const ORIGINAL_RESPONSE: &str = r#"status: "ready".into(),"#;
/// The compose project, and its containers, of the benchmark.
const PROJECT: &str = "deploykit-bench-watch";
const BACKEND_CONTAINER: &str = "deploykit-bench-watch-backend";
const FRONTEND_CONTAINER: &str = "deploykit-bench-watch-frontend";
/// The first build of a fresh copy compiles both services (and, on a cold target folder,
/// their dependencies) on a machine other builds may be loading.
const FIRST_BUILD: Duration = Duration::from_secs(60 * 60);
/// One change: a compile of one crate, or a release build with LTO for the anchor.
const ONE_CHANGE: Duration = Duration::from_secs(30 * 60);

/// Options of `bench watch`.
#[derive(clap::Args)]
pub struct Args {
    /// Saved changes measured per loop, with and without `--watch` each.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The loops to measure (repeat the flag for several; default: all).
    #[arg(long = "loop", value_enum, value_name = "LOOP")]
    loops: Vec<Loop>,
    /// Where the copy builds (relative paths from the current folder); default
    /// `watch-e2e` in the workspace's target folder, kept warm by the watch tests.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Host port of the backend during the run.
    #[arg(long, default_value_t = 18933)]
    backend_port: u16,
    /// Host port of the frontend during the run.
    #[arg(long, default_value_t = 13933)]
    frontend_port: u16,
    /// Measure the watch loops only, without the commands' runs without `--watch` (the
    /// compose anchor compiles the release build, with LTO, for every change).
    #[arg(long)]
    watch_only: bool,
    /// How long one `/readyz` request may take before it is abandoned and asked again, in
    /// seconds. A request caught by a restart can hang (Docker's port proxy accepts it
    /// while nothing listens behind it): with a long timeout its wait is counted in the
    /// measured span, though the new version may answer sooner.
    #[arg(long, default_value_t = 0.25, value_name = "SECONDS")]
    poll_timeout: f64,
    /// The compose program(s) the compose loop runs with, one table each (repeat the
    /// flag): `docker compose` (v2) or `docker-compose` (v1). Default: DEPLOYKIT_COMPOSE
    /// when set, else each one installed.
    #[arg(long = "compose", value_name = "PROGRAM")]
    composes: Vec<String>,
}

/// A watch loop and its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Loop {
    /// `dev --watch`, next to `dev` stopped and started again.
    Dev,
    /// `compose-up --watch`, next to `compose-up`.
    Compose,
    /// `deploy-local --watch`, next to `deploy-local` (the fake API server and a stand-in
    /// minikube; needs the `bench-deploy` feature).
    DeployLocal,
}

impl Loop {
    /// The two commands' names in the table.
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Self::Dev => ("dev --watch", "dev restarted"),
            Self::Compose => ("compose-up --watch", "compose-up"),
            Self::DeployLocal => ("deploy-local --watch", "deploy-local"),
        }
    }

    /// The phases the watch loop's block reports for a rebuilt and replaced service, on
    /// the service's line.
    fn reported_phases(self) -> &'static [&'static str] {
        match self {
            Self::Dev => &["compile", "compare", "restart", "ready"],
            Self::Compose => &["compile", "compare", "copy", "re-exec", "restart", "ready"],
            Self::DeployLocal => &["compile", "package", "load", "rollout", "ready"],
        }
    }

    /// The phases reported on the line of the image packaged after the new version
    /// answers (compose only: `    backend image: todo-backend:<tag> (package .., load ..)`).
    fn image_phases(self) -> &'static [&'static str] {
        match self {
            Self::Dev | Self::DeployLocal => &[],
            Self::Compose => &["package", "load"],
        }
    }
}

/// Runs the benchmark and prints the figures.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(
        args.poll_timeout > 0.0 && args.poll_timeout.is_finite(),
        "--poll-timeout must be a positive number of seconds, not {}",
        args.poll_timeout
    );
    let loops = if args.loops.is_empty() {
        let mut all = vec![Loop::Dev, Loop::Compose];
        all.extend(cfg!(feature = "bench-deploy").then_some(Loop::DeployLocal));
        all
    } else {
        args.loops.clone()
    };
    let target = match &args.target_dir {
        Some(dir) => {
            std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?
        }
        None => project::target_dir(&project::root()).join("watch-e2e"),
    };
    let composes = if !args.composes.is_empty() {
        args.composes.clone()
    } else if let Ok(chosen) = std::env::var(COMPOSE_VARIABLE) {
        vec![chosen]
    } else {
        installed_composes()
    };
    let load_before = load_average();
    let mut bench = Bench::new(&args, target)?;
    let mut tables = Vec::new();
    for &watch_loop in &loops {
        // The compose loop once with each compose; the others once.
        let tools: Vec<Option<&String>> = match watch_loop {
            Loop::Compose => composes.iter().map(Some).collect(),
            Loop::Dev | Loop::DeployLocal => vec![None],
        };
        for tool in tools {
            let with = tool.map(|tool| format!(" with {tool}")).unwrap_or_default();
            eprintln!(
                "==> {watch_loop:?}{with}: {} runs with --watch, then {} without",
                args.runs, args.runs
            );
            let load = load_average();
            bench.compose_tool = tool.cloned();
            let table = match watch_loop {
                Loop::Dev => bench.dev(),
                Loop::Compose => {
                    let measured = bench.compose();
                    bench.clean_compose();
                    measured
                }
                Loop::DeployLocal => {
                    let measured = deploy_local::measure(&mut bench);
                    bench.clean_images();
                    measured
                }
            };
            let title = format!(
                "{watch_loop:?}{with} (1-minute load average {load} before, {} after)",
                load_average()
            );
            tables.push((watch_loop, title, table?));
        }
    }
    println!(
        "\nbench watch: a changed response string in {HANDLER_FILE}, {} runs each, medians \
         (1-minute load average {load_before} before, {} after; builds in {})",
        args.runs,
        load_average(),
        bench.target.display()
    );
    for (watch_loop, title, table) in &tables {
        println!("\n  {title}");
        table.print(*watch_loop);
    }
    Ok(())
}

/// The compose programs installed here, each version once (`docker-compose` may be the
/// v2 plugin's alias).
fn installed_composes() -> Vec<String> {
    let mut versions = Vec::new();
    let mut found = Vec::new();
    for program in ["docker compose", "docker-compose"] {
        let mut words = program.split(' ');
        let Some(first) = words.next() else { continue };
        let Ok(output) = Command::new(first)
            .args(words)
            .args(["version", "--short"])
            .output()
        else {
            continue;
        };
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if output.status.success() && !versions.contains(&version) {
            versions.push(version);
            found.push(program.to_string());
        }
    }
    found
}

/// The copy of the project, where it builds, and what the compose part must clean up.
struct Bench<'a> {
    args: &'a Args,
    copy: ProjectCopy,
    target: PathBuf,
    /// How many changes were made so far (each run's string is new).
    edits: usize,
    /// The response string the copy's handler has now.
    current: String,
    /// Every image the compose containers ran.
    images: BTreeSet<String>,
    /// Where the `latest` tags pointed before the run.
    latest: LatestTags,
    /// The `.env` of the compose part (in the copy's folder, outside its sources).
    env_file: PathBuf,
    /// The compose program the compose part runs with (`DEPLOYKIT_COMPOSE`).
    compose_tool: Option<String>,
}

impl<'a> Bench<'a> {
    fn new(args: &'a Args, target: PathBuf) -> anyhow::Result<Self> {
        let copy = ProjectCopy::new(&project::root())?;
        let env_file = copy.dir.path().join("bench.env");
        Ok(Self {
            args,
            copy,
            target,
            edits: 0,
            current: ORIGINAL_RESPONSE.to_string(),
            images: BTreeSet::new(),
            latest: LatestTags::note(),
            env_file,
            compose_tool: None,
        })
    }

    /// `cargo xtask --project-dir <copy> <args>` building into the benchmark's folder, with
    /// the compose part's names, ports and `.env`.
    fn xtask(&self, args: &[&str]) -> anyhow::Result<Command> {
        let program = std::env::current_exe().context("cannot find the xtask binary")?;
        let mut command = Command::new(program);
        command
            .arg("--project-dir")
            .arg(&self.copy.root)
            .args(args)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("TODO_ENV_FILE", &self.env_file)
            .env("COMPOSE_PROJECT_NAME", PROJECT)
            .env("TODO_BACKEND_CONTAINER", BACKEND_CONTAINER)
            .env("TODO_FRONTEND_CONTAINER", FRONTEND_CONTAINER)
            .env("TODO_BACKEND_PORT", self.args.backend_port.to_string())
            .env("TODO_FRONTEND_PORT", self.args.frontend_port.to_string());
        if let Some(tool) = &self.compose_tool {
            command.env(COMPOSE_VARIABLE, tool);
        }
        Ok(command)
    }

    /// The dev command line with the benchmark's ports.
    fn dev_args(&self, watch: bool) -> Vec<String> {
        let mut args = vec![
            "dev".to_string(),
            "--backend-port".to_string(),
            self.args.backend_port.to_string(),
            "--frontend-port".to_string(),
            self.args.frontend_port.to_string(),
        ];
        if watch {
            args.push("--watch".to_string());
        }
        args
    }

    /// The longest a `/readyz` request may take.
    fn poll_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.args.poll_timeout)
    }

    /// Where `/readyz` answers.
    fn readyz(&self) -> String {
        format!("http://127.0.0.1:{}/readyz", self.args.backend_port)
    }

    /// Saves a new response string in the copy's handler; returns the string and the
    /// moment it was saved.
    fn edit(&mut self) -> anyhow::Result<(String, Saved)> {
        self.edits += 1;
        let status = format!("ready, bench change {}", self.edits);
        let replacement = format!("status: \"{status}\".into(),");
        let path = self.copy.root.join(HANDLER_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        anyhow::ensure!(
            text.matches(&self.current).count() == 1,
            "{HANDLER_FILE} does not hold {:?} once: has the handler changed?",
            self.current
        );
        let edited = text.replacen(&self.current, &replacement, 1);
        let saved = Saved::now();
        std::fs::write(&path, edited)
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.current = replacement;
        Ok((status, saved))
    }

    /// The backend binary a command builds: cargo's output path for `profile`.
    fn binary(&self, profile_folder: &str) -> PathBuf {
        self.target.join(profile_folder).join("todo-backend")
    }

    /// `dev --watch` for `runs` changes, then `dev` stopped and started again for as many.
    fn dev(&mut self) -> anyhow::Result<Table> {
        let mut table = Table::default();
        let watch = self.dev_args(true);
        let mut watching = Watched::start(self.xtask(&strs(&watch))?)?;
        watching.line_starting("watching ", FIRST_BUILD)?;
        for _ in 0..self.args.runs {
            let sample = self.watch_run(&watching, Loop::Dev, "debug")?;
            table.watch.push(sample);
        }
        watching.stop("-TERM")?;
        if self.args.watch_only {
            return Ok(table);
        }

        let plain = self.dev_args(false);
        let mut running = Watched::start(self.xtask(&strs(&plain))?)?;
        running.line_starting("press Ctrl-C", FIRST_BUILD)?;
        for _ in 0..self.args.runs {
            // Ctrl-C is heard once the command waits (just after it says so).
            std::thread::sleep(Duration::from_millis(500));
            let (status, saved) = self.edit()?;
            running.stop("-INT")?;
            let stopped = saved.at.elapsed();
            running = Watched::start(self.xtask(&strs(&plain))?)?;
            let served =
                wait_served(&self.readyz(), &status, self.poll_timeout(), &mut running)?.at;
            let binary = written_after(&self.binary("debug"), &saved)?;
            running.line_starting("press Ctrl-C", ONE_CHANGE)?;
            table.anchor.push(Sample {
                served: served - saved.at,
                binary,
                phases: vec![("stop", stopped)],
            });
        }
        // As above: a Ctrl-C before `dev` waits for it ends xtask alone, and the services it
        // started would keep the benchmark's ports.
        std::thread::sleep(Duration::from_millis(500));
        running.stop("-INT")?;
        Ok(table)
    }

    /// `compose-up --watch` for `runs` changes, then `compose-up` for as many.
    fn compose(&mut self) -> anyhow::Result<Table> {
        let mut table = Table::default();
        let mut watching = Watched::start(self.xtask(&["compose-up", "--watch"])?)?;
        watching.line_starting("watching ", FIRST_BUILD)?;
        self.note_images();
        let watch_profile = format!("{}-unknown-linux-gnu/watch", std::env::consts::ARCH);
        for _ in 0..self.args.runs {
            let sample = self.watch_run(&watching, Loop::Compose, &watch_profile)?;
            self.note_images();
            table.watch.push(sample);
            // Let the cycle finish (superseded images are removed after the block).
            std::thread::sleep(Duration::from_secs(2));
        }
        watching.stop("-TERM")?;
        if self.args.watch_only {
            return Ok(table);
        }

        // Release images of both services first, so that each run replaces the backend only.
        eprintln!("==> compose-up once with release images (not measured)");
        let mut warm_up = Watched::start(self.xtask(&["compose-up"])?)?;
        let status = warm_up.wait_exit(FIRST_BUILD)?;
        anyhow::ensure!(status.success(), "compose-up failed:\n{}", warm_up.tail());
        self.note_images();
        let release = format!("{}-unknown-linux-gnu/release", std::env::consts::ARCH);
        for _ in 0..self.args.runs {
            let (status, saved) = self.edit()?;
            let mut up = Watched::start(self.xtask(&["compose-up"])?)?;
            let served = wait_served(&self.readyz(), &status, self.poll_timeout(), &mut up)?.at;
            let exit = up.wait_exit(ONE_CHANGE)?;
            anyhow::ensure!(exit.success(), "compose-up failed:\n{}", up.tail());
            let binary = written_after(&self.binary(&release), &saved)?;
            self.note_images();
            table.anchor.push(Sample {
                served: served - saved.at,
                binary,
                phases: Vec::new(),
            });
        }
        Ok(table)
    }

    /// One change through a running watch loop: the measured moments and the phases its
    /// block reports.
    fn watch_run(
        &mut self,
        watching: &Watched,
        watch_loop: Loop,
        profile_folder: &str,
    ) -> anyhow::Result<Sample> {
        let (status, saved) = self.edit()?;
        let served = wait_served(&self.readyz(), &status, self.poll_timeout(), &mut NoProcess)?;
        let binary = written_after(&self.binary(profile_folder), &saved)?;
        let (header_at, _) = watching.line_starting("[", ONE_CHANGE)?;
        let (line_at, line) = watching.line_starting("    backend: ", ONE_CHANGE)?;
        anyhow::ensure!(
            line.contains("rebuilt") && (line.contains("restarted") || line.contains("recreated")),
            "the cycle did not replace the backend: {line}"
        );
        let mut phases = vec![("detect", header_at.saturating_duration_since(saved.at))];
        for name in watch_loop.reported_phases() {
            // A loop reports either phase of a pair (`re-exec` or, when it fell back, `restart`).
            if let Some(time) = reported_phase(&line, name) {
                phases.push((name, time));
            }
        }
        anyhow::ensure!(
            phases.iter().any(|(name, _)| *name == "compile"),
            "no `compile` time in the cycle's line: {line}"
        );
        // Measured here, from outside, to tell the loop's time from the benchmark's own.
        let binary_at = saved.at + binary;
        phases.push((
            "new binary -> service line printed (measured)",
            line_at.saturating_duration_since(binary_at),
        ));
        phases.push((
            "service line printed -> served (measured)",
            served.at.saturating_duration_since(line_at),
        ));
        phases.push(("poll: the serving request (measured)", served.request));
        phases.push(("poll: the request before it (measured)", served.before));
        if !watch_loop.image_phases().is_empty() {
            let (_, image_line) = watching.line_starting("    backend image: ", ONE_CHANGE)?;
            if let Some(image) = image_line["    backend image: ".len()..].split(' ').next() {
                self.images.insert(image.to_string());
            }
            for name in watch_loop.image_phases() {
                let time = reported_phase(&image_line, name).with_context(|| {
                    format!("no `{name}` time in the cycle's image line: {image_line}")
                })?;
                phases.push((name, time));
            }
        }
        Ok(Sample {
            served: served.at - saved.at,
            binary,
            phases,
        })
    }

    /// Notes the images the compose containers run, to remove them at the end.
    fn note_images(&mut self) {
        for container in [BACKEND_CONTAINER, FRONTEND_CONTAINER] {
            let image = docker(&["inspect", "--format", "{{.Config.Image}}", container]);
            if !image.is_empty() {
                self.images.insert(image);
            }
        }
    }

    /// Removes the compose part's containers, volume and images, and puts `latest` back.
    fn clean_compose(&self) {
        if let Ok(mut down) = self.xtask(&["compose-down", "--volumes"]) {
            let _ = down.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        self.clean_images();
    }

    /// Puts `latest` back and removes the images the runs made.
    fn clean_images(&self) {
        self.latest.restore(&latest_tags::ids_of(&self.images));
        for image in &self.images {
            docker(&["rmi", image]);
        }
    }
}

/// The moment a change was saved, by the monotonic clock and by the file system's.
struct Saved {
    at: Instant,
    wall: SystemTime,
}

impl Saved {
    fn now() -> Self {
        Self {
            at: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// How long after `saved` the file at `path` was last written (cargo writes the binary
/// once it is linked).
fn written_after(path: &Path, saved: &Saved) -> anyhow::Result<Duration> {
    let modified = std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .with_context(|| format!("cannot read the modification time of {}", path.display()))?;
    modified.duration_since(saved.wall).map_err(|_| {
        anyhow::anyhow!(
            "{} was not rebuilt after the change was saved",
            path.display()
        )
    })
}

/// A time a cycle's line reports as `name 1.23 s`.
fn reported_phase(line: &str, name: &str) -> Option<Duration> {
    let pattern = format!("{name} ");
    line.match_indices(&pattern).find_map(|(start, _)| {
        let after = &line[start + pattern.len()..];
        let number = after.split(' ').next()?;
        let seconds: f64 = number.parse().ok()?;
        after[number.len()..]
            .starts_with(" s")
            .then(|| Duration::from_secs_f64(seconds))
    })
}

/// Something that may stop answering while `/readyz` is polled: the command that serves it.
trait Liveness {
    /// An error when the process serving the change has ended without serving it.
    fn check(&mut self) -> anyhow::Result<()>;
}

/// The watch loop's process is checked when its lines are read: nothing to check here.
struct NoProcess;

impl Liveness for NoProcess {
    fn check(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// When the new string was first served, and what the polling cost around it.
struct Served {
    /// When the answer with the new string arrived.
    at: Instant,
    /// How long that request took.
    request: Duration,
    /// How long the request before it took (one caught by the restart may hang until
    /// its timeout).
    before: Duration,
}

/// Polls `url` (each request on a new connection, abandoned after `timeout`) until its
/// JSON `status` is `expected`.
fn wait_served(
    url: &str,
    expected: &str,
    timeout: Duration,
    serving: &mut dyn Liveness,
) -> anyhow::Result<Served> {
    // No kept-alive connections: a graceful shutdown would wait for the benchmark's own,
    // and a connection made before a restart would reach the old process.
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .build()?;
    let started = Instant::now();
    let mut before = Duration::ZERO;
    loop {
        let sent = Instant::now();
        let answer = client
            .get(url)
            .send()
            .and_then(|response| response.json::<serde_json::Value>());
        let now = Instant::now();
        if let Ok(answer) = answer
            && answer["status"].as_str() == Some(expected)
        {
            return Ok(Served {
                at: now,
                request: now - sent,
                before,
            });
        }
        before = now - sent;
        serving.check()?;
        anyhow::ensure!(
            started.elapsed() < ONE_CHANGE,
            "{url} did not answer {expected:?} within {} s",
            ONE_CHANGE.as_secs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The figures of one change.
struct Sample {
    /// From saving to the new string served.
    served: Duration,
    /// From saving to the new binary written.
    binary: Duration,
    /// The phases the watch loop's block reported (or the anchor measured).
    phases: Vec<(&'static str, Duration)>,
}

/// The samples of one loop, with `--watch` and without.
#[derive(Default)]
struct Table {
    watch: Vec<Sample>,
    anchor: Vec<Sample>,
}

impl Table {
    fn print(&self, watch_loop: Loop) {
        let (watch, anchor) = watch_loop.columns();
        println!("\n  {:<44} {:>18} {:>18}  ratio", "", watch, anchor);
        let served = |samples: &[Sample]| median_of(samples, |sample| sample.served);
        let binary = |samples: &[Sample]| median_of(samples, |sample| sample.binary);
        let after_binary = |samples: &[Sample]| {
            median_of(samples, |sample| {
                sample.served.saturating_sub(sample.binary)
            })
        };
        row_with_ratio(
            "save -> new response served",
            served(&self.watch),
            served(&self.anchor),
        );
        row_with_ratio(
            "save -> new binary written",
            binary(&self.watch),
            binary(&self.anchor),
        );
        row_with_ratio(
            "new binary -> new response served",
            after_binary(&self.watch),
            after_binary(&self.anchor),
        );
        let names = self
            .watch
            .iter()
            .chain(&self.anchor)
            .flat_map(|sample| sample.phases.iter().map(|(name, _)| *name))
            .fold(Vec::new(), |mut names, name| {
                if !names.contains(&name) {
                    names.push(name);
                }
                names
            });
        for name in names {
            let phase = |samples: &[Sample]| {
                let times: Vec<Duration> = samples
                    .iter()
                    .filter_map(|sample| {
                        sample
                            .phases
                            .iter()
                            .find(|(phase, _)| *phase == name)
                            .map(|(_, time)| *time)
                    })
                    .collect();
                (!times.is_empty()).then(|| median(&times))
            };
            let label = if name.ends_with("(measured)") {
                name.to_string()
            } else {
                format!("{name} (reported)")
            };
            println!(
                "    {:<42} {:>18} {:>18}",
                label,
                shown(phase(&self.watch)),
                shown(phase(&self.anchor))
            );
        }
        let each = |samples: &[Sample]| {
            samples
                .iter()
                .map(|sample| format!("{:.2}", sample.served.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "  each run, save -> served (s): {watch}: {}; {anchor}: {}",
            each(&self.watch),
            each(&self.anchor)
        );
    }
}

fn median_of(samples: &[Sample], figure: impl Fn(&Sample) -> Duration) -> Option<Duration> {
    let times: Vec<Duration> = samples.iter().map(figure).collect();
    (!times.is_empty()).then(|| median(&times))
}

fn row_with_ratio(what: &str, watch: Option<Duration>, anchor: Option<Duration>) {
    let ratio = match (watch, anchor) {
        (Some(watch), Some(anchor)) if !watch.is_zero() => {
            format!("{:.1}x", anchor.as_secs_f64() / watch.as_secs_f64())
        }
        _ => "-".to_string(),
    };
    println!(
        "  {what:<44} {:>18} {:>18}  {ratio}",
        shown(watch),
        shown(anchor)
    );
}

fn shown(time: Option<Duration>) -> String {
    time.map_or_else(
        || "-".to_string(),
        |time| format!("{:.2} s", time.as_secs_f64()),
    )
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A long-running xtask command: its standard output read line by line, each line with
/// the moment it arrived; the end of its standard error kept for error messages.
struct Watched {
    child: Child,
    lines: Receiver<(Instant, String)>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Watched {
    /// How many lines of standard error an error message shows.
    const TAIL: usize = 40;

    fn start(mut command: Command) -> anyhow::Result<Self> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start xtask")?;
        let (sender, lines) = std::sync::mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = sender.send((Instant::now(), line));
                }
            });
        }
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || keep_tail(pipe, &kept, Self::TAIL));
        }
        Ok(Self {
            child,
            lines,
            stderr,
        })
    }

    /// The next line of standard output that starts with `prefix`, and when it came.
    fn line_starting(&self, prefix: &str, timeout: Duration) -> anyhow::Result<(Instant, String)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line.starts_with(prefix) => return Ok((at, line)),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => anyhow::bail!(
                    "no line starting with {prefix:?} within {} s; its last messages:\n{}",
                    timeout.as_secs(),
                    self.tail()
                ),
                Err(RecvTimeoutError::Disconnected) => anyhow::bail!(
                    "xtask ended before printing {prefix:?}; its last messages:\n{}",
                    self.tail()
                ),
            }
        }
    }

    /// The last lines of standard error.
    fn tail(&self) -> String {
        self.stderr
            .lock()
            .map(|lines| lines.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Sends `signal` (`-INT` as Ctrl-C does, or `-TERM`) and waits for the exit.
    fn stop(&mut self, signal: &str) -> anyhow::Result<()> {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args([signal, &self.child.id().to_string()])
                .status();
        }
        self.wait_exit(Duration::from_secs(120)).map(|_| ())
    }

    /// Waits until the command ends, at most `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "xtask did not end within {} s",
                timeout.as_secs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Liveness for Watched {
    fn check(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) if !status.success() => {
                anyhow::bail!(
                    "xtask failed ({status}); its last messages:\n{}",
                    self.tail()
                )
            }
            _ => Ok(()),
        }
    }
}

impl Drop for Watched {
    /// Ctrl-C, as a developer would, so that the services it started stop too.
    fn drop(&mut self) {
        if self.stop("-INT").is_err() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Keeps the last `keep` lines of `pipe` in `kept`.
fn keep_tail(pipe: impl Read, kept: &Mutex<VecDeque<String>>, keep: usize) {
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        if let Ok(mut lines) = kept.lock() {
            if lines.len() == keep {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }
}

/// A copy of the project's files in a temporary folder (without `target/` and `.git/`).
struct ProjectCopy {
    dir: tempfile::TempDir,
    /// The copy's root (canonical): `dir/project`.
    root: PathBuf,
}

impl ProjectCopy {
    fn new(from: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
        let root = dir.path().join("project");
        copy_folder(from, &root)?;
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        Ok(Self { dir, root })
    }
}

fn copy_folder(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", from.display()))?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (source, destination) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_folder(&source, &destination)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&source)?;
            std::os::unix::fs::symlink(link, &destination)
                .with_context(|| format!("cannot create {}", destination.display()))?;
        } else {
            std::fs::copy(&source, &destination)
                .with_context(|| format!("cannot copy {}", source.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycles_line_gives_each_phase_time() {
        let dev = "    backend: rebuilt (compile 14.84 s, compare 0.05 s), restarted (restart 0.03 s, ready 0.04 s): http://127.0.0.1:8000";
        let compose = "    backend: rebuilt (compile 12.87 s, compare 0.03 s), restarted with the new binary (copy 0.06 s, restart 0.41 s, ready 0.01 s): http://127.0.0.1:8000";
        let in_place = "    backend: rebuilt (compile 3.06 s, compare 0.00 s), restarted in place with the new binary (copy 0.20 s, re-exec 0.05 s): http://127.0.0.1:8000";
        let image = "    backend image: todo-backend:3f1c0a9e12b4 (package 0.31 s, load 1.97 s)";
        let seconds = |line: &str, name: &str| reported_phase(line, name).map(|d| d.as_secs_f64());
        assert_eq!(seconds(dev, "compile"), Some(14.84));
        assert_eq!(seconds(dev, "compare"), Some(0.05));
        assert_eq!(seconds(dev, "restart"), Some(0.03));
        assert_eq!(seconds(dev, "ready"), Some(0.04));
        assert_eq!(seconds(compose, "copy"), Some(0.06));
        assert_eq!(seconds(compose, "restart"), Some(0.41));
        assert_eq!(seconds(image, "load"), Some(1.97));
        assert_eq!(seconds(in_place, "re-exec"), Some(0.05));
        assert_eq!(seconds(in_place, "restart"), None);
        assert_eq!(seconds(dev, "package"), None);
        assert_eq!(seconds("ready, edited", "ready"), None);
    }
}
