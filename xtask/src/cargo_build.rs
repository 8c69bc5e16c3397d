//! `cargo build` of one binary, read through cargo's JSON messages so that the watch loops
//! go on as soon as the binary is written, while cargo still writes its fingerprints and
//! exits.

use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use anyhow::Context as _;

/// A build whose binary is written, and cargo, which may still be finishing (it writes
/// its fingerprints and exits after the binary is complete).
pub(crate) struct Compiled {
    /// The binary cargo built (`target/<profile>/<binary>`).
    pub executable: PathBuf,
    cargo: Child,
}

impl Compiled {
    /// Waits for cargo to exit (it has nothing left to report but its status).
    pub(crate) fn finish(mut self, package: &str) {
        match self.cargo.wait() {
            Ok(status) if !status.success() => {
                eprintln!("cargo build of {package} ended with {status} after writing the binary")
            }
            Ok(_) => {}
            Err(error) => eprintln!("cannot wait for cargo: {error}"),
        }
    }
}

/// Runs `command`, a `cargo build` that builds `package`'s binary, and returns as soon as
/// cargo reports the binary written (its `compiler-artifact` message), not when cargo
/// exits: cargo then still writes its fingerprints, which on a loaded machine takes a
/// noticeable part of a second. cargo's progress goes to the terminal as `command` says;
/// its warnings and errors are printed from its JSON messages, rendered as cargo renders
/// them.
pub(crate) fn until_binary(mut command: Command, package: &str) -> anyhow::Result<Compiled> {
    let format = if std::io::stderr().is_terminal() {
        "--message-format=json-diagnostic-rendered-ansi"
    } else {
        "--message-format=json"
    };
    command.arg(format).stdout(Stdio::piped());
    let program = command.get_program().to_string_lossy().into_owned();
    let mut cargo = command
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    let stdout = cargo
        .stdout
        .take()
        .context("cargo's standard output is not captured")?;
    let mut reader = BufReader::new(stdout);
    let executable = read_until_binary(&mut reader, package);
    // Whatever cargo says next is still read (and its diagnostics shown), so that it never
    // blocks on a full pipe.
    std::thread::spawn(move || read_until_binary(&mut reader, ""));
    match executable {
        Some(executable) => Ok(Compiled { executable, cargo }),
        None => {
            let status = cargo.wait().context("cannot wait for cargo")?;
            anyhow::bail!("compiling {package} failed ({status}): fix the errors above")
        }
    }
}

/// Prints the diagnostics among cargo's JSON messages until the one saying that
/// `package`'s binary is written; its path (`None` when cargo ended without it).
fn read_until_binary(reader: &mut BufReader<ChildStdout>, package: &str) -> Option<PathBuf> {
    for line in reader.lines() {
        let Ok(line) = line else { return None };
        match CargoMessage::parse(&line) {
            CargoMessage::Diagnostic(rendered) => eprint!("{rendered}"),
            CargoMessage::Binary { name, path } if name == package => return Some(path),
            CargoMessage::Binary { .. } | CargoMessage::Other => {}
        }
    }
    None
}

/// The parts of cargo's `--message-format=json` messages the loop reads (the format is
/// documented and stable: "JSON Messages" in the Cargo Book).
#[derive(Debug, PartialEq, Eq)]
enum CargoMessage {
    /// A compiler warning or error, rendered as cargo prints it.
    Diagnostic(String),
    /// A binary target, written to `path`.
    Binary { name: String, path: PathBuf },
    /// Anything else (another artifact, a build script, the end of the build), or a line
    /// that is not one of cargo's messages.
    Other,
}

impl CargoMessage {
    fn parse(line: &str) -> Self {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            return Self::Other;
        };
        match message["reason"].as_str() {
            Some("compiler-message") => message["message"]["rendered"]
                .as_str()
                .map_or(Self::Other, |rendered| {
                    Self::Diagnostic(rendered.to_string())
                }),
            Some("compiler-artifact") => {
                match (
                    message["target"]["name"].as_str(),
                    message["executable"].as_str(),
                ) {
                    (Some(name), Some(path)) => Self::Binary {
                        name: name.to_string(),
                        path: PathBuf::from(path),
                    },
                    _ => Self::Other,
                }
            }
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_messages_give_the_binary_and_the_diagnostics() {
        let artifact = r#"{"reason":"compiler-artifact","package_id":"path+file:///p/backend#todo-backend@0.1.0","target":{"kind":["bin"],"crate_types":["bin"],"name":"todo-backend","src_path":"/p/backend/src/main.rs"},"filenames":["/p/target/debug/todo-backend"],"executable":"/p/target/debug/todo-backend","fresh":false}"#;
        assert_eq!(
            CargoMessage::parse(artifact),
            CargoMessage::Binary {
                name: "todo-backend".into(),
                path: PathBuf::from("/p/target/debug/todo-backend")
            }
        );
        let library = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"todo_backend"},"filenames":["/p/target/debug/libtodo_backend.rlib"],"executable":null,"fresh":true}"#;
        assert_eq!(CargoMessage::parse(library), CargoMessage::Other);
        let error = r#"{"reason":"compiler-message","message":{"rendered":"error: expected `,`\n","level":"error"}}"#;
        assert_eq!(
            CargoMessage::parse(error),
            CargoMessage::Diagnostic("error: expected `,`\n".into())
        );
        for other in [
            r#"{"reason":"build-finished","success":true}"#,
            "   Compiling todo-backend v0.1.0",
            "",
        ] {
            assert_eq!(CargoMessage::parse(other), CargoMessage::Other, "{other}");
        }
    }
}
