//! The terminal side of a deploy: one spinner per workload, a line per change.

use std::collections::BTreeMap;
use std::time::Duration;

use deploykit_cluster::{Change, Progress, Readiness};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Turns the cluster crate's [`Progress`] events into lines and spinners.
pub struct DeployDisplay {
    bars: MultiProgress,
    workloads: BTreeMap<String, ProgressBar>,
}

impl DeployDisplay {
    /// A display on standard error.
    pub fn new() -> DeployDisplay {
        DeployDisplay {
            bars: MultiProgress::new(),
            workloads: BTreeMap::new(),
        }
    }

    /// Shows one event.
    pub fn show(&mut self, event: &Progress) {
        match event {
            Progress::WaitingForLock { holder, expires } => {
                self.line(format!(
                    "waiting: {holder} is deploying this release (its lease ends {expires})"
                ));
            }
            Progress::TookOver {
                revision,
                status,
                holder,
            } => {
                let who = holder.as_deref().unwrap_or("a client that stopped");
                self.line(format!(
                    "revision {revision} was left {status} by {who}; marked failed, going on"
                ));
            }
            Progress::UpToDate { revision } => {
                self.line(format!(
                    "release up to date at revision {revision}: nothing written"
                ));
            }
            Progress::Started { revision, status } => {
                self.line(format!("revision {revision}: {status}"));
            }
            Progress::Applied { object, change } => match change {
                Change::Unchanged => {}
                change => self.line(format!("  {object} {}", change_word(change))),
            },
            Progress::Deleted { object } => self.line(format!("  {object} deleted")),
            Progress::Kept { object } => {
                self.line(format!("  {object} kept (helm.sh/resource-policy: keep)"));
            }
            Progress::Workload {
                object,
                readiness,
                detail,
            } => {
                let key = object.to_string();
                if self.bars.is_hidden() {
                    // No terminal: one line per verdict, none per poll.
                    match readiness {
                        Readiness::Ready => self.line(format!("  {key} ready ({detail})")),
                        Readiness::Failed => self.line(format!("  {key} failed: {detail}")),
                        Readiness::Waiting => {}
                    }
                    return;
                }
                let bar = self.workloads.entry(key.clone()).or_insert_with(|| {
                    let bar = self.bars.add(ProgressBar::new_spinner());
                    bar.set_style(spinner_style());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                match readiness {
                    Readiness::Ready => bar.finish_with_message(format!("{key} ready ({detail})")),
                    Readiness::Failed => {
                        bar.abandon_with_message(format!("{key} failed: {detail}"))
                    }
                    Readiness::Waiting => bar.set_message(format!("{key}: {detail}")),
                }
            }
            Progress::RollingBack { to } if *to == 0 => {
                self.line("the first install failed: removing what it created (--atomic)".into());
            }
            Progress::RollingBack { to } => {
                self.line(format!("rolling back to revision {to} (--atomic)"));
            }
            // Hooks and events newer than this display: the crate's own wording.
            other => self.line(format!("  {other}")),
        }
    }

    /// Stops every spinner still turning.
    pub fn finish(&mut self) {
        for bar in self.workloads.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }

    fn line(&self, text: String) {
        // On a terminal, printing through MultiProgress keeps the spinners below the lines;
        // elsewhere (CI logs, pipes) the bars are hidden and print nothing, so print plainly.
        if self.bars.is_hidden() || self.bars.println(&text).is_err() {
            eprintln!("{text}");
        }
    }
}

fn change_word(change: &Change) -> &'static str {
    match change {
        Change::Created => "created",
        Change::Configured => "configured",
        Change::Unchanged => "unchanged",
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}
