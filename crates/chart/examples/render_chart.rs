//! Render a chart as `helm template` does, with values files and `--set` expressions:
//! `cargo run -p deploykit-chart --example render_chart -- CHART [-f FILE]... [--set EXPR]...`
//! (without a chart, a small one written to a temporary folder).

use std::path::Path;

use deploykit_chart::{ChartError, RenderRequest, SetKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (chart, flags) = match args.split_first() {
        Some((chart, flags)) => (chart.clone(), flags.to_vec()),
        None => {
            write_sample_chart(scratch.path())?;
            let chart = scratch.path().join("hello").display().to_string();
            (chart, vec!["--set".to_string(), "replicas=2".to_string()])
        }
    };
    print!("{}", template(&chart, &flags)?);
    Ok(())
}

/// What `helm template release-name CHART FLAGS...` prints, for `-f`/`--values`,
/// `--set`, `--set-string`, `--set-json`, `--set-file` and `--set-literal` flags.
fn template(chart: &str, flags: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let mut request = RenderRequest::new(chart);
    request.release.name = "demo".into();
    for pair in flags.chunks(2) {
        let [flag, value] = pair else {
            return Err(format!("{} needs a value", pair[0]).into());
        };
        request.values = match flag.as_str() {
            "-f" | "--values" => request.values.file(value),
            "--set" => request.values.set(SetKind::Typed, value),
            "--set-string" => request.values.set(SetKind::String, value),
            "--set-json" => request.values.set(SetKind::Json, value),
            "--set-file" => request.values.set(SetKind::File, value),
            "--set-literal" => request.values.set(SetKind::Literal, value),
            other => return Err(format!("unknown flag {other}").into()),
        };
    }
    Ok(request.template()?)
}

/// A chart `hello` in `folder`: a Deployment whose replicas and image come from values.
fn write_sample_chart(folder: &Path) -> Result<(), ChartError> {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
        ),
        ("values.yaml", "replicas: 1\nimage: nginx:1.27\n"),
        (
            "templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.image | quote }}\n",
        ),
    ];
    for (name, text) in files {
        let path = folder.join("hello").join(name);
        let io = |error| ChartError::Io {
            path: path.clone(),
            error,
        };
        std::fs::create_dir_all(path.parent().unwrap_or(folder)).map_err(io)?;
        std::fs::write(&path, text).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(flags: &[&str]) -> Vec<String> {
        flags.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn values_files_then_set_expressions_as_helm_merges_them() {
        let dir = tempfile::tempdir().unwrap();
        write_sample_chart(dir.path()).unwrap();
        let values = dir.path().join("prod.yaml");
        std::fs::write(&values, "replicas: 3\nimage: nginx:1.28\n").unwrap();
        let chart = dir.path().join("hello").display().to_string();
        let values = values.display().to_string();
        let out = template(&chart, &flags(&["-f", &values, "--set", "replicas=5"])).unwrap();
        assert!(
            out.starts_with("---\n# Source: hello/templates/deployment.yaml\n"),
            "{out}"
        );
        assert!(out.contains("  name: demo\n"), "{out}");
        assert!(out.contains("  replicas: 5\n"), "--set wins over -f: {out}");
        assert!(out.contains("image: \"nginx:1.28\""), "{out}");
    }

    #[test]
    fn bad_input_comes_back_as_errors_that_name_it() {
        let dir = tempfile::tempdir().unwrap();
        write_sample_chart(dir.path()).unwrap();
        let chart = dir.path().join("hello").display().to_string();

        let bad_set = template(&chart, &flags(&["--set", "replicas"])).unwrap_err();
        assert!(bad_set.to_string().contains("--set"), "{bad_set}");

        let missing = dir.path().join("nowhere").display().to_string();
        let error = template(&missing, &[]).unwrap_err().to_string();
        assert!(error.contains("nowhere"), "{error}");

        let no_file = template(&chart, &flags(&["-f", "no-such-values.yaml"])).unwrap_err();
        assert!(
            no_file.to_string().contains("no-such-values.yaml"),
            "{no_file}"
        );
    }
}
