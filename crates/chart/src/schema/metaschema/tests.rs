//! The quick metaschema walk against boon, the oracle: it may be unsure, never wrong.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use super::*;

/// How often the walk was sure, beside boon's verdicts.
#[derive(Debug, Default)]
struct Tally {
    documents: usize,
    surely_valid: usize,
    boon_valid: usize,
}

impl Tally {
    /// Checks that the walk never calls valid a document boon refuses.
    fn compare(&mut self, document: &Json) {
        let year = draft_year(draft_of(document));
        let boon = boon_accepts(document, year).expect("the metaschemas compile");
        let quick = surely_valid(document, year);
        assert!(
            boon || !quick,
            "draft {year}: the walk calls valid what boon refuses: {document}"
        );
        self.documents += 1;
        self.surely_valid += usize::from(quick);
        self.boon_valid += usize::from(boon);
    }
}

const DRAFTS: [(u16, &str); 5] = [
    (4, "http://json-schema.org/draft-04/schema#"),
    (6, "http://json-schema.org/draft-06/schema#"),
    (7, "http://json-schema.org/draft-07/schema#"),
    (2019, "https://json-schema.org/draft/2019-09/schema"),
    (2020, "https://json-schema.org/draft/2020-12/schema"),
];

fn with_draft(url: &str, mut schema: Json) -> Json {
    if let Some(map) = schema.as_object_mut() {
        map.insert("$schema".to_owned(), json!(url));
    }
    schema
}

/// Schemas every draft's metaschema accepts, and that the walk must call valid.
fn valid_everywhere() -> Vec<Json> {
    vec![
        json!({}),
        json!({"type": "object", "required": ["a"], "properties": {
            "a": {"type": ["string", "null"], "description": "x", "default": 5},
            "b": {"type": "integer", "minimum": 1, "maximum": 9, "multipleOf": 2},
            "c": {"type": "array", "items": {"type": "string"}, "minItems": 0, "maxItems": 3,
                  "uniqueItems": true},
            "d": {"enum": ["x", 1, null, {"a": 1}], "title": "d"},
            "e": {"$ref": "#/definitions/e"},
            "f": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "g": {"type": "string", "pattern": "^[a-z]+(\\.[0-9]{1,3})?$", "maxLength": 5},
            "h": {"not": {"type": "null"}, "format": "email"},
            "i": {"additionalProperties": {"type": "string"}, "minProperties": 1},
        }, "definitions": {"e": {"oneOf": [{"type": "string"}, {"type": "boolean"}]}},
           "x-unknown": [1, 1], "dependencies": {"a": ["b"], "b": {"required": ["a"]}}}),
    ]
}

/// Schemas each draft's metaschema refuses.
fn invalid(year: u16) -> Vec<Json> {
    let mut schemas = vec![
        json!({"type": "text"}),
        json!({"type": []}),
        json!({"type": ["string", "string"]}),
        json!({"properties": {"a": {"type": 5}}}),
        json!({"properties": []}),
        json!({"required": "a"}),
        json!({"required": ["a", "a"]}),
        json!({"minLength": -1}),
        json!({"maxItems": "3"}),
        json!({"minimum": "1"}),
        json!({"multipleOf": 0}),
        json!({"allOf": []}),
        json!({"anyOf": {}}),
        json!({"description": 3}),
        json!({"items": 3}),
        json!({"enum": 3}),
        json!({"uniqueItems": "yes"}),
        json!({"format": 1}),
        json!({"dependencies": {"a": 3}}),
        json!(5),
    ];
    match year {
        4 => schemas.extend([
            json!(true),
            json!({"properties": {"a": true}}),
            json!({"required": []}),
            json!({"enum": []}),
            json!({"exclusiveMinimum": 3}),
            json!({"exclusiveMinimum": true}),
            json!({"pattern": "("}),
        ]),
        6 | 7 => schemas.extend([
            json!({"enum": [1, 1.0]}),
            json!({"exclusiveMinimum": true}),
            json!({"$ref": "#/a b"}),
            json!({"pattern": "("}),
            json!({"pattern": "\\a"}),
        ]),
        _ => schemas.extend([
            json!({"$id": "a#b"}),
            json!({"$defs": {"a": 1}}),
            json!({"dependentRequired": {"a": [1]}}),
            json!({"exclusiveMinimum": true}),
        ]),
    }
    if year == 7 {
        schemas.push(json!({"patternProperties": {"(": {}}}));
    }
    if year == 2020 {
        schemas.push(json!({"items": [{}]}));
    }
    schemas
}

#[test]
fn small_schemas_per_draft_agree_with_boon() {
    for (year, url) in DRAFTS {
        for schema in valid_everywhere() {
            let schema = with_draft(url, schema);
            assert_eq!(boon_accepts(&schema, year), Some(true), "{year}: {schema}");
            assert!(
                surely_valid(&schema, year),
                "draft {year}: unsure of {schema}"
            );
        }
        for schema in invalid(year) {
            let schema = with_draft(url, schema);
            assert_eq!(boon_accepts(&schema, year), Some(false), "{year}: {schema}");
            assert!(!surely_valid(&schema, year), "draft {year}: {schema}");
        }
    }
}

#[test]
fn draft_specific_valid_schemas_are_recognised() {
    let cases = [
        (
            4,
            json!({"additionalProperties": false, "exclusiveMinimum": true, "minimum": 0}),
        ),
        (
            4,
            json!({"items": [{"type": "string"}], "additionalItems": false, "id": "x"}),
        ),
        (
            6,
            json!({"$id": "#a", "const": [1], "contains": true, "propertyNames": false}),
        ),
        (
            6,
            json!({"$ref": "#/a-._~!$&'()*+,;=:@/?%20", "examples": 5, "exclusiveMinimum": 1}),
        ),
        (
            7,
            json!({"if": true, "then": {}, "else": false, "examples": [1], "$comment": "c"}),
        ),
        (
            7,
            json!({"patternProperties": {"^a\\d+$": {}}, "readOnly": true}),
        ),
        (
            2019,
            json!({"$id": "http://x/y#", "items": [true], "$recursiveAnchor": true}),
        ),
        (
            2019,
            json!({"enum": [], "dependentRequired": {"a": []}, "pattern": "(?i)^a"}),
        ),
        (
            2020,
            json!({"prefixItems": [{}], "items": false, "$dynamicRef": "#meta"}),
        ),
        (
            2020,
            json!({"$ref": "a b", "enum": [1, 1], "deprecated": false, "minContains": 0}),
        ),
    ];
    for (year, schema) in cases {
        let url = DRAFTS
            .iter()
            .find(|(y, _)| *y == year)
            .map(|(_, u)| *u)
            .unwrap();
        let schema = with_draft(url, schema);
        assert_eq!(boon_accepts(&schema, year), Some(true), "{year}: {schema}");
        assert!(
            surely_valid(&schema, year),
            "draft {year}: unsure of {schema}"
        );
    }
}

#[test]
fn a_known_draft_named_without_its_scheme_is_left_to_boon() {
    // Boon reads the draft from it, but its metaschema wants a `uri` there.
    let schema = json!({"$schema": "json-schema.org/draft-07/schema", "type": "string"});
    assert_eq!(draft_year(draft_of(&schema)), 7);
    assert_eq!(boon_accepts(&schema, 7), Some(false));
    assert!(!surely_valid(&schema, 7));
}

#[test]
fn an_unknown_schema_url_does_not_change_the_verdict() {
    // The clone that removed it is gone: 2020-12 asks only that `$schema` be a string.
    for url in ["http://example.com/s", "not a uri", "", "urn:x#y"] {
        for mut schema in [json!({"type": "string"}), json!({"type": 5})] {
            let without = boon_accepts(&schema, 2020);
            schema["$schema"] = json!(url);
            assert_eq!(draft_year(draft_of(&schema)), 2020);
            assert_eq!(boon_accepts(&schema, 2020), without, "{schema}");
            assert_eq!(
                surely_valid(&schema, 2020),
                without == Some(true),
                "{schema}"
            );
        }
    }
}

/// Values of every JSON type, edge numbers, duplicates, empty arrays, refs and regexes.
fn replacements() -> Vec<Json> {
    let text = r##"[null, true, false, 0, 3, -1, 1.5, 2.0, -0.5, 1e300, 18446744073709551615,
        -9223372036854775808, "", "string", "integer", "#/definitions/a", "#/a b", "#%zz",
        "a#b", "a#", "http://json-schema.org/draft-07/schema#", "json-schema.org/schema",
        "(", "^[a-z]+$", "\\a", "\\d+", "\\cA", "A_b", [], ["string"], ["string", "string"],
        ["a", 1], [1, 1.0], [{}], [true], [[]], {}, {"type": "string"}, {"type": 5},
        {"a": {}}, {"a": true}, {"a": ["b"]}, {"a": ["b", "b"]}, {"a": []}, {"a": 1},
        {"(": {}}, {"$ref": 1}]"##;
    let Ok(Json::Array(values)) = serde_json::from_str(text) else {
        panic!("the replacement list is JSON");
    };
    values
}

/// Every keyword any draft's metaschema names, and a few none does.
const KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "id",
    "$ref",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
    "$vocabulary",
    "$comment",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "additionalItems",
    "unevaluatedItems",
    "items",
    "prefixItems",
    "maxItems",
    "minItems",
    "uniqueItems",
    "contains",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "additionalProperties",
    "unevaluatedProperties",
    "properties",
    "patternProperties",
    "dependencies",
    "dependentSchemas",
    "dependentRequired",
    "propertyNames",
    "const",
    "enum",
    "type",
    "format",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "x-custom",
    "regexProperties",
];

#[test]
fn every_keyword_with_every_kind_of_value_agrees_with_boon() {
    let mut tally = Tally::default();
    for (_, url) in DRAFTS {
        for keyword in KEYWORDS {
            for value in replacements() {
                let one = json!({keyword.to_string(): value});
                tally.compare(&with_draft(url, one.clone()));
                tally.compare(&with_draft(url, json!({"properties": {"a": one}})));
            }
        }
    }
    eprintln!("keywords: {tally:?}");
    assert!(tally.surely_valid * 3 > tally.boon_valid, "{tally:?}");
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/chart-corpus")
}

/// Every `values.schema.json` under the corpus's charts.
/// Each distinct `values.schema.json` of the corpus once: bitnami's charts vendor the same
/// subcharts (redis, postgresql, ...) many times, and checking a copy again finds nothing.
fn corpus_schemas(corpus: &Path) -> Vec<(PathBuf, Json)> {
    let mut schemas = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for entry in walkdir::WalkDir::new(corpus.join("charts")).sort_by_file_name() {
        let entry = entry.expect("the corpus is readable");
        if entry.file_name() == "values.schema.json" {
            let text = std::fs::read_to_string(entry.path()).expect("schema read");
            if !seen.insert(text.clone()) {
                continue;
            }
            let schema = serde_json::from_str(&text).expect("schema is JSON");
            schemas.push((entry.path().to_owned(), schema));
        }
    }
    schemas
}

/// JSON pointers to every member and element in `value`.
fn positions(value: &Json, at: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Json)> = match value {
        Json::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (step, child) in children {
        let pointer = format!("{at}/{step}");
        out.push(pointer.clone());
        positions(child, &pointer, out);
    }
}

/// `document` with the value at `pointer` replaced by each replacement, and arrays
/// there with their first element repeated.
fn mutants(document: &Json, pointer: &str, replacements: &[Json]) -> Vec<Json> {
    let mut variants: Vec<Json> = replacements.to_vec();
    if let Some(Json::Array(items)) = document.pointer(pointer)
        && let Some(first) = items.first()
    {
        let mut repeated = items.clone();
        repeated.push(first.clone());
        variants.push(Json::Array(repeated));
    }
    variants
        .into_iter()
        .filter_map(|variant| {
            let mut mutant = document.clone();
            *mutant.pointer_mut(pointer)? = variant;
            Some(mutant)
        })
        .collect()
}

/// Each object schema under the document, alone, with the document's `$schema`.
fn subschemas(document: &Json) -> Vec<Json> {
    let mut all = Vec::new();
    positions(document, "", &mut all);
    let url = document.get("$schema").cloned().unwrap_or(Json::Null);
    let mut seen = std::collections::HashSet::new();
    all.iter()
        .filter_map(|pointer| document.pointer(pointer)?.as_object())
        .filter(|map| map.contains_key("type") || map.contains_key("$ref"))
        .filter_map(|map| {
            let mut alone = map.clone();
            if let Json::String(url) = &url {
                alone.insert("$schema".to_owned(), json!(url));
            }
            let alone = Json::Object(alone);
            let text = alone.to_string();
            (text.len() < 1500 && seen.insert(text)).then_some(alone)
        })
        .collect()
}

fn mutate_everywhere(document: &Json, most: usize, tally: &mut Tally) {
    let replacements = replacements();
    let mut all = Vec::new();
    positions(document, "", &mut all);
    let stride = all.len().div_ceil(most).max(1);
    for pointer in all.iter().step_by(stride) {
        for mutant in mutants(document, pointer, &replacements) {
            tally.compare(&mutant);
        }
    }
}

#[test]
fn corpus_schemas_and_their_mutants_agree_with_boon() {
    let corpus = corpus();
    let present = if corpus.join("charts").is_dir() {
        Ok(())
    } else {
        Err(format!("no chart corpus at {}", corpus.display()))
    };
    if !deploykit_testkit::require("the chart corpus", present) {
        return;
    }
    let schemas = corpus_schemas(&corpus);
    assert!(!schemas.is_empty(), "no values.schema.json in the corpus");
    let mut whole = Tally::default();
    let mut mutated = Tally::default();
    let mut parts = Tally::default();
    for (path, schema) in &schemas {
        whole.compare(schema);
        assert!(
            surely_valid(schema, draft_year(draft_of(schema))),
            "the walk is unsure of {}",
            path.display()
        );
        mutate_everywhere(schema, 12, &mut mutated);
        // A sample of each document's subschemas keeps the test quick unoptimised.
        let parts_of = subschemas(schema);
        for part in parts_of.iter().step_by(parts_of.len().div_ceil(40).max(1)) {
            mutate_everywhere(part, 30, &mut parts);
        }
    }
    eprintln!("corpus: {whole:?}\nmutants: {mutated:?}\nsubschema mutants: {parts:?}");
}

/// Helm's validator checks the `regex` format of patterns with Go's `regexp` in every
/// draft, though boon asserts no format from 2019-09 on.
#[test]
fn patterns_go_cannot_compile_make_the_document_invalid_in_every_draft() {
    for (year, url) in DRAFTS {
        for schema in [
            json!({"properties": {"a": {"pattern": "("}}}),
            json!({"patternProperties": {"a**": {}}}),
            json!({"items": {"pattern": "(?=x)"}}),
        ] {
            let schema = with_draft(url, schema);
            assert!(!surely_valid(&schema, year), "{schema}");
            assert_eq!(
                schema_is_valid(&schema, draft_of(&schema)),
                Some(false),
                "{schema}"
            );
            assert!(regex_report(&schema).is_some(), "{schema}");
        }
        let valid = with_draft(
            url,
            json!({"properties": {"a": {"pattern": "^[a-z]{1,3}$"}}, "patternProperties": {"^x": {}}}),
        );
        assert_eq!(regex_report(&valid), None);
        assert_eq!(schema_is_valid(&valid, draft_of(&valid)), Some(true));
    }
}
