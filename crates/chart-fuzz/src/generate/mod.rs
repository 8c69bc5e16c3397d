//! Seeded generators of whole test cases: a values document and templates that read it.
//!
//! The same seed always gives the same case (the generators draw from one `StdRng`
//! seeded with it), so a failure is reproduced from its seed alone.

pub mod template;
pub mod values;

use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;

pub use template::{GeneratedTemplates, TemplateShapes};
pub use values::ValueShapes;

/// Shapes the generators may produce.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shapes {
    /// Template shapes.
    pub template: TemplateShapes,
    /// Values document shapes.
    pub values: ValueShapes,
}

impl Shapes {
    /// Every shape the generators know.
    pub fn all() -> Shapes {
        Shapes {
            template: TemplateShapes::all(),
            values: ValueShapes::all(),
        }
    }
}

/// A chart of one case: its values document and two templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `values.yaml`.
    pub values: String,
    /// `templates/main.yaml`.
    pub main: String,
    /// `templates/_helpers.tpl`.
    pub helpers: String,
}

/// The template that shows every value as read (JSON, Go's `%v` and YAML), so that a
/// values document read differently shows even when no generated template reads it.
pub const VALUES_VIEW: &str = "{{ toJson .Values }}\n{{ .Values }}\n{{ toYaml .Values }}\n";

const CHART_YAML: &str = "apiVersion: v2\nname: fuzz\nversion: 0.1.0\n";

impl Case {
    /// Generates the case of `seed`.
    pub fn generate(seed: u64, shapes: Shapes) -> Case {
        let mut rng = StdRng::seed_from_u64(seed);
        let tree = values::tree(&mut rng);
        let paths = values::paths(&tree);
        let values = values::write(&mut rng, &tree, shapes.values);
        let GeneratedTemplates { main, helpers } =
            template::generate(&mut rng, &paths, shapes.template);
        Case {
            values,
            main,
            helpers,
        }
    }

    /// The chart's files: path relative to the chart folder, and contents.
    pub fn files(&self) -> [(&'static str, &str); 5] {
        [
            ("Chart.yaml", CHART_YAML),
            ("values.yaml", &self.values),
            ("templates/main.yaml", &self.main),
            ("templates/_helpers.tpl", &self.helpers),
            ("templates/values-view.yaml", VALUES_VIEW),
        ]
    }

    /// Writes the chart into `dir` (which must exist).
    pub fn write_chart(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("templates"))?;
        for (name, contents) in self.files() {
            std::fs::write(dir.join(name), contents)?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Case {
    /// The case as a reader wants it in a report: each file under a header.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "--- values.yaml\n{}", self.values)?;
        writeln!(f, "--- templates/main.yaml\n{}", self.main)?;
        if !self.helpers.is_empty() {
            writeln!(f, "--- templates/_helpers.tpl\n{}", self.helpers)?;
        }
        Ok(())
    }
}
