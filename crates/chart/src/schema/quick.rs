//! A quick check that values satisfy a `values.schema.json`, without compiling it.
//!
//! Helm compiles the whole schema for every render; most values pass, and only the
//! parts of the schema the values reach decide that. This walks the schema next to the
//! values and answers `Some(true)` only when it is sure: a keyword it does not know
//! exactly (pattern properties, `$ref`s outside the document, `multipleOf`...) makes
//! it answer `None`, and the caller then compiles the schema as Helm does. The schema
//! itself is checked against its draft's metaschema first (Helm refuses an invalid
//! schema even when the values would pass).

use std::collections::HashMap;

use serde_json::Value as Json;

use super::metaschema::{self, boon_equals, draft_of, draft_year};

/// Whether `instance` surely satisfies `schema` (`Some(false)`: surely not; `None`:
/// this check cannot tell).
pub(super) fn check(schema: &Json, instance: &Json) -> Option<bool> {
    let draft = draft_of(schema);
    if !metaschema::schema_is_valid(schema, draft)? {
        return None;
    }
    let mut walker = Walker {
        root: schema,
        draft,
        patterns: HashMap::new(),
    };
    walker.check(schema, instance, 0)
}

/// Keywords that validate and that this check does not implement.
const UNSUPPORTED: &[&str] = &[
    "patternProperties",
    "propertyNames",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "prefixItems",
    "additionalItems",
    "multipleOf",
    "$dynamicRef",
    "$recursiveRef",
    "$id",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
];

struct Walker<'s> {
    root: &'s Json,
    draft: boon::Draft,
    /// `pattern`s compiled once per check (`None`: not a pattern this check reads).
    patterns: HashMap<&'s str, Option<regex::Regex>>,
}

impl<'s> Walker<'s> {
    fn check(&mut self, schema: &'s Json, instance: &Json, depth: usize) -> Option<bool> {
        if depth > 100 {
            return None;
        }
        let map = match schema {
            Json::Bool(b) => return Some(*b),
            Json::Object(map) => map,
            _ => return None,
        };
        let year = draft_year(self.draft);
        if year <= 7
            && let Some(reference) = map.get("$ref")
        {
            // Before 2019-09, `$ref` replaces its siblings.
            let target = self.resolve(reference)?;
            return self.check(target, instance, depth + 1);
        }
        for (keyword, value) in map {
            let keyword = keyword.as_str();
            if UNSUPPORTED.contains(&keyword) && !(keyword == "$id" && depth == 0) {
                return None;
            }
            let verdict = match keyword {
                "id" if year == 4 && depth > 0 => None,
                "$ref" => {
                    let target = self.resolve(value)?;
                    self.check(target, instance, depth + 1)
                }
                "type" => type_matches(value, instance),
                "enum" => {
                    let options = value.as_array()?;
                    Some(options.iter().any(|option| boon_equals(option, instance)))
                }
                "const" => Some(boon_equals(value, instance)),
                "properties" => self.properties(value, instance, depth),
                "additionalProperties" => self.additional(map, value, instance, depth),
                "required" => match instance {
                    Json::Object(object) => {
                        let names = value.as_array()?;
                        Some(
                            names
                                .iter()
                                .all(|n| n.as_str().is_some_and(|n| object.contains_key(n))),
                        )
                    }
                    _ => Some(true),
                },
                "items" => match (value, instance) {
                    (Json::Array(_), _) => None,
                    (_, Json::Array(items)) => self.all(value, items, depth),
                    _ => Some(true),
                },
                "minItems" | "maxItems" => match instance {
                    Json::Array(items) => bound(keyword, value, items.len()),
                    _ => Some(true),
                },
                "minLength" | "maxLength" => match instance {
                    Json::String(text) => bound(keyword, value, text.chars().count()),
                    _ => Some(true),
                },
                "minProperties" | "maxProperties" => match instance {
                    Json::Object(object) => bound(keyword, value, object.len()),
                    _ => Some(true),
                },
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                    number_bound(keyword, value, instance)
                }
                "uniqueItems" => match (value, instance) {
                    (Json::Bool(true), Json::Array(items)) => Some(
                        items
                            .iter()
                            .enumerate()
                            .all(|(i, a)| items[i + 1..].iter().all(|b| !boon_equals(a, b))),
                    ),
                    _ => Some(true),
                },
                "pattern" => match instance {
                    // Helm matches with Go's regexp, whose `\d`, `\s`, `\w` are ASCII
                    // classes: on ASCII text (vertical tab aside) both engines agree.
                    Json::String(text) if !text.is_ascii() || text.contains('\x0B') => None,
                    Json::String(text) => {
                        let pattern = value.as_str()?;
                        let regex = self
                            .patterns
                            .entry(pattern)
                            .or_insert_with(|| regex::Regex::new(pattern).ok())
                            .as_ref()?;
                        Some(regex.is_match(text))
                    }
                    _ => Some(true),
                },
                // Before 2019-09 formats are asserted, with rules this check lacks.
                "format" if year <= 7 => None,
                "allOf" => {
                    let mut all = Some(true);
                    for sub in value.as_array()? {
                        match self.check(sub, instance, depth + 1) {
                            Some(true) => {}
                            other => {
                                all = other;
                                break;
                            }
                        }
                    }
                    all
                }
                "anyOf" => {
                    let mut any = Some(false);
                    for sub in value.as_array()? {
                        match self.check(sub, instance, depth + 1) {
                            Some(true) => {
                                any = Some(true);
                                break;
                            }
                            Some(false) => {}
                            None => any = None,
                        }
                    }
                    any
                }
                "oneOf" => {
                    let mut matched = 0;
                    for sub in value.as_array()? {
                        if self.check(sub, instance, depth + 1)? {
                            matched += 1;
                        }
                    }
                    Some(matched == 1)
                }
                "not" => self.check(value, instance, depth + 1).map(|valid| !valid),
                "if" => match self.check(value, instance, depth + 1)? {
                    true => match map.get("then") {
                        Some(then) => self.check(then, instance, depth + 1),
                        None => Some(true),
                    },
                    false => match map.get("else") {
                        Some(otherwise) => self.check(otherwise, instance, depth + 1),
                        None => Some(true),
                    },
                },
                // Annotations, `then`/`else` (read with `if`), definitions, and keywords
                // no draft knows: they do not validate.
                _ => Some(true),
            };
            if verdict != Some(true) {
                return verdict;
            }
        }
        Some(true)
    }

    fn all(&mut self, schema: &'s Json, items: &[Json], depth: usize) -> Option<bool> {
        for item in items {
            if !self.check(schema, item, depth + 1)? {
                return Some(false);
            }
        }
        Some(true)
    }

    fn properties(&mut self, value: &'s Json, instance: &Json, depth: usize) -> Option<bool> {
        let (Json::Object(properties), Json::Object(object)) = (value, instance) else {
            return value.is_object().then_some(true);
        };
        for (name, sub) in properties {
            if let Some(item) = object.get(name)
                && !self.check(sub, item, depth + 1)?
            {
                return Some(false);
            }
        }
        Some(true)
    }

    fn additional(
        &mut self,
        map: &'s serde_json::Map<String, Json>,
        value: &'s Json,
        instance: &Json,
        depth: usize,
    ) -> Option<bool> {
        let Json::Object(object) = instance else {
            return Some(true);
        };
        let declared = map.get("properties").and_then(Json::as_object);
        for (name, item) in object {
            if declared.is_some_and(|d| d.contains_key(name)) {
                continue;
            }
            if !self.check(value, item, depth + 1)? {
                return Some(false);
            }
        }
        Some(true)
    }

    /// The target of a `$ref` inside this document (`#` or `#/json/pointer`).
    fn resolve(&self, reference: &Json) -> Option<&'s Json> {
        let reference = reference.as_str()?;
        if reference == "#" {
            return Some(self.root);
        }
        let pointer = reference.strip_prefix('#')?;
        if !pointer.starts_with('/') || pointer.contains('%') {
            return None;
        }
        self.root.pointer(pointer)
    }
}

fn type_matches(value: &Json, instance: &Json) -> Option<bool> {
    let one = |name: &str| -> Option<bool> {
        Some(match name {
            "null" => instance.is_null(),
            "boolean" => instance.is_boolean(),
            "object" => instance.is_object(),
            "array" => instance.is_array(),
            "string" => instance.is_string(),
            "number" => instance.is_number(),
            "integer" => match instance {
                Json::Number(n) if n.is_i64() || n.is_u64() => true,
                // An integral float is an integer to some drafts only.
                Json::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => return None,
                _ => false,
            },
            _ => return None,
        })
    };
    match value {
        Json::String(name) => one(name),
        Json::Array(names) => {
            let mut any = Some(false);
            for name in names {
                match one(name.as_str()?) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => any = None,
                }
            }
            any
        }
        _ => None,
    }
}

fn bound(keyword: &str, value: &Json, got: usize) -> Option<bool> {
    let limit = value.as_f64()?;
    let got = got as f64;
    Some(if keyword.starts_with("min") {
        got >= limit
    } else {
        got <= limit
    })
}

fn number_bound(keyword: &str, value: &Json, instance: &Json) -> Option<bool> {
    let Json::Number(got) = instance else {
        return Some(true);
    };
    // draft-04's boolean `exclusiveMinimum` changes `minimum`: not read here.
    let limit = value.as_f64()?;
    let got = got.as_f64()?;
    Some(match keyword {
        "minimum" => got >= limit,
        "maximum" => got <= limit,
        "exclusiveMinimum" => got > limit,
        _ => got < limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sure_answers_only() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["name"],
            "definitions": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
                "port": {"$ref": "#/definitions/port"},
                "mode": {"enum": ["a", "b"]},
                "image": {"type": "object", "additionalProperties": false,
                          "properties": {"tag": {"type": ["string", "null"]}}},
                "extra": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
            }
        });
        let good =
            json!({"name": "abc", "port": 80, "mode": "a", "image": {"tag": null}, "extra": ["x"]});
        assert_eq!(check(&schema, &good), Some(true));
        for bad in [
            json!({"port": 80}),
            json!({"name": "ABC"}),
            json!({"name": "abcdefg"}),
            json!({"name": "a", "port": 0}),
            json!({"name": "a", "mode": "c"}),
            json!({"name": "a", "image": {"other": 1}}),
            json!({"name": "a", "extra": [1]}),
        ] {
            assert_eq!(check(&schema, &bad), Some(false), "{bad}");
        }
    }

    #[test]
    fn unsure_keywords_and_invalid_schemas_defer_to_the_validator() {
        let pattern_properties = json!({"patternProperties": {"^a": {"type": "string"}}});
        assert_eq!(check(&pattern_properties, &json!({"a": "x"})), None);
        let remote = json!({"properties": {"a": {"$ref": "other.json#/x"}}});
        assert_eq!(check(&remote, &json!({"a": 1})), None);
        let format =
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "format": "email"});
        assert_eq!(check(&format, &json!("x")), None);
        // Helm refuses a schema its metaschema rejects, whatever the values.
        let invalid = json!({"type": "object", "properties": {"a": {"type": 5}}});
        assert_eq!(check(&invalid, &json!({})), None);
        // ... and one whose pattern Go's `regexp` cannot compile, in every draft, even
        // where the values never reach it (boon's 2020-12 metaschema does not see it).
        let pattern = json!({"properties": {"a": {"type": "string", "pattern": "("}}});
        assert_eq!(check(&pattern, &json!({"b": 1})), None);
        let lookahead = json!({"properties": {"a": {"pattern": "^(?!x)"}}});
        assert_eq!(check(&lookahead, &json!({"b": 1})), None);
    }
}
