//! Just enough of Kubernetes' protobuf encoding to read the Secrets Helm's client-go writes
//! (Helm stores release records through a protobuf clientset). Other kinds answer 415.

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// Kubernetes' protobuf envelope starts with these bytes.
const MAGIC: &[u8] = b"k8s\x00";

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn fields(data: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        let key = varint(data, &mut at)?;
        let field = match key & 7 {
            0 => Field::Varint(varint(data, &mut at)?),
            2 => {
                let len = usize::try_from(varint(data, &mut at)?).ok()?;
                let bytes = data.get(at..at.checked_add(len)?)?;
                at += len;
                Field::Bytes(bytes)
            }
            1 => {
                at += 8;
                Field::Varint(0)
            }
            5 => {
                at += 4;
                Field::Varint(0)
            }
            _ => return None,
        };
        out.push((key >> 3, field));
    }
    Some(out)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn map_entry(bytes: &[u8]) -> Option<(String, &[u8])> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for (number, field) in fields(bytes)? {
        match (number, field) {
            (1, Field::Bytes(b)) => key = text(b),
            (2, Field::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Some((key, value))
}

fn object_meta(bytes: &[u8]) -> Option<Value> {
    let mut meta = Map::new();
    let (mut labels, mut annotations) = (Map::new(), Map::new());
    for (number, field) in fields(bytes)? {
        match (number, field) {
            (1, Field::Bytes(b)) => {
                meta.insert("name".into(), json!(text(b)));
            }
            (2, Field::Bytes(b)) => {
                meta.insert("generateName".into(), json!(text(b)));
            }
            (3, Field::Bytes(b)) => {
                meta.insert("namespace".into(), json!(text(b)));
            }
            (6, Field::Bytes(b)) if !b.is_empty() => {
                meta.insert("resourceVersion".into(), json!(text(b)));
            }
            (11, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                labels.insert(k, json!(text(v)));
            }
            (12, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                annotations.insert(k, json!(text(v)));
            }
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    Some(Value::Object(meta))
}

/// Decodes a protobuf-encoded v1 Secret to its JSON form (None for anything else).
pub(crate) fn decode_secret(body: &[u8]) -> Option<Value> {
    let envelope = body.strip_prefix(MAGIC)?;
    let mut raw: &[u8] = &[];
    let mut kind = String::new();
    for (number, field) in fields(envelope)? {
        match (number, field) {
            (1, Field::Bytes(type_meta)) => {
                for (n, f) in fields(type_meta)? {
                    if let (2, Field::Bytes(k)) = (n, f) {
                        kind = text(k);
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    if kind != "Secret" {
        return None;
    }
    let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {}});
    let (mut data, mut string_data) = (Map::new(), Map::new());
    for (number, field) in fields(raw)? {
        match (number, field) {
            (1, Field::Bytes(b)) => secret["metadata"] = object_meta(b)?,
            (2, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                data.insert(
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(v)),
                );
            }
            (3, Field::Bytes(b)) => secret["type"] = json!(text(b)),
            (4, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                string_data.insert(k, json!(text(v)));
            }
            (5, Field::Varint(v)) => secret["immutable"] = json!(v != 0),
            _ => {}
        }
    }
    if !data.is_empty() {
        secret["data"] = Value::Object(data);
    }
    if !string_data.is_empty() {
        secret["stringData"] = Value::Object(string_data);
    }
    Some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_secret_envelope() {
        let entry = [tag(1, b"owner"), tag(2, b"helm")].concat();
        let meta = [tag(1, b"sh.helm.release.v1.x.v1"), tag(11, &entry)].concat();
        let data = [tag(1, b"release"), tag(2, b"H4sI")].concat();
        let secret = [tag(1, &meta), tag(2, &data), tag(3, b"helm.sh/release.v1")].concat();
        let type_meta = [tag(1, b"v1"), tag(2, b"Secret")].concat();
        let body = [MAGIC.to_vec(), tag(1, &type_meta), tag(2, &secret)].concat();
        let decoded = decode_secret(&body).unwrap();
        assert_eq!(decoded["metadata"]["name"], "sh.helm.release.v1.x.v1");
        assert_eq!(decoded["metadata"]["labels"]["owner"], "helm");
        assert_eq!(decoded["type"], "helm.sh/release.v1");
        assert_eq!(
            decoded["data"]["release"],
            base64::engine::general_purpose::STANDARD.encode("H4sI")
        );
    }
}
