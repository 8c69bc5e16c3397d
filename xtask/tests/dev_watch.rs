//! `cargo xtask dev --watch` driven for real, on a temporary copy of the project
//! (`--project-dir`): the real binary, real cargo builds, real processes, real HTTP.
//!
//! The copy builds into `target/watch-e2e` (see `common`): the first run compiles the
//! services' dependencies there once, which takes minutes.
//!
//! Linux only: which process serves a service is read from `/proc`.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    BROKEN_RESPONSE, COMMENTED_RESPONSE, CYCLE, EDITED_RESPONSE, FIRST_BUILD, HANDLER_FILE,
    ORIGINAL_RESPONSE, ProjectCopy, Running, free_port, status_at,
};

/// The processes whose executable lies under `folder`, by service binary (`todo-backend`
/// for `target/dev/bin/todo-backend-<pid>-<n>`).
fn processes_under(folder: &Path) -> BTreeMap<String, Vec<u32>> {
    let mut found: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc lists").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        if !exe.starts_with(folder) {
            continue;
        }
        let name = exe.file_name().unwrap_or_default().to_string_lossy();
        let service = ["todo-backend", "todo-frontend"]
            .into_iter()
            .find(|service| name.starts_with(&format!("{service}-")))
            .unwrap_or(&name);
        found.entry(service.to_owned()).or_default().push(pid);
    }
    found
}

/// The pid serving each service now (exactly one process each).
fn pids(bin: &Path) -> BTreeMap<String, u32> {
    processes_under(bin)
        .into_iter()
        .map(|(service, pids)| {
            assert_eq!(pids.len(), 1, "{service} runs as {pids:?}");
            (service, pids[0])
        })
        .collect()
}

/// Kills what the copy still runs when the test ends, whatever its outcome.
struct Leftovers(PathBuf);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for pid in processes_under(&self.0).into_values().flatten() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

#[test]
fn a_saved_change_rebuilds_and_restarts_only_its_service() {
    let copy = ProjectCopy::new();
    let bin = copy.root.join("target/dev/bin");
    let (backend_port, frontend_port) = (free_port(), free_port());
    let readyz = format!("http://127.0.0.1:{backend_port}/readyz");
    let frontend_healthz = format!("http://127.0.0.1:{frontend_port}/healthz");

    let _leftovers = Leftovers(bin.clone());
    let mut watch = Running::start(copy.xtask(&[
        "dev",
        "--watch",
        "--backend-port",
        &backend_port.to_string(),
        "--frontend-port",
        &frontend_port.to_string(),
    ]));
    watch.line_starting("[1] first build", FIRST_BUILD);
    let first_backend = watch.line_starting("    backend: ", FIRST_BUILD);
    let first_frontend = watch.line_starting("    frontend: ", FIRST_BUILD);
    watch.line_starting("watching backend/ and frontend/", CYCLE);
    assert!(first_backend.contains("started"), "{first_backend}");
    assert!(first_frontend.contains("started"), "{first_frontend}");
    assert_eq!(status_at(&readyz), "ready");
    let started = pids(&bin);
    assert_eq!(
        started.keys().collect::<Vec<_>>(),
        ["todo-backend", "todo-frontend"],
        "{}",
        watch.transcript()
    );

    // A changed response string: the backend alone is rebuilt and restarted, and serves it.
    copy.edit(HANDLER_FILE, ORIGINAL_RESPONSE, EDITED_RESPONSE);
    let (header, backend, untouched) = watch.backend_cycle(2);
    assert_eq!(header, format!("[2] changed: {HANDLER_FILE}"));
    assert!(
        backend.contains("rebuilt") && backend.contains("restarted"),
        "{backend}"
    );
    assert_eq!(untouched, "    not affected: frontend");
    assert_eq!(status_at(&readyz), "ready, edited while watched");
    let after_edit = pids(&bin);
    assert_ne!(after_edit["todo-backend"], started["todo-backend"]);
    assert_eq!(after_edit["todo-frontend"], started["todo-frontend"]);
    assert_eq!(status_at(&frontend_healthz), "ok");

    // A comment on a line of its own code: built again, same binary, nothing restarted.
    copy.edit(HANDLER_FILE, EDITED_RESPONSE, COMMENTED_RESPONSE);
    let (header, backend, untouched) = watch.backend_cycle(3);
    assert_eq!(header, format!("[3] changed: {HANDLER_FILE}"));
    assert!(
        backend.contains("binary unchanged: nothing restarted"),
        "{backend}\n{}",
        watch.transcript()
    );
    assert_eq!(untouched, "    not affected: frontend");
    assert_eq!(pids(&bin), after_edit);

    // A syntax error: cargo's error is shown, the running version keeps answering.
    copy.edit(HANDLER_FILE, COMMENTED_RESPONSE, BROKEN_RESPONSE);
    let (header, backend, untouched) = watch.backend_cycle(4);
    assert_eq!(header, format!("[4] changed: {HANDLER_FILE}"));
    assert!(
        backend.contains("not rebuilt") && backend.contains("the running version stays up"),
        "{backend}"
    );
    assert_eq!(untouched, "    not affected: frontend");
    watch.printed_eventually("! error");
    assert_eq!(pids(&bin), after_edit);
    assert_eq!(status_at(&readyz), "ready, edited while watched");

    // SIGTERM (Ctrl-C) stops both services and the loop.
    let status = watch.stop();
    assert!(status.success(), "{status}\n{}", watch.transcript());
    watch.line_starting("stopped", CYCLE);
    eprintln!("{}", watch.transcript());
    assert_eq!(processes_under(&bin), BTreeMap::new());
}

#[test]
fn a_project_dir_that_is_not_the_project_is_refused_with_the_fix() {
    let empty = tempfile::tempdir().expect("a temporary folder");
    let missing = empty.path().join("missing");
    for (dir, says) in [
        (empty.path(), "not a copy of this project"),
        (missing.as_path(), "no such folder"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["--project-dir", &dir.display().to_string(), "dev"])
            .output()
            .expect("xtask runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            stderr.contains("give the folder that holds the workspace's Cargo.toml"),
            "{stderr}"
        );
    }
}
