//! Rendering: values in, Helm's engine result out (`template path → text`), with the
//! same scoping, template order and error wording as Helm's `engine.Render`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::chart::Chart;
use crate::error::ChartError;
use crate::objects::{Capabilities, CapabilitiesObject, Files, chart_value, release_value};
use crate::strvals::{self, SetKind};
use crate::template::Templates;
use crate::value::{Map, MapRef, Value};
use crate::values::{coalesce_values_owned, process_dependencies, table};
use crate::yaml::documents::parse_values;

/// The release a chart is rendered for (`.Release`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// `.Release.Name`.
    pub name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// `.Release.Revision`.
    pub revision: i64,
    /// `.Release.IsInstall`.
    pub is_install: bool,
    /// `.Release.IsUpgrade`.
    pub is_upgrade: bool,
}

impl Default for ReleaseOptions {
    /// What `helm template` uses: `release-name` in `default`, revision 1, an install.
    fn default() -> ReleaseOptions {
        ReleaseOptions {
            name: "release-name".to_string(),
            namespace: "default".to_string(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        }
    }
}

/// The result of Helm's engine: every template path (`chart/templates/x.yaml`,
/// `chart/charts/sub/templates/y.yaml`) with its rendered text, NOTES.txt and empty
/// results included, partials left out.
pub type Rendered = BTreeMap<String, String>;

/// The user's values as Helm's flags give them: `-f` files merged left to right, then
/// `--set-json`, `--set`, `--set-string`, `--set-file` and `--set-literal`, each in the
/// order given (Helm applies the kinds in that fixed order).
#[derive(Debug, Clone, Default)]
pub struct ValueSources {
    /// `-f` values files.
    pub files: Vec<PathBuf>,
    /// `--set`-family expressions with their kind.
    pub sets: Vec<(SetKind, String)>,
}

impl ValueSources {
    /// Adds a `-f` file.
    pub fn file(mut self, path: impl Into<PathBuf>) -> ValueSources {
        self.files.push(path.into());
        self
    }

    /// Adds a `--set`-family expression.
    pub fn set(mut self, kind: SetKind, expression: impl Into<String>) -> ValueSources {
        self.sets.push((kind, expression.into()));
        self
    }

    /// Reads the files and parses the expressions into one values map.
    pub fn merge(&self) -> Result<Map, ChartError> {
        let mut base = Map::new();
        for path in &self.files {
            let text = std::fs::read_to_string(path).map_err(|error| ChartError::Io {
                path: path.clone(),
                error,
            })?;
            let current = parse_values_file(&text, &path.display().to_string())?;
            strvals::merge_maps(&mut base, current);
        }
        for kind in [
            SetKind::Json,
            SetKind::Typed,
            SetKind::String,
            SetKind::File,
            SetKind::Literal,
        ] {
            for (_, expression) in self.sets.iter().filter(|(k, _)| *k == kind) {
                apply_set(&mut base, kind, expression)?;
            }
        }
        Ok(base)
    }
}

/// Parses the text of a values file named `name` (for messages).
pub fn parse_values_file(text: &str, name: &str) -> Result<Map, ChartError> {
    parse_values(text).map_err(|error| ChartError::Values {
        file: name.to_string(),
        error,
    })
}

fn apply_set(base: &mut Map, kind: SetKind, expression: &str) -> Result<(), ChartError> {
    if kind == SetKind::Json {
        let trimmed = expression.trim();
        if trimmed.starts_with('{') {
            let json: serde_json::Value =
                serde_json::from_str(trimmed).map_err(|_| ChartError::Set {
                    message: format!("failed parsing --set-json data JSON: {expression}"),
                })?;
            if let Value::Map(map) = Value::from_json(&json) {
                strvals::merge_maps(base, map.into_inner());
            }
            return Ok(());
        }
        return strvals::parse_into(expression, base, kind, None).map_err(|_| ChartError::Set {
            message: format!("failed parsing --set-json data {expression}"),
        });
    }
    strvals::parse_into(expression, base, kind, None).map_err(|error| ChartError::Set {
        message: format!("failed parsing {} data: {error}", kind.flag()),
    })
}

/// Everything needed to render a chart from disk, as `helm template` takes it.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    /// The chart folder or `.tgz`.
    pub chart: PathBuf,
    /// Values files and `--set` expressions.
    pub values: ValueSources,
    /// The release.
    pub release: ReleaseOptions,
}

impl RenderRequest {
    /// A request for `chart` with Helm's default release.
    pub fn new(chart: impl AsRef<Path>) -> RenderRequest {
        RenderRequest {
            chart: chart.as_ref().to_path_buf(),
            ..RenderRequest::default()
        }
    }

    /// Loads the chart, merges the values and renders (Helm's engine result).
    pub fn render(&self) -> Result<Rendered, ChartError> {
        let chart = Chart::load(&self.chart)?;
        let values = self.values.merge()?;
        render_owned(chart, values, &self.release)
    }

    /// As [`RenderRequest::render`], then as `helm template` prints it.
    pub fn template(&self) -> Result<String, ChartError> {
        crate::manifest::helm_template_output(&self.render()?)
    }
}

/// Renders `chart` with the user's `values` for `release`, as Helm's install (dry run)
/// does: dependencies processed, values coalesced and checked against the schemas,
/// every template executed.
pub fn render(
    chart: &Chart,
    values: &Map,
    release: &ReleaseOptions,
) -> Result<Rendered, ChartError> {
    render_owned(chart.clone(), values.clone(), release)
}

/// [`render`] of a chart and values the caller gives up (as after [`Chart::load`]):
/// the chart's defaults and the values are moved into the result instead of copied.
pub fn render_owned(
    chart: Chart,
    values: Map,
    release: &ReleaseOptions,
) -> Result<Rendered, ChartError> {
    render_for(chart, values, release, Capabilities::default())
}

/// [`render_owned`] for a given cluster: templates see `capabilities` (a live cluster's
/// version and API groups) instead of the built-in ones `helm template` assumes.
pub fn render_for(
    chart: Chart,
    values: Map,
    release: &ReleaseOptions,
    capabilities: Capabilities,
) -> Result<Rendered, ChartError> {
    crate::funcs::regex::forget_compiled();
    let result = render_chart(chart, values, release, capabilities);
    crate::funcs::regex::forget_compiled();
    result
}

fn render_chart(
    mut chart: Chart,
    values: Map,
    release: &ReleaseOptions,
    capabilities: Capabilities,
) -> Result<Rendered, ChartError> {
    process_dependencies(&mut chart, &values)?;
    let coalesced = coalesce_values_owned(&mut chart, values)?;
    crate::schema::validate(&chart, &coalesced)?;
    let context = Context {
        release: release_value(
            &release.name,
            &release.namespace,
            release.revision,
            release.is_install,
            release.is_upgrade,
        ),
        capabilities: Value::Object(Arc::new(CapabilitiesObject::from(capabilities))),
    };
    let mut sources = Vec::new();
    collect_templates(
        &chart,
        &Value::map(coalesced),
        chart.name(),
        true,
        &context,
        &mut sources,
    )?;
    execute(sources)
}

struct Context {
    release: Value,
    capabilities: Value,
}

/// One template with the dot it renders with.
struct Source {
    name: String,
    text: Arc<str>,
    /// The dot of the template's chart: one map shared by all of the chart's templates
    /// (and its parent's `.Subcharts`), as in Helm, so that what one template `set`s
    /// on it the next ones see.
    dot: MapRef,
    /// `.Template.BasePath`.
    base_path: Value,
}

/// Helm's `recAllTpls`: each chart's templates share a dot whose `.Values` is the
/// chart's own scope; returns the chart's dot (for the parent's `.Subcharts`).
fn collect_templates(
    chart: &Chart,
    parent_values: &Value,
    full_path: &str,
    is_root: bool,
    context: &Context,
    out: &mut Vec<Source>,
) -> Result<MapRef, ChartError> {
    let values = if is_root {
        parent_values.clone()
    } else {
        match parent_values {
            Value::Map(map) => table(map, chart.name())
                .map(Value::Map)
                .unwrap_or_else(|| Value::map(Map::new())),
            _ => Value::map(Map::new()),
        }
    };
    // `.Values` is Helm's named type `common.Values` (`typeOf`, `dig`, `deepEqual`
    // tell); the maps inside it are plain.
    let values = match values {
        Value::Map(map) => Value::Map(map.into_helm_values()),
        other => other,
    };
    let mut subcharts = Map::new();
    for child in &chart.dependencies {
        let child_path = format!("{full_path}/charts/{}", child.name());
        let child_dot = collect_templates(child, &values, &child_path, false, context, out)?;
        subcharts.insert(child.name().to_string(), Value::Map(child_dot.into_plain()));
    }
    let files = Files::new(chart.files.iter().map(|f| (f.name.clone(), f.data.clone())));
    let mut dot = Map::new();
    dot.insert("Chart".into(), chart_value(&chart.metadata, is_root));
    dot.insert("Files".into(), Value::Object(Arc::new(files)));
    dot.insert("Release".into(), context.release.clone());
    dot.insert("Capabilities".into(), context.capabilities.clone());
    dot.insert("Values".into(), values);
    dot.insert("Subcharts".into(), Value::map(subcharts));
    // Helm executes each template with its chart's dot as a `common.Values`.
    let dot = MapRef::new(dot).into_helm_values();
    let base_path = Value::string(format!("{full_path}/templates"));
    let library = chart.is_library();
    for template in &chart.templates {
        let base = template.name.rsplit('/').next().unwrap_or(&template.name);
        if library && !base.starts_with('_') {
            continue;
        }
        out.push(Source {
            name: format!("{full_path}/{}", template.name),
            text: template.data.shared_text()?,
            dot: dot.clone(),
            base_path: base_path.clone(),
        });
    }
    Ok(dot)
}

/// Helm's template order: deeper paths first, then reverse lexical order (so that a
/// parent's `define` parsed later wins over a subchart's).
fn sort_templates(sources: &mut [Source]) {
    let depth = |source: &Source| source.name.bytes().filter(|b| *b == b'/').count();
    sources.sort_by(|a, b| depth(b).cmp(&depth(a)).then_with(|| b.name.cmp(&a.name)));
}

fn execute(mut sources: Vec<Source>) -> Result<Rendered, ChartError> {
    sort_templates(&mut sources);
    let mut templates = Templates::new();
    for source in &sources {
        templates
            .parse_shared(&source.name, source.text.clone())
            // A `TemplateError` prints Helm's words already
            // (`parse error at (file:line): message`).
            .map_err(|error| ChartError::Template {
                message: error.to_string(),
            })?;
    }
    let mut rendered = Rendered::new();
    for source in sources {
        let base = source.name.rsplit('/').next().unwrap_or(&source.name);
        if base.starts_with('_') {
            continue;
        }
        let mut info = Map::new();
        info.insert("Name".into(), Value::string(source.name.as_str()));
        info.insert("BasePath".into(), source.base_path);
        source.dot.write().insert(
            "Template".into(),
            Value::Map(MapRef::new(info).into_helm_values()),
        );
        let text = templates
            .execute(&source.name, &Value::Map(source.dot))
            .map_err(|error| ChartError::Template {
                message: exec_error_message(&error.to_string()),
            })?;
        // `execute` has already removed every `<no value>`.
        rendered.insert(source.name, text);
    }
    Ok(rendered)
}

/// Helm's exec-error cleanup: `fail` and `required` messages (wrapped in
/// `HELM_ERR_START...HELM_ERR_END`) become `execution error at (file:line:col): msg`.
fn exec_error_message(error: &str) -> String {
    let tokens: Vec<&str> = error.splitn(3, ": ").collect();
    if tokens.len() == 3
        && let Some(start) = tokens[2].find("HELM_ERR_START")
    {
        let rest = &tokens[2][start + "HELM_ERR_START".len()..];
        let message = rest.split("HELM_ERR_END").next().unwrap_or(rest);
        return format!("execution error at ({}): {message}", tokens[1]);
    }
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_order_is_deepest_then_reverse_lexical() {
        let mut sources: Vec<Source> = [
            "c/templates/a.yaml",
            "c/charts/s/templates/b.yaml",
            "c/templates/b.yaml",
        ]
        .iter()
        .map(|name| Source {
            name: name.to_string(),
            text: Arc::from(""),
            dot: MapRef::default(),
            base_path: Value::Nil,
        })
        .collect();
        sort_templates(&mut sources);
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "c/charts/s/templates/b.yaml",
                "c/templates/b.yaml",
                "c/templates/a.yaml"
            ]
        );
    }

    #[test]
    fn error_cleanup_matches_helm() {
        // A parse error names the file and line, once (it was cleaned up twice, to
        // `parse error at (unexpected "}" in operand): ...`; found in session 11).
        let mut templates = Templates::new();
        let error = templates
            .parse_shared("c/templates/x.yaml", "a\nb\n{{ .a } }}".into())
            .map_err(|error| error.to_string());
        assert_eq!(
            error,
            Err("parse error at (c/templates/x.yaml:3): unexpected \"}\" in operand".into())
        );
        assert_eq!(
            exec_error_message(
                "template: c/templates/x.yaml:2:9: executing \"c/templates/x.yaml\" at <required \"a\" .Values.a>: error calling required: HELM_ERR_STARTa is requiredHELM_ERR_END"
            ),
            "execution error at (c/templates/x.yaml:2:9): a is required"
        );
    }
}
