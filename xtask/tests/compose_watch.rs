//! `cargo xtask compose-up --watch` driven for real on a temporary copy of the project
//! (`--project-dir`), against Docker, once with each compose installed (v2 and v1, one
//! after the other, chosen by `DEPLOYKIT_COMPOSE`): which containers were restarted or
//! recreated is read from their ids and Docker's start times (a restart in place keeps
//! both). No `latest` tag may end up naming an
//! image of the session.
//!
//! The run has its own compose project, container names, `.env` and ports on 127.0.0.1,
//! and removes its containers, volume and the images it made. The copy builds into
//! `target/watch-e2e` (see `common`): the first run compiles the services' dependencies
//! there once (the `watch` profile, statically), which takes minutes.
#![cfg(target_os = "linux")]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{
    BROKEN_RESPONSE, COMMENTED_RESPONSE, CYCLE, EDITED_RESPONSE, FIRST_BUILD, HANDLER_FILE,
    ORIGINAL_RESPONSE, ProjectCopy, Running, TestImages, append, docker, free_port, image_id,
    installed_composes, status_at,
};

/// The second edit of the handler's response string.
const SECOND_RESPONSE: &str = r#"status: "ready, edited twice".into(),"#;

/// Docker answers and some compose is installed.
fn docker_and_compose() -> Result<(), String> {
    let ok = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if !ok("docker", &["info"]) {
        return Err("`docker info` fails: no daemon".into());
    }
    if !ok("docker", &["compose", "version"]) && !ok("docker-compose", &["version"]) {
        return Err("neither `docker compose` nor `docker-compose` is installed".into());
    }
    Ok(())
}

/// The test's compose app: its names, ports and `.env`; removed when the test ends.
struct App {
    /// The compose the run uses (`DEPLOYKIT_COMPOSE`).
    compose: &'static str,
    copy: ProjectCopy,
    _env_dir: tempfile::TempDir,
    env_file: PathBuf,
    project: String,
    backend: String,
    frontend: String,
    backend_port: u16,
    frontend_port: u16,
    /// Every image the containers ran during the test, removed at its end.
    images: TestImages,
}

impl App {
    fn new(compose: &'static str) -> Self {
        let id = std::process::id();
        let env_dir = tempfile::tempdir().expect("a temporary folder");
        Self {
            compose,
            copy: ProjectCopy::new(),
            env_file: env_dir.path().join(".env"),
            _env_dir: env_dir,
            project: format!("deploykit-watch-{id}"),
            backend: format!("deploykit-watch-backend-{id}"),
            frontend: format!("deploykit-watch-frontend-{id}"),
            backend_port: free_port(),
            frontend_port: free_port(),
            images: TestImages::new(),
        }
    }

    /// `cargo xtask <args>` on the copy with the test's names, ports and `.env`.
    fn xtask(&self, args: &[&str]) -> Command {
        let mut command = self.copy.xtask(args);
        command
            .env("DEPLOYKIT_COMPOSE", self.compose)
            .env("TODO_ENV_FILE", &self.env_file)
            .env("COMPOSE_PROJECT_NAME", &self.project)
            .env("TODO_BACKEND_CONTAINER", &self.backend)
            .env("TODO_FRONTEND_CONTAINER", &self.frontend)
            .env("TODO_BACKEND_PORT", self.backend_port.to_string())
            .env("TODO_FRONTEND_PORT", self.frontend_port.to_string());
        command
    }

    /// The ids of the backend's and the frontend's containers (and notes their images).
    fn ids(&mut self) -> (String, String) {
        let id = |name: &str| docker(&["inspect", "-f", "{{.Id}}", name]);
        for container in [&self.backend, &self.frontend] {
            self.images
                .images
                .insert(docker(&["inspect", "-f", "{{.Config.Image}}", container]));
        }
        (id(&self.backend), id(&self.frontend))
    }

    /// When each container was last started (a restart keeps the id, not this).
    fn started(&self) -> (String, String) {
        let started = |name: &str| docker(&["inspect", "-f", "{{.State.StartedAt}}", name]);
        (started(&self.backend), started(&self.frontend))
    }

    /// The running containers of the compose project, by their compose labels (what
    /// `compose ps` lists), sorted.
    fn project_containers(&self) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let mut names: Vec<String> = docker(&["ps", "--filter", &filter, "--format", "{{.Names}}"])
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }

    /// The rest of a cycle that restarted the backend with its new binary: the image line
    /// (its image noted for removal) and the line after it.
    fn image_then_next(&mut self, watch: &Running) -> (String, String) {
        let image = watch.line_starting("    backend image: ", CYCLE);
        let reference = image["    backend image: ".len()..]
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        self.images.images.insert(reference.clone());
        (reference, watch.line_starting("    ", CYCLE))
    }

    fn image_of_backend(&self) -> String {
        docker(&["inspect", "-f", "{{.Config.Image}}", &self.backend])
    }

    fn readyz(&self) -> String {
        status_at(&format!("http://127.0.0.1:{}/readyz", self.backend_port))
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // The containers go first: an image a container uses cannot be removed.
        let _ = self.xtask(&["compose-down", "--volumes"]).output();
    }
}

#[test]
fn compose_watch_recreates_only_what_a_change_affects() {
    if !deploykit_testkit::require("Docker", docker_and_compose()) {
        return;
    }
    // One compose after the other: both copies would build into the same folder.
    for compose in installed_composes() {
        eprintln!("==> with {compose}");
        recreates_only_what_a_change_affects(compose);
    }
}

fn recreates_only_what_a_change_affects(compose: &'static str) {
    let mut app = App::new(compose);
    let mut watch = Running::start(app.xtask(&["compose-up", "--watch"]));
    watch.line_starting("watching backend/, frontend/ and ", FIRST_BUILD);
    assert_eq!(app.readyz(), "ready");
    let (backend, frontend) = app.ids();
    let first_image = app.image_of_backend();

    let containers = app.project_containers();
    assert_eq!(containers.len(), 2, "{containers:?}");
    let (backend_started, frontend_started) = app.started();

    // A changed response string: the new binary is copied into the backend's container,
    // where the service restarts in place (SIGHUP: same container, and Docker's start time
    // unchanged: Docker did not restart it) and serves it; the frontend is left alone; the
    // image holding the new binary is packaged for the next `compose up`.
    app.copy
        .edit(HANDLER_FILE, ORIGINAL_RESPONSE, EDITED_RESPONSE);
    let header = watch.line_starting("[1] ", CYCLE);
    let line = watch.line_starting("    backend: ", CYCLE);
    assert_eq!(header, format!("[1] changed: {HANDLER_FILE}"));
    assert!(
        line.contains("rebuilt") && line.contains("restarted in place with the new binary"),
        "{line}\n{}",
        watch.transcript()
    );
    let (edited_image, untouched) = app.image_then_next(&watch);
    assert_eq!(untouched, "    not affected: frontend");
    assert_eq!(app.readyz(), "ready, edited while watched");
    assert_eq!(app.ids(), (backend.clone(), frontend.clone()));
    let (restarted_at, same_frontend_start) = app.started();
    assert_eq!(
        restarted_at, backend_started,
        "the backend restarted in place: Docker did not restart its container"
    );
    assert_eq!(
        same_frontend_start, frontend_started,
        "the frontend was not"
    );
    assert!(
        !image_id(&edited_image).is_empty(),
        "{edited_image} is loaded"
    );
    assert_ne!(edited_image, first_image);
    // Compose still sees its project as it was: the same two containers, running.
    assert_eq!(app.project_containers(), containers);

    // A comment: rebuilt, the same binary, nothing restarted.
    app.copy
        .edit(HANDLER_FILE, EDITED_RESPONSE, COMMENTED_RESPONSE);
    let (header, line, _) = watch.backend_cycle(2);
    assert_eq!(header, format!("[2] changed: {HANDLER_FILE}"));
    assert!(
        line.contains("binary unchanged: nothing restarted"),
        "{line}\n{}",
        watch.transcript()
    );
    assert_eq!(app.ids(), (backend.clone(), frontend.clone()));
    assert_eq!(app.started(), (restarted_at, frontend_started.clone()));
    let edited_backend = backend.clone();

    // .env: the backend reads it (env_file), the frontend does not.
    append(&app.env_file, "TODO_WATCH_TEST=1\n");
    let (header, line, untouched) = watch.backend_cycle(3);
    assert!(
        header.ends_with(&app.env_file.display().to_string()),
        "{header}"
    );
    assert!(line.contains("recreated for .env"), "{line}");
    assert_eq!(untouched, "    not affected: frontend");
    let (env_backend, same_frontend) = app.ids();
    assert_ne!(env_backend, edited_backend);
    assert_eq!(same_frontend, frontend);

    // Compose recreated the backend from the image of the first edit (it holds what the
    // container ran), and the frontend from nothing: it was not recreated.
    assert_eq!(app.image_of_backend(), edited_image);
    assert_eq!(app.started().1, frontend_started);

    // A second response string: restarted in place again; the first image, now older than
    // the previous one and no container's any more, is removed.
    let env_backend_started = app.started().0;
    app.copy
        .edit(HANDLER_FILE, COMMENTED_RESPONSE, SECOND_RESPONSE);
    let header = watch.line_starting("[4] ", CYCLE);
    let line = watch.line_starting("    backend: ", CYCLE);
    assert_eq!(header, format!("[4] changed: {HANDLER_FILE}"));
    assert!(
        line.contains("restarted in place with the new binary"),
        "{line}\n{}",
        watch.transcript()
    );
    let (_, untouched) = app.image_then_next(&watch);
    assert_eq!(untouched, "    not affected: frontend");
    let removed = watch.line_starting("    removed superseded image ", CYCLE);
    assert!(removed.contains(&first_image), "{removed}");
    assert_eq!(app.readyz(), "ready, edited twice");
    let (second_backend, same_frontend) = app.ids();
    assert_eq!(second_backend, env_backend, "restarted, not recreated");
    assert_eq!(same_frontend, frontend);
    assert_eq!(
        app.started().0,
        env_backend_started,
        "not restarted by Docker"
    );
    let exists = |image: &str| !image_id(image).is_empty();
    assert!(!exists(&first_image), "{first_image} is still there");
    assert!(
        exists(&edited_image),
        "the previous image {edited_image} is kept"
    );

    // A compile error: shown, nothing recreated, the last good version answers.
    app.copy
        .edit(HANDLER_FILE, SECOND_RESPONSE, BROKEN_RESPONSE);
    let (header, line) = (
        watch.line_starting("[5] ", CYCLE),
        watch.line_starting("    backend: ", CYCLE),
    );
    assert_eq!(header, format!("[5] changed: {HANDLER_FILE}"));
    assert!(
        line.contains("not rebuilt") && line.contains("the running version stays up"),
        "{line}"
    );
    watch.printed_eventually("! error");
    assert_eq!(app.ids(), (second_backend.clone(), frontend.clone()));
    assert_eq!(app.readyz(), "ready, edited twice");

    // Ctrl-C (SIGTERM): the loop ends, the last good version keeps running.
    let status = watch.stop();
    assert!(status.success(), "{status}\n{}", watch.transcript());
    watch.line_starting("stopped watching", CYCLE);
    eprintln!("{}", watch.transcript());
    assert_eq!(app.ids(), (second_backend, frontend));
    assert_eq!(app.readyz(), "ready, edited twice");

    // `latest` names release builds only: no image of the session took it.
    assert_eq!(app.images.latest_naming_ours(), Vec::<String>::new());
}
