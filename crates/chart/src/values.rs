//! Helm's value handling: coalescing a chart's defaults with the user's values (null
//! deletes a key, maps merge, subcharts get their own scope, globals flow down),
//! enabling subcharts by `condition` and `tags`, aliases, and `import-values`.
//!
//! This follows Helm's `pkg/chart/common/util/coalesce.go` and
//! `pkg/chart/v2/util/dependencies.go` step by step, so that corner cases come out as
//! Helm's do.

use crate::chart::Chart;
use crate::error::ChartError;
use crate::semver::is_compatible_range;
use crate::value::{Map, MapRef, Value};

/// The key whose values flow from a chart into all of its subcharts.
pub const GLOBAL_KEY: &str = "global";

/// A copy of `value` sharing no map or list with it (Helm's `copystructure.Copy`).
pub fn deep_copy(value: &Value) -> Value {
    match value {
        Value::Map(map) => Value::map(deep_copy_map(&map.read())),
        Value::List(items) => {
            Value::typed_list(items.iter().map(deep_copy).collect(), items.slice_type())
        }
        other => other.clone(),
    }
}

/// [`deep_copy`] of a map's entries.
pub fn deep_copy_map(map: &Map) -> Map {
    map.iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect()
}

/// [`deep_copy`] of a value the caller gives up: its maps and lists that nothing else
/// holds are taken as they are, only shared ones are copied. The result shares no map
/// or list with anything, as a copy would not.
pub fn deep_take(value: Value) -> Value {
    match value {
        Value::Map(mut map) => match map.get_mut() {
            Some(entries) => {
                take_entries(entries);
                Value::Map(map)
            }
            None => deep_copy(&Value::Map(map)),
        },
        Value::List(mut items) => match items.get_mut() {
            Some(list) => {
                for item in list.iter_mut() {
                    *item = deep_take(std::mem::take(item));
                }
                Value::List(items)
            }
            None => deep_copy(&Value::List(items)),
        },
        other => other,
    }
}

/// [`deep_take`] of every entry of `map`, in place.
fn take_entries(map: &mut Map) {
    for value in map.values_mut() {
        *value = deep_take(std::mem::take(value));
    }
}

/// Helm's `CoalesceValues`: the chart's defaults (and its subcharts') under `values`,
/// with `null` in `values` deleting a default.
pub fn coalesce_values(chart: &Chart, values: &Map) -> Result<Map, ChartError> {
    coalesce_values_owned(&mut chart.clone(), values.clone())
}

/// [`coalesce_values`] of values and chart defaults the caller gives up: `chart`'s
/// values (its subcharts' included) are moved into the result, leaving them empty,
/// and maps that nothing else holds are taken instead of copied.
pub fn coalesce_values_owned(chart: &mut Chart, values: Map) -> Result<Map, ChartError> {
    coalesce_into(chart, values, false)
}

/// Helm's `MergeValues`: as [`coalesce_values`] but `null`s are kept.
pub fn merge_values(chart: &Chart, values: &Map) -> Result<Map, ChartError> {
    coalesce_into(&mut chart.clone(), values.clone(), true)
}

/// `values` (taken, see [`deep_take`]) with `chart`'s defaults and its subcharts'
/// (taken out of it) coalesced under them; `merge` keeps `null`s.
fn coalesce_into(chart: &mut Chart, mut values: Map, merge: bool) -> Result<Map, ChartError> {
    take_entries(&mut values);
    let dest = MapRef::new(values);
    coalesce(chart, &dest, merge)?;
    Ok(dest.into_inner())
}

/// Coalesces `chart`'s values (taken out of it) and its subcharts' into `dest`.
fn coalesce(chart: &mut Chart, dest: &MapRef, merge: bool) -> Result<(), ChartError> {
    coalesce_chart_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge)
}

fn coalesce_deps(chart: &mut Chart, dest: &MapRef, merge: bool) -> Result<(), ChartError> {
    for sub in &mut chart.dependencies {
        let name = sub.name().to_string();
        let dv = match dest.get(&name) {
            None => {
                let fresh = MapRef::new(Map::new());
                dest.write().insert(name.clone(), Value::Map(fresh.clone()));
                fresh
            }
            Some(Value::Map(map)) => map,
            Some(other) => {
                return Err(ChartError::load(format!(
                    "type mismatch on {name}: %!t({}={})",
                    other.type_name(),
                    go_print(&other)
                )));
            }
        };
        coalesce_globals(&dv, dest);
        coalesce(sub, &dv, merge)?;
        dest.write().insert(name, Value::Map(dv));
    }
    Ok(())
}

fn go_print(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Uint64(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        other => format!("{other:?}"),
    }
}

/// Copies the globals of `src` (the parent's values) into `dest` (a subchart's),
/// the parent's winning.
fn coalesce_globals(dest: &MapRef, src: &MapRef) {
    let dg = match dest.get(GLOBAL_KEY) {
        None => MapRef::new(Map::new()),
        Some(Value::Map(map)) => map,
        Some(_) => return,
    };
    let sg = match src.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Map(map)) => map.to_map(),
        Some(_) => return,
    };
    for (key, val) in sg {
        if let Value::Map(table) = &val {
            let vv = MapRef::new(table.to_map());
            match dg.get(&key) {
                None => {
                    dg.write().insert(key, Value::Map(vv));
                }
                Some(Value::Map(destmap)) => {
                    coalesce_tables(&vv, &destmap, true);
                    dg.write().insert(key, Value::Map(vv));
                }
                Some(_) => {}
            }
        } else if matches!(dg.get(&key), Some(Value::Map(_))) {
            // A table in the subchart's globals is not replaced by a scalar.
        } else {
            dg.write().insert(key, val);
        }
    }
    dest.write().insert(GLOBAL_KEY.to_string(), Value::Map(dg));
}

/// Helm's `coalesceValues`: the chart's own defaults (taken out of it) under `v`.
fn coalesce_chart_values(chart: &mut Chart, v: &MapRef, merge: bool) {
    let defaults = std::mem::take(&mut chart.values);
    for (key, val) in defaults {
        let val = deep_take(val);
        match v.get(&key) {
            Some(Value::Nil) if !merge => {
                v.write().remove(&key);
            }
            Some(Value::Map(dest)) => {
                if let Value::Map(src) = &val {
                    let child_merge =
                        merge || chart.dependencies.iter().any(|sub| sub.name() == key);
                    if !child_merge {
                        clean_nil_values(src);
                    }
                    coalesce_tables(&dest, src, child_merge);
                }
            }
            Some(_) => {}
            None => {
                if !merge {
                    if matches!(val, Value::Nil) {
                        continue;
                    }
                    if let Value::Map(sub) = &val {
                        clean_nil_values(sub);
                    }
                }
                v.write().insert(key, val);
            }
        }
    }
}

/// Helm's `coalesceTablesFullKey`: merges `src` under `dst` (`dst` wins). Like Helm's,
/// it also writes `dst`'s nulls into `src`.
fn coalesce_tables(dst: &MapRef, src: &MapRef, merge: bool) {
    // `dst`'s nulls, each with whether `src` held a value there before they are
    // written into it.
    let nil_keys: Vec<String> = dst
        .read()
        .iter()
        .filter(|(_, v)| matches!(v, Value::Nil))
        .map(|(k, _)| k.clone())
        .collect();
    let dst_nil: Vec<(String, bool)> = if nil_keys.is_empty() {
        Vec::new()
    } else {
        let src = src.read();
        nil_keys
            .into_iter()
            .map(|k| {
                let had = src.get(&k).is_some_and(|v| !matches!(v, Value::Nil));
                (k, had)
            })
            .collect()
    };
    if !dst_nil.is_empty() {
        let mut writable = src.write();
        for (key, _) in &dst_nil {
            writable.insert(key.clone(), Value::Nil);
        }
    }
    let src_had_value = |key: &str| dst_nil.iter().any(|(k, had)| k == key && *had);
    for (key, val) in src.to_map() {
        match dst.get(&key) {
            Some(Value::Nil) if !merge && src_had_value(&key) => {
                dst.write().remove(&key);
            }
            None => {
                dst.write().insert(key, val);
            }
            Some(Value::Map(dst_table)) => {
                if let Value::Map(src_table) = &val {
                    coalesce_tables(&dst_table, src_table, merge);
                }
            }
            Some(_) => {}
        }
    }
}

/// Helm's `MergeTables` (`dst` wins, `null`s kept).
pub fn merge_tables(dst: &MapRef, src: &MapRef) {
    coalesce_tables(dst, src, true);
}

fn clean_nil_values(map: &MapRef) {
    let tables: Vec<MapRef> = {
        let mut entries = map.write();
        entries.retain(|_, v| !matches!(v, Value::Nil));
        entries
            .values()
            .filter_map(|value| match value {
                Value::Map(sub) => Some(sub.clone()),
                _ => None,
            })
            .collect()
    };
    for table in &tables {
        clean_nil_values(table);
    }
}

/// Helm's `Values.Table`: the map at a dotted path (the same map, not a copy).
pub fn table(values: &MapRef, path: &str) -> Option<MapRef> {
    let mut current = values.clone();
    for part in path.split('.') {
        let next = match current.get(part) {
            Some(Value::Map(map)) => map,
            _ => return None,
        };
        current = next;
    }
    Some(current)
}

/// Helm's `Values.PathValue`: the non-table value at a dotted path.
fn path_value(values: &MapRef, path: &str) -> Option<Value> {
    if path.is_empty() {
        return None;
    }
    let (table_path, key) = match path.rsplit_once('.') {
        Some((table_path, key)) => (Some(table_path), key),
        None => (None, path),
    };
    let holder = match table_path {
        Some(p) => table(values, p)?,
        None => values.clone(),
    };
    holder.get(key).filter(|v| !matches!(v, Value::Map(_)))
}

/// Helm's `ProcessDependencies`: drops disabled subcharts (conditions, tags), applies
/// aliases, then imports values from children into parents.
pub fn process_dependencies(chart: &mut Chart, user_values: &Map) -> Result<(), ChartError> {
    process_dependency_enabled(chart, user_values, "")?;
    process_dependency_import_values(chart)
}

fn process_dependency_enabled(
    chart: &mut Chart,
    values: &Map,
    path: &str,
) -> Result<(), ChartError> {
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut chart.dependencies);
    let mut chart_dependencies: Vec<Chart> = existing
        .iter()
        .filter(|sub| {
            !chart.metadata.dependencies.iter().any(|req| {
                sub.name() == req.name && is_compatible_range(&req.version, &sub.metadata.version)
            })
        })
        .cloned()
        .collect();
    for req in &mut chart.metadata.dependencies {
        if let Some(found) = existing.iter().find(|sub| {
            sub.name() == req.name && is_compatible_range(&req.version, &sub.metadata.version)
        }) {
            let mut copy = found.clone();
            if !req.alias.is_empty() {
                copy.metadata.name = req.alias.clone();
            }
            chart_dependencies.push(copy);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    chart.dependencies = chart_dependencies;
    for req in &mut chart.metadata.dependencies {
        req.enabled = true;
    }
    let cvals = MapRef::new(coalesce_values(chart, values)?);
    // Tags.
    if let Some(tags) = table(&cvals, "tags") {
        for req in &mut chart.metadata.dependencies {
            let (mut has_true, mut has_false) = (false, false);
            for tag in &req.tags {
                if let Some(Value::Bool(b)) = tags.get(tag) {
                    if b {
                        has_true = true;
                    } else {
                        has_false = true;
                    }
                }
            }
            if !has_true && has_false {
                req.enabled = false;
            } else if has_true || !has_false {
                req.enabled = true;
            }
        }
    }
    // Conditions: the first boolean found decides.
    for req in &mut chart.metadata.dependencies {
        for condition in req.condition.trim().split(',') {
            if condition.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(&cvals, &format!("{path}{condition}")) {
                req.enabled = b;
                break;
            }
        }
    }
    let removed: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|req| !req.enabled)
        .map(|req| req.name.clone())
        .collect();
    chart
        .dependencies
        .retain(|sub| !removed.contains(&sub.metadata.name));
    chart
        .metadata
        .dependencies
        .retain(|req| !removed.contains(&req.name));
    let cvals = cvals.to_map();
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.metadata.name);
        process_dependency_enabled(sub, &cvals, &sub_path)?;
    }
    Ok(())
}

fn process_dependency_import_values(chart: &mut Chart) -> Result<(), ChartError> {
    for sub in &mut chart.dependencies {
        process_dependency_import_values(sub)?;
    }
    process_import_values(chart)
}

/// Go's `%v` of an `import-values` field.
fn go_v(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Nil) => "<nil>".to_string(),
        Some(Value::String(s)) => s.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Float(f)) => f.to_string(),
        Some(Value::Int(i) | Value::Int64(i)) => i.to_string(),
        Some(Value::Uint64(u)) => u.to_string(),
        Some(other) => format!("{other:?}"),
    }
}

fn path_to_map(path: &str, data: MapRef) -> MapRef {
    if path == "." {
        return data;
    }
    let mut current = data;
    for part in path.split('.').rev() {
        let mut outer = Map::new();
        outer.insert(part.to_string(), Value::Map(current));
        current = MapRef::new(outer);
    }
    current
}

fn process_import_values(chart: &mut Chart) -> Result<(), ChartError> {
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = MapRef::new(merge_values(chart, &Map::new())?);
    let imported = MapRef::new(Map::new());
    for req in &mut chart.metadata.dependencies {
        let mut normalized = Vec::new();
        for riv in &req.import_values {
            match riv {
                Value::Map(iv) => {
                    let child = go_v(iv.get("child").as_ref());
                    let parent = go_v(iv.get("parent").as_ref());
                    let mut entry = Map::new();
                    entry.insert("child".into(), Value::string(child.as_str()));
                    entry.insert("parent".into(), Value::string(parent.as_str()));
                    normalized.push(Value::map(entry));
                    if let Some(vv) = table(&cvals, &format!("{}.{child}", req.name)) {
                        merge_tables(&imported, &path_to_map(&parent, vv));
                    }
                }
                Value::String(iv) => {
                    let child = format!("exports.{iv}");
                    let mut entry = Map::new();
                    entry.insert("child".into(), Value::string(child.as_str()));
                    entry.insert("parent".into(), Value::string("."));
                    normalized.push(Value::map(entry));
                    if let Some(vm) = table(&cvals, &format!("{}.{child}", req.name)) {
                        merge_tables(&imported, &vm);
                    }
                }
                _ => {}
            }
        }
        req.import_values = normalized;
    }
    let values = MapRef::new(deep_copy_map(&cvals.read()));
    merge_tables(&values, &imported);
    chart.values = values.into_inner();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse::parse_map;

    fn map(text: &str) -> Map {
        parse_map(text, "common.Values").unwrap()
    }

    fn chart(values: &str) -> Chart {
        let files = vec![
            crate::chart::ChartFile {
                name: "Chart.yaml".into(),
                data: b"apiVersion: v2\nname: top\nversion: 1.0.0\n"
                    .as_slice()
                    .into(),
            },
            crate::chart::ChartFile {
                name: "values.yaml".into(),
                data: values.as_bytes().into(),
            },
        ];
        Chart::from_files(files).unwrap()
    }

    #[test]
    fn null_deletes_a_default_and_maps_merge() {
        let c = chart("a: 1\nb: {p: 1, q: 2}\nc: [1]\n");
        let out = coalesce_values(&c, &map("a: null\nb: {q: 3}\nc: [2]\n")).unwrap();
        assert_eq!(
            format!("{:?}", Value::map(out)),
            r#"{"b": {"p": 1f, "q": 3f}, "c": [2f]}"#
        );
    }

    #[test]
    fn coalescing_leaves_the_callers_chart_and_values_as_they_were() {
        let c = chart("b: {p: 1, q: 2}\n");
        let user = map("b: {q: 3}\n");
        let before = (format!("{:?}", c.values), format!("{:?}", user));
        let out = MapRef::new(coalesce_values(&c, &user).unwrap());
        let Some(Value::Map(b)) = out.get("b") else {
            panic!("b is a map");
        };
        b.write().insert("p".into(), Value::Int(9));
        assert_eq!((format!("{:?}", c.values), format!("{:?}", user)), before);
    }

    #[test]
    fn deep_take_moves_what_it_alone_holds_and_copies_what_is_shared() {
        let shared = MapRef::new(map("x: 1"));
        let mut outer = Map::new();
        outer.insert("alone".into(), Value::map(map("z: 2")));
        outer.insert("shared".into(), Value::Map(shared.clone()));
        let Value::Map(taken) = deep_take(Value::map(outer)) else {
            panic!("a map stays a map");
        };
        let Some(Value::Map(copy)) = taken.get("shared") else {
            panic!("the shared map is still there");
        };
        assert!(!copy.ptr_eq(&shared));
        copy.write().insert("x".into(), Value::Int(5));
        assert_eq!(format!("{:?}", Value::Map(shared)), r#"{"x": 1f}"#);
        assert_eq!(
            format!("{:?}", Value::Map(taken)),
            r#"{"alone": {"z": 2f}, "shared": {"x": 5}}"#
        );
    }

    #[test]
    fn path_to_map_nests() {
        let out = path_to_map("a.b", MapRef::new(map("x: 1")));
        assert_eq!(
            format!("{:?}", Value::Map(out)),
            r#"{"a": {"b": {"x": 1f}}}"#
        );
    }
}
