//! Helm's template function set: Sprig's functions that Helm exposes (Sprig's
//! `TxtFuncMap` without `env` and `expandenv`) plus Helm's own pure functions
//! (`toYaml`, `fromYaml`, `toToml`, `required`, `fail`, `lookup`...).
//!
//! Functions that need the template set (`include`, `tpl`) live in the engine
//! (`crate::template`), which asks [`lookup`] for every other name.
//!
//! Conventions shared with the engine:
//! - Maps are [`crate::value::MapRef`] handles: `set`, `unset`, `merge` and
//!   `mergeOverwrite` mutate the map in place and every holder of the handle sees it,
//!   as with Go maps (`{{ $_ := set $d "k" "v" }}` then `$d.k`).
//! - Argument checks follow Go's reflect rules for each Sprig parameter type and come
//!   back as [`FuncError::Args`]; errors a Go function returns (or panics with) come back
//!   as [`FuncError::Call`]. `required` and `fail` return the chart's message as a
//!   `Call` error.
//! - Integers keep Go's type: [`Value::Int`] for `int` (literals, `len`, `atoi`),
//!   [`Value::Int64`] for `int64` (Sprig's integer math, `--set`); an `int` parameter
//!   refuses an `int64`, as Go does.
//!
//! ```
//! use deploykit_chart::funcs::{FuncError, lookup};
//! use deploykit_chart::value::Value;
//!
//! let trunc = lookup("trunc").expect("Helm has trunc");
//! let out = trunc(&[Value::Int(5), Value::string("hello world")]);
//! assert_eq!(out.unwrap().as_str(), Some("hello"));
//! let err = trunc(&[Value::Float(5.0), Value::string("x")]).unwrap_err();
//! assert_eq!(
//!     err,
//!     FuncError::Args("wrong type for value; expected int; got interface {}".into())
//! );
//! assert!(lookup("env").is_none());
//! ```

pub(crate) mod args;
mod case;
pub(crate) mod collections;
mod crypto;
mod cut_text;
mod dates;
pub mod gofmt;
mod helm;
mod json;
mod math;
pub(crate) mod misc;
pub(crate) mod regex;
mod semver;
mod strings;

use crate::value::Value;

pub use collections::{deep_equal, is_empty};
pub use semver::{SemverError, Version, satisfies};

/// The plain data `encoding/json` makes of a Go object: a `time.Time` is its RFC 3339
/// text, a Sprig certificate `{"Cert","Key"}`, a semantic version its string; other
/// objects their `%v` text.
pub fn object_data(object: &dyn crate::value::GoObject) -> Value {
    match object.type_name() {
        "time.Time" => match object.call_method(
            "Format",
            &[Value::string("2006-01-02T15:04:05.999999999Z07:00")],
        ) {
            Some(Ok(text)) => text,
            _ => Value::string(object.go_string()),
        },
        "sprig.certificate" => {
            let mut map = crate::value::Map::new();
            for field in ["Cert", "Key"] {
                map.insert(field.to_string(), object.field(field).unwrap_or_default());
            }
            Value::map(map)
        }
        _ => {
            // A struct as `encoding/json` sees it (keys sorted here: `toYaml` goes
            // through a map), a named slice or map type as its elements.
            if let Some(fields) = object.json_fields() {
                let map = fields
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value))
                    .collect();
                return Value::map(map);
            }
            object
                .underlying()
                .unwrap_or_else(|| Value::string(object.go_string()))
        }
    }
}

/// Why a function call failed, in the two forms Go's `text/template` prints.
#[derive(Debug, Clone, PartialEq)]
pub enum FuncError {
    /// The arguments did not fit the Go signature (printed as is, e.g. `wrong number of
    /// args for upper: want 1 got 2` or `wrong type for value; expected string; got int`).
    Args(String),
    /// The function ran and returned an error (printed as `error calling NAME: MSG`).
    Call(String),
}

/// A template function: arguments in, value or error out.
pub type Function = fn(&[Value]) -> std::result::Result<Value, FuncError>;

/// What every function returns.
type Result = std::result::Result<Value, FuncError>;

/// A parameter of a Helm function whose Go type can hold `nil` (a map or a slice),
/// where Go's `text/template` passes the type's zero value for a literal `nil` or a
/// nil variable instead of refusing it (`evalArg`, `validateType`'s `canBeNil`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NilParam {
    /// `map[string]interface {}`: Go's nil map, which reads see as empty and which
    /// `set` refuses (`assignment to entry in nil map`).
    Map,
    /// `[]interface {}`: an empty list.
    List,
}

/// The nil-able parameter at `index` of function `name` (variadic parameters repeat
/// their type), from Sprig's and Helm's Go signatures; `None` for `interface {}` and
/// every type that can't hold `nil`.
pub(crate) fn nil_param(name: &str, index: usize) -> Option<NilParam> {
    let map = NilParam::Map;
    match (name, index) {
        ("set" | "get" | "unset" | "hasKey" | "pick" | "omit" | "values" | "urlJoin", 0) => {
            Some(map)
        }
        ("pluck", 1..) => Some(map),
        ("keys" | "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite", _) => Some(map),
        (
            "genSelfSignedCert"
            | "genSelfSignedCertWithKey"
            | "genSignedCert"
            | "genSignedCertWithKey",
            1 | 2,
        ) => Some(NilParam::List),
        _ => None,
    }
}

/// The function named `name`, or `None` when Helm has no such function.
pub fn lookup(name: &str) -> Option<Function> {
    let f: Function = match name {
        // Helm's own.
        "toYaml" => helm::to_yaml,
        "mustToYaml" => helm::must_to_yaml,
        "toYamlPretty" => helm::to_yaml_pretty,
        "fromYaml" => helm::from_yaml,
        "fromYamlArray" => helm::from_yaml_array,
        "toJson" => helm::to_json,
        "mustToJson" => helm::must_to_json,
        "fromJson" => helm::from_json,
        "fromJsonArray" => helm::from_json_array,
        "toToml" => helm::to_toml,
        "fromToml" => helm::from_toml,
        "required" => helm::required,
        "lookup" => helm::lookup,
        "fail" => helm::fail,
        // Sprig: JSON.
        "toPrettyJson" => helm::to_pretty_json,
        "mustToPrettyJson" => helm::must_to_pretty_json,
        "toRawJson" => helm::to_raw_json,
        "mustToRawJson" => helm::must_to_raw_json,
        "mustFromJson" => helm::must_from_json,
        // Strings.
        "hello" => strings::hello,
        "abbrev" => strings::abbrev,
        "abbrevboth" => strings::abbrevboth,
        "trunc" => strings::trunc,
        "trim" => strings::trim,
        "upper" => strings::upper,
        "lower" => strings::lower,
        "title" => strings::title,
        "untitle" => strings::untitle,
        "substr" => strings::substr,
        "repeat" => strings::repeat,
        "trimall" => strings::trimall,
        "trimAll" => strings::trim_all,
        "trimSuffix" => strings::trim_suffix,
        "trimPrefix" => strings::trim_prefix,
        "nospace" => strings::nospace,
        "initials" => strings::initials,
        "randAlphaNum" => strings::rand_alpha_num,
        "randAlpha" => strings::rand_alpha,
        "randAscii" => strings::rand_ascii,
        "randNumeric" => strings::rand_numeric,
        "swapcase" => strings::swapcase,
        "shuffle" => strings::shuffle,
        "snakecase" => strings::snakecase,
        "camelcase" => strings::camelcase,
        "kebabcase" => strings::kebabcase,
        "wrap" => strings::wrap,
        "wrapWith" => strings::wrap_with,
        "contains" => strings::contains,
        "hasPrefix" => strings::has_prefix,
        "hasSuffix" => strings::has_suffix,
        "quote" => strings::quote,
        "squote" => strings::squote,
        "cat" => strings::cat,
        "indent" => strings::indent,
        "nindent" => strings::nindent,
        "replace" => strings::replace,
        "plural" => strings::plural,
        "toString" => strings::to_string,
        "atoi" => strings::atoi,
        "seq" => strings::seq,
        "split" => strings::split,
        "splitList" => strings::split_list,
        "splitn" => strings::splitn,
        "toStrings" => strings::to_strings,
        "join" => strings::join,
        "sortAlpha" => strings::sort_alpha,
        // Encodings, checksums, paths, URLs.
        "b64enc" => misc::b64enc,
        "b64dec" => misc::b64dec,
        "b32enc" => misc::b32enc,
        "b32dec" => misc::b32dec,
        "sha1sum" => misc::sha1sum,
        "sha256sum" => misc::sha256sum,
        "sha512sum" => misc::sha512sum,
        "adler32sum" => misc::adler32sum,
        "uuidv4" => misc::uuidv4,
        "randBytes" => misc::rand_bytes,
        "base" => misc::base,
        "dir" => misc::dir,
        "clean" => misc::clean,
        "ext" => misc::ext,
        "isAbs" => misc::is_abs,
        "osBase" => misc::os_base,
        "osDir" => misc::os_dir,
        "osClean" => misc::os_clean,
        "osExt" => misc::os_ext,
        "osIsAbs" => misc::os_is_abs,
        "urlParse" => misc::url_parse,
        "urlJoin" => misc::url_join,
        "getHostByName" => misc::get_host_by_name,
        // Math and conversions.
        "int" => math::to_int,
        "int64" => math::to_int64_fn,
        "float64" => math::to_float64_fn,
        "toDecimal" => math::to_decimal,
        "until" => math::until,
        "untilStep" => math::until_step_fn,
        "add1" => math::add1,
        "add" => math::add,
        "sub" => math::sub,
        "div" => math::div,
        "mod" => math::modulo,
        "mul" => math::mul,
        "randInt" => math::rand_int,
        "add1f" => math::add1f,
        "addf" => math::addf,
        "subf" => math::subf,
        "divf" => math::divf,
        "mulf" => math::mulf,
        "biggest" => math::biggest,
        "max" => math::max,
        "min" => math::min,
        "maxf" => math::maxf,
        "minf" => math::minf,
        "ceil" => math::ceil,
        "floor" => math::floor,
        "round" => math::round,
        // Defaults and reflection.
        "default" => collections::default,
        "empty" => collections::empty,
        "coalesce" => collections::coalesce,
        "all" => collections::all,
        "any" => collections::any,
        "compact" => collections::compact,
        "mustCompact" => collections::must_compact,
        "ternary" => collections::ternary,
        "deepCopy" => collections::deep_copy,
        "mustDeepCopy" => collections::must_deep_copy,
        "typeOf" => collections::type_of_fn,
        "typeIs" => collections::type_is,
        "typeIsLike" => collections::type_is_like,
        "kindOf" => collections::kind_of,
        "kindIs" => collections::kind_is,
        "deepEqual" => collections::deep_equal_fn,
        // Dicts.
        "dict" => collections::dict,
        "get" => collections::get,
        "set" => collections::set,
        "unset" => collections::unset,
        "hasKey" => collections::has_key,
        "pluck" => collections::pluck,
        "keys" => collections::keys,
        "pick" => collections::pick,
        "omit" => collections::omit,
        "merge" => collections::merge,
        "mergeOverwrite" => collections::merge_overwrite,
        "mustMerge" => collections::must_merge,
        "mustMergeOverwrite" => collections::must_merge_overwrite,
        "values" => collections::values,
        "dig" => collections::dig,
        // Lists.
        "tuple" | "list" => collections::list,
        "append" => collections::push,
        "push" => collections::push_alias,
        "mustAppend" => collections::must_append,
        "mustPush" => collections::must_push,
        "prepend" => collections::prepend,
        "mustPrepend" => collections::must_prepend,
        "first" => collections::first,
        "mustFirst" => collections::must_first,
        "rest" => collections::rest,
        "mustRest" => collections::must_rest,
        "last" => collections::last,
        "mustLast" => collections::must_last,
        "initial" => collections::initial,
        "mustInitial" => collections::must_initial,
        "reverse" => collections::reverse,
        "mustReverse" => collections::must_reverse,
        "uniq" => collections::uniq,
        "mustUniq" => collections::must_uniq,
        "without" => collections::without,
        "mustWithout" => collections::must_without,
        "has" => collections::has,
        "mustHas" => collections::must_has,
        "slice" => collections::slice,
        "mustSlice" => collections::must_slice,
        "concat" => collections::concat,
        "chunk" => collections::chunk,
        "mustChunk" => collections::must_chunk,
        // Semantic versions.
        "semver" => semver::semver_fn,
        "semverCompare" => semver::semver_compare,
        // Regular expressions.
        "regexMatch" => regex::regex_match,
        "mustRegexMatch" => regex::must_regex_match,
        "regexFindAll" => regex::regex_find_all,
        "mustRegexFindAll" => regex::must_regex_find_all,
        "regexFind" => regex::regex_find,
        "mustRegexFind" => regex::must_regex_find,
        "regexReplaceAll" => regex::regex_replace_all,
        "mustRegexReplaceAll" => regex::must_regex_replace_all,
        "regexReplaceAllLiteral" => regex::regex_replace_all_literal,
        "mustRegexReplaceAllLiteral" => regex::must_regex_replace_all_literal,
        "regexSplit" => regex::regex_split,
        "mustRegexSplit" => regex::must_regex_split,
        "regexQuoteMeta" => regex::regex_quote_meta,
        // Dates.
        "ago" => dates::ago,
        "date" => dates::date,
        "date_in_zone" => dates::date_in_zone_underscore,
        "date_modify" => dates::date_modify_underscore,
        "dateInZone" => dates::date_in_zone,
        "dateModify" => dates::date_modify,
        "duration" => dates::duration,
        "durationRound" => dates::duration_round,
        "htmlDate" => dates::html_date,
        "htmlDateInZone" => dates::html_date_in_zone,
        "must_date_modify" => dates::must_date_modify_underscore,
        "mustDateModify" => dates::must_date_modify,
        "mustToDate" => dates::must_to_date,
        "now" => dates::now,
        "toDate" => dates::to_date,
        "unixEpoch" => dates::unix_epoch,
        // Crypto.
        "bcrypt" => crypto::bcrypt,
        "htpasswd" => crypto::htpasswd,
        "genPrivateKey" => crypto::gen_private_key,
        "derivePassword" => crypto::derive_password,
        "buildCustomCert" => crypto::build_custom_cert,
        "genCA" => crypto::gen_ca,
        "genCAWithKey" => crypto::gen_ca_with_key,
        "genSelfSignedCert" => crypto::gen_self_signed_cert,
        "genSelfSignedCertWithKey" => crypto::gen_self_signed_cert_with_key,
        "genSignedCert" => crypto::gen_signed_cert,
        "genSignedCertWithKey" => crypto::gen_signed_cert_with_key,
        "encryptAES" => crypto::encrypt_aes,
        "decryptAES" => crypto::decrypt_aes,
        _ => return None,
    };
    Some(f)
}
