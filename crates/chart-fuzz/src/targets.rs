//! Fuzz targets: no input may panic deploykit-chart (every failure must be an error).
//!
//! Each target draws inputs from proptest strategies built for it: soups of the
//! format's own tokens (so that random input reaches past the first check), whole
//! structured inputs from [`crate::generate`], and arbitrary text. A panic is caught,
//! shrunk by proptest, and reported with the input ([`Failure`]).
//!
//! | target | input | code under test |
//! | --- | --- | --- |
//! | `template` | template text (and a helpers file) | parser and executor, through a whole render |
//! | `values` | a values document | the YAML values reader (quick and full) |
//! | `set` | a `--set` expression | `strvals` for every `--set` flag |
//! | `chart` | a chart folder written to a temporary folder | `Chart::load` and render |

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deploykit_chart::strvals::{self, SetKind};
use deploykit_chart::{Chart, ChartFile, FileData, Map, ReleaseOptions, render_owned};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::generate::{Case, Shapes};
use crate::panics::{Guarded, guarded};

/// A fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The template parser and executor.
    Template,
    /// The YAML values reader.
    Values,
    /// `--set` parsing.
    Set,
    /// Chart loading from a folder.
    Chart,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 4] = [Target::Template, Target::Values, Target::Set, Target::Chart];

    /// The target's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Template => "template",
            Target::Values => "values",
            Target::Set => "set",
            Target::Chart => "chart",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A panic found: the (shrunk) input and where it panicked.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The input, as Rust's `Debug` prints it.
    pub input: String,
    /// The panic's message and place, or why the input was stuck.
    pub panic: String,
}

/// What a fuzzing run did.
#[derive(Debug, Clone)]
pub struct FuzzReport {
    /// The target.
    pub target: Target,
    /// The seed it started from.
    pub seed: u64,
    /// Inputs tried (shrinking not counted).
    pub cases: u64,
    /// Time taken.
    pub elapsed: Duration,
    /// The first panic found, if any.
    pub failure: Option<Failure>,
}

/// Inputs tried between two looks at the clock.
const BATCH: u32 = 64;

/// How long one input may run before it counts as stuck.
const CASE_LIMIT: Duration = Duration::from_secs(20);

/// Fuzzes `target` from `seed` for about `budget`, stopping at the first panic.
pub fn run(target: Target, seed: u64, budget: Duration) -> FuzzReport {
    let started = Instant::now();
    let mut report = FuzzReport {
        target,
        seed,
        cases: 0,
        elapsed: Duration::ZERO,
        failure: None,
    };
    let mut batch = 0u64;
    while started.elapsed() < budget && report.failure.is_none() {
        let mut runner = runner(seed.wrapping_add(batch));
        batch += 1;
        report.failure = match target {
            Target::Template => {
                let outcome = runner.run(&template_input(), |(main, helpers)| {
                    check_template(&main, &helpers)
                });
                failure(reduce_template_failure(outcome))
            }
            Target::Values => failure(runner.run(&values_input(), |text| check_values(&text))),
            Target::Set => failure(runner.run(&set_input(), |text| check_set(&text))),
            Target::Chart => failure(runner.run(&chart_input(), |spec| check_chart(&spec))),
        };
        report.cases += u64::from(BATCH);
    }
    report.elapsed = started.elapsed();
    report
}

/// Proptest shrinks token soups well but not generated templates (their seed is all
/// it can shrink): a failing template is reduced by delta debugging as well.
fn reduce_template_failure(
    outcome: Result<(), TestError<(String, String)>>,
) -> Result<(), TestError<(String, String)>> {
    let Err(TestError::Fail(reason, (main, helpers))) = outcome else {
        return outcome;
    };
    let case = Case {
        values: String::new(),
        main,
        helpers,
    };
    let reduced = crate::reduce::reduce_case(
        &case,
        &mut |candidate| check_template(&candidate.main, &candidate.helpers).is_err(),
        Instant::now() + Duration::from_secs(30),
    );
    Err(TestError::Fail(reason, (reduced.main, reduced.helpers)))
}

fn failure<T: std::fmt::Debug>(outcome: Result<(), TestError<T>>) -> Option<Failure> {
    match outcome {
        Ok(()) => None,
        Err(TestError::Fail(reason, input)) => Some(Failure {
            input: format!("{input:?}"),
            panic: reason.to_string(),
        }),
        Err(TestError::Abort(reason)) => Some(Failure {
            input: String::new(),
            panic: reason.to_string(),
        }),
    }
}

fn runner(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases: BATCH,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Runs `f` guarded: a panic or a stuck input fails the case.
fn no_panic<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<(), TestCaseError> {
    match guarded(CASE_LIMIT, f) {
        Guarded::Returned(_) => Ok(()),
        Guarded::Panicked(message) => Err(TestCaseError::fail(format!("panicked: {message}"))),
        Guarded::Hung => Err(TestCaseError::fail(format!(
            "did not finish within {CASE_LIMIT:?}"
        ))),
    }
}

fn soup(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..max).prop_map(|parts| parts.concat())
}

// ---- template -----------------------------------------------------------------------

const TEMPLATE_TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{/*",
    "*/}}",
    " ",
    "\n",
    "x",
    "if ",
    "else ",
    "else if ",
    "end",
    "with ",
    "range ",
    "define ",
    "template ",
    "block ",
    "break",
    "continue",
    "include ",
    "tpl ",
    "$",
    "$x",
    "$y",
    " := ",
    " = ",
    ",",
    ".",
    ".Values",
    ".Values.a",
    ".Values.list",
    ".Values.map.k",
    "$.Values",
    ".Release.Name",
    ".Chart.Name",
    ".Files",
    ".Capabilities",
    ".Template",
    "|",
    "(",
    ")",
    "\"a\"",
    "\"t\"",
    "\"%v\"",
    "`r`",
    "'c'",
    "0",
    "1",
    "-1",
    "2.5",
    "1e3",
    "0x1F",
    "true",
    "false",
    "nil",
    "list ",
    "dict ",
    "default ",
    "toYaml ",
    "toJson ",
    "fromYaml ",
    "quote ",
    "printf ",
    "index ",
    "len ",
    "slice ",
    "eq ",
    "and ",
    "or ",
    "not ",
    "required ",
    "fail ",
    "add ",
    "div ",
    "until ",
    "indent ",
    "nindent ",
    "trunc ",
    "substr ",
    "split ",
    "join ",
    "regexMatch ",
    "semverCompare ",
    "set ",
    "merge ",
    "dig ",
    "get ",
    "hasKey ",
    "keys ",
    "first ",
    "append ",
    "print ",
    "html ",
    "js ",
    "call ",
    "toString ",
    "b64dec ",
    "lookup ",
    "fromJson ",
    "ternary ",
    "coalesce ",
    "typeOf ",
    "kindIs ",
];

fn template_input() -> impl Strategy<Value = (String, String)> {
    let helpers = prop_oneof![
        Just(String::new()),
        Just("{{ define \"t\" }}[{{ . }}]{{ end }}".to_string()),
        soup(TEMPLATE_TOKENS, 20),
    ];
    let main = prop_oneof![
        4 => soup(TEMPLATE_TOKENS, 40),
        4 => any::<u64>().prop_map(|seed| Case::generate(seed, Shapes::default()).main),
        1 => any::<String>(),
    ];
    (main, helpers)
}

const TEMPLATE_VALUES: &str =
    "a: 1\nb: text\nlist: [1, two, {k: v}]\nmap: {k: v, n: null, f: 1.5}\nflag: true\n";

fn check_template(main: &str, helpers: &str) -> Result<(), TestCaseError> {
    let files: Vec<ChartFile> = [
        ("Chart.yaml", "apiVersion: v2\nname: fuzz\nversion: 0.1.0\n"),
        ("values.yaml", TEMPLATE_VALUES),
        ("templates/main.yaml", main),
        ("templates/_helpers.tpl", helpers),
    ]
    .into_iter()
    .map(|(name, text)| ChartFile {
        name: name.to_string(),
        data: FileData::text(Arc::from(text)),
    })
    .collect();
    no_panic(move || {
        let chart = Chart::from_files(files)?;
        render_owned(chart, Map::new(), &ReleaseOptions::default())
    })
}

// ---- values -------------------------------------------------------------------------

const YAML_TOKENS: &[&str] = &[
    "a",
    "b",
    ":",
    ": ",
    " ",
    "  ",
    "\n",
    "\n  ",
    "\n    ",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "\\",
    "#",
    "&x ",
    "*x",
    "<<: ",
    "!!str ",
    "!!int ",
    "!tag ",
    "|",
    "|-",
    ">",
    ">+",
    "---",
    "...",
    "?",
    "%YAML 1.1",
    "\t",
    "1",
    "0x1F",
    "1e400",
    ".inf",
    "~",
    "null",
    "yes",
    "1:30",
    "2001-12-14",
    "é",
    "\r\n",
    "\u{feff}",
];

fn values_input() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => soup(YAML_TOKENS, 60),
        4 => any::<u64>().prop_map(|seed| Case::generate(seed, Shapes::all()).values),
        1 => any::<String>(),
    ]
}

fn check_values(text: &str) -> Result<(), TestCaseError> {
    let text = text.to_string();
    no_panic(move || {
        let _ = deploykit_chart::render::parse_values_file(&text, "values.yaml");
        let _ = deploykit_chart::yaml::parse::parse(&text);
    })
}

// ---- --set --------------------------------------------------------------------------

const SET_TOKENS: &[&str] = &[
    "a",
    "b",
    ".",
    "=",
    ",",
    "[",
    "]",
    "0",
    "1",
    "65536",
    "65537",
    "-1",
    "{",
    "}",
    "\\",
    "\\,",
    "\\.",
    "null",
    "true",
    "1e3",
    "0x10",
    "\"",
    " ",
    "[0]",
    "[1]",
    "[65537]",
    ":",
    "{x,y}",
    "{\"k\": [1, {\"j\": null}]}",
    "é",
];

fn set_input() -> impl Strategy<Value = String> {
    prop_oneof![4 => soup(SET_TOKENS, 30), 1 => any::<String>()]
}

fn check_set(text: &str) -> Result<(), TestCaseError> {
    let text = text.to_string();
    no_panic(move || {
        for kind in [
            SetKind::Typed,
            SetKind::String,
            SetKind::Json,
            SetKind::Literal,
        ] {
            let _ = strvals::parse(&text, kind);
        }
        let read_file = |path: &str| -> Result<String, String> { Ok(format!("file {path}")) };
        let _ = strvals::parse_into(&text, &mut Map::new(), SetKind::File, Some(&read_file));
    })
}

// ---- chart --------------------------------------------------------------------------

/// A chart folder to write: relative paths and contents.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    /// Files, relative to the chart folder (`charts/sub/Chart.yaml`...).
    pub files: Vec<(String, String)>,
}

const CHART_YAML_PIECES: &[&str] = &[
    "apiVersion: v2\n",
    "apiVersion: v1\n",
    "apiVersion: v3\n",
    "name: fuzz\n",
    "name: \n",
    "name: a/b\n",
    "name: ..\n",
    "version: 0.1.0\n",
    "version: 1\n",
    "version: x.y\n",
    "version: 1.0.0-rc.1+b\n",
    "type: library\n",
    "type: application\n",
    "type: bogus\n",
    "appVersion: 1.0\n",
    "kubeVersion: \">=1.20.0\"\n",
    "kubeVersion: \"~~1\"\n",
    "dependencies:\n",
    "- name: sub\n",
    "  version: 0.1.0\n",
    "  version: \">0.0.1\"\n",
    "  condition: sub.enabled\n",
    "  condition: a,b.c\n",
    "  tags: [t]\n",
    "  alias: s2\n",
    "  alias: \"\"\n",
    "  import-values: [data]\n",
    "  import-values:\n  - child: a\n    parent: b\n",
    "  repository: file://charts/sub\n",
    "- name: missing\n",
    "deprecated: true\n",
    "annotations: {a: b}\n",
    "icon: 1\n",
    "maintainers: [{name: x}]\n",
    "dependencies: x\n",
    ": \n",
    "\t",
    "[",
    "name: [a]\n",
];

const SUB_VALUES: &[&str] = &[
    "",
    "enabled: false\n",
    "enabled: true\ndata: {x: 1}\n",
    "global: {g: 1}\n",
    "a: [1\n",
    "exports:\n  data:\n    y: 2\n",
    "sub: {enabled: false}\ntags: {t: false}\n",
];

const TEMPLATE_PIECES: &[&str] = &[
    "x: {{ .Values.a }}\n",
    "{{ include \"h\" . }}\n",
    "{{ .Files.Get \"f.txt\" }}\n",
    "{{ range $p, $_ := .Files.Glob \"**\" }}{{ $p }}\n{{ end }}",
    "{{ .Chart.Name }}\n",
    "{{ .Values.global }}\n",
    "{{ .Subcharts }}\n",
    "{{ toYaml .Values }}\n",
    "{{ (.Files.Lines \"f.txt\") }}\n",
    "{{ .Files.AsConfig }}\n",
    "{{ .Files.AsSecrets }}\n",
    "{{ template \"sub.t\" . }}\n",
    "{{",
    "{{ define \"h\" }}h{{ end }}",
    "{{ .Capabilities.APIVersions.Has \"v1\" }}\n",
    "{{ tpl .Values.t . }}\n",
];

const FILE_NAMES: &[&str] = &[
    "templates/a.yaml",
    "templates/_h.tpl",
    "templates/NOTES.txt",
    "templates/sub/b.yaml",
    "templates/crds/c.yaml",
    "crds/c.yaml",
    "f.txt",
    "files/g.json",
    ".helmignore",
    "values.schema.json",
    "requirements.yaml",
    "Chart.lock",
    "charts/sub/Chart.yaml",
    "charts/sub/values.yaml",
    "charts/sub/templates/t.yaml",
    "charts/sub/templates/_t.tpl",
    "charts/sub/charts/deep/Chart.yaml",
    "charts/junk.tgz",
    "charts/other/values.yaml",
    "templates/é.yaml",
    "templates/.hidden.yaml",
    "charts/sub/.helmignore",
];

const HELMIGNORE_PIECES: &[&str] = &[
    "*.txt\n",
    "!f.txt\n",
    "templates/\n",
    "/charts\n",
    "**/b.yaml\n",
    "#c\n",
    "\\#x\n",
    "[\n",
    "*\n",
    "!*\n",
    "sub/\n",
    "charts/sub/templates/*\n",
    "a[b\n",
    "../x\n",
];

const SCHEMA_PIECES: &[&str] = &[
    "{}",
    "{\"type\": \"object\"}",
    "{\"type\": \"object\", \"required\": [\"a\"]}",
    "{\"properties\": {\"a\": {\"type\": \"string\", \"pattern\": \"^(a\"}}}",
    "{",
    "{\"$ref\": \"#/definitions/x\"}",
    "{\"type\": \"object\", \"additionalProperties\": false}",
    "{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"properties\": {\"a\": {\"minimum\": 5}}}",
    "[]",
    "{\"$ref\": \"http://example.invalid/s.json\"}",
];

fn file_contents(name: &str) -> BoxedStrategy<String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base {
        "Chart.yaml" => prop_oneof![
            3 => soup(CHART_YAML_PIECES, 14).prop_map(|s| format!("apiVersion: v2\nname: sub\nversion: 0.1.0\n{s}")),
            1 => soup(CHART_YAML_PIECES, 14),
        ]
        .boxed(),
        "values.yaml" => prop_oneof![prop::sample::select(SUB_VALUES).prop_map(str::to_string), soup(YAML_TOKENS, 20)].boxed(),
        ".helmignore" => soup(HELMIGNORE_PIECES, 6).boxed(),
        "values.schema.json" => prop::sample::select(SCHEMA_PIECES).prop_map(str::to_string).boxed(),
        "requirements.yaml" => soup(CHART_YAML_PIECES, 8).prop_map(|s| format!("dependencies:\n{s}")).boxed(),
        _ if name.ends_with(".tgz") => any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()).boxed(),
        _ => soup(TEMPLATE_PIECES, 6).boxed(),
    }
}

fn chart_input() -> impl Strategy<Value = ChartSpec> {
    let chart_yaml = prop_oneof![
        3 => soup(CHART_YAML_PIECES, 16).prop_map(|s| format!("apiVersion: v2\nname: fuzz\nversion: 0.1.0\n{s}")),
        1 => soup(CHART_YAML_PIECES, 16),
    ];
    let values = prop_oneof![
        prop::sample::select(SUB_VALUES).prop_map(str::to_string),
        Just("a: 1\nt: \"{{ .Chart.Name }}\"\nsub:\n  enabled: true\n".to_string()),
    ];
    let others = prop::collection::vec(
        prop::sample::select(FILE_NAMES)
            .prop_flat_map(|name| (Just(name.to_string()), file_contents(name))),
        0..8,
    );
    (chart_yaml, values, others).prop_map(|(chart_yaml, values, others)| {
        let mut files = vec![
            ("Chart.yaml".to_string(), chart_yaml),
            ("values.yaml".to_string(), values),
        ];
        files.extend(others);
        ChartSpec { files }
    })
}

fn write_spec(spec: &ChartSpec, root: &Path) -> std::io::Result<()> {
    for (name, contents) in &spec.files {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    Ok(())
}

fn check_chart(spec: &ChartSpec) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir()
        .map_err(|e| TestCaseError::reject(format!("no temporary folder: {e}")))?;
    let root = dir.path().join("fuzz");
    // A file and a folder of one name cannot both be written: such specs are skipped.
    if write_spec(spec, &root).is_err() {
        return Err(TestCaseError::reject("unwritable chart"));
    }
    no_panic(move || {
        let chart = Chart::load(&root)?;
        render_owned(chart, Map::new(), &ReleaseOptions::default())
    })
}
