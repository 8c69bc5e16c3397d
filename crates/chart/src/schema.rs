//! `values.schema.json` checks, reported as Helm (santhosh-tekuri/jsonschema v6) words
//! them: one block per chart, one `- at '/path': problem` line per failure, failures
//! under one property grouped as `validation failed`.

use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};

mod formats;
mod go_regexp;
mod metaschema;
mod quick;

use crate::chart::Chart;
use crate::error::ChartError;
use crate::value::{Map, Value};

/// Checks `values` against the chart's schema and its subcharts' (each against its own
/// part of the values), as Helm's `ValidateAgainstSchema` does.
pub fn validate(chart: &Chart, values: &Map) -> Result<(), ChartError> {
    let report = chart_report(chart, values);
    if report.is_empty() {
        Ok(())
    } else {
        Err(ChartError::Schema { report })
    }
}

fn chart_report(chart: &Chart, values: &Map) -> String {
    let mut report = String::new();
    if let Some(schema) = &chart.schema {
        match check(schema, values) {
            Ok(lines) if lines.is_empty() => {}
            Ok(lines) => {
                report.push_str(&format!("{}:\n", chart.name()));
                report.push_str(&lines);
                report.push('\n');
            }
            Err(message) => {
                report.push_str(&format!("{}:\n{message}\n", chart.name()));
            }
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Nil) => {}
            Some(Value::Map(sub_values)) => {
                report.push_str(&chart_report(sub, &sub_values.to_map()));
            }
            Some(other) => report.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                other.type_name()
            )),
        }
    }
    report
}

/// Compiles a schema for the draft its `$schema` names; a `$schema` that names no
/// known draft is ignored (Helm's validator then uses its default, 2020-12).
fn compile(schema: &serde_json::Value) -> Result<jsonschema::Validator, String> {
    use jsonschema::Draft;
    let declared = schema
        .get("$schema")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    let draft = if declared.contains("draft-04") {
        Draft::Draft4
    } else if declared.contains("draft-06") {
        Draft::Draft6
    } else if declared.contains("draft-07") {
        Draft::Draft7
    } else if declared.contains("2019-09") {
        Draft::Draft201909
    } else {
        Draft::Draft202012
    };
    let mut schema = schema.clone();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    let mut options = jsonschema::options().with_draft(draft);
    for &format in formats::PORTED {
        options = options.with_format(format, move |text: &str| formats::valid(format, text));
    }
    options.build(&schema).map_err(|error| error.to_string())
}

/// One failure: where in the values, where in the schema, and the message.
struct Failure {
    instance: String,
    /// Where the line says the failure is, when not `instance` (a property name's
    /// failure is at `''`).
    shown_at: Option<String>,
    schema: Vec<String>,
    message: String,
    /// Lines listed under this one (`- at '': ...` under `invalid propertyName`).
    causes: Vec<(String, String)>,
}

/// Whether `instance` satisfies `schema` by boon, the Rust port of the validator Helm
/// uses (santhosh-tekuri/jsonschema): `None` when boon cannot decide (a schema it
/// cannot compile, such as one that refers to other documents: nothing is loaded).
fn boon_valid(schema: &serde_json::Value, instance: &serde_json::Value) -> Option<bool> {
    /// Loads nothing: a chart's schema is validated on its own, offline.
    struct Offline;
    impl boon::UrlLoader for Offline {
        fn load(&self, url: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
            Err(format!("{url}: documents outside the chart are not loaded").into())
        }
    }
    const LOCATION: &str = "file:///values.schema.json";
    let mut compiler = boon::Compiler::new();
    compiler.use_loader(Box::new(Offline));
    compiler.set_default_draft(boon::Draft::V2020_12);
    // boon knows no `semver` format; Helm's validator does.
    compiler.register_format(boon::Format {
        name: "semver",
        func: |value| match value.as_str() {
            Some(text) if !formats::valid("semver", text) => {
                Err(formats::reason("semver", text).unwrap_or_default().into())
            }
            _ => Ok(()),
        },
    });
    let mut schema = schema.clone();
    if let Some(object) = schema.as_object_mut()
        && object
            .get("$schema")
            .and_then(|s| s.as_str())
            .is_some_and(|url| boon::Draft::from_url(url).is_none())
    {
        // As in `compile`: a `$schema` naming no known draft is ignored.
        object.remove("$schema");
    }
    compiler.add_resource(LOCATION, schema).ok()?;
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(LOCATION, &mut schemas).ok()?;
    Some(schemas.validate(instance, index).is_ok())
}

fn check(schema: &Arc<serde_json::Value>, values: &Map) -> Result<String, String> {
    let instance = serde_json::Value::Object(crate::value::map_to_json(values));
    // Most values pass: a walk of the schema beside the values says so quickly, else
    // boon after compiling the schema. Failures (and what neither can judge) are
    // worded from jsonschema's detailed report below.
    if quick::check(schema, &instance) == Some(true) {
        return Ok(String::new());
    }
    // Helm refuses a pattern Go's `regexp` cannot compile, whatever the values; boon
    // compiles patterns in another dialect and asserts no `regex` format from 2019-09.
    if let Some(report) = metaschema::regex_report(schema) {
        return Err(report);
    }
    if boon_valid(schema, &instance) == Some(true) {
        return Ok(String::new());
    }
    let validator =
        compile(schema).map_err(|error| format!("- invalid values.schema.json: {error}"))?;
    let mut failures: Vec<Failure> = Vec::new();
    for error in validator.iter_errors(&instance) {
        let instance_path = error.instance_path.to_string();
        let schema_path = split_path(&error.schema_path.to_string());
        let mut message = describe(&error.kind, &error.instance);
        let mut shown_at = None;
        let mut causes = Vec::new();
        match &error.kind {
            ValidationErrorKind::Pattern { .. } => {
                // jsonschema reports the pattern it rewrote for Rust's regex crate
                // (`\w` as `[A-Za-z0-9_]`): Helm quotes the schema's own text.
                if let Some(pattern) = schema_node(schema, &schema_path)
                    .and_then(|node| node.get("pattern"))
                    .and_then(|p| p.as_str())
                {
                    message = format!(
                        "{} does not match pattern {}",
                        quote_value(&error.instance),
                        metaschema::go_quote(pattern)
                    );
                }
            }
            ValidationErrorKind::PropertyNames { error: inner } => {
                // santhosh-tekuri words a property name's failure at the empty
                // location, the name's own failures listed under it.
                let name = inner.instance.as_str().unwrap_or_default();
                message = format!("invalid propertyName {}", metaschema::go_quote(name));
                shown_at = Some(String::new());
                let inner_path: Vec<String> = split_path(&inner.schema_path.to_string());
                let mut inner_message = describe(&inner.kind, &inner.instance);
                if let ValidationErrorKind::Pattern { .. } = &inner.kind
                    && let Some(pattern) = schema_node(schema, &inner_path)
                        .and_then(|node| node.get("pattern"))
                        .and_then(|p| p.as_str())
                {
                    inner_message = format!(
                        "{} does not match pattern {}",
                        quote_value(&inner.instance),
                        metaschema::go_quote(pattern)
                    );
                }
                causes.push((String::new(), inner_message));
            }
            ValidationErrorKind::AnyOf | ValidationErrorKind::OneOfNotValid => {
                let keyword = schema_path.last().map(String::as_str).unwrap_or_default();
                if let Some(options) = schema_node(schema, &schema_path)
                    .and_then(|node| node.get(keyword))
                    .and_then(|options| options.as_array())
                {
                    for option in options {
                        causes.extend(sub_failures(
                            schema,
                            option,
                            &error.instance,
                            &instance_path,
                        ));
                    }
                }
            }
            ValidationErrorKind::Contains => {
                if let (Some(contains), Some(items)) = (
                    schema_node(schema, &schema_path).and_then(|node| node.get("contains")),
                    error.instance.as_array(),
                ) {
                    for (i, item) in items.iter().enumerate() {
                        let at = format!("{instance_path}/{i}");
                        causes.extend(sub_failures(schema, contains, item, &at));
                    }
                }
            }
            ValidationErrorKind::OneOfMultipleValid => {
                if let Some((first, second)) =
                    matching_subschemas(schema, &schema_path, &error.instance)
                {
                    message = format!("'oneOf' failed, subschemas {first}, {second} matched");
                }
            }
            _ => {}
        }
        // `dependencies` (and `dependentRequired`): jsonschema reports each missing
        // property as `required`; santhosh-tekuri words them together per property.
        if let ValidationErrorKind::Required { property } = &error.kind
            && let Some(owner) = dependency_owner(
                schema,
                &schema_path,
                &error.instance,
                property.as_str().unwrap_or_default(),
            )
        {
            let name = metaschema::go_quote(property.as_str().unwrap_or_default());
            match failures
                .iter_mut()
                .find(|f| f.instance == instance_path && f.schema == schema_path)
            {
                Some(previous) => {
                    previous.message = previous.message.replacen(
                        " required, if ",
                        &format!(", {name} required, if "),
                        1,
                    );
                }
                None => failures.push(Failure {
                    instance: instance_path,
                    shown_at,
                    schema: schema_path,
                    message: format!(
                        "properties {name} required, if {} exists",
                        metaschema::go_quote(&owner)
                    ),
                    causes,
                }),
            }
            continue;
        }
        // santhosh-tekuri reports all missing properties of one object at once.
        if let ValidationErrorKind::Required { property } = &error.kind
            && let Some(previous) = failures.iter_mut().find(|f| {
                f.instance == instance_path
                    && f.schema.last().map(String::as_str) == Some("required")
            })
        {
            let name = property.as_str().unwrap_or_default();
            previous.message =
                previous
                    .message
                    .replacen("missing property ", "missing properties ", 1)
                    + &format!(", '{name}'");
            continue;
        }
        failures.push(Failure {
            instance: instance_path,
            shown_at,
            schema: schema_path,
            message,
            causes,
        });
    }
    let mut tree = group(&failures.iter().collect::<Vec<_>>(), 0);
    // A single group at the top is the validator's top error: its causes are listed.
    while tree.len() == 1 && matches!(tree[0], Node::Group { .. }) {
        match tree.pop() {
            Some(Node::Group { children, .. }) => tree = children,
            _ => break,
        }
    }
    let mut out = String::new();
    render(&tree, 0, &mut out);
    Ok(out.trim_end_matches('\n').to_string())
}

enum Node<'a> {
    Leaf(&'a Failure),
    Group {
        instance: String,
        children: Vec<Node<'a>>,
    },
}

/// Failures keyed by the sub-schema they come from (`None`: at this level).
type Keyed<'a> = Vec<(Option<(String, String)>, Vec<&'a Failure>)>;

/// Groups failures by the property (or item) schema they come from, level by level.
fn group<'a>(failures: &[&'a Failure], depth: usize) -> Vec<Node<'a>> {
    let mut keyed: Keyed<'a> = Vec::new();
    for failure in failures {
        let key = scope_key(&failure.schema, depth);
        match keyed.iter_mut().find(|(k, _)| *k == key && key.is_some()) {
            Some((_, list)) => list.push(failure),
            None => keyed.push((key, vec![failure])),
        }
    }
    keyed.sort_by_key(|(key, list)| match key {
        Some((keyword, _)) => keyword_rank(keyword),
        None => keyword_rank(list[0].schema.get(depth).map(String::as_str).unwrap_or("")),
    });
    keyed
        .into_iter()
        .map(|(key, list)| match key {
            None => Node::Leaf(list[0]),
            Some(_) if list.len() == 1 => Node::Leaf(list[0]),
            Some((_, _)) => {
                let mut children = group(&list, depth + 2);
                sort_leaves(&mut children, depth + 2);
                let instance = common_instance(&list);
                Node::Group { instance, children }
            }
        })
        .collect()
}

fn sort_leaves(nodes: &mut [Node<'_>], depth: usize) {
    nodes.sort_by_key(|node| match node {
        Node::Leaf(f) => keyword_rank(f.schema.get(depth).map(String::as_str).unwrap_or("")),
        Node::Group { .. } => keyword_rank("properties"),
    });
}

fn common_instance(list: &[&Failure]) -> String {
    list.iter()
        .map(|f| f.instance.clone())
        .min_by_key(|s| s.len())
        .unwrap_or_default()
}

/// The sub-schema a failure lives under at `depth` (`properties/name`, `items`...), or
/// `None` when the failing keyword sits at this level.
fn scope_key(schema: &[String], depth: usize) -> Option<(String, String)> {
    let keyword = schema.get(depth)?;
    let rest = schema.len().saturating_sub(depth);
    match keyword.as_str() {
        "properties" | "patternProperties" | "items" | "prefixItems" | "allOf" | "anyOf"
        | "oneOf" | "definitions" | "$defs" | "dependencies" | "dependentSchemas"
            if rest > 2 =>
        {
            Some((keyword.clone(), schema[depth + 1].clone()))
        }
        _ => None,
    }
}

fn keyword_rank(keyword: &str) -> usize {
    const ORDER: [&str; 33] = [
        "type",
        "const",
        "enum",
        "format",
        "maxProperties",
        "minProperties",
        "required",
        "dependencies",
        "dependentRequired",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "maxItems",
        "minItems",
        "uniqueItems",
        "items",
        "prefixItems",
        "additionalItems",
        "contains",
        "maxLength",
        "minLength",
        "pattern",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "multipleOf",
        "$ref",
        "not",
        "allOf",
        "anyOf",
        "oneOf",
    ];
    ORDER
        .iter()
        .position(|k| *k == keyword)
        .unwrap_or(ORDER.len())
}

fn render(nodes: &[Node<'_>], indent: usize, out: &mut String) {
    for node in nodes {
        let pad = " ".repeat(indent);
        match node {
            Node::Leaf(f) => {
                let at = f.shown_at.as_ref().unwrap_or(&f.instance);
                out.push_str(&format!("{pad}- at '{at}': {}\n", f.message));
                for (instance, message) in &f.causes {
                    out.push_str(&format!("{pad}  - at '{instance}': {message}\n"));
                }
            }
            Node::Group { instance, children } => {
                out.push_str(&format!("{pad}- at '{instance}': validation failed\n"));
                render(children, indent + 2, out);
            }
        }
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "number",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn quote_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => metaschema::go_quote(s),
        other => other.to_string(),
    }
}

fn number(value: &serde_json::Value) -> String {
    value.to_string()
}

fn length(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::String(s) => s.chars().count(),
        serde_json::Value::Array(items) => items.len(),
        serde_json::Value::Object(map) => map.len(),
        _ => 0,
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The schema object holding the failing keyword (the last segment of `path`),
/// following local `$ref`s (`#/definitions/x`) where jsonschema's path goes through
/// them; `None` when the path leads elsewhere.
fn schema_node<'s>(root: &'s serde_json::Value, path: &[String]) -> Option<&'s serde_json::Value> {
    let (_, parents) = path.split_last()?;
    let mut node = root;
    for segment in parents {
        node = if segment == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            root.pointer(target)?
        } else {
            match node {
                serde_json::Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                other => other.get(segment)?,
            }
        };
    }
    Some(node)
}

/// The property whose `dependencies` (or `dependentRequired`) entry asks for the
/// missing `property` (jsonschema's path stops at the keyword).
fn dependency_owner(
    root: &serde_json::Value,
    path: &[String],
    instance: &serde_json::Value,
    property: &str,
) -> Option<String> {
    let keyword = path.last()?;
    if !matches!(keyword.as_str(), "dependencies" | "dependentRequired") {
        return None;
    }
    let entries = schema_node(root, path)?.get(keyword)?.as_object()?;
    let object = instance.as_object()?;
    entries
        .iter()
        .find(|(owner, wanted)| {
            object.contains_key(*owner)
                && wanted
                    .as_array()
                    .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(property)))
        })
        .map(|(owner, _)| owner.clone())
}

/// The failures of `instance` (found at `at`) against a subschema, as the lines
/// santhosh-tekuri lists under an `anyOf`, `oneOf` or `contains` failure: the
/// subschema is checked on its own, with the root's `definitions` and `$defs` for its
/// local `$ref`s.
fn sub_failures(
    root: &serde_json::Value,
    subschema: &serde_json::Value,
    instance: &serde_json::Value,
    at: &str,
) -> Vec<(String, String)> {
    let mut standalone = subschema.clone();
    if let (Some(object), Some(root)) = (standalone.as_object_mut(), root.as_object()) {
        for key in ["definitions", "$defs", "$schema"] {
            if let Some(value) = root.get(key)
                && !object.contains_key(key)
            {
                object.insert(key.to_string(), value.clone());
            }
        }
    }
    let Ok(validator) = compile(&standalone) else {
        return Vec::new();
    };
    validator
        .iter_errors(instance)
        .map(|error| {
            (
                format!("{at}{}", error.instance_path),
                describe(&error.kind, &error.instance),
            )
        })
        .collect()
}

/// The first two `oneOf` subschemas `instance` matches (santhosh-tekuri names them).
fn matching_subschemas(
    root: &serde_json::Value,
    path: &[String],
    instance: &serde_json::Value,
) -> Option<(usize, usize)> {
    let options = schema_node(root, path)?.get("oneOf")?.as_array()?;
    let mut matched = options
        .iter()
        .enumerate()
        .filter(|(_, option)| boon_valid(option, instance) == Some(true))
        .map(|(i, _)| i);
    Some((matched.next()?, matched.next()?))
}

/// The first pair of equal items, as santhosh-tekuri looks for them (`j < i`, the
/// smallest `i` first).
fn first_duplicate(instance: &serde_json::Value) -> Option<(usize, usize)> {
    let items = instance.as_array()?;
    (1..items.len()).find_map(|i| {
        (0..i)
            .find(|&j| metaschema::boon_equals(&items[i], &items[j]))
            .map(|j| (j, i))
    })
}

/// santhosh-tekuri/jsonschema v6's wording of a failure.
fn describe(kind: &ValidationErrorKind, instance: &serde_json::Value) -> String {
    use ValidationErrorKind as K;
    match kind {
        K::Type { kind } => {
            let want = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => {
                    let names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
                    names.join(" or ")
                }
            };
            format!("got {}, want {want}", json_type(instance))
        }
        K::Required { property } => {
            format!(
                "missing property '{}'",
                property.as_str().unwrap_or_default()
            )
        }
        K::Enum { options } => {
            let listed: Vec<String> = match options {
                serde_json::Value::Array(items) => items.iter().map(quote_value).collect(),
                other => vec![quote_value(other)],
            };
            format!("value must be one of {}", listed.join(", "))
        }
        K::Constant { expected_value } => format!("value must be {}", quote_value(expected_value)),
        K::AdditionalProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|n| format!("'{n}'")).collect();
            format!("additional properties {} not allowed", names.join(", "))
        }
        K::MaxLength { limit } => format!("maxLength: got {}, want {limit}", length(instance)),
        K::MinLength { limit } => format!("minLength: got {}, want {limit}", length(instance)),
        K::MaxItems { limit } => format!("maxItems: got {}, want {limit}", length(instance)),
        K::MinItems { limit } => format!("minItems: got {}, want {limit}", length(instance)),
        K::MaxProperties { limit } => {
            format!("maxProperties: got {}, want {limit}", length(instance))
        }
        K::MinProperties { limit } => {
            format!("minProperties: got {}, want {limit}", length(instance))
        }
        K::Pattern { pattern } => format!(
            "{} does not match pattern {}",
            quote_value(instance),
            metaschema::go_quote(pattern)
        ),
        K::Minimum { limit } => {
            format!("minimum: got {}, want {}", number(instance), number(limit))
        }
        K::Maximum { limit } => {
            format!("maximum: got {}, want {}", number(instance), number(limit))
        }
        K::ExclusiveMinimum { limit } => {
            format!(
                "exclusiveMinimum: got {}, want {}",
                number(instance),
                number(limit)
            )
        }
        K::ExclusiveMaximum { limit } => {
            format!(
                "exclusiveMaximum: got {}, want {}",
                number(instance),
                number(limit)
            )
        }
        K::MultipleOf { multiple_of } => {
            format!("multipleOf: got {}, want {multiple_of}", number(instance))
        }
        K::UniqueItems => match first_duplicate(instance) {
            Some((first, second)) => format!("items at {first} and {second} are equal"),
            None => "items are not unique".to_string(),
        },
        K::Format { format } => {
            let why = instance
                .as_str()
                .and_then(|text| formats::reason(format, text))
                .map(|why| format!(": {why}"))
                .unwrap_or_default();
            format!("{} is not valid {format}{why}", quote_value(instance))
        }
        K::AnyOf => "'anyOf' failed".to_string(),
        K::OneOfNotValid => "'oneOf' failed, none matched".to_string(),
        K::OneOfMultipleValid => "'oneOf' failed, more than one matched".to_string(),
        K::Not { .. } => "'not' failed".to_string(),
        K::FalseSchema => "false schema".to_string(),
        K::Contains => "no items match contains schema".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boon_decides_offline_schemas_only() {
        let schema = serde_json::json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"replicas": {"type": "integer", "minimum": 1}}
        });
        let good = serde_json::json!({"replicas": 2});
        let bad = serde_json::json!({"replicas": 0});
        assert_eq!(boon_valid(&schema, &good), Some(true));
        assert_eq!(boon_valid(&schema, &bad), Some(false));
        // An unknown `$schema` is ignored, as Helm's validator does.
        let unknown = serde_json::json!({"$schema": "https://example.com/s", "type": "object"});
        assert_eq!(boon_valid(&unknown, &good), Some(true));
        // Other documents are never fetched: boon cannot decide, jsonschema reports.
        let remote = serde_json::json!({"$ref": "other.json"});
        assert_eq!(boon_valid(&remote, &good), None);
    }
}
