//! `cargo xtask deploy-local --watch` driven for real on a temporary copy of the project
//! (`--project-dir`), against the fake API server with a stand-in `minikube` on PATH whose
//! Docker is this machine's (as in deploy_local.rs): what each change rebuilt, wrote and
//! rolled is read from the server (its write log, the Deployments' generations).
//!
//! The copy builds into `target/watch-e2e` (see `common`): the first run compiles the
//! services' dependencies there once (the `watch` profile, statically), which takes
//! minutes. The images it made are removed at the end.
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    BROKEN_RESPONSE, COMMENTED_RESPONSE, CYCLE, EDITED_RESPONSE, FIRST_BUILD, HANDLER_FILE,
    ORIGINAL_RESPONSE, ProjectCopy, Running, TestImages, append, image_id, mark_backend,
};
use deploykit_fake_apiserver::FakeApiServer;

/// The second edit of the handler's response string.
const SECOND_RESPONSE: &str = r#"status: "ready, edited twice".into(),"#;

/// The frontend's CPU request in values-minikube.yaml (the backend's reads the same, so
/// the edit names the lines around it).
const FRONTEND_CPU: &str = "    nodePort: 30080\n  resources:\n    requests:\n      cpu: 25m";
const FRONTEND_CPU_EDITED: &str =
    "    nodePort: 30080\n  resources:\n    requests:\n      cpu: 30m";

const RUNNING: &str = r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#;

/// The values file deploy-local adds, relative to the project.
const LOCAL_VALUES: &str = "charts/todo-app/values-minikube.yaml";

const BACKEND: &str = "todo-app-backend";
const FRONTEND: &str = "todo-app-frontend";

fn docker_available() -> Result<(), String> {
    match Command::new("docker").arg("info").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(error) => Err(format!("docker CLI: {error}")),
    }
}

/// A kubeconfig for the fake API server, a `.env`, and a stand-in minikube on PATH that
/// answers as minikube does, points at this machine's Docker, and removes images from it
/// on `image rm` (recording each call).
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(kubeconfig: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("kubeconfig");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        let calls = dir.path().join("minikube-calls");
        let stub = format!(
            "#!/bin/sh\n# minikube stand-in.\necho \"$*\" >> '{calls}'\n\
             while [ \"$1\" = -p ] || [ \"$1\" = --profile ]; do shift 2; done\n\
             case \"$1\" in\n\
             status) echo '{RUNNING}';;\n\
             docker-env) echo 'export DOCKER_HOST=\"unix:///var/run/docker.sock\"';;\n\
             ip) echo 192.168.49.2;;\n\
             image) test \"$2\" = rm && docker rmi \"$3\" >/dev/null;;\n\
             *) echo \"unexpected: $*\" >&2; exit 64;;\n\
             esac\n",
            calls = calls.display()
        );
        let path = bin.join("minikube");
        std::fs::write(&path, stub).expect("the stand-in");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("an executable stand-in");
        Self { dir }
    }

    fn env_file(&self) -> std::path::PathBuf {
        self.dir.path().join(".env")
    }

    fn minikube_calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("minikube-calls")).unwrap_or_default()
    }

    /// `cargo xtask deploy-local --context minikube --watch` on the copy.
    fn watch(&self, copy: &ProjectCopy) -> Command {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // A rollout that cannot get ready fails after 30 s.
        let args = [
            "deploy-local",
            "--context",
            "minikube",
            "--watch",
            "--timeout",
            "30",
        ];
        let mut command = copy.xtask(&args);
        command
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("TODO_ENV_FILE", self.env_file())
            .env("PATH", path)
            .env_remove("DOCKER_HOST");
        command
    }
}

fn deployment(server: &FakeApiServer, name: &str) -> serde_json::Value {
    server
        .get("apps/v1", "Deployment", Some("todo"), name)
        .unwrap_or_else(|| panic!("Deployment {name} missing"))
}

fn generation(server: &FakeApiServer, name: &str) -> i64 {
    deployment(server, name)["metadata"]["generation"]
        .as_i64()
        .unwrap_or(1)
}

fn image(server: &FakeApiServer, name: &str) -> String {
    let container = &deployment(server, name)["spec"]["template"]["spec"]["containers"][0];
    container["image"].as_str().unwrap_or_default().to_string()
}

/// The writes since `from` to the app's objects: the release's own bookkeeping (its lease
/// and revision records) left out.
fn object_writes(server: &FakeApiServer, from: usize) -> Vec<String> {
    server.write_log()[from..]
        .iter()
        .filter(|write| {
            !write.contains("/leases")
                && !write.contains("sh.helm.release")
                && !write.ends_with("/secrets")
        })
        .cloned()
        .collect()
}

/// The generations of both Deployments.
fn generations(server: &FakeApiServer) -> (i64, i64) {
    (generation(server, BACKEND), generation(server, FRONTEND))
}

/// The frontend container's CPU request.
fn frontend_cpu(server: &FakeApiServer) -> String {
    let container = &deployment(server, FRONTEND)["spec"]["template"]["spec"]["containers"][0];
    let cpu = &container["resources"]["requests"]["cpu"];
    cpu.as_str().unwrap_or_default().to_string()
}

/// Waits (10 minutes at most) until `condition` holds.
fn wait_for(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !condition() {
        assert!(Instant::now() < deadline, "waited 10 minutes in vain");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Makes workloads ready again once the frontend's CPU request went to `bad` and then
/// back to `good` (a rollback).
fn ready_when_back(server: &FakeApiServer, bad: &str, good: &str) {
    wait_for(|| frontend_cpu(server) == bad);
    wait_for(|| frontend_cpu(server) == good);
    server.set_auto_ready(true);
}

/// The block's next line says what `revision` wrote: it configured only
/// `Deployment/<name>`.
fn expect_revision(watch: &Running, revision: u32, name: &str) -> String {
    let line = watch.line_starting("    ", CYCLE);
    assert!(
        line.starts_with(&format!(
            "    revision {revision}: configured Deployment/{name} (rollout "
        )),
        "{line}\n{}",
        watch.transcript()
    );
    line
}

/// Asserts that the writes since `from` went to the app's objects named (`secrets/x`,
/// `deployments/y`), at least one.
fn expect_writes_only_to(server: &FakeApiServer, from: usize, objects: &[&str]) {
    let written = object_writes(server, from);
    assert!(
        !written.is_empty()
            && written
                .iter()
                .all(|write| objects.iter().any(|object| write.contains(object))),
        "{written:?}"
    );
}

#[test]
fn deploy_local_watch_rolls_only_what_a_change_affects() {
    if !deploykit_testkit::require("Docker", docker_available()) {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the fake API server");
    let server = runtime.block_on(async {
        let server = FakeApiServer::start().await;
        server.set_auto_ready(true);
        server
    });
    let sandbox = Sandbox::new(&server.kubeconfig("minikube"));
    let copy = ProjectCopy::new();
    mark_backend(&copy, "deploy-watch");
    let mut images = TestImages::new();
    let mut watch = Running::start(sandbox.watch(&copy));
    watch.line_starting("watching backend/, frontend/, charts/todo-app", FIRST_BUILD);
    let first_backend = image(&server, BACKEND);
    let frontend_image = image(&server, FRONTEND);
    images
        .images
        .extend([first_backend.clone(), frontend_image.clone()]);
    let (backend_generation, frontend_generation) = generations(&server);

    // A changed response string: only the backend is rebuilt, only its Deployment written.
    let writes = server.writes();
    copy.edit(HANDLER_FILE, ORIGINAL_RESPONSE, EDITED_RESPONSE);
    let header = watch.line_starting("[1] ", CYCLE);
    assert_eq!(header, format!("[1] changed: {HANDLER_FILE}"));
    let rebuilt = watch.line_starting("    backend: ", CYCLE);
    assert!(
        rebuilt.contains("rebuilt (compile ") && rebuilt.contains(", load "),
        "{rebuilt}"
    );
    let revision = expect_revision(&watch, 2, BACKEND);
    assert!(
        revision.ends_with("http://192.168.49.2:30080/"),
        "{revision}"
    );
    let untouched = watch.line_starting("    not rolled: ", CYCLE);
    assert_eq!(untouched, format!("    not rolled: Deployment/{FRONTEND}"));
    expect_writes_only_to(&server, writes, &[&format!("deployments/{BACKEND}")]);
    let rolled = (backend_generation + 1, frontend_generation);
    assert_eq!(generations(&server), rolled);
    let edited_backend = image(&server, BACKEND);
    images.images.insert(edited_backend.clone());
    assert_ne!(edited_backend, first_backend);
    assert_eq!(image(&server, FRONTEND), frontend_image);

    // A chart value: no build, only the changed object written.
    let writes = server.writes();
    copy.edit(LOCAL_VALUES, FRONTEND_CPU, FRONTEND_CPU_EDITED);
    let header = watch.line_starting("[2] ", CYCLE);
    assert_eq!(header, format!("[2] changed: {LOCAL_VALUES}"));
    // No build line: the release's comes first.
    expect_revision(&watch, 3, FRONTEND);
    expect_writes_only_to(&server, writes, &[&format!("deployments/{FRONTEND}")]);
    let rolled = (backend_generation + 1, frontend_generation + 1);
    assert_eq!(generations(&server), rolled);
    assert_eq!(frontend_cpu(&server), "30m");

    // .env: the Secret is written and the backend, which reads it, rolls; not the frontend.
    let writes = server.writes();
    append(
        &sandbox.env_file(),
        "DATABASE_URL=sqlite:///data/watched.db\n",
    );
    let header = watch.line_starting("[3] ", CYCLE);
    assert!(header.ends_with(".env"), "{header}");
    assert_eq!(
        watch.line_starting("    .env: ", CYCLE),
        "    .env: Secret todo/todo-app-env updated; the pods that read it roll"
    );
    expect_revision(&watch, 4, BACKEND);
    let secret = "secrets/todo-app-env";
    expect_writes_only_to(
        &server,
        writes,
        &[secret, &format!("deployments/{BACKEND}")],
    );
    assert!(
        object_writes(&server, writes)
            .iter()
            .any(|write| write.contains(secret))
    );
    let rolled = (backend_generation + 2, frontend_generation + 1);
    assert_eq!(generations(&server), rolled);
    let output = watch.transcript();
    assert!(
        !output.contains("watched.db"),
        "the Secret's values are never printed"
    );

    // A comment: rebuilt, the same image, nothing written.
    let writes = server.writes();
    copy.edit(HANDLER_FILE, EDITED_RESPONSE, COMMENTED_RESPONSE);
    let header = watch.line_starting("[4] ", CYCLE);
    assert_eq!(header, format!("[4] changed: {HANDLER_FILE}"));
    let line = watch.line_starting("    backend: ", CYCLE);
    assert!(line.ends_with("image unchanged: nothing written"), "{line}");
    let written = &server.write_log()[writes..];
    assert!(written.is_empty(), "{written:?}");

    // A second response string: rolled again, and the first image (now older than the
    // previous one) is removed from the node; the previous one stays.
    copy.edit(HANDLER_FILE, COMMENTED_RESPONSE, SECOND_RESPONSE);
    let header = watch.line_starting("[5] ", CYCLE);
    assert_eq!(header, format!("[5] changed: {HANDLER_FILE}"));
    let rebuilt = watch.line_starting("    backend: ", CYCLE);
    assert!(rebuilt.contains("rebuilt (compile "), "{rebuilt}");
    expect_revision(&watch, 5, BACKEND);
    watch.line_starting("    not rolled: ", CYCLE);
    let removed = watch.line_starting("    ", CYCLE);
    assert!(
        removed.starts_with("    removed superseded image "),
        "{removed}"
    );
    assert!(
        removed.contains(&first_backend) && removed.contains("minikube image rm"),
        "{removed}"
    );
    images.images.insert(image(&server, BACKEND));
    let calls = sandbox.minikube_calls();
    let removal = format!("-p minikube image rm {first_backend}");
    assert!(calls.contains(&removal), "{calls}");
    assert!(
        image_id(&first_backend).is_empty(),
        "{first_backend} is still there"
    );
    assert!(
        !image_id(&edited_backend).is_empty(),
        "the previous image is kept"
    );
    let rolled = (backend_generation + 3, frontend_generation + 1);
    assert_eq!(generations(&server), rolled);

    // A compile error: shown, nothing written.
    let writes = server.writes();
    copy.edit(HANDLER_FILE, SECOND_RESPONSE, BROKEN_RESPONSE);
    let header = watch.line_starting("[6] ", CYCLE);
    assert_eq!(header, format!("[6] changed: {HANDLER_FILE}"));
    let line = watch.line_starting("    backend: ", CYCLE);
    assert!(
        line.contains("not rebuilt") && line.contains("the running version stays up"),
        "{line}"
    );
    watch.printed_eventually("! error");
    let written = &server.write_log()[writes..];
    assert!(written.is_empty(), "{written:?}");

    // A rollout that never gets ready: its diagnosis is shown, the release goes back to
    // the last good revision, and the loop keeps watching. The fake kubelet stays idle
    // until the old template is back, then starts it, as a cluster would an image that
    // worked before.
    server.set_auto_ready(false);
    let failed = std::thread::scope(|scope| {
        let kubelet = scope.spawn(|| ready_when_back(&server, "35m", "30m"));
        copy.edit(LOCAL_VALUES, "cpu: 30m", "cpu: 35m");
        let header = watch.line_starting("[7] ", CYCLE);
        assert_eq!(header, format!("[7] changed: {LOCAL_VALUES}"));
        let failed = watch.line_starting("    not deployed: ", CYCLE);
        watch.line_starting(
            "    the last good revision stays deployed; the loop keeps watching",
            CYCLE,
        );
        kubelet.join().expect("the kubelet stand-in");
        failed
    });
    assert!(failed.contains("did not become ready"), "{failed}");
    assert_eq!(frontend_cpu(&server), "30m");

    // Ctrl-C (SIGTERM) during a rollout: the upgrade is cancelled and the last deployed
    // revision restored; no revision is left pending.
    server.set_auto_ready(false);
    std::thread::scope(|scope| {
        let kubelet = scope.spawn(|| ready_when_back(&server, "40m", "30m"));
        copy.edit(LOCAL_VALUES, "cpu: 35m", "cpu: 40m");
        watch.line_starting("[8] ", CYCLE);
        wait_for(|| frontend_cpu(&server) == "40m");
        let _ = Command::new("kill")
            .args(["-TERM", &watch.child.id().to_string()])
            .status();
        kubelet.join().expect("the kubelet stand-in");
    });
    let status = watch.stop();
    assert!(status.success(), "{status}\n{}", watch.transcript());
    assert_eq!(
        watch.line_starting("stopped watching", CYCLE),
        "stopped watching; release todo-app is at revision 9 (deployed)"
    );
    assert_eq!(frontend_cpu(&server), "30m");
    eprintln!("{}", watch.transcript());
    drop(server);
}
