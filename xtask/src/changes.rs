//! Which saved files matter to the watch loops, and to which service: a debounced file
//! watcher over the services' folders (and the chart, values and `.env` files the loop
//! applies), the filter that drops build output and what `.gitignore` ignores, and the
//! [`Batch`] a burst of saves makes. `dev --watch`, `compose-up --watch` and
//! `deploy-local --watch` share it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use ignore::gitignore::Gitignore;
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::project::{self, Service};

/// How long the tree must stay quiet before a cycle starts: an editor's save (a temporary
/// file, then a rename) and a formatter touching several files come as one batch.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(300);

/// How many changed paths a cycle's block names before it says "and N more".
const SHOWN_PATHS: usize = 5;

/// A debounced watcher whose batches arrive on a tokio channel.
pub(crate) type Watcher = Debouncer<RecommendedWatcher, RecommendedCache>;

/// Starts watching each service's folder under `root` and each of `folders` (recursively),
/// and each of `files` (through its folder); batches of events arrive on the returned
/// channel.
pub(crate) fn watch(
    root: &Path,
    folders: &[PathBuf],
    files: &[PathBuf],
) -> anyhow::Result<(
    Watcher,
    tokio::sync::mpsc::UnboundedReceiver<DebounceEventResult>,
)> {
    let (events_tx, events) = tokio::sync::mpsc::unbounded_channel();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        // The receiver only goes away when the loop ends.
        let _ = events_tx.send(result);
    })
    .context("cannot start the file watcher")?;
    let mut recursive: Vec<PathBuf> = project::SERVICES
        .iter()
        .flat_map(|service| std::iter::once(service.source).chain(service.shared.iter().copied()))
        .map(|folder| root.join(folder))
        .chain(folders.iter().cloned())
        .collect();
    recursive.dedup();
    // A file is watched through its folder: editors replace a file by renaming another
    // over it, which a watch on the file itself would lose. A folder already watched (or
    // under one) is not watched again: a second watch would replace the first.
    let mut parents: Vec<PathBuf> = files
        .iter()
        .filter_map(|file| file.parent())
        .filter(|parent| !recursive.iter().any(|folder| parent.starts_with(folder)))
        .map(Path::to_path_buf)
        .collect();
    parents.sort();
    parents.dedup();
    let watches = recursive
        .into_iter()
        .map(|folder| (folder, RecursiveMode::Recursive))
        .chain(
            parents
                .into_iter()
                .map(|folder| (folder, RecursiveMode::NonRecursive)),
        );
    for (folder, mode) in watches {
        debouncer.watch(&folder, mode).with_context(|| {
            format!(
                "cannot watch {}: on Linux, raise fs.inotify.max_user_watches if the limit is reached",
                folder.display()
            )
        })?;
    }
    Ok((debouncer, events))
}

/// The paths of a debounced batch whose content may have changed (reads are left out).
pub(crate) fn changed_paths(result: DebounceEventResult) -> Vec<PathBuf> {
    match result {
        Ok(events) => events
            .into_iter()
            .filter(|event| !event.kind.is_access())
            .flat_map(|event| event.event.paths)
            .collect(),
        Err(errors) => {
            for error in errors {
                eprintln!("warning: file watcher: {error}");
            }
            Vec::new()
        }
    }
}

/// One service a batch of changes touches, with its changed files (relative to the root).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Affected {
    /// The service to rebuild.
    pub service: &'static Service,
    /// Its changed files, sorted, without repeats.
    pub paths: Vec<String>,
}

/// Decides which changed files matter, and to which service.
pub(crate) struct ChangeFilter {
    root: PathBuf,
    /// The workspace's `.gitignore`, then each service folder's, when they exist.
    gitignores: Vec<Gitignore>,
}

impl ChangeFilter {
    /// Reads the `.gitignore` files of the workspace and of each service folder.
    pub(crate) fn new(root: &Path) -> anyhow::Result<Self> {
        let folders = std::iter::once(root.to_path_buf()).chain(
            project::SERVICES
                .iter()
                .map(|service| root.join(service.source)),
        );
        let mut gitignores = Vec::new();
        for folder in folders {
            let file = folder.join(".gitignore");
            if !file.is_file() {
                continue;
            }
            let (gitignore, error) = Gitignore::new(&file);
            if let Some(error) = error {
                anyhow::bail!("cannot read {}: {error}", file.display());
            }
            gitignores.push(gitignore);
        }
        Ok(Self {
            root: root.to_path_buf(),
            gitignores,
        })
    }

    /// The services whose source `path` (absolute) belongs to: the one whose folder holds
    /// it, or every service built from the shared crate that holds it; none for a path
    /// outside them, under a `target` folder, or ignored by a `.gitignore`.
    pub(crate) fn services_of(&self, path: &Path) -> Vec<&'static Service> {
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return Vec::new();
        };
        let in_target = relative
            .components()
            .any(|component| component.as_os_str() == "target");
        if in_target || self.is_ignored(path) {
            return Vec::new();
        }
        project::SERVICES
            .iter()
            .filter(|service| {
                std::iter::once(service.source)
                    .chain(service.shared.iter().copied())
                    .any(|folder| relative.starts_with(folder))
            })
            .collect()
    }

    /// Whether a `.gitignore` ignores `path` (absolute).
    fn is_ignored(&self, path: &Path) -> bool {
        self.gitignores.iter().any(|gitignore| {
            // A deleted path cannot say whether it was a folder: as a file, a rule for
            // folders still matches through its parents.
            path.starts_with(gitignore.path())
                && gitignore
                    .matched_path_or_any_parents(path, path.is_dir())
                    .is_ignore()
        })
    }

    /// The paths of `paths` that are, or lie under, one of `config` (the chart folder,
    /// values files), relative to the root when under it; sorted, without repeats or what
    /// a `.gitignore` ignores (an editor's swap file).
    fn config_paths(&self, paths: &[PathBuf], config: &[PathBuf]) -> Vec<String> {
        let mut changed: Vec<String> = paths
            .iter()
            .filter(|path| config.iter().any(|watched| path.starts_with(watched)))
            .filter(|path| !self.is_ignored(path))
            .map(|path| {
                let shown = path.strip_prefix(&self.root).unwrap_or(path);
                shown.display().to_string()
            })
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    /// The services `paths` touch, in start order, each with its changed files.
    pub(crate) fn affected(&self, paths: impl IntoIterator<Item = PathBuf>) -> Vec<Affected> {
        let mut by_service: HashMap<&'static str, Vec<String>> = HashMap::new();
        for path in paths {
            for service in self.services_of(&path) {
                let relative = path.strip_prefix(&self.root).unwrap_or(&path);
                by_service
                    .entry(service.name)
                    .or_default()
                    .push(relative.display().to_string());
            }
        }
        project::SERVICES
            .iter()
            .filter_map(|service| {
                let mut paths = by_service.remove(service.name)?;
                paths.sort();
                paths.dedup();
                Some(Affected { service, paths })
            })
            .collect()
    }
}

/// What one debounced batch of events changed, for a watch loop to act on.
pub(crate) struct Batch {
    /// The services whose source changed, with their files.
    pub affected: Vec<Affected>,
    /// Changed chart and values files (relative to the root when under it).
    pub config: Vec<String>,
    /// Whether the `.env` file changed.
    pub env_changed: bool,
}

impl Batch {
    /// Sorts the paths of `result`: each service's source, the files under `config` (the
    /// chart folder and values files; empty for loops that apply no chart) and `env_file`.
    pub(crate) fn of(
        filter: &ChangeFilter,
        env_file: &Path,
        config: &[PathBuf],
        result: DebounceEventResult,
    ) -> Self {
        let paths: Vec<PathBuf> = changed_paths(result);
        let env_changed = paths.iter().any(|path| path == env_file);
        Self {
            config: filter.config_paths(&paths, config),
            affected: filter.affected(paths),
            env_changed,
        }
    }

    /// Whether nothing the loop watches changed.
    pub(crate) fn is_empty(&self) -> bool {
        self.affected.is_empty() && self.config.is_empty() && !self.env_changed
    }

    /// The block's first line: `changed: backend/src/api.rs, .env`.
    pub(crate) fn header(&self, env_file: &Path) -> String {
        let mut changed: Vec<String> = Vec::new();
        let sources = describe_paths(&self.affected);
        if !sources.is_empty() {
            changed.push(sources);
        }
        changed.extend(self.config.iter().cloned());
        if self.env_changed {
            changed.push(env_file.display().to_string());
        }
        format!("changed: {}", changed.join(", "))
    }
}

/// The changed files of a cycle, for its block's first line.
pub(crate) fn describe_paths(affected: &[Affected]) -> String {
    let paths: Vec<&str> = affected
        .iter()
        .flat_map(|item| item.paths.iter().map(String::as_str))
        .collect();
    let mut shown = paths
        .iter()
        .take(SHOWN_PATHS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN_PATHS {
        shown.push_str(&format!(" and {} more", paths.len() - SHOWN_PATHS));
    }
    shown
}

pub(crate) fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> (ChangeFilter, PathBuf) {
        let root = project::root();
        (
            ChangeFilter::new(&root).expect("the workspace's .gitignore reads"),
            root,
        )
    }

    #[test]
    fn each_changed_path_rebuilds_only_its_service() {
        let (filter, root) = filter();
        let both: &[&str] = &["backend", "frontend"];
        let table: &[(&str, &[&str])] = &[
            ("backend/src/main.rs", &["backend"]),
            ("backend/migrations/sqlite/0001_init.sql", &["backend"]),
            ("backend/Cargo.toml", &["backend"]),
            ("frontend/src/views.rs", &["frontend"]),
            ("frontend/assets/app.js", &["frontend"]),
            // a workspace crate both services are built from
            ("crates/reexec/src/lib.rs", both),
            // build output, wherever it is
            ("target/debug/todo-backend", &[]),
            ("backend/target/debug/build/x", &[]),
            ("crates/reexec/target/x", &[]),
            // ignored by the workspace's .gitignore
            ("backend/data/todo.db", &[]),
            ("frontend/todo.db-journal", &[]),
            ("backend/.env", &[]),
            // outside every service's sources
            ("charts/todo-app/values.yaml", &[]),
            ("crates/chart/src/lib.rs", &[]),
            ("README.md", &[]),
            (".env", &[]),
            ("backendish/src/main.rs", &[]),
        ];
        for (path, expected) in table {
            let services: Vec<&str> = filter
                .services_of(&root.join(path))
                .iter()
                .map(|service| service.name)
                .collect();
            assert_eq!(services, *expected, "{path}");
        }
        assert!(
            filter
                .services_of(Path::new("/elsewhere/backend/src/main.rs"))
                .is_empty()
        );
    }

    #[test]
    fn a_batch_groups_its_files_by_service_in_start_order() {
        let (filter, root) = filter();
        let batch = [
            "frontend/src/views.rs",
            "target/debug/todo-frontend",
            "backend/src/routes.rs",
            "frontend/src/views.rs",
            "backend/src/main.rs",
        ]
        .map(|path| root.join(path));
        let affected = filter.affected(batch);
        let summary: Vec<(&str, Vec<&str>)> = affected
            .iter()
            .map(|item| {
                (
                    item.service.name,
                    item.paths.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "backend",
                    vec!["backend/src/main.rs", "backend/src/routes.rs"]
                ),
                ("frontend", vec!["frontend/src/views.rs"]),
            ]
        );
        assert!(
            filter
                .affected([root.join("target/x"), root.join("docs/a.md")])
                .is_empty()
        );
    }

    #[test]
    fn a_service_folders_own_gitignore_is_honoured() {
        let root = tempfile::tempdir().expect("temporary folder");
        std::fs::create_dir_all(root.path().join("frontend/src")).expect("folders");
        std::fs::write(root.path().join(".gitignore"), "*.db\n").expect(".gitignore");
        std::fs::write(
            root.path().join("frontend/.gitignore"),
            "/generated/\n*.tmp\n",
        )
        .expect("frontend/.gitignore");
        let filter = ChangeFilter::new(root.path()).expect("filter");
        let service_of = |path: &str| {
            filter
                .services_of(&root.path().join(path))
                .first()
                .map(|service| service.name)
        };
        assert_eq!(service_of("frontend/src/main.rs"), Some("frontend"));
        assert_eq!(service_of("frontend/src/x.tmp"), None);
        assert_eq!(service_of("frontend/generated/a.css"), None);
        assert_eq!(service_of("backend/x.db"), None);
        assert_eq!(service_of("backend/x.tmp"), Some("backend"));
    }

    #[test]
    fn chart_and_values_changes_are_told_apart_from_sources() {
        let (filter, root) = filter();
        let config = [
            root.join("charts/todo-app"),
            PathBuf::from("/elsewhere/mine.yaml"),
        ];
        let paths: Vec<PathBuf> = [
            "charts/todo-app/values-minikube.yaml",
            "charts/todo-app/templates/configmap.yaml",
            "charts/todo-app/values-minikube.yaml",
            "charts/todo-app/todo.db",
            "charts/other/values.yaml",
            "backend/src/api.rs",
        ]
        .iter()
        .map(|path| root.join(path))
        .chain([PathBuf::from("/elsewhere/mine.yaml")])
        .collect();
        assert_eq!(
            filter.config_paths(&paths, &config),
            [
                "/elsewhere/mine.yaml",
                "charts/todo-app/templates/configmap.yaml",
                "charts/todo-app/values-minikube.yaml",
            ],
            "sorted, once each, ignored files left out"
        );
        assert!(filter.config_paths(&paths, &[]).is_empty());
    }

    #[test]
    fn a_block_names_a_few_paths_then_counts_the_rest() {
        let service = project::service("backend").expect("backend");
        let paths: Vec<String> = (1..=7).map(|n| format!("backend/src/f{n}.rs")).collect();
        let line = describe_paths(&[Affected { service, paths }]);
        assert!(line.ends_with("backend/src/f5.rs and 2 more"), "{line}");
    }
}
