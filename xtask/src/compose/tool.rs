//! Which Docker Compose this machine has (v2 plugin, v2 or v1 standalone) and the command
//! lines it takes. Pure apart from [`ComposeTool::detect`].

use std::ffi::OsString;
use std::path::Path;
use xshell::Shell;

/// A compose version, `major.minor.patch`.
pub type Version = (u64, u64, u64);

/// The compose program found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeTool {
    /// The program and its leading arguments: `["docker", "compose"]` or `["docker-compose"]`.
    pub program: Vec<String>,
    /// Its version.
    pub version: Version,
}

/// What every compose command is about: the file, the project, the settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// The compose file.
    pub file: &'a Path,
    /// The project name (prefix of the network and volume).
    pub project: &'a str,
    /// The `.env` file used for `${VAR}` interpolation, when it exists.
    pub env_file: Option<&'a Path>,
}

/// The environment variable that names the compose to use, with its leading arguments
/// (`docker compose`, `docker-compose`, `/opt/compose/docker-compose`), instead of the
/// first one found. Tests run the compose suites with each compose installed this way.
pub const COMPOSE_VARIABLE: &str = "DEPLOYKIT_COMPOSE";

/// The programs to try, in order: the one `chosen` names (the value of
/// [`COMPOSE_VARIABLE`]) alone, else `docker compose` (v2 plugin), then `docker-compose`.
pub fn candidates(chosen: Option<&str>) -> Vec<Vec<String>> {
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    match chosen.map(words).filter(|program| !program.is_empty()) {
        Some(program) => vec![program],
        None => vec![words("docker compose"), words("docker-compose")],
    }
}

impl ComposeTool {
    /// Finds the compose [`COMPOSE_VARIABLE`] names, else `docker compose` (v2 plugin),
    /// else `docker-compose`.
    pub fn detect(sh: &Shell) -> anyhow::Result<Self> {
        let chosen = std::env::var(COMPOSE_VARIABLE).ok();
        for program in candidates(chosen.as_deref()) {
            if let Some(tool) = Self::probe(sh, &program) {
                tool.check_supported()?;
                return Ok(tool);
            }
        }
        if let Some(chosen) = chosen.filter(|chosen| !chosen.trim().is_empty()) {
            anyhow::bail!(
                "{COMPOSE_VARIABLE}={chosen} does not answer `version --short`: name an installed \
                 compose (`docker compose`, `docker-compose` or a path), or unset it to use the \
                 first one found"
            );
        }
        anyhow::bail!(
            "Docker Compose is not installed (neither `docker compose` nor `docker-compose` answers): \
             install the compose plugin (`apt-get install docker-compose-plugin` from Docker's \
             repository, or Docker Desktop), or Debian's `docker-compose`"
        )
    }

    /// `program version --short`, read; `None` when it does not answer with a version.
    fn probe(sh: &Shell, program: &[String]) -> Option<Self> {
        let (first, rest) = program.split_first()?;
        let output = sh
            .cmd(first)
            .args(rest)
            .args(["version", "--short"])
            .quiet()
            .ignore_status()
            .ignore_stderr()
            .output()
            .ok()
            .filter(|output| output.status.success())?;
        let version = parse_version(&String::from_utf8_lossy(&output.stdout))?;
        Some(Self {
            program: program.to_vec(),
            version,
        })
    }

    /// Compose v1 before 1.27 does not read the Compose Specification format.
    fn check_supported(&self) -> anyhow::Result<()> {
        if self.version < (1, 27, 0) {
            let (major, minor, patch) = self.version;
            anyhow::bail!(
                "{} {major}.{minor}.{patch} is too old for docker-compose.yml (Compose Specification format): \
                 install Compose v2 (`apt-get install docker-compose-plugin`) or docker-compose 1.27 or later",
                self.program.join(" ")
            );
        }
        Ok(())
    }

    /// Whether this is Compose v2 (plugin or standalone).
    pub fn is_v2(&self) -> bool {
        self.version.0 >= 2
    }

    /// Whether `up --wait` exists (Compose 2.1.1 and later).
    pub fn supports_wait(&self) -> bool {
        self.version >= (2, 1, 1)
    }

    /// A human name: `docker compose 2.24.5` or `docker-compose 1.29.2`.
    pub fn describe(&self) -> String {
        let (major, minor, patch) = self.version;
        format!("{} {major}.{minor}.{patch}", self.program.join(" "))
    }

    /// The full command line (program first) for `args` on `target`.
    pub fn command_line(&self, target: &Target<'_>, args: &[&str]) -> Vec<OsString> {
        let mut line: Vec<OsString> = self.program.iter().map(OsString::from).collect();
        line.push("--file".into());
        line.push(target.file.into());
        line.push("--project-name".into());
        line.push(target.project.into());
        if let Some(env_file) = target.env_file {
            line.push("--env-file".into());
            line.push(env_file.into());
        }
        line.extend(args.iter().map(OsString::from));
        line
    }

    /// The arguments of `up`: detached, never building or pulling (xtask built the
    /// images), waiting for health where compose can.
    pub fn up_args(&self) -> Vec<&'static str> {
        let mut args = vec!["up", "--detach", "--no-build", "--remove-orphans"];
        if self.is_v2() {
            args.extend(["--pull", "never"]);
        }
        if self.supports_wait() {
            args.push("--wait");
        }
        args
    }

    /// The arguments of `down`.
    pub fn down_args(&self, volumes: bool) -> Vec<&'static str> {
        let mut args = vec!["down", "--remove-orphans"];
        if volumes {
            args.push("--volumes");
        }
        args
    }

    /// The arguments of `logs`.
    pub fn logs_args<'a>(
        &self,
        service: Option<&'a str>,
        follow: bool,
        tail: Option<&'a str>,
    ) -> Vec<&'a str> {
        let mut args = vec!["logs"];
        if follow {
            args.push("--follow");
        }
        if let Some(tail) = tail {
            args.extend(["--tail", tail]);
        }
        args.extend(service);
        args
    }
}

/// Reads `2.24.5`, `v2.24.5`, `2.24.5-desktop.1` or `docker-compose version 1.29.2, build …`.
pub fn parse_version(text: &str) -> Option<Version> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .map(|word| word.trim_start_matches('v'))
        .find_map(|word| {
            let core = word.split(['-', '+']).next()?;
            let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
            let major = parts.next()??;
            let minor = parts.next()??;
            let patch = parts.next().flatten().unwrap_or(0);
            Some((major, minor, patch))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(version: Version) -> ComposeTool {
        ComposeTool {
            program: vec!["docker".into(), "compose".into()],
            version,
        }
    }

    fn standalone(version: Version) -> ComposeTool {
        ComposeTool {
            program: vec!["docker-compose".into()],
            version,
        }
    }

    fn strings(line: Vec<OsString>) -> Vec<String> {
        line.into_iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn parses_every_version_format() {
        assert_eq!(parse_version("2.24.5\n"), Some((2, 24, 5)));
        assert_eq!(parse_version("v2.29.1"), Some((2, 29, 1)));
        assert_eq!(parse_version("2.24.6-desktop.1"), Some((2, 24, 6)));
        assert_eq!(parse_version("1.29.2"), Some((1, 29, 2)));
        assert_eq!(
            parse_version("docker-compose version 1.29.2, build unknown"),
            Some((1, 29, 2))
        );
        assert_eq!(
            parse_version("Docker Compose version v2.20.2+ds1-0ubuntu1"),
            Some((2, 20, 2))
        );
        assert_eq!(parse_version("unknown command"), None);
    }

    #[test]
    fn v2_plugin_command_lines() {
        let tool = plugin((2, 24, 5));
        let target = Target {
            file: Path::new("/repo/docker-compose.yml"),
            project: "todo",
            env_file: Some(Path::new("/repo/.env")),
        };
        assert!(tool.is_v2() && tool.supports_wait());
        assert_eq!(
            strings(tool.command_line(&target, &tool.up_args())),
            [
                "docker",
                "compose",
                "--file",
                "/repo/docker-compose.yml",
                "--project-name",
                "todo",
                "--env-file",
                "/repo/.env",
                "up",
                "--detach",
                "--no-build",
                "--remove-orphans",
                "--pull",
                "never",
                "--wait",
            ]
        );
        assert_eq!(tool.describe(), "docker compose 2.24.5");
    }

    #[test]
    fn early_v2_has_no_wait_and_v1_neither_wait_nor_pull() {
        assert!(!plugin((2, 0, 1)).supports_wait());
        assert!(!plugin((2, 0, 1)).up_args().contains(&"--wait"));
        let v1 = standalone((1, 29, 2));
        assert!(!v1.is_v2());
        assert_eq!(
            v1.up_args(),
            ["up", "--detach", "--no-build", "--remove-orphans"]
        );
        let target = Target {
            file: Path::new("c.yml"),
            project: "p",
            env_file: None,
        };
        assert_eq!(
            strings(v1.command_line(&target, &["ps"])),
            [
                "docker-compose",
                "--file",
                "c.yml",
                "--project-name",
                "p",
                "ps"
            ]
        );
    }

    #[test]
    fn down_and_logs_arguments() {
        let tool = plugin((2, 24, 5));
        assert_eq!(tool.down_args(false), ["down", "--remove-orphans"]);
        assert_eq!(
            tool.down_args(true),
            ["down", "--remove-orphans", "--volumes"]
        );
        assert_eq!(tool.logs_args(None, false, None), ["logs"]);
        assert_eq!(
            tool.logs_args(Some("backend"), true, Some("50")),
            ["logs", "--follow", "--tail", "50", "backend"]
        );
    }

    #[test]
    fn the_chosen_compose_is_the_only_candidate() {
        let owned = |lines: &[&[&str]]| -> Vec<Vec<String>> {
            lines
                .iter()
                .map(|line| line.iter().map(|word| word.to_string()).collect())
                .collect()
        };
        let found_first = owned(&[&["docker", "compose"], &["docker-compose"]]);
        assert_eq!(candidates(None), found_first);
        assert_eq!(candidates(Some("  ")), found_first);
        assert_eq!(
            candidates(Some("docker-compose")),
            owned(&[&["docker-compose"]])
        );
        assert_eq!(
            candidates(Some(" docker  compose ")),
            owned(&[&["docker", "compose"]])
        );
        assert_eq!(
            candidates(Some("/opt/compose/docker-compose")),
            owned(&[&["/opt/compose/docker-compose"]])
        );
    }

    #[test]
    fn too_old_v1_is_refused_with_the_fix() {
        let message = standalone((1, 25, 0))
            .check_supported()
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("docker-compose 1.25.0 is too old"),
            "{message}"
        );
        assert!(message.contains("docker-compose-plugin"), "{message}");
        standalone((1, 27, 0)).check_supported().unwrap();
        plugin((2, 0, 0)).check_supported().unwrap();
    }
}
