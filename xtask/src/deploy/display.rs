//! The terminal side of a deploy: the crates' own wording of each event (their `Display`),
//! one spinner per workload on a terminal.

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
            // An object already as desired is no news.
            Progress::Applied {
                change: Change::Unchanged,
                ..
            } => {}
            Progress::Workload {
                object, readiness, ..
            } => self.workload(object.to_string(), *readiness, event),
            other => self.line(format!("  {other}")),
        }
    }

    /// A workload's readiness: a spinner on a terminal; elsewhere one line per verdict,
    /// none per poll.
    fn workload(&mut self, key: String, readiness: Readiness, event: &Progress) {
        if self.bars.is_hidden() {
            if readiness != Readiness::Waiting {
                self.line(format!("  {event}"));
            }
            return;
        }
        let bar = self.workloads.entry(key).or_insert_with(|| {
            let bar = self.bars.add(ProgressBar::new_spinner());
            bar.set_style(spinner_style());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        match readiness {
            Readiness::Ready => bar.finish_with_message(event.to_string()),
            Readiness::Failed => bar.abandon_with_message(event.to_string()),
            Readiness::Waiting => bar.set_message(event.to_string()),
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

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}
