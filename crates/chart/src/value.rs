//! [`Value`]: what a template sees, with Go's dynamic types.
//!
//! Helm's data is Go's `interface{}`: values files decode numbers as `float64` (YAML goes
//! through JSON), `--set` and template literals give `int64`, maps are
//! `map[string]interface{}` (always printed and ranged in sorted key order), lists are
//! `[]interface{}`. A missing value is `nil`. Special objects (`.Files`,
//! `.Capabilities.APIVersions`, semver versions) are [`Value::Object`]s that answer
//! fields and methods.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Bytes as text, invalid UTF-8 replaced as Go's output shows it: one U+FFFD for each
/// byte that is not part of a character (Go decodes a cut character byte by byte, where
/// the standard library's lossy conversion gives one U+FFFD for the whole cut). Checked
/// with the standard library's fast validator first: valid text is borrowed.
pub(crate) fn lossy_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => {
            let mut text = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                for _ in chunk.invalid() {
                    text.push(char::REPLACEMENT_CHARACTER);
                }
            }
            std::borrow::Cow::Owned(text)
        }
    }
}

/// The bytes of a Go string that is not UTF-8 (see [`Value::ByteString`]), with the
/// text Go's output shows for them (one U+FFFD for each stray byte).
#[derive(Debug, PartialEq, Eq)]
pub struct ByteString {
    bytes: Box<[u8]>,
    text: Box<str>,
}

impl ByteString {
    /// The string's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The string as text, each stray byte one U+FFFD (what Helm's output shows).
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The bytes of a Go string being built (template output, `printf`, `print`), where
/// pieces that are not UTF-8 join as Go's bytes do: two halves of a character cut by
/// `substr` make the character again. Text until such a piece comes, so the common
/// output is never checked again.
#[derive(Debug, Default, Clone)]
pub struct GoBuf {
    text: String,
    /// The bytes, once a piece that is not UTF-8 was written (`text` is then empty).
    bytes: Option<Vec<u8>>,
}

impl GoBuf {
    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> GoBuf {
        GoBuf {
            text: String::with_capacity(capacity),
            bytes: None,
        }
    }

    /// Appends text.
    pub fn push_str(&mut self, text: &str) {
        match &mut self.bytes {
            Some(bytes) => bytes.extend_from_slice(text.as_bytes()),
            None => self.text.push_str(text),
        }
    }

    /// Appends a character.
    pub fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }

    /// Appends bytes that may not be UTF-8.
    pub fn push_bytes(&mut self, more: &[u8]) {
        match &mut self.bytes {
            Some(bytes) => bytes.extend_from_slice(more),
            None => match std::str::from_utf8(more) {
                Ok(text) => self.text.push_str(text),
                Err(_) => {
                    let mut bytes = std::mem::take(&mut self.text).into_bytes();
                    bytes.extend_from_slice(more);
                    self.bytes = Some(bytes);
                }
            },
        }
    }

    /// Appends a string value's bytes (its text for any other value).
    pub fn push_go_str(&mut self, value: &Value) {
        match value {
            Value::ByteString(b) => self.push_bytes(b.bytes()),
            other => self.push_str(other.as_str().unwrap_or_default()),
        }
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// How many bytes were written.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.bytes {
            Some(bytes) => bytes,
            None => self.text.as_bytes(),
        }
    }

    /// Removes every occurrence of `pattern` (Helm drops each `<no value>`).
    pub fn remove_all(&mut self, pattern: &str) {
        match &mut self.bytes {
            None => self.text = self.text.replace(pattern, ""),
            Some(bytes) => {
                let mut kept = Vec::with_capacity(bytes.len());
                let mut rest = &bytes[..];
                while let Some(at) = memchr::memmem::find(rest, pattern.as_bytes()) {
                    kept.extend_from_slice(&rest[..at]);
                    rest = &rest[at + pattern.len()..];
                }
                kept.extend_from_slice(rest);
                *bytes = kept;
            }
        }
    }

    /// The string value of the bytes (a [`Value::ByteString`] when they are not UTF-8).
    pub fn into_value(self) -> Value {
        match self.bytes {
            None => Value::string(self.text),
            Some(bytes) => Value::from_go_bytes(bytes),
        }
    }

    /// The bytes as text, each stray byte one U+FFFD (what Helm's output shows).
    pub fn into_text(self) -> String {
        match self.bytes {
            None => self.text,
            Some(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(error) => lossy_text(error.as_bytes()).into_owned(),
            },
        }
    }
}

impl From<String> for GoBuf {
    fn from(text: String) -> GoBuf {
        GoBuf { text, bytes: None }
    }
}

impl fmt::Write for GoBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// A map from key to value, sorted by key as Go prints and ranges maps.
pub type Map = BTreeMap<String, Value>;

/// A Go map value: a shared, mutable [`Map`] (cloning the handle shares the map, as
/// copying a Go map variable does).
#[derive(Clone, Default)]
pub struct MapRef {
    map: Arc<RwLock<Map>>,
    /// The map's Go type. It belongs to the handle, as a Go interface value carries its
    /// dynamic type, so `set .Values ...` answers a plain map of the same entries.
    map_type: MapType,
    /// Whether this is Go's nil map (`unset nil "k"`): read as empty, but `set` into it
    /// panics (`assignment to entry in nil map`).
    nil: bool,
}

/// The Go type of a map value: what `typeOf`, `%T` and `deepEqual` tell apart, and which
/// Sprig functions take (`map[string]interface {}` parameters refuse `map[string]string`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapType {
    /// `map[string]interface {}`: `dict`, `fromYaml`, values files.
    #[default]
    Plain,
    /// Helm's named type `common.Values` (the top-level object, `.Values`, `.Template`),
    /// which a `map[string]interface {}` parameter takes as it is.
    HelmValues,
    /// `map[string]string` (`split`, `splitn`): a missing key reads as `""`, and Sprig's
    /// dict functions refuse it.
    StringMap,
}

impl MapType {
    /// Go's name of the type.
    pub fn go_name(self) -> &'static str {
        match self {
            MapType::Plain => "map[string]interface {}",
            MapType::HelmValues => HELM_VALUES_TYPE,
            MapType::StringMap => "map[string]string",
        }
    }
}

/// The Go type of a slice value. Sprig's list functions read any slice through
/// `reflect` and return `[]interface {}`; `typeOf`, `%T`, `%#v` and `deepEqual` tell
/// the types apart, and `slice`, `deepCopy` keep them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SliceType {
    /// `[]interface {}`: `list`, `append`, `fromYamlArray`, values files.
    #[default]
    Interface,
    /// `[]string`: `splitList`, `toStrings`, `sortAlpha`, `keys`, `regexFindAll`,
    /// `regexSplit`.
    String,
    /// `[]int`: `until`, `untilStep`.
    Int,
    /// `[][]interface {}`: `chunk`.
    InterfaceSlices,
}

impl SliceType {
    /// Go's name of the type.
    pub fn go_name(self) -> &'static str {
        match self {
            SliceType::Interface => "[]interface {}",
            SliceType::String => "[]string",
            SliceType::Int => "[]int",
            SliceType::InterfaceSlices => "[][]interface {}",
        }
    }
}

/// A Go slice value: shared, immutable items (every list function makes a new list)
/// and the slice's Go type. Derefs to the items.
#[derive(Clone)]
pub struct ListRef {
    items: Arc<Vec<Value>>,
    slice_type: SliceType,
}

impl ListRef {
    /// A slice of `items` of type `slice_type`.
    pub fn new(items: Vec<Value>, slice_type: SliceType) -> ListRef {
        ListRef {
            items: Arc::new(items),
            slice_type,
        }
    }

    /// The slice's Go type.
    pub fn slice_type(&self) -> SliceType {
        self.slice_type
    }

    /// Whether this is Go's nil slice (see [`Value::nil_list`]).
    pub fn is_nil(&self) -> bool {
        Arc::ptr_eq(&self.items, &NIL_LIST)
    }

    /// The items, taken when this is the only handle, else copied.
    pub fn into_vec(self) -> Vec<Value> {
        Arc::unwrap_or_clone(self.items)
    }

    /// The items, to change in place, when this is the only handle to them.
    pub fn get_mut(&mut self) -> Option<&mut Vec<Value>> {
        Arc::get_mut(&mut self.items)
    }
}

impl std::ops::Deref for ListRef {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        &self.items
    }
}

/// The one nil slice: Go's `[]interface {}(nil)`, which Sprig gives for `rest` and
/// `initial` of an empty list and `concat` of nothing but empty lists. It prints as
/// `[]` but `toJson` and `toYaml` write it as `null`, and it is not `deepEqual` to an
/// empty list. Every list operation makes a new list, so only handles cloned from this
/// one are nil (as appending to a nil slice in Go gives a non-nil one).
static NIL_LIST: std::sync::LazyLock<Arc<Vec<Value>>> =
    std::sync::LazyLock::new(|| Arc::new(Vec::new()));

/// How deep lists and maps may nest before a printer or a copy stops. Only a map that
/// contains itself (made with `set` or `merge`) goes deeper; Go's `encoding/json`
/// reports such a cycle once it is this deep, and Go's other printers overflow the
/// stack, which here would abort the process.
pub const MAX_NESTING: usize = 1000;

/// The error `encoding/json` gives for a map that contains itself.
pub const JSON_CYCLE_ERROR: &str =
    "json: unsupported value: encountered a cycle via map[string]interface {}";

/// Go's name of Helm's `Values` map type.
pub const HELM_VALUES_TYPE: &str = "common.Values";

impl MapRef {
    /// Wraps `map` in a new shared handle.
    pub fn new(map: Map) -> MapRef {
        MapRef {
            map: Arc::new(RwLock::new(map)),
            map_type: MapType::Plain,
            nil: false,
        }
    }

    /// Go's nil `map[string]interface {}`: empty, and refusing `set`.
    pub fn nil_map() -> MapRef {
        MapRef {
            nil: true,
            ..MapRef::default()
        }
    }

    /// Whether this is Go's nil map.
    pub fn is_nil(&self) -> bool {
        self.nil
    }

    /// This map as Helm's named type `common.Values` (see [`HELM_VALUES_TYPE`]).
    pub fn into_helm_values(self) -> MapRef {
        self.with_type(MapType::HelmValues)
    }

    /// This map as a plain `map[string]interface {}` (what a Go function that takes
    /// one and returns it gives back).
    pub fn into_plain(self) -> MapRef {
        self.with_type(MapType::Plain)
    }

    /// This map as Go type `map_type`.
    pub fn with_type(mut self, map_type: MapType) -> MapRef {
        self.map_type = map_type;
        self
    }

    /// The map's Go type.
    pub fn map_type(&self) -> MapType {
        self.map_type
    }

    /// Whether this handle is Helm's `common.Values` type.
    pub fn is_helm_values(&self) -> bool {
        self.map_type == MapType::HelmValues
    }

    /// The value at `key`, or the map's zero value when there is none (Helm's
    /// `missingkey=zero`): `""` in a `map[string]string`, else `nil`.
    pub fn get_or_zero(&self, key: &str) -> Value {
        match self.get(key) {
            Some(value) => value,
            None if self.map_type == MapType::StringMap => Value::string(""),
            None => Value::Nil,
        }
    }

    /// Read access to the map.
    pub fn read(&self) -> RwLockReadGuard<'_, Map> {
        self.map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Write access to the map, seen by every holder of this handle.
    pub fn write(&self) -> RwLockWriteGuard<'_, Map> {
        self.map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether both handles share one map (Go's map identity).
    pub fn ptr_eq(&self, other: &MapRef) -> bool {
        Arc::ptr_eq(&self.map, &other.map)
    }

    /// The value at `key`, cloned out of the map.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.read().get(key).cloned()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The map itself when this is the only handle, else a copy of it.
    pub fn into_inner(self) -> Map {
        match Arc::try_unwrap(self.map) {
            Ok(lock) => lock
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            Err(shared) => shared
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        }
    }

    /// The map itself, to change in place, when this is the only handle to it.
    pub fn get_mut(&mut self) -> Option<&mut Map> {
        Arc::get_mut(&mut self.map).map(|lock| {
            lock.get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        })
    }

    /// A copy of the entries (a snapshot: later changes to the map do not show in it).
    pub fn to_map(&self) -> Map {
        self.read().clone()
    }
}

impl From<Map> for MapRef {
    fn from(map: Map) -> MapRef {
        MapRef::new(map)
    }
}

impl fmt::Debug for MapRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.read().iter()).finish()
    }
}

/// A dynamically typed template value (Go's `interface{}`).
#[derive(Clone, Default)]
pub enum Value {
    /// Go's `nil`: a missing key, an unset value.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// Go's `int`: template literals, `len`, `atoi`, `int`, `until`, range indexes.
    Int(i64),
    /// Go's `int64`: Sprig's integer math (`add`, `sub`, `max`...), `int64`, `--set`
    /// integers, `fromToml` integers. Go refuses it for an `int` parameter, and
    /// `typeOf`, `kindOf`, `%T` and `deepEqual` tell it from `int`.
    Int64(i64),
    /// Go's `uint64`: a semantic version's `Major`, `Minor` and `Patch`.
    Uint64(u64),
    /// `float64` (every number in a values file, `fromYaml`, `fromJson`).
    Float(f64),
    /// `string`.
    String(Arc<str>),
    /// A Go `string` whose bytes are not UTF-8: a string cut inside a character
    /// (`substr`, `trunc`, `slice`), decoded bytes (`b64dec`), or such pieces joined.
    /// It is a `string` to every Go type check; functions that read text see its
    /// [`ByteString::text`], those that read bytes (`len`, `toJson`, `b64enc`, the
    /// checksums, `quote`, `printf "%q %x"`, template output) its bytes, as Go does.
    ByteString(Arc<ByteString>),
    /// `[]byte` (`.Files.GetBytes`).
    Bytes(Arc<[u8]>),
    /// A slice: `[]interface{}`, or a typed slice Sprig returns (`[]string`...).
    List(ListRef),
    /// `map[string]interface{}`: shared by reference like Go's maps, so `set`, `unset`
    /// and `merge` change the map every holder sees.
    Map(MapRef),
    /// A Go object with fields and methods (`.Files`, `.Capabilities`, semver...).
    Object(Arc<dyn GoObject>),
}

/// A Go value with fields and methods, reached in templates as `.Field` or `.Method args`.
pub trait GoObject: Send + Sync {
    /// Go's type name, used in error messages (`chartutil.Files`, `*semver.Version`).
    fn type_name(&self) -> &str;
    /// The value of field `name`, or `None` when there is no such field.
    fn field(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }
    /// Calls method `name`; `None` when there is no such method, else its result or
    /// the error text Go would give.
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// This object as [`std::any::Any`], for functions that take one Go type of
    /// object (`time.Time`); `None` for objects no function looks into.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// How Go's `fmt` prints this object with `%v` (`print`, `printf`, `toString`).
    fn go_string(&self) -> String;
    /// How a `{{ pipeline }}` action prints this object. Go's `printValue` looks
    /// through a pointer and, where the value is addressable, uses a `String` method
    /// of its pointer type, which `fmt` never sees (`.Capabilities.KubeVersion`).
    fn template_string(&self) -> String {
        self.go_string()
    }
    /// This object as a function receives it: Go copies a struct into an `any`
    /// argument, and the copy is no longer addressable. `None` when passing the
    /// object changes nothing (pointers, maps, slices).
    fn copied(&self) -> Option<Value> {
        None
    }
    /// The fields Go's `fmt` prints for a struct (`%v`, `%+v`, `%#v`), unexported ones
    /// included, in declaration order. `None` for objects printed as
    /// [`GoObject::go_string`].
    fn go_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        None
    }
    /// The plain map or list this object is, for Go types that are maps or slices with
    /// methods (Helm's `files` is a `map[string][]byte`): `range`, `len`, `index` and
    /// truth tests use it. `None` for struct-like objects.
    fn underlying(&self) -> Option<Value> {
        None
    }
    /// Whether `fmt` prints this object as its [`GoObject::underlying`] value, element
    /// by element with the verb's flags (a named slice without a `String` method, such
    /// as `common.VersionSet`), rather than as [`GoObject::go_string`].
    fn prints_as_underlying(&self) -> bool {
        false
    }
    /// Go's `reflect.Kind` of this object when it is no named slice or map
    /// ([`GoObject::underlying`]): `ptr` for a pointer (`*semver.Version`), `struct` for
    /// a struct value (`time.Time`).
    fn go_kind(&self) -> &'static str {
        "ptr"
    }
    /// The fields Go's `encoding/json` writes for a struct-like object (`toJson`, and
    /// `toYaml` through JSON), in declaration order under their JSON names, `omitempty`
    /// fields left out when empty. `None` for objects that are no structs to it.
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        None
    }
    /// The fields BurntSushi's TOML encoder writes (`toToml`): Go field names, in
    /// declaration order. `None` for objects that are no structs to it.
    fn toml_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        None
    }
}

impl Value {
    /// A string value.
    pub fn string(text: impl Into<Arc<str>>) -> Value {
        Value::String(text.into())
    }

    /// A Go string of `bytes`: a [`Value::String`] when they are UTF-8, else a
    /// [`Value::ByteString`].
    pub fn from_go_bytes(bytes: Vec<u8>) -> Value {
        match String::from_utf8(bytes) {
            Ok(text) => Value::string(text),
            Err(error) => {
                let bytes = error.into_bytes().into_boxed_slice();
                let text = lossy_text(&bytes).into();
                Value::ByteString(Arc::new(ByteString { bytes, text }))
            }
        }
    }

    /// A Go string's bytes (`None` when this is no string).
    pub fn go_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(s) => Some(s.as_bytes()),
            Value::ByteString(b) => Some(b.bytes()),
            _ => None,
        }
    }

    /// A map value.
    pub fn map(map: Map) -> Value {
        Value::Map(MapRef::new(map))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(ListRef::new(items, SliceType::Interface))
    }

    /// A slice of Go type `slice_type` (`[]string` from `splitList`...).
    pub fn typed_list(items: Vec<Value>, slice_type: SliceType) -> Value {
        Value::List(ListRef::new(items, slice_type))
    }

    /// A `[]string` of `items`.
    pub fn string_list<S: Into<Arc<str>>>(items: impl IntoIterator<Item = S>) -> Value {
        let items = items.into_iter().map(Value::string).collect();
        Value::typed_list(items, SliceType::String)
    }

    /// Go's nil slice (see [`Value::is_nil_list`]).
    pub fn nil_list() -> Value {
        Value::nil_typed_list(SliceType::Interface)
    }

    /// Go's nil slice of type `slice_type` (`regexFindAll` without a match is a nil
    /// `[]string`).
    pub fn nil_typed_list(slice_type: SliceType) -> Value {
        Value::List(ListRef {
            items: NIL_LIST.clone(),
            slice_type,
        })
    }

    /// A list of `items`, or Go's nil slice when there are none: what a Go function
    /// that only ever appends to a nil slice returns.
    pub fn list_or_nil(items: Vec<Value>) -> Value {
        if items.is_empty() {
            Value::nil_list()
        } else {
            Value::list(items)
        }
    }

    /// Whether lists and maps nest deeper than `limit` in this value (a map that
    /// contains itself always does); it looks no deeper than that.
    pub fn nesting_exceeds(&self, limit: usize) -> bool {
        match self {
            Value::List(items) => {
                limit == 0 || items.iter().any(|item| item.nesting_exceeds(limit - 1))
            }
            Value::Map(map) => {
                limit == 0
                    || map
                        .read()
                        .values()
                        .any(|item| item.nesting_exceeds(limit - 1))
            }
            _ => false,
        }
    }

    /// Whether this is Go's nil slice: `toJson` and `toYaml` write `null` for it.
    pub fn is_nil_list(&self) -> bool {
        matches!(self, Value::List(items) if items.is_nil())
    }

    /// Whether this is Go's nil slice or nil map: `encoding/json` writes `null` for
    /// both.
    pub fn is_nil_container(&self) -> bool {
        match self {
            Value::List(items) => items.is_nil(),
            Value::Map(map) => map.is_nil(),
            _ => false,
        }
    }

    /// Go's type name of this value, as Go's errors print it.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint64(_) => "uint64",
            Value::Float(_) => "float64",
            Value::String(_) | Value::ByteString(_) => "string",
            Value::Bytes(_) => "[]uint8",
            Value::List(items) => items.slice_type().go_name(),
            Value::Map(map) => map.map_type().go_name(),
            Value::Object(object) => object.type_name(),
        }
    }

    /// Go template truthiness: false, 0, nil, and empty strings, lists and maps are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint64(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::ByteString(_) => true,
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(object) => object.underlying().is_none_or(|v| v.is_truthy()),
        }
    }

    /// The string inside, when this is a string (a [`Value::ByteString`]'s text).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::ByteString(b) => Some(b.text()),
            _ => None,
        }
    }

    /// The integer inside, when this is one of Go's integer kinds (`int`, `int64`).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// The map inside, when this is a map.
    pub fn as_map(&self) -> Option<&MapRef> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Int64(i) => write!(f, "{i}i64"),
            Value::Uint64(u) => write!(f, "{u}u64"),
            Value::Float(x) => write!(f, "{x}f"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::ByteString(b) => write!(f, "{:?}", b.text()),
            Value::Bytes(b) => write!(f, "bytes{b:?}"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => m.fmt(f),
            Value::Object(o) => write!(f, "<{}>", o.type_name()),
        }
    }
}

/// Go's `%v`: `<nil>`, `[a b]`, `map[a:1 b:2]`, floats in shortest `%g` form (`1e+06`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        crate::template::fmt::write_value(&mut out, self);
        f.write_str(&out)
    }
}

impl Value {
    /// The value as JSON, the way Helm hands values to JSON (schema checks, release
    /// records): whole floats become integers as Go's `encoding/json` writes them, bytes
    /// become text, Go objects their `%v` form.
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_at(0)
    }

    fn to_json_at(&self, depth: usize) -> serde_json::Value {
        if depth > MAX_NESTING {
            // A map that contains itself (templates can make one with `set`).
            return serde_json::Value::Null;
        }
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
            Value::Uint64(u) => serde_json::Value::from(*u),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    serde_json::Value::from(*f as i64)
                } else {
                    serde_json::Number::from_f64(*f)
                        .map(serde_json::Value::Number)
                        .unwrap_or(serde_json::Value::Null)
                }
            }
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::ByteString(b) => serde_json::Value::String(b.text().to_string()),
            Value::Bytes(b) => serde_json::Value::String(lossy_text(b).into_owned()),
            Value::List(_) if self.is_nil_list() => serde_json::Value::Null,
            Value::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|item| item.to_json_at(depth + 1))
                    .collect(),
            ),
            Value::Map(map) => serde_json::Value::Object(
                map.read()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json_at(depth + 1)))
                    .collect(),
            ),
            Value::Object(object) => serde_json::Value::String(object.go_string()),
        }
    }

    /// A JSON document as Go's `encoding/json` decodes it into `interface{}` (every number
    /// a `float64`), without taking the document.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(items) => {
                Value::list(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(entries) => Value::map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// A map of values as a JSON object (see [`Value::to_json`]).
pub fn map_to_json(map: &Map) -> serde_json::Map<String, serde_json::Value> {
    map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()
}

/// A JSON object as a map of values (see [`Value::from_json`]).
pub fn map_from_json(object: &serde_json::Map<String, serde_json::Value>) -> Map {
    object
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect()
}

/// JSON to a value as Go's `encoding/json` decodes into `interface{}`: every number is a
/// `float64`.
impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or_default()),
            serde_json::Value::String(s) => Value::string(s),
            serde_json::Value::Array(items) => {
                Value::list(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(entries) => Value::map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, Value::from(v)))
                    .collect(),
            ),
        }
    }
}
