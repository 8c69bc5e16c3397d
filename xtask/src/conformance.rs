//! `cargo xtask helm-conformance`: renders every case of a chart corpus with
//! deploykit-chart and compares with Helm's own output, byte for byte.
//!
//! Each mismatch is printed as a short unified diff; the run ends with
//! `conformance: N/M cases identical`. `--update-passing` rewrites the list of passing
//! cases that the chart crate's test suite keeps passing.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use deploykit_chart::corpus::{Case, Verdict, load_cases};

use crate::project;

/// Where the list of passing cases lives, relative to the workspace root.
pub const PASSING_LIST: &str = "crates/chart/tests/conformance-passing.txt";

/// Options of `helm-conformance`.
#[derive(clap::Args)]
pub struct Args {
    /// The corpus folder (default: ../shared/chart-corpus from the workspace root).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Only cases whose name contains this text.
    #[arg(long)]
    case: Option<String>,
    /// Lines of diff to show per differing template (0: none).
    #[arg(long, default_value_t = 12)]
    diff_lines: usize,
    /// Rewrite crates/chart/tests/conformance-passing.txt with the cases that pass.
    #[arg(long)]
    update_passing: bool,
    /// Print only the summary, no diffs.
    #[arg(long, short)]
    quiet: bool,
}

/// The default corpus location.
pub fn default_corpus() -> PathBuf {
    project::root().join("../shared/chart-corpus")
}

/// Renders one case, turning a panic in the renderer into a failure.
pub fn render_case(case: &Case, corpus: &Path) -> Result<deploykit_chart::Rendered, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| case.render(corpus))) {
        Ok(Ok(rendered)) => Ok(rendered),
        Ok(Err(error)) => Err(error.to_string()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(format!("renderer panicked: {message}"))
        }
    }
}

/// Runs the comparison.
pub fn run(args: Args) -> anyhow::Result<()> {
    let corpus = args.corpus.clone().unwrap_or_else(default_corpus);
    if !corpus.join("cases").is_dir() {
        anyhow::bail!(
            "no corpus at {}: pass --corpus DIR (a folder with cases/*.json)",
            corpus.display()
        );
    }
    let mut cases = load_cases(&corpus)?;
    if let Some(filter) = &args.case {
        cases.retain(|c| c.name.contains(filter.as_str()));
    }
    // Panics are reported per case; keep the default hook from printing each one.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut passing = Vec::new();
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        let result = render_case(case, &corpus);
        let verdict = match &result {
            Ok(rendered) => case.judge(&Ok(rendered.clone())),
            Err(message) => case.judge(&Err(deploykit_chart::ChartError::Template {
                message: message.clone(),
            })),
        };
        if verdict.passed() {
            passing.push(case.name.clone());
            continue;
        }
        *causes.entry(cause(&verdict)).or_default() += 1;
        if !args.quiet {
            report(case, &verdict, args.diff_lines);
        }
    }
    std::panic::set_hook(hook);
    if !causes.is_empty() {
        let mut sorted: Vec<(&String, &usize)> = causes.iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        println!("\nmost common causes:");
        for (what, count) in sorted.iter().take(15) {
            println!("  {count:>4}  {what}");
        }
    }
    if args.update_passing {
        let path = project::root().join(PASSING_LIST);
        let mut text = passing.join("\n");
        text.push('\n');
        std::fs::write(&path, text)?;
        println!("wrote {} ({} cases)", path.display(), passing.len());
    }
    println!(
        "conformance: {}/{} cases identical",
        passing.len(),
        cases.len()
    );
    Ok(())
}

/// A one-line summary of why a case failed, to group failures.
fn cause(verdict: &Verdict) -> String {
    let first_line = |s: &str| {
        s.lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(140)
            .collect::<String>()
    };
    match verdict {
        Verdict::Failed { error } => format!("error: {}", strip_location(&first_line(error))),
        Verdict::ShouldHaveFailed { .. } => "rendered where Helm failed".to_string(),
        Verdict::Different(diffs) => {
            let missing = diffs.iter().filter(|d| d.got.is_none()).count();
            let extra = diffs.iter().filter(|d| d.want.is_none()).count();
            if missing > 0 {
                "templates missing from the result".to_string()
            } else if extra > 0 {
                "templates Helm does not render".to_string()
            } else {
                "output differs".to_string()
            }
        }
        Verdict::Identical | Verdict::FailedDifferently { .. } => String::new(),
    }
}

/// Drops file/line details so that the same problem in different charts groups.
fn strip_location(message: &str) -> String {
    message
        .split(": ")
        .filter(|part| {
            !part.contains(".yaml:") && !part.contains(".tpl:") && !part.starts_with("template")
        })
        .collect::<Vec<_>>()
        .join(": ")
}

fn report(case: &Case, verdict: &Verdict, diff_lines: usize) {
    match verdict {
        Verdict::Failed { error } => {
            println!("FAIL {}: render error\n  {}", case.name, indent(error));
        }
        Verdict::ShouldHaveFailed { want } => {
            println!(
                "FAIL {}: rendered, but Helm fails with\n  {}",
                case.name,
                indent(want)
            );
        }
        Verdict::Different(diffs) => {
            println!("FAIL {}: {} template(s) differ", case.name, diffs.len());
            for diff in diffs.iter().take(3) {
                match (&diff.want, &diff.got) {
                    (Some(want), Some(got)) => {
                        println!("  {}:", diff.template);
                        print_diff(want, got, diff_lines);
                    }
                    (Some(_), None) => println!("  {}: missing from our result", diff.template),
                    (None, Some(_)) => println!("  {}: not in Helm's result", diff.template),
                    (None, None) => {}
                }
            }
        }
        Verdict::Identical | Verdict::FailedDifferently { .. } => {}
    }
}

/// Indents a message under its case, cut to a readable length.
fn indent(text: &str) -> String {
    let mut short: String = text.chars().take(1200).collect();
    if short.len() < text.len() {
        short.push_str(" ...");
    }
    short.replace('\n', "\n  ")
}

fn print_diff(want: &str, got: &str, limit: usize) {
    if limit == 0 {
        return;
    }
    let diff = similar::TextDiff::from_lines(want, got);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header("helm", "deploykit")
        .to_string();
    for line in text.lines().take(limit + 2) {
        println!("    {line}");
    }
    if text.lines().count() > limit + 2 {
        println!("    ...");
    }
}
