//! `compose-up`: from nothing (or from a running app) to a healthy, answering app.

use super::docker;
use super::health::{Container, Verdict, verdict};
use super::images;
use super::settings::Settings;
use super::{Session, UpArgs};
use crate::project;
use deploykit_secret::ensure_env;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How many log lines a failure shows.
const LOG_LINES: usize = 30;

/// Runs `compose-up`.
pub fn up(args: UpArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut session = Session::open(&args.common)?;
    step(&format!("using {}", session.tool.describe()));

    let settings = &session.settings;
    let report = ensure_env(
        &settings.env_file,
        Some(&settings.env_template),
        &project::env_keys(),
    )?;
    if report.created {
        step(&format!(
            "created {} (mode 0600) from .env.example",
            settings.env_file.display()
        ));
    }
    for key in &report.generated {
        step(&format!(
            "generated {key} in {}",
            settings.env_file.display()
        ));
    }
    if report.created || !report.generated.is_empty() {
        // The new file may set ports or the bind address: read the settings again.
        session.settings = super::resolve_settings(&args.common)?;
    }
    let session = session;
    let settings = &session.settings;

    for service in &settings.services {
        docker::check_port(&session.sh, settings, service)?;
    }

    let images = if args.no_build {
        Vec::new()
    } else {
        images::build(settings, args.watch)?
    };

    step("starting the containers");
    let mut up = session.compose(&session.tool.up_args());
    for (variable, reference) in &images {
        up = up.env(variable, reference);
    }
    let containers: Vec<&str> = settings
        .services
        .iter()
        .map(|service| service.container.as_str())
        .collect();
    if let Err(error) = up.run() {
        return Err(diagnose(&session, &containers)
            .unwrap_or_else(|| anyhow::anyhow!("compose could not start the app: {error}")));
    }
    wait_healthy(&session, &containers, Duration::from_secs(args.timeout))?;
    smoke_test(settings)?;

    let backend = settings
        .service("backend")
        .map(|service| settings.url(service));
    let frontend = settings
        .service("frontend")
        .map(|service| settings.url(service));
    println!(
        "\nThe Todo app is up ({:.1} s).",
        started.elapsed().as_secs_f64()
    );
    if let Some(url) = frontend {
        println!("  app   {url}");
    }
    if let Some(url) = backend {
        println!("  API   {url}/api  (OpenAPI document: {url}/api/openapi.json)");
    }
    println!(
        "\nNext:\n  cargo xtask compose-logs [backend|frontend] [--follow]\n  cargo xtask compose-ps\n  \
         cargo xtask compose-down             stop (the data volume is kept)\n  \
         cargo xtask compose-down --volumes   stop and delete the data"
    );
    if args.watch {
        return super::watch::run(&session, images, Duration::from_secs(args.timeout));
    }
    Ok(())
}

/// Waits until every container is healthy, with a spinner naming what it waits on.
pub(super) fn wait_healthy(
    session: &Session,
    containers: &[&str],
    timeout: Duration,
) -> anyhow::Result<()> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    let started = Instant::now();
    let mut restarts_before: HashMap<String, u64> = HashMap::new();
    loop {
        let states = docker::inspect(&session.sh, containers)?;
        let mut waiting = Vec::new();
        for &name in containers {
            let Some(container) = states.iter().find(|state| state.short_name() == name) else {
                waiting.push(format!("{name} (not created yet)"));
                continue;
            };
            let before = *restarts_before
                .entry(name.to_owned())
                .or_insert(container.restart_count);
            match verdict(container, before) {
                Verdict::Healthy => {}
                Verdict::Waiting(what) => waiting.push(format!("{name} ({what})")),
                Verdict::Failed(why) => {
                    spinner.finish_and_clear();
                    return Err(explain(session, container, &why));
                }
            }
        }
        if waiting.is_empty() {
            spinner.finish_and_clear();
            return Ok(());
        }
        if started.elapsed() > timeout {
            spinner.finish_and_clear();
            if let Some(container) = states
                .iter()
                .find(|state| verdict(state, 0) != Verdict::Healthy)
            {
                return Err(explain(
                    session,
                    container,
                    &format!("it was not healthy after {} s", timeout.as_secs()),
                ));
            }
            anyhow::bail!(
                "{} did not start within {} s: see `cargo xtask compose-ps` and `cargo xtask compose-logs`",
                waiting.join(", "),
                timeout.as_secs()
            );
        }
        spinner.set_message(format!("waiting for {} to be healthy", waiting.join(", ")));
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// After a failed `up`: the first container that is not healthy, explained.
fn diagnose(session: &Session, containers: &[&str]) -> Option<anyhow::Error> {
    let states = docker::inspect(&session.sh, containers).ok()?;
    states
        .iter()
        .find_map(|container| match verdict(container, 0) {
            Verdict::Healthy => None,
            Verdict::Waiting(what) => {
                Some(explain(session, container, &format!("it is still {what}")))
            }
            Verdict::Failed(why) => Some(explain(session, container, &why)),
        })
}

/// Prints the container's last log lines and failed healthcheck; returns the one-line error.
fn explain(session: &Session, container: &Container, why: &str) -> anyhow::Error {
    let name = container.short_name();
    eprintln!("--- last {LOG_LINES} log lines of {name} ---");
    eprint!("{}", docker::logs_tail(&session.sh, name, LOG_LINES));
    if let Some(probe) = container.last_failed_probe() {
        eprintln!(
            "--- last failed healthcheck of {name} (exit code {}) ---\n{}",
            probe.exit_code,
            probe.output.trim_end()
        );
    }
    eprintln!("---");
    anyhow::anyhow!(
        "{name} is not healthy: {why}; its last log lines are above: fix the cause (often a setting in {}), then run `cargo xtask compose-up` again",
        session.settings.env_file.display()
    )
}

/// `GET /readyz` of every service through the published ports answers 200.
pub(super) fn smoke_test(settings: &Settings) -> anyhow::Result<()> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()?;
    for service in &settings.services {
        let url = format!("{}/readyz", settings.url(service));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = client.get(&url).send();
            let problem = match answer {
                Ok(response) if response.status().is_success() => break,
                Ok(response) => format!("answered {}", response.status()),
                Err(error) => format!("failed: {error}"),
            };
            if Instant::now() > deadline {
                anyhow::bail!(
                    "GET {url} {problem}: {} is running but not ready; see `cargo xtask compose-logs {}`",
                    service.container,
                    service.name
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    Ok(())
}

fn step(what: &str) {
    eprintln!("==> {what}");
}
