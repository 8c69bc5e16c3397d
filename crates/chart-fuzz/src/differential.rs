//! The differential tester: each generated case rendered by Helm's engine and by
//! deploykit-chart; outputs must be identical, and a case one refuses the other must
//! refuse too (messages are compared loosely: only counted when they differ). A
//! difference is reduced to a minimal case before it is reported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deploykit_chart::{Chart, Map, ReleaseOptions, render_owned};

use crate::error::FuzzError;
use crate::generate::{Case, Shapes};
use crate::oracle::{HelmAnswer, HelmEngine};
use crate::panics::{Guarded, guarded};
use crate::reduce::reduce_case;

/// How long deploykit-chart may take on one case before it is reported as hung.
const OUR_LIMIT: Duration = Duration::from_secs(30);

/// What deploykit-chart made of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ours {
    /// Rendered: template path → text.
    Rendered(BTreeMap<String, String>),
    /// Refused, with our message.
    Refused(String),
    /// Panicked (message and place).
    Panicked(String),
    /// Did not finish within 30 s.
    Hung,
}

/// How the two engines disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DifferenceKind {
    /// Both rendered, with different output.
    Output,
    /// Helm refused, we rendered.
    OnlyHelmRefused,
    /// We refused, Helm rendered.
    OnlyWeRefused,
    /// We panicked.
    Panic,
    /// We did not finish.
    Hang,
}

/// A case on which the engines disagree, as both answered.
#[derive(Debug, Clone)]
pub struct Difference {
    /// How they disagree.
    pub kind: DifferenceKind,
    /// Helm's answer.
    pub helm: HelmAnswer,
    /// Ours.
    pub ours: Ours,
}

/// How a case went.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Both rendered the same text.
    Same,
    /// Both refused; whether the messages are the same.
    BothRefused {
        /// Whether our message is Helm's word for word.
        same_message: bool,
    },
    /// They disagree.
    Differs(Difference),
}

/// One difference found: the generated case, and the minimal one.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The seed that generates the case (`--seed SEED --cases 1` reproduces it).
    pub seed: u64,
    /// The reduced case.
    pub reduced: Case,
    /// The engines' answers on the reduced case.
    pub difference: Difference,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {}: {:?}, reduced to:",
            self.seed, self.difference.kind
        )?;
        write!(f, "{}", self.reduced)?;
        writeln!(f, "--- Helm: {}", describe_helm(&self.difference.helm))?;
        writeln!(
            f,
            "--- deploykit-chart: {}",
            describe_ours(&self.difference.ours)
        )
    }
}

fn describe_helm(answer: &HelmAnswer) -> String {
    match answer {
        HelmAnswer::Rendered(map) => format!("rendered {}", main_output(map)),
        HelmAnswer::Refused(message) => format!("refused: {message}"),
    }
}

fn describe_ours(ours: &Ours) -> String {
    match ours {
        Ours::Rendered(map) => format!("rendered {}", main_output(map)),
        Ours::Refused(message) => format!("refused: {message}"),
        Ours::Panicked(message) => format!("PANICKED: {message}"),
        Ours::Hung => "did not finish within 30 s".into(),
    }
}

/// The rendered files, main template first, quoted so that whitespace shows.
fn main_output(map: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for name in [
        "fuzz/templates/main.yaml",
        "fuzz/templates/values-view.yaml",
    ] {
        if let Some(text) = map.get(name) {
            parts.push(format!("{name}: {text:?}"));
        }
    }
    for (name, text) in map {
        if !name.ends_with("main.yaml") && !name.ends_with("values-view.yaml") {
            parts.push(format!("{name}: {text:?}"));
        }
    }
    parts.join("\n  ")
}

/// What a run should do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The first case's seed; case `i` uses `seed + i`.
    pub seed: u64,
    /// Stop after this many cases...
    pub cases: Option<u64>,
    /// ...or after this long, whichever comes first.
    pub budget: Option<Duration>,
    /// What the generators may produce.
    pub shapes: Shapes,
    /// Time allowed to reduce each finding.
    pub reduce_budget: Duration,
    /// Stop after this many findings.
    pub max_findings: usize,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Cases generated and compared.
    pub cases: u64,
    /// Cases both rendered identically.
    pub same: u64,
    /// Cases both refused.
    pub both_refused: u64,
    /// Of those, cases whose messages differ.
    pub message_differs: u64,
    /// Cases Helm's engine did not answer in time or died on (skipped).
    pub helm_timeouts: u64,
    /// Differences, reduced.
    pub findings: Vec<Finding>,
    /// Time taken.
    pub elapsed: Duration,
}

/// Compares cases between Helm's engine and deploykit-chart.
pub struct Differential {
    helm: HelmEngine,
    dir: tempfile::TempDir,
}

impl Differential {
    /// Starts Helm's engine and makes a scratch folder for the cases' charts.
    pub fn start() -> Result<Differential, FuzzError> {
        let dir = tempfile::tempdir().map_err(|source| FuzzError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        Ok(Differential {
            helm: HelmEngine::start()?,
            dir,
        })
    }

    /// Renders `case` with both engines and compares.
    pub fn check(&mut self, case: &Case) -> Result<Verdict, FuzzError> {
        let chart = self.dir.path().join("fuzz");
        case.write_chart(&chart).map_err(|source| FuzzError::Io {
            path: chart.clone(),
            source,
        })?;
        let helm = self.helm.render(&chart)?;
        let ours = render_ours(&chart);
        Ok(compare(helm, ours))
    }

    /// Runs cases as `options` says, calling `progress` after each one.
    pub fn run(
        &mut self,
        options: &RunOptions,
        progress: &mut dyn FnMut(&Summary),
    ) -> Result<Summary, FuzzError> {
        let started = Instant::now();
        let mut summary = Summary::default();
        let mut index = 0u64;
        loop {
            if options.cases.is_some_and(|cases| index >= cases)
                || options
                    .budget
                    .is_some_and(|budget| started.elapsed() >= budget)
                || summary.findings.len() >= options.max_findings
            {
                break;
            }
            let seed = options.seed.wrapping_add(index);
            index += 1;
            let case = Case::generate(seed, options.shapes);
            summary.cases += 1;
            match self.check(&case) {
                Ok(Verdict::Same) => summary.same += 1,
                Ok(Verdict::BothRefused { same_message }) => {
                    summary.both_refused += 1;
                    summary.message_differs += u64::from(!same_message);
                }
                Ok(Verdict::Differs(difference)) => {
                    let finding = self.reduce(seed, &case, difference, options.reduce_budget)?;
                    summary.findings.push(finding);
                }
                Err(FuzzError::HelmTimeout | FuzzError::HelmCrashed) => summary.helm_timeouts += 1,
                Err(error) => return Err(error),
            }
            summary.elapsed = started.elapsed();
            progress(&summary);
        }
        summary.elapsed = started.elapsed();
        Ok(summary)
    }

    /// Reduces a case that differs to a minimal one that differs the same way.
    pub fn reduce(
        &mut self,
        seed: u64,
        case: &Case,
        difference: Difference,
        budget: Duration,
    ) -> Result<Finding, FuzzError> {
        let kind = difference.kind;
        let mut failure = None;
        let reduced = reduce_case(
            case,
            &mut |candidate| match self.check(candidate) {
                Ok(Verdict::Differs(d)) => d.kind == kind,
                Ok(_) => false,
                Err(error) => {
                    failure.get_or_insert(error);
                    false
                }
            },
            Instant::now() + budget,
        );
        if let Some(error) =
            failure.filter(|e| !matches!(e, FuzzError::HelmTimeout | FuzzError::HelmCrashed))
        {
            return Err(error);
        }
        let difference = match self.check(&reduced)? {
            Verdict::Differs(d) => d,
            _ => difference,
        };
        Ok(Finding {
            seed,
            reduced,
            difference,
        })
    }
}

/// Renders the chart in `dir` with deploykit-chart, as `helm template` would.
pub fn render_ours(dir: &Path) -> Ours {
    let dir: PathBuf = dir.to_path_buf();
    let outcome = guarded(OUR_LIMIT, move || {
        let chart = Chart::load(&dir)?;
        render_owned(chart, Map::new(), &ReleaseOptions::default())
    });
    match outcome {
        Guarded::Returned(Ok(rendered)) => Ours::Rendered(rendered),
        Guarded::Returned(Err(error)) => Ours::Refused(error.to_string()),
        Guarded::Panicked(message) => Ours::Panicked(message),
        Guarded::Hung => Ours::Hung,
    }
}

/// Compares the two answers.
pub fn compare(helm: HelmAnswer, ours: Ours) -> Verdict {
    let kind = match (&helm, &ours) {
        (_, Ours::Panicked(_)) => DifferenceKind::Panic,
        (_, Ours::Hung) => DifferenceKind::Hang,
        (HelmAnswer::Rendered(h), Ours::Rendered(o)) if h == o => return Verdict::Same,
        (HelmAnswer::Rendered(_), Ours::Rendered(_)) => DifferenceKind::Output,
        (HelmAnswer::Refused(h), Ours::Refused(o)) => {
            return Verdict::BothRefused {
                same_message: h == o,
            };
        }
        (HelmAnswer::Refused(_), Ours::Rendered(_)) => DifferenceKind::OnlyHelmRefused,
        (HelmAnswer::Rendered(_), Ours::Refused(_)) => DifferenceKind::OnlyWeRefused,
    };
    Verdict::Differs(Difference { kind, helm, ours })
}
