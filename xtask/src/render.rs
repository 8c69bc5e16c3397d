//! `cargo xtask render CHART`: renders a Helm chart with deploykit-chart, printing what
//! `helm template` prints (`--format yaml`) or Helm's engine result as one JSON object
//! (`--format json`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use deploykit_chart::{RenderRequest, SetKind, ValueSources, helm_template_output, sort_manifests};

/// Output format.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// What `helm template` prints.
    Yaml,
    /// The engine result: `{"<template path>": "<text>"}`.
    Json,
}

/// Options of `render`.
#[derive(clap::Args)]
pub struct Args {
    /// The chart folder or .tgz.
    chart: PathBuf,
    /// Values files, merged left to right.
    #[arg(short = 'f', long = "values")]
    values: Vec<PathBuf>,
    /// Set values (`a.b=c,list={x,y}`).
    #[arg(long)]
    set: Vec<String>,
    /// Set values, always as strings.
    #[arg(long)]
    set_string: Vec<String>,
    /// Set values from JSON (`a={"b":1}`).
    #[arg(long)]
    set_json: Vec<String>,
    /// Set values from files (`key=path`).
    #[arg(long)]
    set_file: Vec<String>,
    /// Set one literal value (`key=anything, even commas`).
    #[arg(long)]
    set_literal: Vec<String>,
    /// Release name.
    #[arg(long, default_value = "release-name")]
    release_name: String,
    /// Release namespace.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// Write each template's documents under this folder instead of printing them.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: Format,
}

/// Renders and prints.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut sources = ValueSources::default();
    for file in &args.values {
        sources = sources.file(file);
    }
    let flags = [
        (SetKind::Typed, &args.set),
        (SetKind::String, &args.set_string),
        (SetKind::Json, &args.set_json),
        (SetKind::File, &args.set_file),
        (SetKind::Literal, &args.set_literal),
    ];
    for (kind, expressions) in flags {
        for expression in expressions {
            sources = sources.set(kind, expression);
        }
    }
    let mut request = RenderRequest::new(&args.chart);
    request.values = sources;
    request.release.name = args.release_name.clone();
    request.release.namespace = args.namespace.clone();
    let rendered = request.render()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match (args.format, &args.output_dir) {
        (Format::Json, None) => {
            serde_json::to_writer_pretty(&mut out, &rendered)?;
            writeln!(out)?;
        }
        (Format::Json, Some(dir)) => {
            std::fs::create_dir_all(dir)?;
            let path = dir.join("rendered.json");
            std::fs::write(&path, serde_json::to_string_pretty(&rendered)?)?;
            writeln!(out, "wrote {}", path.display())?;
        }
        (Format::Yaml, None) => out.write_all(helm_template_output(&rendered)?.as_bytes())?,
        (Format::Yaml, Some(dir)) => {
            let sorted = sort_manifests(&rendered)?;
            let mut written = BTreeSet::new();
            for manifest in sorted.manifests.iter().chain(&sorted.hooks) {
                let path = dir.join(&manifest.source);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let text = format!("---\n# Source: {}\n{}\n", manifest.source, manifest.content);
                if written.insert(path.clone()) {
                    std::fs::write(&path, text)?;
                    writeln!(out, "wrote {}", path.display())?;
                } else {
                    let mut file = std::fs::OpenOptions::new().append(true).open(&path)?;
                    file.write_all(text.as_bytes())?;
                }
            }
        }
    }
    Ok(())
}
