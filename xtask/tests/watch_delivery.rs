//! How `deploy-local --watch` and `deploy --watch` get a rebuilt image to the cluster and
//! remove the images their cycles superseded, for the deliveries deploy_watch.rs (minikube)
//! does not drive: kind and k3d (the image loaded with the cluster's tool, removed from
//! each node container with `crictl rmi`) and `deploy --registry` (pushed to a registry).
//!
//! Each test runs the real watch loop on a temporary copy of the project against the fake
//! API server. Stand-ins on PATH play `kind` and `k3d` (recording each load and checking
//! its archive) and the part of `docker` that reaches the nodes: `docker ps` lists the
//! node containers of a cluster called `dev` by the label each tool sets, and `docker exec
//! NODE crictl rmi IMAGE` is recorded (and refused where the test says so); every other
//! `docker` command goes to the real one. The registry is deploykit-fake-registry.
//!
//! The copies build into `target/watch-e2e` (see `common`), one at a time: the tests take
//! a lock, since two copies building there at once would replace each other's binaries.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use common::{
    CYCLE, FIRST_BUILD, HANDLER_FILE, ORIGINAL_RESPONSE, ProjectCopy, Running, TestImages,
    image_id, mark_backend,
};
use deploykit_fake_apiserver::FakeApiServer;

const BACKEND: &str = "todo-app-backend";
const FRONTEND: &str = "todo-app-frontend";

/// Held by each test while its copy builds into `target/watch-e2e`.
static BUILDS: Mutex<()> = Mutex::new(());

fn one_build_at_a_time() -> MutexGuard<'static, ()> {
    // A test that failed holding the lock leaves nothing half done for the next.
    BUILDS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn docker_available() -> Result<(), String> {
    match Command::new("docker").arg("info").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(error) => Err(format!("docker CLI: {error}")),
    }
}

/// A kubeconfig for the fake API server, a `.env`, and the stand-ins on PATH.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(kubeconfig: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("kubeconfig");
        std::fs::create_dir(dir.path().join("bin")).expect("bin");
        let sandbox = Self { dir };
        let docker = which::which("docker").expect("docker on PATH");
        sandbox.add_program("docker", &docker_stand_in(&docker, sandbox.dir.path()));
        for (tool, load) in [("kind", "load image-archive"), ("k3d", "image import")] {
            let calls = sandbox.file(&format!("{tool}-calls"));
            let script = format!(
                "#!/bin/sh\n# {tool} stand-in: records its arguments, checks the archive is there.\n\
                 echo \"$*\" >> '{calls}'\ntest \"$1 $2\" = '{load}' && test -s \"$3\"\n",
                calls = calls.display()
            );
            sandbox.add_program(tool, &script);
        }
        sandbox
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn add_program(&self, name: &str, script: &str) {
        let path = self.dir.path().join("bin").join(name);
        std::fs::write(&path, script).expect("a stand-in");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("an executable stand-in");
    }

    /// What a stand-in recorded, one call a line.
    fn calls(&self, tool: &str) -> Vec<String> {
        std::fs::read_to_string(self.file(&format!("{tool}-calls")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Makes `crictl rmi` fail in the node container `node` from now on.
    fn refuse_removal_on(&self, node: &str) {
        std::fs::write(self.file(&format!("refuse-{node}")), "").expect("a flag file");
    }

    /// `cargo xtask <args>` on the copy, with the stand-ins first on PATH.
    fn xtask(&self, copy: &ProjectCopy, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = copy.xtask(args);
        command
            .env("KUBECONFIG", self.file("kubeconfig"))
            .env("TODO_ENV_FILE", self.file(".env"))
            .env("PATH", path)
            .env_remove("DOCKER_HOST");
        command
    }
}

/// `docker` as far as the node containers of the clusters called `dev` go; the real
/// `docker` for the rest.
fn docker_stand_in(docker: &Path, dir: &Path) -> String {
    format!(
        "#!/bin/sh\n# docker stand-in for a kind and a k3d cluster called dev.\n\
         case \"$1\" in\n\
         ps)\n\
         \x20 case \"$*\" in\n\
         \x20 *label=io.x-k8s.kind.cluster=dev*) printf 'dev-control-plane\\ndev-worker\\n';;\n\
         \x20 *label=k3d.cluster=dev*) printf 'k3d-dev-server-0\\nk3d-dev-agent-0\\nk3d-dev-serverlb\\n';;\n\
         \x20 *) exec '{docker}' \"$@\";;\n\
         \x20 esac;;\n\
         exec)\n\
         \x20 node=\"$2\"; shift 2\n\
         \x20 echo \"$node $*\" >> '{dir}/crictl-calls'\n\
         \x20 if [ -e '{dir}/refuse-'\"$node\" ]; then\n\
         \x20   echo 'E1206 rpc error: code = Unknown desc = image is in use by a container' >&2; exit 1\n\
         \x20 fi;;\n\
         *) exec '{docker}' \"$@\";;\n\
         esac\n",
        docker = docker.display(),
        dir = dir.display()
    )
}

/// The fake API server (workloads ready at once) on its own runtime.
fn ready_server() -> (tokio::runtime::Runtime, FakeApiServer) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the fake servers");
    let server = runtime.block_on(async {
        let server = FakeApiServer::start().await;
        server.set_auto_ready(true);
        server
    });
    (runtime, server)
}

fn deployment(server: &FakeApiServer, name: &str) -> serde_json::Value {
    server
        .get("apps/v1", "Deployment", Some("todo"), name)
        .unwrap_or_else(|| panic!("Deployment {name} missing"))
}

fn image(server: &FakeApiServer, name: &str) -> String {
    let container = &deployment(server, name)["spec"]["template"]["spec"]["containers"][0];
    container["image"].as_str().unwrap_or_default().to_string()
}

/// The handler's response string, changed once per call.
struct Responses {
    label: &'static str,
    current: String,
    count: u32,
}

impl Responses {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            current: ORIGINAL_RESPONSE.to_string(),
            count: 0,
        }
    }

    /// Saves a new response string in the copy's handler.
    fn change(&mut self, copy: &ProjectCopy) {
        self.count += 1;
        let next = format!("status: \"ready, {} {}\".into(),", self.label, self.count);
        copy.edit(HANDLER_FILE, &self.current, &next);
        self.current = next;
    }
}

/// One cycle after a changed response string: the backend rebuilt and delivered, only its
/// Deployment configured at `revision`, the frontend not rolled. Returns the backend's
/// line.
fn expect_backend_redeployed(watch: &Running, number: u32, revision: u32) -> String {
    let (header, backend, deployed) = watch.backend_cycle(number);
    assert_eq!(header, format!("[{number}] changed: {HANDLER_FILE}"));
    assert!(backend.contains("rebuilt (compile "), "{backend}");
    assert_eq!(
        backend.matches(" load ").count(),
        1,
        "one load time, into the cluster included: {backend}"
    );
    assert!(
        deployed.starts_with(&format!(
            "    revision {revision}: configured Deployment/{BACKEND} (rollout "
        )),
        "{deployed}\n{}",
        watch.transcript()
    );
    let not_rolled = watch.line_starting("    not rolled: ", CYCLE);
    assert_eq!(not_rolled, format!("    not rolled: Deployment/{FRONTEND}"));
    backend
}

/// Stops the loop as Ctrl-C does and checks the release ended deployed at `revision`.
fn expect_stopped_at(watch: &mut Running, revision: u32) {
    let status = watch.stop();
    assert!(status.success(), "{status}\n{}", watch.transcript());
    assert_eq!(
        watch.line_starting("stopped watching", CYCLE),
        format!("stopped watching; release todo-app is at revision {revision} (deployed)")
    );
}

#[test]
fn kind_nodes_lose_superseded_images_and_keep_the_current_and_previous() {
    if !deploykit_testkit::require("Docker", docker_available()) {
        return;
    }
    let _build = one_build_at_a_time();
    let (_runtime, server) = ready_server();
    let sandbox = Sandbox::new(&server.kubeconfig("kind-dev"));
    let copy = ProjectCopy::new();
    mark_backend(&copy, "watch-delivery-kind");
    let mut images = TestImages::new();
    let mut responses = Responses::new("kind");
    let args = ["deploy-local", "--context", "kind-dev", "--watch"];
    let mut watch = Running::start(sandbox.xtask(&copy, &args));
    watch.line_starting("watching backend/", FIRST_BUILD);
    let first = image(&server, BACKEND);
    images
        .images
        .extend([first.clone(), image(&server, FRONTEND)]);

    responses.change(&copy);
    expect_backend_redeployed(&watch, 1, 2);
    let previous = image(&server, BACKEND);
    images.images.insert(previous.clone());
    assert_eq!(
        sandbox.calls("crictl"),
        Vec::<String>::new(),
        "nothing superseded yet"
    );

    responses.change(&copy);
    expect_backend_redeployed(&watch, 2, 3);
    let current = image(&server, BACKEND);
    images.images.insert(current.clone());
    let removed = watch.line_starting("    ", CYCLE);
    assert_eq!(
        removed,
        format!(
            "    removed superseded image {first} from the nodes (dev-control-plane, dev-worker) \
             with `crictl rmi`, and from Docker; the current and the previous one are kept"
        )
    );
    assert_eq!(
        sandbox.calls("crictl"),
        [
            format!("dev-control-plane crictl rmi {first}"),
            format!("dev-worker crictl rmi {first}")
        ],
        "only the image older than the previous one, on every node"
    );
    assert!(image_id(&first).is_empty(), "{first} is still in Docker");
    assert!(
        !image_id(&previous).is_empty(),
        "the previous image is kept"
    );
    assert!(!image_id(&current).is_empty(), "the current image is kept");
    // Both images at the first deploy, then each rebuilt backend, loaded into cluster dev.
    let loads = sandbox.calls("kind");
    assert_eq!(loads.len(), 4, "{loads:?}");
    assert!(
        loads
            .iter()
            .all(|load| load.starts_with("load image-archive ") && load.ends_with(" --name dev")),
        "{loads:?}"
    );
    expect_stopped_at(&mut watch, 3);
}

#[test]
fn a_k3d_node_that_refuses_a_removal_is_a_warning_and_the_cycle_stands() {
    if !deploykit_testkit::require("Docker", docker_available()) {
        return;
    }
    let _build = one_build_at_a_time();
    let (_runtime, server) = ready_server();
    let sandbox = Sandbox::new(&server.kubeconfig("k3d-dev"));
    sandbox.refuse_removal_on("k3d-dev-agent-0");
    let copy = ProjectCopy::new();
    mark_backend(&copy, "watch-delivery-k3d");
    let mut images = TestImages::new();
    let mut responses = Responses::new("k3d");
    let args = ["deploy-local", "--context", "k3d-dev", "--watch"];
    let mut watch = Running::start(sandbox.xtask(&copy, &args));
    watch.line_starting("watching backend/", FIRST_BUILD);
    let first = image(&server, BACKEND);
    images
        .images
        .extend([first.clone(), image(&server, FRONTEND)]);

    responses.change(&copy);
    expect_backend_redeployed(&watch, 1, 2);
    images.images.insert(image(&server, BACKEND));
    responses.change(&copy);
    expect_backend_redeployed(&watch, 2, 3);
    let current = image(&server, BACKEND);
    images.images.insert(current.clone());

    // The server node removed it, the agent refused: said, and the cycle stands.
    let kept = watch.line_starting("    ", CYCLE);
    assert!(
        kept.starts_with(&format!(
            "    kept superseded image {first}: `docker exec k3d-dev-agent-0 crictl rmi {first}` failed: "
        )) && kept.contains("image is in use by a container")
            && kept.ends_with("(removed from k3d-dev-server-0, Docker all the same)"),
        "{kept}"
    );
    assert_eq!(
        sandbox.calls("crictl"),
        [
            format!("k3d-dev-server-0 crictl rmi {first}"),
            format!("k3d-dev-agent-0 crictl rmi {first}")
        ],
        "every node but the load balancer"
    );
    assert_eq!(
        image(&server, BACKEND),
        current,
        "the cycle's deploy stands"
    );
    let loads = sandbox.calls("k3d");
    assert_eq!(loads.len(), 4, "{loads:?}");
    assert!(
        loads
            .iter()
            .all(|load| load.starts_with("image import ") && load.ends_with(" --cluster dev")),
        "{loads:?}"
    );
    expect_stopped_at(&mut watch, 3);
}

#[test]
fn deploy_watch_pushes_each_new_image_and_removes_superseded_ones_from_docker() {
    if !deploykit_testkit::require("Docker", docker_available()) {
        return;
    }
    let _build = one_build_at_a_time();
    let (runtime, server) = ready_server();
    let registry =
        runtime.block_on(deploykit_fake_registry::FakeRegistry::start_with_credentials("ci", "pw"));
    let sandbox = Sandbox::new(&server.kubeconfig("prod-eu"));
    let docker_config = sandbox.file("docker");
    std::fs::create_dir(&docker_config).expect("a Docker config folder");
    let auths = format!(
        r#"{{"auths": {{"{}": {{"auth": "Y2k6cHc="}}}}}}"#,
        registry.host()
    );
    std::fs::write(docker_config.join("config.json"), auths).expect("a Docker config");
    let copy = ProjectCopy::new();
    mark_backend(&copy, "watch-delivery-push");
    let mut images = TestImages::new();
    let mut responses = Responses::new("pushed");
    let prefix = format!("{}/team", registry.host());
    let args = [
        "deploy",
        "--context",
        "prod-eu",
        "--registry",
        &prefix,
        "--watch",
    ];
    let mut command = sandbox.xtask(&copy, &args);
    command.env("DOCKER_CONFIG", &docker_config);
    let mut watch = Running::start(command);
    watch.line_starting("watching backend/", FIRST_BUILD);
    let first = image(&server, BACKEND);
    let local = |pushed: &str| {
        pushed
            .strip_prefix(&format!("{prefix}/"))
            .unwrap_or_else(|| panic!("{pushed} is not the registry's"))
            .to_string()
    };
    images.images.extend([
        first.clone(),
        local(&first),
        image(&server, FRONTEND),
        local(&image(&server, FRONTEND)),
    ]);

    responses.change(&copy);
    let backend = expect_backend_redeployed(&watch, 1, 2);
    let previous = image(&server, BACKEND);
    images.images.extend([previous.clone(), local(&previous)]);
    assert_ne!(previous, first);
    assert!(backend.ends_with(&format!(": {previous}")), "{backend}");
    let tag = |reference: &str| reference.rsplit(':').next().unwrap_or_default().to_string();
    let mut pushed = registry.tags("team/todo-backend");
    pushed.sort();
    let mut expected = vec![tag(&first), tag(&previous)];
    expected.sort();
    assert_eq!(pushed, expected, "the new image is in the registry");

    responses.change(&copy);
    expect_backend_redeployed(&watch, 2, 3);
    let current = image(&server, BACKEND);
    images.images.extend([current.clone(), local(&current)]);
    let removed = watch.line_starting("    ", CYCLE);
    assert_eq!(
        removed,
        format!(
            "    removed superseded image {} from Docker (also its tag {first}; the registry \
             keeps it); the current and the previous one are kept",
            local(&first)
        )
    );
    assert!(image_id(&first).is_empty(), "{first} still names an image");
    assert!(image_id(&local(&first)).is_empty(), "the image is gone");
    assert!(
        !image_id(&previous).is_empty(),
        "the previous image is kept"
    );
    assert!(!image_id(&current).is_empty(), "the current image is kept");
    assert_eq!(registry.tags("team/todo-backend").len(), 3);
    assert!(
        !watch.transcript().contains("Y2k6cHc="),
        "credentials never printed"
    );
    expect_stopped_at(&mut watch, 3);
}
