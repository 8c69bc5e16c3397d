//! `cargo xtask deploy-local` end to end, with the real crates, a real Docker Engine
//! standing in for minikube's, the fake API server standing in for the cluster, and a
//! stub `minikube` on PATH answering `status`, `docker-env` and `ip` as minikube does.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use deploykit_fake_apiserver::FakeApiServer;

const RUNNING: &str = r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#;
const STOPPED: &str = r#"{"Name":"minikube","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped","Worker":false}"#;

/// A folder with a kubeconfig, a `.env` and a stub minikube.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(server_kubeconfig: &str, minikube_status: &str, docker_host: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), server_kubeconfig).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let stub = format!(
            "#!/bin/sh\n# minikube stand-in: answers as minikube's documentation shows.\n\
             while [ \"$1\" = -p ] || [ \"$1\" = --profile ]; do shift 2; done\n\
             case \"$1\" in\n\
             status) echo '{minikube_status}'; case '{minikube_status}' in *Stopped*) exit 7;; esac;;\n\
             docker-env) printf 'export DOCKER_HOST=\"{docker_host}\"\\nexport MINIKUBE_ACTIVE_DOCKERD=\"minikube\"\\n\\n# To point your shell to minikube'\"'\"'s docker-daemon, run:\\n# eval $(minikube -p minikube docker-env)\\n';;\n\
             ip) echo 192.168.49.2;;\n\
             start) echo 'start must not run in this test' >&2; exit 1;;\n\
             *) echo \"unexpected: $*\" >&2; exit 64;;\n\
             esac\n"
        );
        let path = bin.join("minikube");
        std::fs::write(&path, stub).unwrap();
        make_executable(&path);
        Sandbox { dir }
    }

    /// Puts a shell script named `program` on the sandbox's PATH.
    fn add_program(&self, program: &str, script: &str) {
        let path = self.dir.path().join("bin").join(program);
        std::fs::write(&path, script).unwrap();
        make_executable(&path);
    }

    fn deploy_local(&self, args: &[&str]) -> Output {
        self.xtask(
            &[&["deploy-local", "--context", "minikube"], args].concat(),
            true,
        )
    }

    fn xtask(&self, args: &[&str], with_minikube: bool) -> Output {
        self.command(args, with_minikube).output().unwrap()
    }

    fn command(&self, args: &[&str], with_minikube: bool) -> Command {
        let path = std::env::var("PATH").unwrap_or_default();
        let path = if with_minikube {
            format!("{}:{path}", self.dir.path().join("bin").display())
        } else {
            path.split(':')
                .filter(|dir| !Path::new(dir).join("minikube").exists())
                .collect::<Vec<_>>()
                .join(":")
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("TODO_ENV_FILE", self.dir.path().join(".env"))
            .env("PATH", path)
            .env_remove("DOCKER_HOST");
        command
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn docker_available() -> bool {
    let check = match Command::new("docker").arg("info").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(error) => Err(format!("docker CLI: {error}")),
    };
    deploykit_testkit::require("Docker", check)
}

fn deployment_image(server: &FakeApiServer, name: &str) -> String {
    let deployment = server
        .get("apps/v1", "Deployment", Some("todo"), name)
        .unwrap_or_else(|| panic!("Deployment {name} missing"));
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Makes a ready pod of the frontend Deployment whose port answers through an HTTP stand-in,
/// runs `deploy-local --port-forward=PORT`, fetches a page through the forward, then
/// interrupts it as Ctrl-C would and expects a clean exit.
async fn forward_until_interrupted(server: &FakeApiServer, sandbox: &Sandbox) {
    let pod = ready_pod_of(server, "todo-app-frontend", "todo-app-frontend-1");
    let container_port = pod["spec"]["containers"][0]["ports"][0]["containerPort"]
        .as_u64()
        .unwrap() as u16;
    let page = http_stand_in("<h1>Tasks</h1>").await;
    server.set_port_target("todo", "todo-app-frontend-1", container_port, page);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let flag = format!("--port-forward={port}");
    let mut child = sandbox
        .command(&["deploy-local", "--context", "minikube", &flag], true)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let announced = tokio::task::block_in_place(|| {
        let mut seen = String::new();
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            seen.push_str(&line);
            if line.starts_with("forwarding http://") {
                return seen;
            }
            line.clear();
        }
        panic!("deploy-local --port-forward never forwarded:\n{seen}");
    });
    assert!(
        announced.contains(&format!("forwarding http://127.0.0.1:{port}")),
        "{announced}"
    );
    let answer = fetch(port).await;
    assert!(answer.contains("<h1>Tasks</h1>"), "{answer}");

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = tokio::task::block_in_place(|| child.wait().unwrap());
    assert!(
        status.success(),
        "Ctrl-C ends the forward cleanly: {status}"
    );
    server.remove("v1", "Pod", Some("todo"), "todo-app-frontend-1");
}

/// Puts a ready Pod made from `deployment`'s template, as its ReplicaSet would, and
/// returns it.
fn ready_pod_of(server: &FakeApiServer, deployment: &str, pod: &str) -> serde_json::Value {
    let deployment = server
        .get("apps/v1", "Deployment", Some("todo"), deployment)
        .unwrap();
    let template = &deployment["spec"]["template"];
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod, "namespace": "todo",
                     "labels": template["metadata"]["labels"],
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": template["spec"],
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    });
    server.put(pod.clone());
    pod
}

/// A loopback HTTP server answering every request with `body`.
async fn http_stand_in(body: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    address
}

/// GET / on 127.0.0.1:`port`, the whole answer as text.
async fn fetch(port: u16) -> String {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut answer),
    )
    .await
    .unwrap()
    .unwrap();
    String::from_utf8_lossy(&answer).to_string()
}

/// A fake API server whose controllers make every workload ready at once.
async fn ready_server() -> FakeApiServer {
    let server = FakeApiServer::start().await;
    server.set_auto_ready(true);
    server
}

/// The LOG_LEVEL of every ConfigMap in namespace todo that sets one.
fn log_levels(server: &FakeApiServer) -> Vec<String> {
    server
        .names("v1", "ConfigMap", Some("todo"))
        .iter()
        .filter_map(|name| server.get("v1", "ConfigMap", Some("todo"), name))
        .filter_map(|map| map["data"]["LOG_LEVEL"].as_str().map(str::to_string))
        .collect()
}

/// Runs deploy-local while this test's runtime keeps serving the fake API server.
async fn run(sandbox: &Sandbox, args: Vec<String>) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tokio::task::block_in_place(|| sandbox.deploy_local(&args))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_redeploy_change_and_atomic_failure() {
    if !docker_available() {
        return;
    }
    let server = ready_server().await;
    let sandbox = Sandbox::new(
        &server.kubeconfig("minikube"),
        RUNNING,
        "unix:///var/run/docker.sock",
    );

    // A first deploy: images built into "minikube's" Docker, secret from a generated .env.
    let first = run(&sandbox, vec![]).await;
    assert!(first.status.success(), "first deploy: {}", text(&first));
    assert!(
        text(&first).contains("revision 1 deployed"),
        "{}",
        text(&first)
    );
    assert!(
        text(&first).contains("open http://192.168.49.2:30080/"),
        "{}",
        text(&first)
    );
    let env = std::fs::read_to_string(sandbox.dir.path().join(".env")).unwrap();
    let secret_line = env
        .lines()
        .find(|l| l.starts_with("BETTER_AUTH_SECRET="))
        .unwrap();
    let secret_value = secret_line.trim_start_matches("BETTER_AUTH_SECRET=");
    assert!(secret_value.len() >= 32);
    assert!(
        !text(&first).contains(secret_value),
        "the secret must never be printed"
    );
    assert!(
        server
            .get("v1", "Secret", Some("todo"), "todo-app-env")
            .is_some()
    );
    assert!(
        server
            .get(
                "v1",
                "Secret",
                Some("todo"),
                "sh.helm.release.v1.todo-app.v1"
            )
            .is_some()
    );
    let backend_image = deployment_image(&server, "todo-app-backend");
    assert!(
        backend_image.starts_with("todo-backend:"),
        "{backend_image}"
    );
    assert!(
        !backend_image.ends_with(":latest"),
        "deploy content tags, never latest"
    );

    // --port-forward: the no-change deploy, then the frontend on a local port until Ctrl-C.
    forward_until_interrupted(&server, &sandbox).await;

    // The same again: no build, no write.
    let writes = server.writes();
    let again = run(&sandbox, vec![]).await;
    assert!(again.status.success(), "redeploy: {}", text(&again));
    // Shown with --nocapture: the no-change path's figure (docs/benchmarks.md).
    eprintln!("no-change redeploy:\n{}", text(&again));
    assert!(
        text(&again).contains("release unchanged at revision 1"),
        "{}",
        text(&again)
    );
    assert_eq!(
        server.writes(),
        writes,
        "a no-change redeploy writes nothing: {:?}",
        &server.write_log()[writes..]
    );

    // One image changes: only its Deployment is written.
    let frontend_image = deployment_image(&server, "todo-app-frontend");
    let changed = format!("frontend={}-changed", frontend_image);
    let writes = server.writes();
    let third = run(&sandbox, vec!["--image".into(), changed]).await;
    assert!(third.status.success(), "image change: {}", text(&third));
    let new_writes: Vec<String> = server.write_log()[writes..].to_vec();
    assert!(
        new_writes
            .iter()
            .any(|w| w.contains("deployments/todo-app-frontend")),
        "{new_writes:?}"
    );
    assert!(
        !new_writes
            .iter()
            .any(|w| w.contains("deployments/todo-app-backend")),
        "{new_writes:?}"
    );
    assert_eq!(
        deployment_image(&server, "todo-app-frontend"),
        format!("{frontend_image}-changed")
    );

    // A rollout that never gets ready, with --atomic: rolled back to revision 2's images.
    // The fake kubelet stays idle until the rollback has put the old image back, then
    // makes it ready, as a real cluster would for an image that worked before.
    server.set_auto_ready(false);
    let failing = format!("frontend={frontend_image}-broken");
    let restored = format!("{frontend_image}-changed");
    let fourth = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
            let mut saw_broken = false;
            while std::time::Instant::now() < deadline {
                let image = server
                    .get("apps/v1", "Deployment", Some("todo"), "todo-app-frontend")
                    .and_then(|d| {
                        d["spec"]["template"]["spec"]["containers"][0]["image"]
                            .as_str()
                            .map(str::to_string)
                    });
                saw_broken |= image.as_deref().is_some_and(|i| i.ends_with("-broken"));
                if saw_broken && image.as_deref() == Some(restored.as_str()) {
                    server.set_auto_ready(true);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let args = ["--image", &failing, "--atomic", "--timeout", "3"];
        let out = tokio::task::block_in_place(|| sandbox.deploy_local(&args));
        let _ = watcher.join();
        out
    });
    assert!(
        !fourth.status.success(),
        "a rollout that never gets ready must fail"
    );
    let output = text(&fourth);
    assert!(output.contains("did not become ready"), "{output}");
    assert!(output.contains("rolling back to revision 2"), "{output}");
    assert_eq!(
        deployment_image(&server, "todo-app-frontend"),
        format!("{frontend_image}-changed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind_loads_each_image_once() {
    if !docker_available() {
        return;
    }
    let server = ready_server().await;
    let sandbox = Sandbox::new(&server.kubeconfig("kind-dev"), RUNNING, "unused");
    let calls = sandbox.dir.path().join("kind-calls");
    sandbox.add_program(
        "kind",
        &format!(
            "#!/bin/sh\n# kind stand-in: records its arguments, checks the archive is there.\n\
             echo \"$*\" >> '{}'\ntest \"$1 $2\" = 'load image-archive' && test -s \"$3\"\n",
            calls.display()
        ),
    );
    let deploy = |args: &[&str]| {
        tokio::task::block_in_place(|| {
            sandbox.xtask(
                &[&["deploy-local", "--context", "kind-dev"], args].concat(),
                true,
            )
        })
    };

    let first = deploy(&[]);
    assert!(first.status.success(), "first deploy: {}", text(&first));
    let recorded = std::fs::read_to_string(&calls).unwrap();
    let loads: Vec<&str> = recorded.lines().collect();
    assert_eq!(loads.len(), 2, "one load per image: {recorded}");
    assert!(
        loads.iter().all(|line| line.ends_with("--name dev")),
        "{recorded}"
    );
    assert!(
        text(&first).contains("cargo xtask port-forward"),
        "kind has no node IP to print: {}",
        text(&first)
    );

    // The node now reports both images (containerd's long names): nothing is loaded again.
    let images: Vec<String> = ["todo-app-backend", "todo-app-frontend"]
        .iter()
        .map(|name| format!("docker.io/library/{}", deployment_image(&server, name)))
        .collect();
    server.put(serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "dev-control-plane"},
        "status": {"images": [{"names": images, "sizeBytes": 10_000_000}]}
    }));
    let again = deploy(&[]);
    assert!(again.status.success(), "redeploy: {}", text(&again));
    assert!(
        text(&again).contains("images already on every node"),
        "{}",
        text(&again)
    );
    assert!(
        text(&again).contains("release unchanged at revision 1"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap().lines().count(),
        2,
        "no second load"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_pushes_to_the_registry_and_deploys_from_there() {
    if !docker_available() {
        return;
    }
    let server = ready_server().await;
    let registry = deploykit_fake_registry::FakeRegistry::start_with_credentials("ci", "pw").await;
    let sandbox = Sandbox::new(&server.kubeconfig("prod-eu"), RUNNING, "unused");
    let docker_config = sandbox.dir.path().join("docker");
    std::fs::create_dir(&docker_config).unwrap();
    std::fs::write(
        docker_config.join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "Y2k6cHc="}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let prefix = format!("{}/team", registry.host());
    let out = tokio::task::block_in_place(|| {
        sandbox
            .command(
                &["deploy", "--context", "prod-eu", "--registry", &prefix],
                false,
            )
            .env("DOCKER_CONFIG", &docker_config)
            .output()
            .unwrap()
    });
    assert!(out.status.success(), "deploy: {}", text(&out));
    assert!(text(&out).contains("revision 1 deployed"), "{}", text(&out));
    for (deployment, repository) in [
        ("todo-app-backend", "todo-backend"),
        ("todo-app-frontend", "todo-frontend"),
    ] {
        let image = deployment_image(&server, deployment);
        let tag = image
            .strip_prefix(&format!("{prefix}/{repository}:"))
            .unwrap_or_else(|| panic!("{deployment} runs {image}, not the pushed image"));
        assert_eq!(registry.tags(&format!("team/{repository}")), [tag]);
        // Only the registry's tag goes; the image keeps its local one.
        let _ = Command::new("docker").args(["rmi", &image]).output();
    }
    assert!(
        !text(&out).contains("Y2k6cHc="),
        "credentials never printed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_minikube_is_started_and_the_users_values_apply() {
    if !docker_available() {
        return;
    }
    let server = ready_server().await;
    let sandbox = Sandbox::new(
        &server.kubeconfig("dev"),
        RUNNING,
        "unix:///var/run/docker.sock",
    );
    // A minikube that is stopped until `start` runs, recording how it was called.
    let dir = sandbox.dir.path().display().to_string();
    sandbox.add_program(
        "minikube",
        &format!(
            "#!/bin/sh\necho \"$*\" >> '{dir}/minikube-calls'\n\
             while [ \"$1\" = -p ]; do shift 2; done\n\
             case \"$1\" in\n\
             status) if [ -e '{dir}/started' ]; then echo '{RUNNING}'; else echo '{STOPPED}'; exit 7; fi;;\n\
             start) touch '{dir}/started';;\n\
             docker-env) echo 'export DOCKER_HOST=\"unix:///var/run/docker.sock\"';;\n\
             ip) echo 192.168.49.2;;\n\
             *) exit 64;;\n\
             esac\n"
        ),
    );
    let values = sandbox.dir.path().join("quiet.yaml");
    std::fs::write(&values, "config:\n  logLevel: warn\n").unwrap();
    let values = values.display().to_string();
    let args = [
        "deploy-local",
        "--context",
        "dev",
        "--profile",
        "dev",
        "--driver",
        "docker",
        "-f",
        &values,
        "--set",
        "backend.image.pullPolicy=Always",
    ];
    let out = tokio::task::block_in_place(|| sandbox.xtask(&args, true));
    assert!(out.status.success(), "{}", text(&out));
    let calls = std::fs::read_to_string(sandbox.dir.path().join("minikube-calls")).unwrap();
    assert!(calls.contains("-p dev start --driver=docker"), "{calls}");
    assert!(
        text(&out).contains("backend.image.pullPolicy=Always would make the pods pull"),
        "{}",
        text(&out)
    );
    let backend = server
        .get("apps/v1", "Deployment", Some("todo"), "todo-app-backend")
        .unwrap();
    assert_eq!(
        backend["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(log_levels(&server), ["warn"]);

    // Bad values stop the deploy before anything is written, naming the problem.
    let writes = server.writes();
    std::fs::write(sandbox.dir.path().join("bad.yaml"), "config: [unclosed\n").unwrap();
    let bad_file = sandbox.dir.path().join("bad.yaml").display().to_string();
    for (flags, expected) in [
        (vec!["-f", bad_file.as_str()], "bad.yaml"),
        (
            vec!["--set", "backend.replicaCount=many"],
            "/backend/replicaCount",
        ),
    ] {
        let args = [
            &["deploy-local", "--context", "dev", "--profile", "dev"],
            &flags[..],
        ]
        .concat();
        let out = tokio::task::block_in_place(|| sandbox.xtask(&args, true));
        assert!(!out.status.success(), "{flags:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{flags:?}: {}", text(&out));
        assert_eq!(server.writes(), writes, "{flags:?}: nothing written");
        assert!(
            !text(&out).contains("compiled todo-backend"),
            "{flags:?}: values are checked before building: {}",
            text(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_failures_name_the_problem_and_the_fix() {
    let server = FakeApiServer::start().await;
    let kubeconfig = server.kubeconfig("minikube");

    // minikube missing from PATH.
    let sandbox = Sandbox::new(&kubeconfig, RUNNING, "unix:///var/run/docker.sock");
    let out = tokio::task::block_in_place(|| {
        sandbox.xtask(&["deploy-local", "--context", "minikube"], false)
    });
    assert!(!out.status.success());
    assert!(
        text(&out).contains("minikube is not installed"),
        "{}",
        text(&out)
    );

    // minikube stopped and --no-start.
    let sandbox = Sandbox::new(&kubeconfig, STOPPED, "unix:///var/run/docker.sock");
    let out = run(&sandbox, vec!["--no-start".into()]).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("minikube start -p minikube"),
        "{}",
        text(&out)
    );

    // minikube's Docker unreachable.
    let sandbox = Sandbox::new(&kubeconfig, RUNNING, "unix:///nonexistent/docker.sock");
    let out = run(&sandbox, vec![]).await;
    assert!(!out.status.success());
    assert!(
        text(&out).to_lowercase().contains("docker"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("/nonexistent/docker.sock"),
        "{}",
        text(&out)
    );

    // The cluster unreachable: the error names the context and the server.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let sandbox = Sandbox::new(
        &kubeconfig.replace(&server.url(), &dead_url),
        RUNNING,
        "unix:///var/run/docker.sock",
    );
    let out = run(&sandbox, vec![]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("context `minikube`"), "{}", text(&out));
    assert!(text(&out).contains(&dead_url), "{}", text(&out));

    // A context deploy-local does not know.
    let sandbox = Sandbox::new(
        &server.kubeconfig("prod-eu"),
        RUNNING,
        "unix:///var/run/docker.sock",
    );
    let out = tokio::task::block_in_place(|| {
        sandbox.xtask(&["deploy-local", "--context", "prod-eu"], true)
    });
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cargo xtask deploy --context prod-eu --registry"),
        "{}",
        text(&out)
    );

    // The port-forward port taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:3000");
    if let Ok(_listener) = taken {
        let sandbox = Sandbox::new(&kubeconfig, RUNNING, "unix:///var/run/docker.sock");
        let out = run(&sandbox, vec!["--port-forward".into()]).await;
        assert!(!out.status.success());
        assert!(
            text(&out).contains("127.0.0.1:3000 is in use"),
            "{}",
            text(&out)
        );
    }
}

/// The doctor's row for `name` (`docker  ok  daemon at ...`), whitespace collapsed.
fn doctor_row(output: &str, name: &str) -> String {
    output
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|line| line.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no `{name}` row in:\n{output}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_what_is_found_and_the_fix_for_what_is_not() {
    let server = FakeApiServer::start().await;
    let kubeconfig = server.kubeconfig("minikube");

    // Everything there: minikube running, the context answering.
    let sandbox = Sandbox::new(&kubeconfig, RUNNING, "unused");
    let out =
        tokio::task::block_in_place(|| sandbox.xtask(&["doctor", "--context", "minikube"], true));
    let report = text(&out);
    assert!(
        doctor_row(&report, "minikube").starts_with("minikube ok profile `minikube` running"),
        "{report}"
    );
    assert!(
        doctor_row(&report, "kube context")
            .starts_with(&format!("kube context ok `minikube` at {}", server.url())),
        "{report}"
    );

    // Nothing usable: Docker unreachable, minikube stopped, the cluster down.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let sandbox = Sandbox::new(
        &kubeconfig.replace(&server.url(), &dead_url),
        STOPPED,
        "unused",
    );
    let out = tokio::task::block_in_place(|| {
        sandbox
            .command(&["doctor", "--context", "minikube"], true)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .output()
            .unwrap()
    });
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("checks need attention"), "{report}");
    let docker = doctor_row(&report, "docker");
    assert!(
        docker.starts_with("docker missing") && docker.contains("/nonexistent/docker.sock"),
        "{report}"
    );
    assert!(
        doctor_row(&report, "minikube").contains("minikube start -p minikube"),
        "{report}"
    );
    let context = doctor_row(&report, "kube context");
    assert!(
        context.starts_with("kube context missing")
            && context.contains("`minikube`")
            && context.contains(&dead_url),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_diff_history_rollback_logs_and_undeploy() {
    let server = ready_server().await;
    let sandbox = Sandbox::new(
        &server.kubeconfig("minikube"),
        RUNNING,
        "unix:///var/run/docker.sock",
    );
    let xtask = |args: &[&str]| {
        let out = tokio::task::block_in_place(|| {
            sandbox.xtask(&[args, &["--context", "minikube"]].concat(), true)
        });
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    };
    // Images given: nothing to build, so no Docker is needed.
    let given = [
        "--image",
        "backend=todo-backend:aaaaaaaaaaaa",
        "--image",
        "frontend=todo-frontend:bbbbbbbbbbbb",
    ];
    let first = xtask(&[&["deploy-local"], &given[..]].concat());
    // The chart's test pod (helm.sh/hook: test) ran on the new revision, and its
    // hook-succeeded policy removed it.
    assert!(first.contains("testing revision 1"), "{first}");
    assert!(first.contains("tests passed: 1 of 1"), "{first}");
    assert!(
        server
            .get("v1", "Pod", Some("todo"), "todo-app-test-connection")
            .is_none()
    );

    let status = xtask(&["status"]);
    assert!(
        status.contains("release todo-app in todo: revision 1, deployed"),
        "{status}"
    );
    assert!(
        status.contains("Deployment/todo-app-backend") && status.contains(": ready"),
        "{status}"
    );

    let unchanged = xtask(&["diff", "--local", "--exit-code"]);
    assert!(unchanged.contains("no changes"), "{unchanged}");
    let quiet = ["--set", "config.logLevel=warn"];
    let preview = xtask(&[&["diff", "--local"], &quiet[..]].concat());
    assert!(preview.contains("update ConfigMap/"), "{preview}");
    assert!(preview.contains(r#""debug" -> "warn""#), "{preview}");
    assert!(!preview.contains("create"), "{preview}");
    assert!(
        !preview.contains("without a server-side dry run"),
        "{preview}"
    );
    // --exit-code: 2 when something would change, for CI; nothing written.
    let writes = server.writes();
    let diff_code = |extra: &[&str]| {
        let args = [&["diff", "--local", "--context", "minikube"], extra].concat();
        let out = tokio::task::block_in_place(|| sandbox.xtask(&args, true));
        (out.status.code(), text(&out))
    };
    let (code, output) = diff_code(&[&quiet[..], &["--exit-code"]].concat());
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("update ConfigMap/"), "{output}");
    // A server that refuses dry runs: compared on the client, with a line saying so.
    server.set_refuse_dry_run(true);
    let (code, output) = diff_code(&[&quiet[..], &["--exit-code"]].concat());
    server.set_refuse_dry_run(false);
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("compared without a server-side dry run")
            && output.contains("does not support dry run"),
        "{output}"
    );
    assert!(output.contains(r#""debug" -> "warn""#), "{output}");
    // Bad values are an error: 1, not 2.
    let (code, output) = diff_code(&["--set", "backend.replicaCount=many", "--exit-code"]);
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(server.writes(), writes, "diff writes nothing");

    xtask(&[&["deploy-local"], &given[..], &quiet[..]].concat());
    let history = xtask(&["history"]);
    let rows: Vec<Vec<&str>> = history
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{history}");
    assert_eq!((rows[0][0], rows[0][2]), ("1", "superseded"), "{history}");
    assert_eq!((rows[1][0], rows[1][2]), ("2", "deployed"), "{history}");

    let rolled = xtask(&["rollback", "1"]);
    assert!(
        rolled.contains("rolled back: revision 3 is deployed"),
        "{rolled}"
    );
    assert_eq!(log_levels(&server), ["debug"]);

    ready_pod_of(&server, "todo-app-backend", "todo-app-backend-1");
    server.set_pod_log(
        "todo",
        "todo-app-backend-1",
        "backend",
        false,
        "listening on 0.0.0.0:8000",
    );
    let logs = xtask(&["logs", "backend"]);
    assert!(
        logs.contains("todo-app-backend-1/backend listening on 0.0.0.0:8000"),
        "{logs}"
    );

    let removed = xtask(&["undeploy"]);
    assert!(removed.contains("release todo-app removed"), "{removed}");
    assert!(
        server
            .names("apps/v1", "Deployment", Some("todo"))
            .is_empty()
    );
    let out =
        tokio::task::block_in_place(|| sandbox.xtask(&["history", "--context", "minikube"], true));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("has no revisions in namespace `todo`"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_chart_test_fails_the_deploy_with_its_logs() {
    let server = ready_server().await;
    let sandbox = Sandbox::new(
        &server.kubeconfig("minikube"),
        RUNNING,
        "unix:///var/run/docker.sock",
    );
    let deploy = |extra: &[&str]| {
        let given = [
            "deploy-local",
            "--context",
            "minikube",
            "--image",
            "backend=todo-backend:aaaaaaaaaaaa",
            "--image",
            "frontend=todo-frontend:bbbbbbbbbbbb",
        ];
        tokio::task::block_in_place(|| sandbox.xtask(&[&given[..], extra].concat(), true))
    };
    let test_pod = "todo-app-test-connection";
    server.fail_hook(test_pod);
    server.set_pod_log(
        "todo",
        test_pod,
        "frontend",
        false,
        "GET http://todo-frontend:3000/readyz: connection refused",
    );

    let out = deploy(&[]);
    let output = text(&out);
    assert!(!out.status.success(), "{output}");
    assert!(output.contains("revision 1 deployed"), "{output}");
    assert!(
        output.contains(&format!("test Pod/{test_pod}: Failed")),
        "{output}"
    );
    assert!(
        output.contains("frontend: GET http://todo-frontend:3000/readyz: connection refused"),
        "the failed test's logs: {output}"
    );
    assert!(
        output.contains("the release stays deployed") && output.contains("--skip-tests"),
        "{output}"
    );

    // --skip-tests deploys a change without running them.
    let out = deploy(&["--skip-tests", "--set", "config.logLevel=warn"]);
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    assert!(output.contains("revision 2 deployed"), "{output}");
    assert!(!output.contains("testing revision"), "{output}");

    // Nothing changed: no test runs (and nothing is written).
    let writes = server.writes();
    let out = deploy(&["--set", "config.logLevel=warn"]);
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    assert!(
        output.contains("release unchanged at revision 2"),
        "{output}"
    );
    assert!(!output.contains("testing revision"), "{output}");
    assert_eq!(
        server.writes(),
        writes,
        "{:?}",
        &server.write_log()[writes..]
    );
}
