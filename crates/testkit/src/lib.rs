//! Test helpers shared by deploykit's suites (a dev-dependency only):
//!
//! - [`require`]: skip a test whose service is missing, fail it under CI; [`on_path`],
//!   [`helm_sdk_available`] are checks to give it;
//! - [`write_files`]: a test's chart or build context as one table;
//! - `FakeCluster` (feature `fake-cluster`): the in-process fake API server with
//!   deploykit-cluster's client connected to it.
//!
//! A suite that needs a service (Docker, PostgreSQL, Chromium, Helm's engine) asks
//! [`require`]: when the service is missing, the test skips with a printed reason on a
//! developer's machine and fails under `CI=true`, where every service must be present.
//!
//! ```no_run
//! fn docker_answers() -> Result<(), String> { Err("no socket".into()) }
//! if !deploykit_testkit::require("Docker", docker_answers()) {
//!     return; // skipped, reason printed
//! }
//! ```

#[cfg(feature = "fake-cluster")]
mod fake_cluster;

#[cfg(feature = "fake-cluster")]
pub use fake_cluster::FakeCluster;

/// True when running under CI (`CI=true`), where a missing service is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// Checks that a service is available.
///
/// Returns `true` when `check` is `Ok`. Otherwise prints `skipped: <service> ...` and
/// returns `false`, or panics with the reason under `CI=true`.
pub fn require(service: &str, check: Result<(), String>) -> bool {
    match check {
        Ok(()) => true,
        Err(reason) if in_ci() => panic!("{service} is required under CI=true: {reason}"),
        Err(reason) => {
            eprintln!("skipped: {service} is not available here ({reason})");
            false
        }
    }
}

/// Whether `program` is an executable file on `PATH`.
pub fn on_path(program: &str) -> bool {
    which::which(program).is_ok()
}

/// Whether Helm's own client (helm-python-sdk, Helm v4's Go code) can be imported by
/// `python3`, with the command that installs it when not: a check for [`require`].
pub fn helm_sdk_available() -> Result<(), String> {
    let status = std::process::Command::new("python3")
        .args(["-c", "import helm_python"])
        .output()
        .map_err(|error| format!("python3 does not run ({error})"))?;
    if status.status.success() {
        Ok(())
    } else {
        Err("python3 -m pip install 'helm-python-sdk==0.2.2'".into())
    }
}

/// Writes each `(path, text)` of `files` under `root`, creating folders on the way: a test's
/// chart or build context as one table. Panics naming the path when a write fails.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("testkit-doc-{}", std::process::id()));
/// deploykit_testkit::write_files(&dir, &[("Chart.yaml", "name: demo\n"), ("templates/a.yaml", "")]);
/// assert!(dir.join("templates/a.yaml").is_file());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_files(root: &std::path::Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .unwrap_or_else(|error| panic!("cannot create {}: {error}", folder.display()));
        }
        std::fs::write(&path, text)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }
}
