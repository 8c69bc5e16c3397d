//! Whether a schema document is valid against its draft's metaschema, as Helm checks
//! before it validates any values.
//!
//! Boon validates the document against the metaschema, which is exact but costs more
//! than the rest of the schema step. A walk of the document first answers "surely
//! valid" when every keyword it meets is one whose metaschema constraint it checks
//! exactly for that draft (boon's embedded metaschemas for drafts 4, 6, 7, 2019-09 and
//! 2020-12); anything else (a `format` it cannot verify, an `$anchor`, too deep a
//! document) sends the document to boon as before.

use std::sync::OnceLock;

use serde_json::{Map as JsonMap, Value as Json};

use super::go_regexp;
use crate::funcs::gofmt;

#[cfg(test)]
mod tests;

/// The draft a schema declares (boon's reading of `$schema`), 2020-12 by default.
pub(super) fn draft_of(schema: &Json) -> boon::Draft {
    schema
        .get("$schema")
        .and_then(Json::as_str)
        .and_then(boon::Draft::from_url)
        .unwrap_or(boon::Draft::V2020_12)
}

/// The JSON Schema drafts boon knows, by year (`4`, `6`, `7`, `2019`, `2020`).
pub(super) fn draft_year(draft: boon::Draft) -> u16 {
    match draft {
        boon::Draft::V4 => 4,
        boon::Draft::V6 => 6,
        boon::Draft::V7 => 7,
        boon::Draft::V2019_09 => 2019,
        _ => 2020,
    }
}

/// Whether the schema document is valid against the metaschema of `draft` (`None` when
/// the metaschemas are unavailable).
///
/// A `$schema` naming no known draft leaves `draft` at 2020-12, whose metaschema asks
/// only that `$schema` be a string (its `uri` format is not asserted): the document is
/// validated as it is, with the same verdict as without that `$schema`.
pub(super) fn schema_is_valid(schema: &Json, draft: boon::Draft) -> Option<bool> {
    let year = draft_year(draft);
    if surely_valid(schema, year) {
        return Some(true);
    }
    // Helm compiles patterns with Go's `regexp`, in every draft; boon does not.
    if !regexes_compile(schema) {
        return Some(false);
    }
    boon_accepts(schema, year)
}

/// Boon's verdict on the document against the metaschema of the draft `year`.
fn boon_accepts(schema: &Json, year: u16) -> Option<bool> {
    let meta = metaschemas()?;
    let (_, index) = meta.by_draft.iter().find(|(y, _)| *y == year)?;
    Some(meta.schemas.validate(schema, *index).is_ok())
}

/// The standard metaschemas, compiled once: they are the validator's own constant data
/// (as in Helm's validator), not the chart's.
struct Metaschemas {
    schemas: boon::Schemas,
    by_draft: Vec<(u16, boon::SchemaIndex)>,
}

fn metaschemas() -> Option<&'static Metaschemas> {
    static METASCHEMAS: OnceLock<Option<Metaschemas>> = OnceLock::new();
    METASCHEMAS
        .get_or_init(|| {
            let mut compiler = boon::Compiler::new();
            let mut schemas = boon::Schemas::new();
            let mut by_draft = Vec::new();
            for (year, url) in [
                (4, "http://json-schema.org/draft-04/schema"),
                (6, "http://json-schema.org/draft-06/schema"),
                (7, "http://json-schema.org/draft-07/schema"),
                (2019, "https://json-schema.org/draft/2019-09/schema"),
                (2020, "https://json-schema.org/draft/2020-12/schema"),
            ] {
                by_draft.push((year, compiler.compile(url, &mut schemas).ok()?));
            }
            Some(Metaschemas { schemas, by_draft })
        })
        .as_ref()
}

/// Whether the document is surely valid against the metaschema of the draft `year`:
/// `false` means "not sure", never "invalid".
pub(super) fn surely_valid(schema: &Json, year: u16) -> bool {
    MetaWalk { year }.schema(schema, 0)
}

/// Deeper documents are left to boon.
const MAX_DEPTH: usize = 64;

/// What a draft's metaschema asks of one keyword's value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    /// Any JSON value (`default`, `const`).
    Any,
    String,
    Boolean,
    Number,
    /// A number above zero (`multipleOf`).
    PositiveNumber,
    NonNegativeInteger,
    Schema,
    /// `true`, `false` or a schema (draft-04's `additionalProperties`).
    BooleanOrSchema,
    /// An object of schemas (`properties`, `$defs`).
    SchemaMap,
    /// An object of schemas whose names are `regex`-format strings (draft-07's
    /// `patternProperties`).
    PatternSchemaMap,
    /// A non-empty array of schemas (`allOf`).
    SchemaArray,
    /// A schema or a non-empty array of schemas (`items` before 2020-12).
    SchemaOrSchemaArray,
    /// A simple type name, or a non-empty array of unique ones.
    Type,
    /// An array of unique strings (`required`).
    StringArray,
    /// A non-empty array of unique strings (draft-04's `required`).
    NonEmptyStringArray,
    /// An object of schemas or string arrays (`dependencies`).
    Dependencies,
    /// An object of string arrays (`dependentRequired`).
    DependentRequired,
    Array,
    /// A non-empty array of unique values (`enum` up to draft-07).
    NonEmptyUniqueArray,
    /// A string in `uri-reference` format (`$ref` in drafts 6 and 7).
    UriReference,
    /// A string in `uri` format (`$schema` up to draft-07).
    Uri,
    /// A string in `regex` format (`pattern` up to draft-07).
    Regex,
    /// A string with no fragment but an empty one (`$id` from 2019-09).
    IdWithoutFragment,
    /// A constraint this walk does not check.
    Unsure,
}

/// The metaschema's constraint on `keyword` in draft `year` (`None`: the metaschema
/// does not constrain it).
fn rule(year: u16, keyword: &str) -> Option<Rule> {
    common_rule(year, keyword).or_else(|| match year {
        4 => draft4_rule(keyword),
        6 | 7 => draft6_rule(year, keyword),
        _ => draft2019_rule(year, keyword),
    })
}

/// Keywords every draft's metaschema constrains.
fn common_rule(year: u16, keyword: &str) -> Option<Rule> {
    use Rule::*;
    let legacy = year <= 7;
    Some(match keyword {
        "title" | "description" | "format" => String,
        "default" => Any,
        "multipleOf" => PositiveNumber,
        "maximum" | "minimum" => Number,
        "maxLength" | "minLength" | "maxItems" | "minItems" | "maxProperties" | "minProperties" => {
            NonNegativeInteger
        }
        "uniqueItems" => Boolean,
        "type" => Type,
        "allOf" | "anyOf" | "oneOf" => SchemaArray,
        "not" => Schema,
        "definitions" | "properties" => SchemaMap,
        "dependencies" => Dependencies,
        "pattern" if legacy => Regex,
        "pattern" => String,
        "enum" if legacy => NonEmptyUniqueArray,
        "enum" => Array,
        "$schema" if legacy => Uri,
        "$schema" => String,
        _ => return None,
    })
}

fn draft4_rule(keyword: &str) -> Option<Rule> {
    use Rule::*;
    Some(match keyword {
        "id" | "$ref" => String,
        "exclusiveMaximum" | "exclusiveMinimum" => Boolean,
        "required" => NonEmptyStringArray,
        "additionalProperties" | "additionalItems" => BooleanOrSchema,
        "items" => SchemaOrSchemaArray,
        "patternProperties" => SchemaMap,
        _ => return None,
    })
}

fn draft6_rule(year: u16, keyword: &str) -> Option<Rule> {
    use Rule::*;
    let seven = year == 7;
    Some(match keyword {
        "$id" | "$ref" => UriReference,
        "exclusiveMaximum" | "exclusiveMinimum" => Number,
        "required" => StringArray,
        "additionalProperties" | "additionalItems" | "contains" | "propertyNames" => Schema,
        "items" => SchemaOrSchemaArray,
        "const" => Any,
        "patternProperties" if seven => PatternSchemaMap,
        "patternProperties" => SchemaMap,
        "$comment" | "contentMediaType" | "contentEncoding" if seven => String,
        "readOnly" | "writeOnly" if seven => Boolean,
        "examples" if seven => Array,
        "if" | "then" | "else" if seven => Schema,
        _ => return None,
    })
}

/// Drafts 2019-09 and 2020-12, whose metaschemas assert no `format`.
fn draft2019_rule(year: u16, keyword: &str) -> Option<Rule> {
    use Rule::*;
    let latest = year >= 2020;
    Some(match keyword {
        "$id" => IdWithoutFragment,
        "$ref" | "$recursiveRef" | "$comment" | "contentMediaType" | "contentEncoding" => String,
        "exclusiveMaximum" | "exclusiveMinimum" => Number,
        "maxContains" | "minContains" => NonNegativeInteger,
        "required" => StringArray,
        "dependentRequired" => DependentRequired,
        "const" => Any,
        "readOnly" | "writeOnly" | "deprecated" => Boolean,
        "examples" => Array,
        "$defs" | "patternProperties" | "dependentSchemas" => SchemaMap,
        "additionalProperties"
        | "unevaluatedItems"
        | "unevaluatedProperties"
        | "contains"
        | "propertyNames"
        | "if"
        | "then"
        | "else"
        | "contentSchema" => Schema,
        "items" if latest => Schema,
        "items" => SchemaOrSchemaArray,
        "additionalItems" if !latest => Schema,
        "prefixItems" if latest => SchemaArray,
        "$dynamicRef" if latest => String,
        "$recursiveAnchor" if !latest => Boolean,
        "$recursiveAnchor" | "$anchor" | "$dynamicAnchor" | "$vocabulary" => Unsure,
        _ => return None,
    })
}

/// The walk of a schema document beside its draft's metaschema.
struct MetaWalk {
    year: u16,
}

impl MetaWalk {
    fn schema(&self, value: &Json, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match value {
            // Draft-04 has no boolean schemas.
            Json::Bool(_) => self.year != 4,
            Json::Object(map) => self.keywords(map, depth),
            _ => false,
        }
    }

    fn keywords(&self, map: &JsonMap<String, Json>, depth: usize) -> bool {
        if self.year == 4 && !draft4_exclusive_bounds_hold(map) {
            return false;
        }
        map.iter().all(|(keyword, value)| {
            // Helm's validator compiles these with Go's `regexp` whatever the draft.
            let go_compiles = match (keyword.as_str(), value) {
                ("pattern", Json::String(pattern)) => go_regexp::compile_error(pattern).is_none(),
                ("patternProperties", Json::Object(names)) => names
                    .keys()
                    .all(|name| go_regexp::compile_error(name).is_none()),
                _ => true,
            };
            go_compiles
                && match rule(self.year, keyword) {
                    Some(rule) => self.satisfies(rule, value, depth),
                    None => true,
                }
        })
    }

    fn satisfies(&self, rule: Rule, value: &Json, depth: usize) -> bool {
        match rule {
            Rule::Any => true,
            Rule::String => value.is_string(),
            Rule::Boolean => value.is_boolean(),
            Rule::Number => value.is_number(),
            Rule::PositiveNumber => value.as_f64().is_some_and(|n| n > 0.0),
            // Only plain non-negative integers: `1.0` is left to boon.
            Rule::NonNegativeInteger => value.is_u64(),
            Rule::Schema => self.schema(value, depth + 1),
            Rule::BooleanOrSchema => value.is_boolean() || self.schema(value, depth + 1),
            Rule::SchemaMap => self.schema_map(value, depth, |_| true),
            Rule::PatternSchemaMap => self.schema_map(value, depth, surely_regex),
            Rule::SchemaArray => self.schema_array(value, depth),
            Rule::SchemaOrSchemaArray => match value {
                Json::Array(_) => self.schema_array(value, depth),
                _ => self.schema(value, depth + 1),
            },
            Rule::Type => type_names(value),
            Rule::StringArray => unique_strings(value),
            Rule::NonEmptyStringArray => non_empty(value) && unique_strings(value),
            Rule::Dependencies => self.dependencies(value, depth),
            Rule::DependentRequired => value
                .as_object()
                .is_some_and(|map| map.values().all(unique_strings)),
            Rule::Array => value.is_array(),
            Rule::NonEmptyUniqueArray => non_empty(value) && unique_values(value),
            Rule::UriReference => value.as_str().is_some_and(fragment_only_reference),
            Rule::Uri => value.as_str().is_some_and(standard_metaschema_uri),
            Rule::Regex => value.as_str().is_some_and(surely_regex),
            Rule::IdWithoutFragment => value
                .as_str()
                .is_some_and(|id| id.find('#').is_none_or(|at| at + 1 == id.len())),
            Rule::Unsure => false,
        }
    }

    fn schema_map(&self, value: &Json, depth: usize, name_ok: fn(&str) -> bool) -> bool {
        value.as_object().is_some_and(|map| {
            map.iter()
                .all(|(name, sub)| name_ok(name) && self.schema(sub, depth + 1))
        })
    }

    fn schema_array(&self, value: &Json, depth: usize) -> bool {
        value.as_array().is_some_and(|subs| {
            !subs.is_empty() && subs.iter().all(|sub| self.schema(sub, depth + 1))
        })
    }

    fn dependencies(&self, value: &Json, depth: usize) -> bool {
        let Some(map) = value.as_object() else {
            return false;
        };
        map.values().all(|dependency| match dependency {
            Json::Array(_) if self.year == 4 => non_empty(dependency) && unique_strings(dependency),
            Json::Array(_) => unique_strings(dependency),
            _ => self.schema(dependency, depth + 1),
        })
    }
}

/// Draft-04's metaschema: `exclusiveMaximum` needs `maximum`, `exclusiveMinimum`
/// needs `minimum`.
fn draft4_exclusive_bounds_hold(map: &JsonMap<String, Json>) -> bool {
    (!map.contains_key("exclusiveMaximum") || map.contains_key("maximum"))
        && (!map.contains_key("exclusiveMinimum") || map.contains_key("minimum"))
}

const SIMPLE_TYPES: [&str; 7] = [
    "array", "boolean", "integer", "null", "number", "object", "string",
];

fn type_names(value: &Json) -> bool {
    let simple = |name: &Json| name.as_str().is_some_and(|n| SIMPLE_TYPES.contains(&n));
    match value {
        Json::String(_) => simple(value),
        Json::Array(names) => {
            !names.is_empty() && names.iter().all(simple) && unique_strings(value)
        }
        _ => false,
    }
}

fn non_empty(value: &Json) -> bool {
    value.as_array().is_some_and(|items| !items.is_empty())
}

fn unique_strings(value: &Json) -> bool {
    value.as_array().is_some_and(|items| {
        items.iter().all(Json::is_string)
            && items
                .iter()
                .enumerate()
                .all(|(i, a)| items[i + 1..].iter().all(|b| a != b))
    })
}

fn unique_values(value: &Json) -> bool {
    value.as_array().is_some_and(|items| {
        items
            .iter()
            .enumerate()
            .all(|(i, a)| items[i + 1..].iter().all(|b| !boon_equals(a, b)))
    })
}

/// JSON equality as boon decides it for `enum`, `const` and `uniqueItems` (numbers by
/// value: `1` equals `1.0`).
pub(super) fn boon_equals(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x == y;
            }
            x.as_f64().is_some_and(|x| y.as_f64() == Some(x))
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| boon_equals(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| boon_equals(v, w)))
        }
        _ => a == b,
    }
}

/// A `#` and an RFC 3986 fragment: a `uri-reference` surely. Other references (with a
/// path or a scheme) are left to boon.
fn fragment_only_reference(reference: &str) -> bool {
    let Some(fragment) = reference.strip_prefix('#') else {
        return false;
    };
    let bytes = fragment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// One of the standard metaschemas' addresses with its scheme: a `uri` surely.
fn standard_metaschema_uri(uri: &str) -> bool {
    (uri.starts_with("http://") || uri.starts_with("https://"))
        && boon::Draft::from_url(uri).is_some()
}

/// Whether `pattern` is surely in boon's `regex` format: boon parses an ECMA-262
/// pattern with `regex-syntax`'s parser and then refuses only the `\a` escape ECMA
/// lacks, so a pattern that parser accepts, without `\a`, passes. Parsing builds no
/// automaton, so nothing needs keeping from one check to the next.
fn surely_regex(pattern: &str) -> bool {
    !pattern.contains("\\a")
        && regex_syntax::ast::parse::Parser::new()
            .parse(pattern)
            .is_ok()
}

/// Helm's refusal of a schema document with a `pattern` or `patternProperties` name
/// that Go's `regexp` cannot compile (`None`: every one compiles).
///
/// Helm's validator checks the `regex` format of these against the metaschema in every
/// draft (boon asserts no format from 2019-09 on, and speaks another regex dialect), so
/// its report is built here: the metaschema's error tree, located as santhosh-tekuri
/// v6 words it. With several failures Helm's order follows Go's map iteration and
/// varies between runs; this lists them in document order. Drafts 4 and 6 do not check
/// `patternProperties` names against the metaschema: the schema then fails to compile.
pub(super) fn regex_report(schema: &Json) -> Option<String> {
    let draft = draft_of(schema);
    let year = draft_year(draft);
    let mut report = RegexReport {
        year,
        compile_error: None,
    };
    let errors = report.node(schema, "", 0);
    if errors.is_empty() {
        return report.compile_error;
    }
    let url = match year {
        4 => "http://json-schema.org/draft-04/schema#",
        6 => "http://json-schema.org/draft-06/schema#",
        7 => "http://json-schema.org/draft-07/schema#",
        2019 => "https://json-schema.org/draft/2019-09/schema#",
        _ => "https://json-schema.org/draft/2020-12/schema#",
    };
    let mut out = format!(
        "\"file:///values.schema.json#\" is not valid against metaschema: jsonschema validation failed with '{url}'"
    );
    for error in &errors {
        error.render(0, &mut out);
    }
    Some(out)
}

/// Whether every `pattern` and `patternProperties` name in the document compiles with
/// Go's `regexp` (checked only where the metaschema reads them, as Helm does).
pub(super) fn regexes_compile(schema: &Json) -> bool {
    regex_report(schema).is_none()
}

/// One line of santhosh-tekuri's error tree: `- at '<where>': <message>`.
struct MetaError {
    at: String,
    message: String,
    causes: Vec<MetaError>,
}

impl MetaError {
    fn leaf(at: &str, message: String) -> MetaError {
        MetaError {
            at: at.to_owned(),
            message,
            causes: Vec::new(),
        }
    }

    fn render(&self, indent: usize, out: &mut String) {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        out.push_str(&format!("- at {}: {}", go_quote(&self.at), self.message));
        for cause in &self.causes {
            cause.render(indent + 2, out);
        }
    }
}

/// One subschema's errors as a cause of `allOf`/`anyOf`: alone, or grouped.
fn branch(at: &str, mut errors: Vec<MetaError>) -> MetaError {
    if errors.len() == 1 {
        errors.remove(0)
    } else {
        MetaError {
            at: at.to_owned(),
            message: "validation failed".to_owned(),
            causes: errors,
        }
    }
}

/// santhosh-tekuri's `quote`: Go's `%q` in single quotes.
pub(super) fn go_quote(text: &str) -> String {
    let quoted = gofmt::quote(text)
        .replace("\\\"", "\"")
        .replace('\'', "\\'");
    format!("'{}'", &quoted[1..quoted.len() - 1])
}

fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The walk of the document that finds the regexes Go refuses.
struct RegexReport {
    year: u16,
    /// Drafts 4 and 6: the first `patternProperties` name that does not compile.
    compile_error: Option<String>,
}

/// Where a keyword's failures appear in the 2019-09 and 2020-12 metaschemas: the
/// root's own `properties`, or one of its `allOf` vocabularies.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Own,
    Core,
    Applicator,
    Unevaluated,
    Validation,
    Content,
}

impl RegexReport {
    /// The metaschema's errors for the schema at `at`.
    fn node(&mut self, value: &Json, at: &str, depth: usize) -> Vec<MetaError> {
        let Json::Object(map) = value else {
            return Vec::new();
        };
        if depth > 2 * MAX_DEPTH {
            return Vec::new();
        }
        let mut found: Vec<(Part, MetaError)> = Vec::new();
        for (keyword, value) in map {
            let here = format!("{at}/{}", pointer_token(keyword));
            let part = self.part(keyword);
            if keyword == "pattern" {
                if let Some(error) = value.as_str().and_then(regex_error) {
                    found.push((part, MetaError::leaf(&here, error)));
                }
                continue;
            }
            let Some(rule) = rule(self.year, keyword) else {
                continue;
            };
            match rule {
                Rule::Schema => {
                    for error in self.node(value, &here, depth + 1) {
                        found.push((part, error));
                    }
                }
                Rule::BooleanOrSchema => {
                    let errors = self.node(value, &here, depth + 1);
                    if !errors.is_empty() {
                        // Draft-04: `anyOf: [{type: boolean}, {$ref: #}]`.
                        let causes = vec![
                            MetaError::leaf(&here, "got object, want boolean".to_owned()),
                            branch(&here, errors),
                        ];
                        found.push((part, any_of(&here, causes)));
                    }
                }
                Rule::SchemaMap | Rule::PatternSchemaMap => {
                    let Some(subs) = value.as_object() else {
                        continue;
                    };
                    for (name, sub) in subs {
                        if keyword == "patternProperties"
                            && let Some(error) = go_regexp::compile_error(name)
                        {
                            if self.year >= 7 {
                                let message =
                                    format!("{} is not valid regex: {error}", go_quote(name));
                                found.push((
                                    part,
                                    MetaError {
                                        at: String::new(),
                                        message: format!("invalid propertyName {}", go_quote(name)),
                                        causes: vec![MetaError::leaf("", message)],
                                    },
                                ));
                            } else if self.compile_error.is_none() {
                                self.compile_error = Some(format!(
                                    "invalid regex {} at {}: {error}",
                                    gofmt::quote(name),
                                    gofmt::quote(&format!("file:///values.schema.json#{here}"))
                                ));
                            }
                        }
                        let sub_at = format!("{here}/{}", pointer_token(name));
                        for error in self.node(sub, &sub_at, depth + 1) {
                            found.push((part, error));
                        }
                    }
                }
                Rule::SchemaArray => {
                    for error in self.array(value, &here, depth) {
                        found.push((part, error));
                    }
                }
                Rule::SchemaOrSchemaArray => {
                    // `anyOf: [{$ref: #}, {$ref: #/definitions/schemaArray}]`.
                    let causes = match value {
                        Json::Array(_) => {
                            let errors = self.array(value, &here, depth);
                            if errors.is_empty() {
                                continue;
                            }
                            let want = if self.year == 4 {
                                "got array, want object"
                            } else {
                                "got array, want boolean or object"
                            };
                            vec![
                                MetaError::leaf(&here, want.to_owned()),
                                branch(&here, errors),
                            ]
                        }
                        _ => {
                            let errors = self.node(value, &here, depth + 1);
                            if errors.is_empty() {
                                continue;
                            }
                            let want = "got object, want array".to_owned();
                            vec![branch(&here, errors), MetaError::leaf(&here, want)]
                        }
                    };
                    found.push((part, any_of(&here, causes)));
                }
                Rule::Dependencies => {
                    let Some(entries) = value.as_object() else {
                        continue;
                    };
                    for (name, sub) in entries {
                        let sub_at = format!("{here}/{}", pointer_token(name));
                        let errors = self.node(sub, &sub_at, depth + 1);
                        if !errors.is_empty() {
                            let want = "got object, want array".to_owned();
                            let causes =
                                vec![branch(&sub_at, errors), MetaError::leaf(&sub_at, want)];
                            found.push((part, any_of(&sub_at, causes)));
                        }
                    }
                }
                _ => {}
            }
        }
        if self.year <= 7 {
            return found.into_iter().map(|(_, error)| error).collect();
        }
        // The root's own keywords first, then `allOf` over the vocabularies.
        let mut errors = Vec::new();
        let mut vocabularies = Vec::new();
        for part in [
            Part::Own,
            Part::Core,
            Part::Applicator,
            Part::Unevaluated,
            Part::Validation,
            Part::Content,
        ] {
            let mine: Vec<MetaError> = found
                .iter_mut()
                .filter(|(p, _)| *p == part)
                .map(|(_, error)| std::mem::replace(error, MetaError::leaf("", String::new())))
                .collect();
            if mine.is_empty() {
                continue;
            }
            if part == Part::Own {
                errors.extend(mine);
            } else {
                vocabularies.push(branch(at, mine));
            }
        }
        if !vocabularies.is_empty() {
            errors.push(MetaError {
                at: at.to_owned(),
                message: "'allOf' failed".to_owned(),
                causes: vocabularies,
            });
        }
        errors
    }

    fn array(&mut self, value: &Json, at: &str, depth: usize) -> Vec<MetaError> {
        let mut errors = Vec::new();
        for (i, sub) in value.as_array().into_iter().flatten().enumerate() {
            errors.extend(self.node(sub, &format!("{at}/{i}"), depth + 1));
        }
        errors
    }

    fn part(&self, keyword: &str) -> Part {
        match keyword {
            "definitions" | "dependencies" => Part::Own,
            "$defs" => Part::Core,
            "pattern" => Part::Validation,
            "contentSchema" => Part::Content,
            "unevaluatedItems" | "unevaluatedProperties" if self.year >= 2020 => Part::Unevaluated,
            _ => Part::Applicator,
        }
    }
}

fn any_of(at: &str, causes: Vec<MetaError>) -> MetaError {
    MetaError {
        at: at.to_owned(),
        message: "'anyOf' failed".to_owned(),
        causes,
    }
}

/// santhosh-tekuri's `regex` format failure for a pattern Go refuses.
fn regex_error(pattern: &str) -> Option<String> {
    let error = go_regexp::compile_error(pattern)?;
    Some(format!("{} is not valid regex: {error}", go_quote(pattern)))
}
