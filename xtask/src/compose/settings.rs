//! What a compose command works on: files, project, ports, container names. Resolved the
//! way compose itself resolves `${VAR}`: the process environment first, then `.env`.

use crate::project;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// One service of docker-compose.yml and the variables that configure it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The compose service name (`backend`).
    pub name: &'static str,
    /// The container name (`todo-backend` unless `TODO_BACKEND_CONTAINER` says otherwise).
    pub container: String,
    /// The host port it is published on.
    pub port: u16,
    /// The variable that sets the host port (`TODO_BACKEND_PORT`).
    pub port_var: String,
    /// The variable that carries the image reference (`TODO_BACKEND_IMAGE`).
    pub image_var: String,
}

/// The variable docker-compose.yml reads for `what` of `service`: `TODO_BACKEND_PORT`.
fn variable(service: &str, what: &str) -> String {
    format!("TODO_{}_{what}", service.to_uppercase())
}

/// Everything a compose command needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// docker-compose.yml.
    pub compose_file: PathBuf,
    /// The `.env` file (absolute).
    pub env_file: PathBuf,
    /// The template a missing `.env` starts from.
    pub env_template: PathBuf,
    /// The compose project name.
    pub project: String,
    /// Where the ports are published.
    pub bind: IpAddr,
    /// backend, then frontend.
    pub services: Vec<Service>,
}

impl Settings {
    /// Resolves the settings; `lookup` answers a variable from the process environment or
    /// `.env` (empty values count as unset, as `${VAR:-default}` treats them).
    pub fn resolve(
        root: PathBuf,
        env_file: PathBuf,
        project: String,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let bind = match lookup("TODO_BIND_ADDRESS") {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(text) => text.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "TODO_BIND_ADDRESS={text} is not an IP address: set it in {} to 127.0.0.1 (the default) or 0.0.0.0",
                    env_file.display()
                )
            })?,
        };
        let mut services = Vec::new();
        for service in project::SERVICES {
            let port_var = variable(service.name, "PORT");
            let port = match lookup(&port_var) {
                None => service.port,
                Some(text) => text.trim().parse::<u16>().ok().filter(|port| *port > 0).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{port_var}={text} is not a port number: set it in {} to a number from 1 to 65535",
                        env_file.display()
                    )
                })?,
            };
            let container = lookup(&variable(service.name, "CONTAINER"))
                .unwrap_or_else(|| service.binary.to_owned());
            services.push(Service {
                name: service.name,
                container,
                port,
                port_var,
                image_var: variable(service.name, "IMAGE"),
            });
        }
        Ok(Self {
            compose_file: root.join("docker-compose.yml"),
            env_template: root.join(".env.example"),
            env_file,
            project,
            bind,
            services,
        })
    }

    /// The address to reach published ports from this machine: loopback when they are
    /// published on loopback or on every address.
    pub fn reach_address(&self) -> IpAddr {
        if self.bind.is_unspecified() || self.bind.is_loopback() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.bind
        }
    }

    /// `http://127.0.0.1:PORT` for `service`.
    pub fn url(&self, service: &Service) -> String {
        match self.reach_address() {
            IpAddr::V4(address) => format!("http://{address}:{}", service.port),
            IpAddr::V6(address) => format!("http://[{address}]:{}", service.port),
        }
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|service| service.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        Settings::resolve("/repo".into(), "/repo/.env".into(), "todo".into(), |name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn defaults_match_docker_compose_yml() {
        let settings = resolve(&[("TODO_BACKEND_PORT", "")]).unwrap();
        assert_eq!(settings.bind.to_string(), "127.0.0.1");
        let backend = settings.service("backend").unwrap();
        assert_eq!(
            (backend.container.as_str(), backend.port),
            ("todo-backend", 8000)
        );
        let frontend = settings.service("frontend").unwrap();
        assert_eq!(settings.url(frontend), "http://127.0.0.1:3000");
        assert_eq!(
            settings.compose_file,
            PathBuf::from("/repo/docker-compose.yml")
        );
    }

    #[test]
    fn variables_override_ports_names_and_address() {
        let settings = resolve(&[
            ("TODO_FRONTEND_PORT", "13000"),
            ("TODO_FRONTEND_CONTAINER", "test-frontend"),
            ("TODO_BIND_ADDRESS", "0.0.0.0"),
        ])
        .unwrap();
        let frontend = settings.service("frontend").unwrap();
        assert_eq!(frontend.container, "test-frontend");
        assert_eq!(settings.url(frontend), "http://127.0.0.1:13000");
        assert_eq!(settings.bind.to_string(), "0.0.0.0");
    }

    #[test]
    fn bad_values_name_the_variable_and_the_file() {
        let message = resolve(&[("TODO_BACKEND_PORT", "eighty")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "TODO_BACKEND_PORT=eighty is not a port number: set it in /repo/.env to a number from 1 to 65535"
        );
        let message = resolve(&[("TODO_BIND_ADDRESS", "localhost")])
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("TODO_BIND_ADDRESS=localhost is not an IP address"));
    }
}
