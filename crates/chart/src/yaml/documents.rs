//! Values files as Helm v4 reads them (`loader.LoadValues`): the text is split into
//! YAML documents at lines that start with `---` (k8s.io's `YAMLReader`), each
//! document is read as a map, and the maps are merged in order (`MergeMaps`: later
//! keys win, maps merge deeply). Line numbers in errors count from the start of the
//! document they are in, as go-yaml counts them there.

use std::borrow::Cow;

use super::parse::{YamlError, parse_map};
use crate::value::Map;

/// The Go type Helm v4 decodes each values document into (named in its errors).
const VALUES_TYPE: &str = "map[string]interface {}";

/// Reads a values file (a chart's `values.yaml`, a `-f` file): every document merged
/// into one map. A document that is not a map, or a separator line with more than a
/// comment after `---`, is an error in Helm's words.
pub fn parse_values(text: &str) -> Result<Map, YamlError> {
    // `YAMLReader` reads line by line and ends every line, the last one included, with
    // a line break (which a block scalar on that line keeps).
    let text = match text.ends_with('\n') || text.is_empty() {
        true => Cow::Borrowed(text),
        false => Cow::Owned(format!("{text}\n")),
    };
    let text = text.as_ref();
    let read = |document: &str| {
        parse_map(document, VALUES_TYPE).map_err(|error| YamlError::Document(Box::new(error)))
    };
    if !has_separator(text) {
        return read(text);
    }
    let mut values = Map::new();
    for document in documents(text)? {
        crate::strvals::merge_maps(&mut values, read(document)?);
    }
    Ok(values)
}

/// Whether some line starts with `---`, other than a first line holding nothing else
/// (most values files: none, or only such a first line, which go-yaml reads as the
/// document's start).
fn has_separator(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("---") else {
        return text.contains("\n---");
    };
    let (first, after) = rest.split_once('\n').unwrap_or((rest, ""));
    let first = first.trim();
    let clean_first = first.is_empty() || first.starts_with('#');
    !clean_first || after.starts_with("---") || after.contains("\n---")
}

/// The documents of `text` as `YAMLReader` cuts them: a `---` line ends a document
/// that has lines and is dropped; one at the start of a document stays in it (go-yaml
/// reads it as the document's start). Documents with no lines are skipped.
fn documents(text: &str) -> Result<Vec<&str>, YamlError> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let Some(rest) = line.strip_prefix("---") else {
            continue;
        };
        let rest = rest.trim();
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err(YamlError::Separator(rest.to_string()));
        }
        if line_start > start {
            documents.extend(text.get(start..line_start));
            start = offset;
        }
    }
    if start < text.len() {
        documents.extend(text.get(start..));
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::parse_values;

    fn json(text: &str) -> String {
        match parse_values(text) {
            Ok(map) => format!("{:?}", crate::value::Value::map(map)),
            Err(error) => format!("ERR {error}"),
        }
    }

    // Expectations from Helm v4's engine (`helm-oracle render` of a chart with this
    // values.yaml and `toJson .Values`).
    #[test]
    fn documents_merge_in_order() {
        assert_eq!(
            json("a: 1\nc: {x: 1}\n---\nb: 2\nc: {y: 2}\n"),
            json("{a: 1, b: 2, c: {x: 1, y: 2}}")
        );
        assert_eq!(json("---\na: 1\n--- # two\n\n---\na: 2\n"), json("a: 2"));
        assert_eq!(json("---\n---\n"), json(""));
    }

    #[test]
    fn each_document_must_be_a_map() {
        assert_eq!(
            json("a: 1\n---\n- x\n"),
            "ERR cannot unmarshal yaml document: error unmarshaling JSON: while decoding \
             JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
    }

    #[test]
    fn errors_count_lines_within_their_document() {
        assert_eq!(
            json("a: 1\n---\nb: 1\n c: 2\n"),
            "ERR cannot unmarshal yaml document: error converting YAML to JSON: yaml: \
             line 2: mapping values are not allowed in this context"
        );
        assert_eq!(
            json("a: 1\n--- b: 2\n"),
            "ERR error reading yaml document: invalid Yaml document separator: b: 2"
        );
        assert_eq!(
            json("--- b: 2\n"),
            "ERR error reading yaml document: invalid Yaml document separator: b: 2"
        );
        assert_eq!(json("---\n---\na: 1\n"), json("a: 1"));
    }
}
