//! `cargo xtask doctor`: what this machine has for each workflow, and the fix for what
//! it lacks. deploy-local runs the same checks before it starts.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::deploy::minikube::Minikube;
use crate::project;

/// Options of `doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The kube context to check (default: the kubeconfig's current context).
    #[arg(long)]
    context: Option<String>,
    /// The minikube profile to check.
    #[arg(long, default_value = "minikube")]
    profile: String,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Found and usable, or not.
    pub state: State,
    /// What was found, or what is wrong and how to fix it.
    pub detail: String,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Found and usable.
    Ok,
    /// Not there: some workflows cannot run.
    Missing,
    /// There but not usable as it is.
    Wrong,
}

impl Check {
    fn new(name: impl Into<String>, state: State, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            state,
            detail: detail.into(),
        }
    }
}

/// Runs `doctor`: prints the table; fails when a check is not ok.
pub fn run(args: Args) -> anyhow::Result<()> {
    let checks = all_checks(args.context.as_deref(), &args.profile);
    print!("{}", table(&checks));
    let problems = checks
        .iter()
        .filter(|check| check.state != State::Ok)
        .count();
    if problems > 0 {
        anyhow::bail!(
            "{problems} of {} checks need attention (see the fixes above)",
            checks.len()
        );
    }
    Ok(())
}

/// Every check, in the order a user meets them.
pub fn all_checks(context: Option<&str>, profile: &str) -> Vec<Check> {
    let mut checks = vec![
        docker(),
        compose(),
        static_linking(),
        minikube(profile),
        kube_context(context),
    ];
    for service in project::SERVICES {
        checks.push(local_port(service.name, service.port));
    }
    checks
}

/// The report as an aligned table.
pub fn table(checks: &[Check]) -> String {
    let width = checks
        .iter()
        .map(|check| check.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for check in checks {
        let state = match check.state {
            State::Ok => "ok",
            State::Missing => "missing",
            State::Wrong => "wrong",
        };
        out.push_str(&format!(
            "{:<width$}  {:<7}  {}\n",
            check.name, state, check.detail
        ));
    }
    out
}

fn docker() -> Check {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Check::new(
                "docker",
                State::Wrong,
                format!("cannot start a runtime: {error}"),
            );
        }
    };
    match runtime.block_on(deploykit_image::Engine::connect()) {
        Ok(engine) => Check::new(
            "docker",
            State::Ok,
            format!("daemon at {} (API {})", engine.host(), engine.api_version()),
        ),
        Err(error) => Check::new("docker", State::Missing, error.to_string()),
    }
}

fn compose() -> Check {
    let found = xshell::Shell::new()
        .map_err(anyhow::Error::from)
        .and_then(|sh| crate::compose::tool::ComposeTool::detect(&sh));
    match found {
        Ok(tool) => Check::new("compose", State::Ok, tool.describe()),
        Err(error) => Check::new("compose", State::Missing, format!("{error:#}")),
    }
}

/// Package builds link the services statically: glibc's static archive must be there.
fn static_linking() -> Check {
    let archives = [
        "/usr/lib/x86_64-linux-gnu/libc.a",
        "/usr/lib64/libc.a",
        "/usr/lib/libc.a",
    ];
    if !cfg!(target_os = "linux") {
        return Check::new(
            "static build",
            State::Ok,
            "not Linux: images build from the Dockerfiles (--mode dockerfile)",
        );
    }
    match archives.iter().find(|path| Path::new(path).exists()) {
        Some(path) => Check::new(
            "static build",
            State::Ok,
            format!("glibc static archive {path}"),
        ),
        None => Check::new(
            "static build",
            State::Missing,
            "no static glibc (libc.a): install it (Debian/Ubuntu: apt-get install libc6-dev), \
             or build with --mode dockerfile",
        ),
    }
}

fn minikube(profile: &str) -> Check {
    if !Minikube::is_installed() {
        return Check::new(
            "minikube",
            State::Missing,
            "not installed: https://minikube.sigs.k8s.io/docs/start/ (only deploy-local on minikube needs it)",
        );
    }
    match Minikube::new(profile).status() {
        Ok(Some(status)) if status.is_running() => Check::new(
            "minikube",
            State::Ok,
            format!("profile `{profile}` running"),
        ),
        Ok(Some(status)) => Check::new(
            "minikube",
            State::Wrong,
            format!(
                "profile `{profile}` is not running (host {}, apiserver {}): minikube start -p {profile}",
                status.host, status.api_server
            ),
        ),
        Ok(None) => Check::new(
            "minikube",
            State::Missing,
            format!("no profile `{profile}`: minikube start -p {profile}"),
        ),
        Err(error) => Check::new("minikube", State::Wrong, format!("{error:#}")),
    }
}

fn kube_context(context: Option<&str>) -> Check {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Check::new(
                "kube context",
                State::Wrong,
                format!("cannot start a runtime: {error}"),
            );
        }
    };
    let options = deploykit_cluster::ConnectOptions {
        context: context.map(str::to_string),
        timeout: Some(Duration::from_secs(5)),
        ..Default::default()
    };
    match runtime.block_on(deploykit_cluster::connect(options)) {
        Ok(cluster) => Check::new(
            "kube context",
            State::Ok,
            format!("`{}` at {}", cluster.context(), cluster.server()),
        ),
        Err(error) => Check::new("kube context", State::Missing, error.to_string()),
    }
}

/// Whether 127.0.0.1:`port` is free (for dev, compose and port-forward).
pub fn local_port(service: &str, port: u16) -> Check {
    let name = format!("port {port}");
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Check::new(
            name,
            State::Ok,
            format!("127.0.0.1:{port} is free ({service})"),
        ),
        Err(error) => Check::new(
            name,
            State::Wrong,
            format!(
                "127.0.0.1:{port} is in use ({error}): stop what listens there \
                 (`ss -ltnp 'sport = :{port}'` names it; `cargo xtask compose-down` if it is this app)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_wrong_and_says_how_to_find_the_owner() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let check = local_port("frontend", port);
        assert_eq!(check.state, State::Wrong);
        assert!(
            check
                .detail
                .contains(&format!("127.0.0.1:{port} is in use")),
            "{}",
            check.detail
        );
        assert!(check.detail.contains("ss -ltnp"));
        drop(listener);
        assert_eq!(local_port("frontend", port).state, State::Ok);
    }

    #[test]
    fn the_table_aligns_names_and_states() {
        let checks = [
            Check::new("docker", State::Ok, "daemon"),
            Check::new("kube context", State::Missing, "no kubeconfig"),
        ];
        assert_eq!(
            table(&checks),
            "docker        ok       daemon\nkube context  missing  no kubeconfig\n"
        );
    }
}
