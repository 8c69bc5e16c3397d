//! Random templates from Go `text/template`'s grammar, mostly valid (variables are
//! declared before they are used, functions get arguments of about the right kind), so
//! that execution is reached; errors on purpose now and then.
//!
//! Coverage:
//! - text, comments (`{{/* */}}`), whitespace trimming (`{{-`, `-}}`) on any action;
//! - actions printing pipelines: operands (`.`, `$`, `$x`, `.Values.a.b`, `$.Values.a`,
//!   `.Release.Name`, `.Chart.Name`, `.Template.Name`, `.Capabilities...`), literals
//!   (strings, raw strings, ints, floats, hex, chars, `true`, `false`), parenthesised
//!   calls, field access on a parenthesised call, `| f args` chains;
//! - variables declared (`$x := p`) and assigned (`$x = p`) at every depth of `if` /
//!   `else if` / `else`, `with` / `else with` / `else`, `range` (`range p`, `range $v :=
//!   p`, `range $i, $v := p`, over lists, maps, ints and nothing, with `break`,
//!   `continue`, `else`), `define`, `block`, and inside `tpl` text; in control
//!   pipelines too (`if $x := p`, `with $x := p`);
//! - `template "name" p`, `include "name" p`, `tpl "text" .`, `block "name" p`;
//! - Sprig and Helm functions (the deterministic ones: strings, lists, dicts, math,
//!   conversions, `toYaml`/`toJson`/`fromYaml`/`fromJson`, `default`, `ternary`,
//!   `required`, `fail`, `printf`, comparisons, `and`/`or`/`not`, `index`, `slice`,
//!   `len`, `kindOf`/`typeOf`, regexes, semver), with `nil` and typed arguments;
//! - errors: stray or missing `end`, unclosed actions, undefined variables and
//!   templates, `fail`, `required` on missing values, out-of-range indexes.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::values::{PathShape, ScalarKind, ValuePath};

/// Shapes of template the generator may produce; those a known, still open bug breaks
/// can be turned off until it is fixed.
#[derive(Debug, Clone, Copy)]
pub struct TemplateShapes {
    /// `$x := ...` for a variable already declared, in the same scope or an
    /// enclosing one.
    pub redeclare: bool,
    /// A variable declared in an `if`/`with` branch used in a later `else` branch
    /// (Go's parser accepts it; execution fails only if that branch runs).
    pub vars_across_else: bool,
    /// `nil` as a function argument.
    pub nil_args: bool,
    /// Mistakes on purpose (both engines must refuse).
    pub errors: bool,
}

impl TemplateShapes {
    /// Every shape.
    pub fn all() -> TemplateShapes {
        TemplateShapes {
            redeclare: true,
            vars_across_else: true,
            nil_args: true,
            errors: true,
        }
    }
}

impl Default for TemplateShapes {
    /// Every shape (issue #16's redeclared variables, variables across `else` and
    /// `nil` arguments were off until their fixes landed).
    fn default() -> TemplateShapes {
        TemplateShapes::all()
    }
}

/// A generated pair of template files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedTemplates {
    /// `templates/main.yaml`.
    pub main: String,
    /// `templates/_helpers.tpl` (defines).
    pub helpers: String,
}

/// The kind of value an expression should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    /// Go's `int` (literals, `len`, `atoi`, `int`): what `int` parameters take.
    Int,
    /// Go's `int64` (Sprig's integer math): not assignable to `int` parameters.
    I64,
    Num,
    Bool,
    List,
    Map,
    /// A `time.Time` (fixed dates only: nothing from the clock). Never chosen for
    /// `Any`, so a time is only printed through the date functions.
    Time,
    /// A zone name for `dateInZone` (never chosen for `Any`).
    Zone,
    Any,
}
use Kind::{Any, Bool, I64, Int, List, Map, Num, Str, Time, Zone};

/// A function: name, fixed arguments, a repeated argument kind (with at most this many
/// repeats), and result kind.
struct Func {
    name: &'static str,
    args: &'static [Kind],
    rest: Option<(Kind, usize)>,
    ret: Kind,
}

const fn f(name: &'static str, args: &'static [Kind], ret: Kind) -> Func {
    Func {
        name,
        args,
        rest: None,
        ret,
    }
}

const fn v(name: &'static str, args: &'static [Kind], rest: Kind, max: usize, ret: Kind) -> Func {
    Func {
        name,
        args,
        rest: Some((rest, max)),
        ret,
    }
}

/// Deterministic functions both engines have (nothing random, no clock, no key
/// generation, no unordered results such as `keys` without `sortAlpha`).
const FUNCS: &[Func] = &[
    f("upper", &[Str], Str),
    f("lower", &[Str], Str),
    f("title", &[Str], Str),
    f("trim", &[Str], Str),
    f("trimPrefix", &[Str, Str], Str),
    f("trimSuffix", &[Str, Str], Str),
    f("trimAll", &[Str, Str], Str),
    v("quote", &[], Any, 3, Str),
    v("squote", &[], Any, 2, Str),
    f("indent", &[Int, Str], Str),
    f("nindent", &[Int, Str], Str),
    f("replace", &[Str, Str, Str], Str),
    f("contains", &[Str, Str], Bool),
    f("hasPrefix", &[Str, Str], Bool),
    f("hasSuffix", &[Str, Str], Bool),
    f("repeat", &[Int, Str], Str),
    f("substr", &[Int, Int, Str], Str),
    f("trunc", &[Int, Str], Str),
    f("abbrev", &[Int, Str], Str),
    f("nospace", &[Str], Str),
    f("snakecase", &[Str], Str),
    f("camelcase", &[Str], Str),
    f("kebabcase", &[Str], Str),
    f("swapcase", &[Str], Str),
    f("initials", &[Str], Str),
    f("untitle", &[Str], Str),
    f("wrap", &[Int, Str], Str),
    v("cat", &[], Any, 3, Str),
    f("toString", &[Any], Str),
    f("b64enc", &[Str], Str),
    f("b64dec", &[Str], Str),
    f("sha256sum", &[Str], Str),
    f("adler32sum", &[Str], Str),
    f("plural", &[Str, Str, Int], Str),
    // Go's typed slices and maps: `[]string`, `[]int`, `[][]interface {}`,
    // `map[string]string` (which `map[string]interface {}` parameters refuse).
    f("splitList", &[Str, Str], List),
    f("join", &[Str, List], Str),
    f("split", &[Str, Str], Any),
    f("splitn", &[Str, Int, Str], Any),
    f("regexSplit", &[Str, Str, Int], List),
    f("chunk", &[Int, List], List),
    f("regexMatch", &[Str, Str], Bool),
    f("regexFind", &[Str, Str], Str),
    f("regexReplaceAll", &[Str, Str, Str], Str),
    f("semverCompare", &[Str, Str], Bool),
    f("default", &[Any, Any], Any),
    f("empty", &[Any], Bool),
    v("coalesce", &[], Any, 3, Any),
    f("ternary", &[Any, Any, Bool], Any),
    f("required", &[Str, Any], Any),
    f("toYaml", &[Any], Str),
    f("toJson", &[Any], Str),
    f("toRawJson", &[Any], Str),
    f("toPrettyJson", &[Any], Str),
    f("fromYaml", &[Str], Map),
    f("fromJson", &[Str], Any),
    f("fromYamlArray", &[Str], List),
    v("list", &[], Any, 4, List),
    f("get", &[Map, Str], Any),
    f("set", &[Map, Str, Any], Map),
    f("unset", &[Map, Str], Map),
    f("hasKey", &[Map, Str], Bool),
    v("pluck", &[Str, Map], Map, 1, List),
    v("merge", &[Map, Map], Map, 1, Map),
    v("mergeOverwrite", &[Map, Map], Map, 1, Map),
    f("deepCopy", &[Any], Any),
    v("pick", &[Map], Str, 2, Map),
    v("omit", &[Map], Str, 2, Map),
    f("append", &[List, Any], List),
    f("prepend", &[List, Any], List),
    f("first", &[List], Any),
    f("last", &[List], Any),
    // Go's nil slice: rest and initial of an empty list, concat of empty lists, no
    // match for regexFindAll (`toJson`/`toYaml` write `null`).
    f("rest", &[List], List),
    f("initial", &[List], List),
    v("concat", &[], List, 3, List),
    f("regexFindAll", &[Str, Str, Int], List),
    f("uniq", &[List], List),
    v("without", &[List], Any, 2, List),
    f("has", &[Any, List], Bool),
    f("reverse", &[List], List),
    f("compact", &[List], List),
    f("sortAlpha", &[List], List),
    f("until", &[Int], List),
    f("untilStep", &[Int, Int, Int], List),
    v("add", &[Num], Num, 2, I64),
    f("sub", &[Num, Num], I64),
    v("mul", &[Num], Num, 2, I64),
    f("div", &[Num, Num], I64),
    f("mod", &[Num, Num], I64),
    v("max", &[Num], Num, 2, I64),
    v("min", &[Num], Num, 2, I64),
    f("add1", &[Num], I64),
    f("int", &[Any], Int),
    f("int64", &[Any], I64),
    f("float64", &[Any], Num),
    f("atoi", &[Str], Int),
    f("ceil", &[Num], Num),
    f("floor", &[Num], Num),
    v("addf", &[Num], Num, 2, Num),
    f("divf", &[Num, Num], Num),
    v("print", &[], Any, 3, Str),
    v("println", &[], Any, 2, Str),
    v("eq", &[Str, Str], Str, 1, Bool),
    f("eq", &[Int, Int], Bool),
    f("eq", &[Any, Any], Bool),
    f("ne", &[Str, Str], Bool),
    f("ne", &[Bool, Bool], Bool),
    f("lt", &[Int, Int], Bool),
    f("le", &[Num, Num], Bool),
    f("gt", &[Str, Str], Bool),
    f("ge", &[Int, Int], Bool),
    v("and", &[Any], Any, 2, Any),
    v("or", &[Any], Any, 2, Any),
    f("not", &[Any], Bool),
    f("len", &[Str], Int),
    f("len", &[List], Int),
    f("len", &[Map], Int),
    f("index", &[Map, Str], Any),
    f("index", &[List, Int], Any),
    f("index", &[Any], Any),
    v("slice", &[List], Int, 2, List),
    v("slice", &[Str], Int, 2, Str),
    // Go's types: typed slices and maps, `int` and `int64`, `common.Values`.
    f("kindOf", &[Str], Str),
    f("kindOf", &[List], Str),
    f("kindOf", &[Any], Str),
    f("typeOf", &[List], Str),
    f("typeOf", &[Any], Str),
    f("typeIs", &[Str, Any], Bool),
    f("deepEqual", &[List, List], Bool),
    f("deepEqual", &[Any, Any], Bool),
    f("deepCopy", &[List], List),
    f("kindOf", &[Num], Str),
    f("kindOf", &[Int], Str),
    f("kindOf", &[I64], Str),
    f("typeOf", &[Bool], Str),
    f("typeOf", &[Str], Str),
    f("typeOf", &[Int], Str),
    f("typeOf", &[I64], Str),
    f("kindIs", &[Str, Str], Bool),
    f("kindIs", &[Str, I64], Bool),
    f("kindIs", &[Str, Int], Bool),
    f("deepEqual", &[Str, Str], Bool),
    f("deepEqual", &[Num, Num], Bool),
    f("deepEqual", &[Int, I64], Bool),
    f("deepEqual", &[I64, I64], Bool),
    f("deepEqual", &[Map, Map], Bool),
    f("typeOf", &[Map], Str),
    f("deepCopy", &[Map], Map),
    // Sprig switches on the Go type: only an `int64` counts as seconds.
    f("duration", &[I64], Str),
    f("duration", &[Int], Str),
    f("duration", &[Str], Str),
    f("toStrings", &[Any], List),
    f("html", &[Any], Str),
    f("js", &[Any], Str),
    f("urlquery", &[Any], Str),
    f("base", &[Str], Str),
    f("ext", &[Str], Str),
    f("clean", &[Str], Str),
    f("dig", &[Str, Any, Map], Any),
    f("toToml", &[Map], Str),
    f("lookup", &[Str, Str, Str, Str], Map),
    // Dates, from fixed times only (`toDate`, Unix seconds), in UTC, fixed zones
    // (offsets, abbreviations, TOML's local times) and named ones.
    f("toString", &[Time], Str),
    f("toJson", &[Time], Str),
    f("typeOf", &[Time], Str),
    f("date", &[Str, Time], Str),
    f("date", &[Str, I64], Str),
    f("dateInZone", &[Str, Time, Zone], Str),
    f("htmlDateInZone", &[Time, Zone], Str),
    f("dateInZone", &[Str, I64, Zone], Str),
    f("htmlDate", &[Time], Str),
    f("unixEpoch", &[Time], Str),
    f("toDate", &[Str, Str], Time),
    f("dateModify", &[Str, Time], Time),
    f("mustDateModify", &[Str, Time], Time),
    f("must_date_modify", &[Str, Time], Time),
    f("date_modify", &[Str, Time], Time),
    f("date_in_zone", &[Str, Time, Zone], Str),
    f("mustToDate", &[Str, Str], Time),
    f("durationRound", &[Str], Str),
    f("durationRound", &[I64], Str),
    // Session 9: the rest of the deterministic functions.
    f("abbrevboth", &[Int, Int, Str], Str),
    f("trimall", &[Str, Str], Str),
    f("wrapWith", &[Int, Str, Str], Str),
    f("hello", &[], Str),
    f("b32enc", &[Str], Str),
    f("b32dec", &[Str], Str),
    f("sha1sum", &[Str], Str),
    f("sha512sum", &[Str], Str),
    f("dir", &[Str], Str),
    f("isAbs", &[Str], Bool),
    f("osBase", &[Str], Str),
    f("osClean", &[Str], Str),
    f("osDir", &[Str], Str),
    f("osExt", &[Str], Str),
    f("osIsAbs", &[Str], Bool),
    f("urlParse", &[Str], Map),
    f("urlJoin", &[Map], Str),
    f("regexQuoteMeta", &[Str], Str),
    f("regexReplaceAllLiteral", &[Str, Str, Str], Str),
    f("mustRegexFind", &[Str, Str], Str),
    f("mustRegexFindAll", &[Str, Str, Int], List),
    f("mustRegexMatch", &[Str, Str], Bool),
    f("mustRegexReplaceAll", &[Str, Str, Str], Str),
    f("mustRegexReplaceAllLiteral", &[Str, Str, Str], Str),
    f("mustRegexSplit", &[Str, Str, Int], List),
    f("seq", &[Int], Str),
    // Session 10: Helm's offline `getHostByName` (`""` without `--enable-dns`).
    f("getHostByName", &[Str], Str),
    v("seq", &[Int, Int], Int, 1, Str),
    f("toDecimal", &[Any], I64),
    f("round", &[Num, Int], Num),
    v("round", &[Num, Int], Num, 1, Num),
    f("add1f", &[Num], Num),
    v("subf", &[Num], Num, 2, Num),
    v("mulf", &[Num], Num, 2, Num),
    v("maxf", &[Num], Num, 2, Num),
    v("minf", &[Num], Num, 2, Num),
    v("biggest", &[Num], Num, 2, I64),
    v("all", &[], Any, 3, Bool),
    v("any", &[], Any, 3, Bool),
    v("tuple", &[], Any, 3, List),
    f("push", &[List, Any], List),
    f("mustAppend", &[List, Any], List),
    f("mustPush", &[List, Any], List),
    f("mustPrepend", &[List, Any], List),
    f("mustFirst", &[List], Any),
    f("mustLast", &[List], Any),
    f("mustRest", &[List], List),
    f("mustInitial", &[List], List),
    f("mustReverse", &[List], List),
    f("mustCompact", &[List], List),
    f("mustUniq", &[List], List),
    v("mustWithout", &[List], Any, 2, List),
    f("mustHas", &[Any, List], Bool),
    v("mustSlice", &[List], Int, 2, List),
    f("mustChunk", &[Int, List], List),
    f("mustDeepCopy", &[Any], Any),
    v("mustMerge", &[Map, Map], Map, 1, Map),
    v("mustMergeOverwrite", &[Map, Map], Map, 1, Map),
    f("mustToJson", &[Any], Str),
    f("mustToPrettyJson", &[Any], Str),
    f("mustToRawJson", &[Any], Str),
    f("mustToYaml", &[Any], Str),
    f("toYamlPretty", &[Any], Str),
    f("mustFromJson", &[Str], Any),
    f("fromJsonArray", &[Str], List),
    f("typeIsLike", &[Str, Any], Bool),
    f("semver", &[Str], Any),
    f("sortAlpha", &[List], List),
];

const STRING_LITERALS: &[&str] = &[
    "\"\"",
    "\"a\"",
    "\"web\"",
    "\"x y\"",
    "\"a-b\"",
    "\"1\"",
    "\"1.5\"",
    "\"true\"",
    "\"a,b,c\"",
    "\"v1.2.3\"",
    "\">=1.0.0\"",
    "\"^1\"",
    "\"[a-z]+\"",
    "\"a.b\"",
    "\"\\n\"",
    "\"q\\t\\\"q\\\"\"",
    // Tabs for `fromYaml`: where go-yaml refuses them (a block token's start, a tab
    // line in a plain scalar's indentation) and where it skips them (session 11); a
    // block scalar whose last line has no line break.
    "\"\\ta: 1\"",
    "\"a: 1\\n\\t\"",
    "\"a:\\t[1,\\t2]\"",
    "\"- x\\n-\\ty\"",
    "\"a: |\\n  x\"",
    // An anchor whose name runs into `;` (`html` of `<nil>`), a bare `!` tag.
    "\"a: &lt;nil&gt;\"",
    "\"a: !\\nb: ! 1\"",
    "\"ünï\"",
    // A byte order mark first: go-yaml then escapes the whole scalar (session 10).
    "\"\\ufeffa b\"",
    // Words for the case functions: abbreviations, numbers, connectors, punctuation,
    // letters Rust and Go class differently (Ⓐ, ª), title-case digraphs, CJK, and `à`
    // (bytes C3 A0: `initials` reads A0 as a space).
    "\"HTTPServer_v2 x-y\"",
    "\"a: 1, b.c\"",
    "\"Bld4Floor3rd HTTP2xx\"",
    "\"__a--b  c_\"",
    "\"ǅa Ⓐb ªc ΣΑΣ ß\"",
    "\"中文Ab à-é\"",
    "\"_\"",
    "`raw\\n`",
    "`a: 1\nb: [x]`",
    "\"{\\\"a\\\": 1}\"",
    "\"- x\\n- y\"",
    "\"name\"",
    "\"image\"",
    "\"Values\"",
    "\"%v\"",
    "\"%d-%s\"",
    "\"%q\"",
    "\"%5.2f\"",
    "\"%x\"",
    "\"%T\"",
    "\"%+v\"",
    "\"%#v\"",
    "\"%s=%v\"",
    "\"%%\"",
    // Layouts and durations for the date functions, zones, semver versions and
    // constraints.
    "\"2006-01-02T15:04:05.000Z07:00\"",
    "\"Mon Jan _2 3:04PM MST 06\"",
    "\"02/01/2006 15h04 -07:00:00\"",
    "\"1h30m\"",
    "\"-2h45m10s\"",
    "\"UTC\"",
    "\"1.2.3-rc.1+b5\"",
    "\"~1.2\"",
    "\">= 1.2, < 2.0\"",
    "\"1.2.x || ^3\"",
    "\"v2\"",
];

const INT_LITERALS: &[&str] = &[
    "1", "2", "3", "1", "2", "3", "0", "-1", "10", "0x10", "'a'", "1_000", "-0", "7",
];
/// Fixed times: dates, times with offsets, a layout that does not match (Go's zero
/// time).
const TIME_EXPRS: &[&str] = &[
    "(toDate \"2006-01-02\" \"2024-03-05\")",
    "(toDate \"2006-01-02T15:04:05Z07:00\" \"2021-12-31T23:59:59+02:00\")",
    "(toDate \"2006-01-02 15:04\" \"2020-02-29 12:30\")",
    "(toDate \"02 Jan 06 15:04 -0700\" \"07 Jul 99 01:02 -0930\")",
    "(toDate \"2006-01-02\" \"bad\")",
    "(toDate \"2006-01-02T15:04:05Z07:00\" \"2021-06-30T23:59:59+00:00\")",
    "(toDate \"2006-01-02 -0700 MST\" \"2024-01-02 +0100 CET\")",
    "(toDate \"2006-01-02 15:04 MST\" \"2024-10-27 01:30 BST\")",
    "((fromToml \"d = 1979-05-27T00:32:00.5-07:00\").d)",
    "((fromToml \"d = 1979-05-27T07:32:00\").d)",
    "(toDate \"15:04\" \"10:30\")",
    "(toDate \"2006-002\" \"2024-060\")",
];
/// Zone names for `dateInZone`: IANA zones with and without summer time, a numeric
/// abbreviation (`Etc/GMT+3` is `-03`), UTC and the local zone, names Go cannot load,
/// and names that are only files in the machine's zone folder (`posix/...`, `right/...`,
/// `posixrules`), which Go's `time.LoadLocation` reads from there.
const ZONE_LITERALS: &[&str] = &[
    "\"posix/Europe/Paris\"",
    "\"right/America/New_York\"",
    "\"posixrules\"",
    "\"Europe//Paris\"",
    "\"zone.tab\"",
    "\"../zoneinfo/UTC\"",
    "\"UTC\"",
    "\"Local\"",
    "\"\"",
    "\"Europe/Paris\"",
    "\"America/New_York\"",
    "\"Asia/Kolkata\"",
    "\"Australia/Lord_Howe\"",
    "\"Etc/GMT+3\"",
    "\"US/Pacific\"",
    "\"Nope/Zone\"",
    "\"utc\"",
];
/// `fromToml` of valid documents only: BurntSushi/toml's error texts (which `fromToml`
/// puts in its output) are not the `toml` crate's (a known difference).
const TOML_EXPRS: &[&str] = &[
    "(fromToml \"a = 1\\nb = [1, 2]\\nc = 'x'\")",
    "(fromToml \"[t]\\nx = \\\"y\\\"\\nd = 1979-05-27T07:32:00Z\\n[t.u]\\nn = -0.5\")",
    "(fromToml \"[[p]]\\nname = \\\"a\\\"\\n[[p]]\\nname = \\\"b\\\"\\nbig = 9223372036854775807\")",
    "(fromToml \"\")",
];
/// `int64` values: Sprig's integer math and conversion (literals are Go's `int`).
const I64_EXPRS: &[&str] = &[
    "(add 1 1)",
    "(int64 3)",
    "(sub 1 2)",
    "(max 0 5)",
    "(add1 -1)",
];
/// `uint64` values: a semantic version's parts.
const SEMVER_PARTS: &[&str] = &[
    "(semver \"1.22.3\").Minor",
    "(semver \"v2.0.1-rc.1\").Major",
    "(semver \"0.0.7\").Patch",
    "(semver \"1.0.0\").Minor",
];
const NUM_LITERALS: &[&str] = &["1.5", "-2.25", "1e3", ".5", "0.1", "3.0", "1e-3", "2.0"];
const STRING_KEYS: &[&str] = &["\"a\"", "\"name\"", "\"x\"", "\"image\"", "\"k\""];

/// Generates the two template files for values whose paths are `paths`.
pub fn generate(
    rng: &mut StdRng,
    paths: &[ValuePath],
    shapes: TemplateShapes,
) -> GeneratedTemplates {
    let mut generator = Generator {
        rng,
        shapes,
        paths,
        scopes: vec![Vec::new()],
        defines: Vec::new(),
        budget: 0,
        depth: 0,
        in_range: false,
        dot_is_root: true,
        next_var: 0,
    };
    let mut helpers = String::new();
    let define_count = generator.rng.gen_range(0..3);
    for i in 0..define_count {
        let name = format!("t{i}");
        let body = generator.define_body();
        helpers.push_str(&format!(
            "{{{{- define \"{name}\" }}}}{body}{{{{- end }}}}\n"
        ));
        generator.defines.push(name);
    }
    generator.budget = generator.rng.gen_range(3..22);
    let mut main = generator.statements();
    if shapes.errors && generator.rng.gen_bool(0.06) {
        main = generator.break_on_purpose(main);
    }
    GeneratedTemplates { main, helpers }
}

/// A variable in scope and the kind of value it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Var {
    name: String,
    kind: Kind,
}

struct Generator<'a> {
    rng: &'a mut StdRng,
    shapes: TemplateShapes,
    paths: &'a [ValuePath],
    /// Variables in scope, innermost scope last.
    scopes: Vec<Vec<Var>>,
    /// Templates defined so far (callable).
    defines: Vec<String>,
    /// Statements still to generate.
    budget: usize,
    depth: usize,
    in_range: bool,
    /// Whether `.` is (or may be) the top-level object: then it is not printed whole
    /// (Helm prints `.Capabilities` as a pointer address) and `.Values` reads values.
    dot_is_root: bool,
    next_var: usize,
}

const CONCRETE: [Kind; 7] = [Str, Int, I64, Num, Bool, List, Map];

impl Generator<'_> {
    fn define_body(&mut self) -> String {
        // Templates are called with the top-level object (mostly): `$` and `.` are it.
        let saved = (
            std::mem::take(&mut self.scopes),
            self.in_range,
            self.dot_is_root,
        );
        self.scopes = vec![Vec::new()];
        self.in_range = false;
        self.dot_is_root = true;
        self.budget = self.rng.gen_range(1..6);
        let body = self.statements();
        (self.scopes, self.in_range, self.dot_is_root) = saved;
        body
    }

    fn open(&mut self) -> &'static str {
        if self.rng.gen_bool(0.3) {
            "{{- "
        } else {
            "{{ "
        }
    }

    fn close(&mut self) -> &'static str {
        if self.rng.gen_bool(0.3) {
            " -}}"
        } else {
            " }}"
        }
    }

    fn action(&mut self, inner: &str) -> String {
        let open = self.open();
        let close = self.close();
        format!("{open}{inner}{close}")
    }

    /// A sequence of statements until the budget runs out (or the block ends early).
    fn statements(&mut self) -> String {
        let mut out = String::new();
        while self.budget > 0 {
            self.budget -= 1;
            out.push_str(&self.statement());
            if self.depth > 0 && self.rng.gen_bool(0.3) {
                break;
            }
        }
        out
    }

    fn statement(&mut self) -> String {
        let nest = self.depth < 3;
        match self.rng.gen_range(0..100) {
            0..=19 => self.text(),
            20..=44 => {
                let (pipe, _) = self.pipeline(Any);
                self.action(&pipe)
            }
            45..=54 => self.declare(),
            55..=60 if self.has_vars() => self.assign(),
            61..=68 if nest => self.if_stmt(),
            69..=73 if nest => self.with_stmt(),
            74..=80 if nest => self.range_stmt(),
            81..=83 if !self.defines.is_empty() => {
                let name = self.defines.choose(self.rng).cloned().unwrap_or_default();
                let arg = self.template_arg();
                self.action(&format!("template \"{name}\" {arg}"))
            }
            84 if nest => self.block_stmt(),
            85..=86 => {
                let text = ["/* c */", "/* multi\nline */", "/**/"]
                    .choose(self.rng)
                    .copied()
                    .unwrap_or("/**/");
                let (open, close) = if self.rng.gen_bool(0.5) {
                    ("{{- ", " -}}")
                } else {
                    ("{{", "}}")
                };
                format!("{open}{text}{close}")
            }
            89..=90 => {
                let inner = self.cut_string_use();
                self.action(&inner)
            }
            87..=88 if self.in_range => {
                let word = if self.rng.gen_bool(0.5) {
                    "break"
                } else {
                    "continue"
                };
                self.action(word)
            }
            _ => self.text(),
        }
    }

    /// A string cut inside a character (Go's strings are bytes), given to what reads
    /// its bytes: `len`, JSON, base64, checksums, quoting, `printf` verbs, widths and
    /// precisions, and the joins that make the character again (output, `print`,
    /// `printf`, `join`, `cat`, `include`d text).
    fn cut_string_use(&mut self) -> String {
        let cut = self.cut_string();
        let other = self.cut_string();
        let uses = [
            format!("{cut} | len"),
            format!("{cut} | toJson"),
            format!("list {cut} {other} | toPrettyJson"),
            format!("{cut} | b64enc"),
            format!("{cut} | b32enc"),
            format!("{cut} | sha256sum"),
            format!("{cut} | sha1sum"),
            format!("{cut} | adler32sum"),
            format!("{cut} | quote"),
            format!("{cut} | squote | len"),
            format!(
                "printf \"%q|%+q|%x|% X|%#v|%5s|%-4s|%.1s|%3.2q\" {cut} {cut} {cut} {cut} {cut} {cut} {cut} {cut} {cut}"
            ),
            format!("printf \"%s%s\" {cut} {other}"),
            format!("print {cut} {other} | len"),
            format!("list {cut} {other} | join \"\""),
            format!("cat {cut} {other} | len"),
            cut.clone(),
            format!("index {cut} 0"),
            format!("eq {cut} {other}"),
            format!("urlquery {cut}"),
            format!("toString {cut} | len"),
            format!("trunc 1 {cut} | len"),
            // Text functions Go runs on the bytes (session 11).
            format!("trim (print \" \" {cut} \" \") | b64enc"),
            format!("trimAll \" x\" {cut} | b64enc"),
            format!("trimPrefix {other} {cut} | b64enc"),
            format!("trimSuffix {other} {cut} | len"),
            format!("replace \"\" \"|\" {cut} | b64enc"),
            format!("replace {other} \"E\" {cut} | b64enc"),
            format!("nindent 2 (cat {cut} \"\\n\" {other}) | b64enc"),
            format!("repeat 2 {cut} | len"),
            format!("contains {other} {cut}"),
            format!("hasPrefix {other} {cut}"),
            format!("wrapWith 1 \"|\" (cat {cut} {other}) | b64enc"),
        ];
        uses.choose(self.rng).cloned().unwrap_or_default()
    }

    /// `substr`, `trunc`, `abbrev` or `b64dec` that may cut inside a character.
    fn cut_string(&mut self) -> String {
        let texts = [
            "\"€\"",
            "\"é\"",
            "\"😀x\"",
            "\"aé€😀\"",
            "\"ééééééé\"",
            "\"x\"",
        ];
        let text = texts.choose(self.rng).copied().unwrap_or("\"é\"");
        let (a, b) = (self.rng.gen_range(0..4), self.rng.gen_range(0..6));
        match self.rng.gen_range(0..5) {
            0 => format!("(substr {a} {b} {text})"),
            1 => format!("(trunc {} {text})", b as i64 - 3),
            2 => format!("(abbrev {} {text})", b + 3),
            3 => format!(
                "(b64dec \"{}\")",
                ["gA==", "4oI=", "4oKs", "woA=", "/w=="][a]
            ),
            _ => format!("(slice {text} {a})"),
        }
    }

    fn text(&mut self) -> String {
        let pieces = [
            "\n", "a: ", "x", " ", "- ", "\n  ", "key: v\n", "\t", "  ", "#", "---\n", "é",
        ];
        let count = self.rng.gen_range(1..4);
        (0..count)
            .map(|_| *pieces.choose(self.rng).unwrap_or(&"x"))
            .collect()
    }

    fn has_vars(&self) -> bool {
        self.scopes.iter().any(|s| !s.is_empty())
    }

    /// Visible variables, inner declarations hiding outer ones of the same name.
    fn visible_vars(&self) -> Vec<Var> {
        let mut out: Vec<Var> = Vec::new();
        for var in self.scopes.iter().rev().flatten() {
            if !out.iter().any(|v| v.name == var.name) {
                out.push(var.clone());
            }
        }
        out
    }

    fn fresh_var(&mut self) -> String {
        self.next_var += 1;
        format!("$v{}", self.next_var)
    }

    /// A name to declare: fresh, or one already declared (shadowing an outer one, or
    /// redeclaring in the same scope when that shape is on).
    fn declared_name(&mut self) -> String {
        let current: Vec<String> = self
            .scopes
            .last()
            .map(|s| s.iter().map(|v| v.name.clone()).collect())
            .unwrap_or_default();
        if !self.shapes.redeclare {
            return self.fresh_var();
        }
        if !current.is_empty() && self.rng.gen_bool(0.25) {
            return current.choose(self.rng).cloned().unwrap_or_default();
        }
        let outer: Vec<String> = self
            .visible_vars()
            .into_iter()
            .map(|v| v.name)
            .filter(|name| !current.contains(name))
            .collect();
        if !outer.is_empty() && self.rng.gen_bool(0.2) {
            return outer.choose(self.rng).cloned().unwrap_or_default();
        }
        self.fresh_var()
    }

    fn declare_var(&mut self, name: &str, kind: Kind) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.retain(|v| v.name != name);
            scope.push(Var {
                name: name.to_string(),
                kind,
            });
        }
    }

    fn declare(&mut self) -> String {
        let (pipe, kind) = self.pipeline(Any);
        let name = self.declared_name();
        self.declare_var(&name, kind);
        self.action(&format!("{name} := {pipe}"))
    }

    fn assign(&mut self) -> String {
        let vars = self.visible_vars();
        let Some(var) = vars.choose(self.rng).cloned() else {
            return self.text();
        };
        // Mostly a value of the same kind (templates that keep working); any now and
        // then: the variable's kind is then unknown.
        let (pipe, kind) = if self.rng.gen_bool(0.8) {
            self.pipeline(var.kind)
        } else {
            self.pipeline(Any)
        };
        if kind != var.kind {
            for scope in &mut self.scopes {
                for v in scope.iter_mut().filter(|v| v.name == var.name) {
                    v.kind = Any;
                }
            }
        }
        self.action(&format!("{} = {pipe}", var.name))
    }

    /// A nested block: its own scope, one level deeper.
    fn block(&mut self) -> String {
        self.depth += 1;
        self.scopes.push(Vec::new());
        if self.budget == 0 && self.rng.gen_bool(0.5) {
            self.budget = 1;
        }
        let body = self.statements();
        let scope = self.scopes.pop().unwrap_or_default();
        if self.shapes.vars_across_else {
            // Go's parser keeps a branch's variables until the control's `end`.
            for var in scope {
                self.declare_var(&var.name, var.kind);
            }
        }
        self.depth -= 1;
        body
    }

    /// `if`/`with` pipelines, sometimes declaring a variable.
    fn control_pipeline(&mut self) -> String {
        let (pipe, kind) = self.pipeline(Any);
        if self.rng.gen_bool(0.2) {
            let name = self.fresh_var();
            self.declare_var(&name, kind);
            format!("{name} := {pipe}")
        } else {
            pipe
        }
    }

    fn if_stmt(&mut self) -> String {
        self.scopes.push(Vec::new());
        let cond = self.control_pipeline();
        let mut out = self.action(&format!("if {cond}"));
        out.push_str(&self.block());
        while self.rng.gen_bool(0.3) {
            let cond = self.control_pipeline();
            out.push_str(&self.action(&format!("else if {cond}")));
            out.push_str(&self.block());
        }
        if self.rng.gen_bool(0.5) {
            out.push_str(&self.action("else"));
            out.push_str(&self.block());
        }
        out.push_str(&self.action("end"));
        self.scopes.pop();
        out
    }

    fn with_stmt(&mut self) -> String {
        self.scopes.push(Vec::new());
        let cond = self.control_pipeline();
        let saved_dot = self.dot_is_root;
        let mut out = self.action(&format!("with {cond}"));
        self.dot_is_root = false;
        out.push_str(&self.block());
        if self.rng.gen_bool(0.2) {
            self.dot_is_root = saved_dot;
            let cond = self.control_pipeline();
            out.push_str(&self.action(&format!("else with {cond}")));
            self.dot_is_root = false;
            out.push_str(&self.block());
        }
        self.dot_is_root = saved_dot;
        if self.rng.gen_bool(0.4) {
            out.push_str(&self.action("else"));
            out.push_str(&self.block());
        }
        out.push_str(&self.action("end"));
        self.scopes.pop();
        out
    }

    fn range_stmt(&mut self) -> String {
        self.scopes.push(Vec::new());
        let (over, key_kind) = match self.rng.gen_range(0..6) {
            0 => (
                INT_LITERALS[..6]
                    .choose(self.rng)
                    .copied()
                    .unwrap_or("2")
                    .to_string(),
                Int,
            ),
            1 => (self.expr(Map, 1), Str),
            2 if self.rng.gen_bool(0.3) => {
                let values = if self.dot_is_root {
                    ".Values"
                } else {
                    "$.Values"
                };
                (values.to_string(), Str)
            }
            _ => (self.expr(List, 1), Int),
        };
        let head = match self.rng.gen_range(0..3) {
            0 => format!("range {over}"),
            1 => {
                let value = self.fresh_var();
                // Over an int, the one variable is the index.
                let kind = if key_kind == Int && !over.starts_with(['(', '.', '$']) {
                    Int
                } else {
                    Any
                };
                self.declare_var(&value, kind);
                format!("range {value} := {over}")
            }
            _ => {
                let key = self.fresh_var();
                let value = self.fresh_var();
                self.declare_var(&key, key_kind);
                self.declare_var(&value, Any);
                format!("range {key}, {value} := {over}")
            }
        };
        let mut out = self.action(&head);
        let saved = (self.in_range, self.dot_is_root);
        self.in_range = true;
        self.dot_is_root = false;
        out.push_str(&self.block());
        self.in_range = saved.0;
        self.dot_is_root = saved.1;
        if self.rng.gen_bool(0.3) {
            out.push_str(&self.action("else"));
            out.push_str(&self.block());
        }
        out.push_str(&self.action("end"));
        self.scopes.pop();
        out
    }

    fn block_stmt(&mut self) -> String {
        // A block defines a template and runs it at once: its body has only `$`.
        let name = format!("b{}", self.next_var);
        self.next_var += 1;
        let arg = self.template_arg();
        let saved = (
            std::mem::take(&mut self.scopes),
            self.in_range,
            self.dot_is_root,
        );
        self.scopes = vec![Vec::new()];
        self.in_range = false;
        self.dot_is_root = true;
        let mut out = self.action(&format!("block \"{name}\" {arg}"));
        out.push_str(&self.block());
        out.push_str(&self.action("end"));
        (self.scopes, self.in_range, self.dot_is_root) = saved;
        out
    }

    /// The argument of `template`, `include` and `block`: the top-level object,
    /// mostly.
    fn template_arg(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0..=5 if self.dot_is_root => ".".into(),
            0..=7 => "$".into(),
            8 => format!("({})", self.dict(1)),
            _ => self.arg(Any, 1),
        }
    }

    /// A pipeline: a command, then up to two `| f args` stages, each taking the value
    /// before it as its last argument. Returns the text and the kind of the result.
    fn pipeline(&mut self, want: Kind) -> (String, Kind) {
        let stages = if self.rng.gen_bool(0.35) {
            self.rng.gen_range(1..3)
        } else {
            0
        };
        let first_kind = if want == Any || stages > 0 {
            self.concrete()
        } else {
            want
        };
        let mut out = self.expr(first_kind, 0);
        let mut kind = first_kind;
        for _ in 0..stages {
            let fitting: Vec<&Func> = FUNCS
                .iter()
                .filter(|func| {
                    func.rest.is_none() && func.args.last().is_some_and(|k| *k == kind || *k == Any)
                })
                .collect();
            let Some(func) = fitting.choose(self.rng).copied() else {
                break;
            };
            let fixed = func.args.len() - 1;
            let args: Vec<String> = func.args[..fixed].iter().map(|k| self.arg(*k, 1)).collect();
            out.push_str(" | ");
            out.push_str(func.name);
            for arg in args {
                out.push(' ');
                out.push_str(&arg);
            }
            kind = func.ret;
        }
        (out, kind)
    }

    fn concrete(&mut self) -> Kind {
        *CONCRETE.choose(self.rng).unwrap_or(&Str)
    }

    /// An argument: an operand, or a call in parentheses.
    fn arg(&mut self, want: Kind, depth: usize) -> String {
        if self.shapes.nil_args && self.rng.gen_bool(0.03) {
            return "nil".into();
        }
        // An `int64` where Go wants an `int` now and then: both must refuse it.
        let want = if want == Int && self.shapes.errors && self.rng.gen_bool(0.03) {
            I64
        } else {
            want
        };
        let text = self.expr(want, depth + 1);
        if text.contains(' ') && !text.starts_with('(') && !is_string_literal(&text) {
            format!("({text})")
        } else {
            text
        }
    }

    /// An expression of `want` kind (`Any`: of a kind chosen at random, or unknown): a
    /// literal, a variable, a values path, a built-in object, or a function call (not
    /// parenthesised: the caller does that).
    fn expr(&mut self, want: Kind, depth: usize) -> String {
        if want == Any && self.rng.gen_bool(0.7) {
            let kind = self.concrete();
            return self.expr(kind, depth);
        }
        let call_weight = if depth < 3 { 35 } else { 0 };
        if self.rng.gen_range(0..100) < call_weight {
            return self.call(want, depth);
        }
        match self.rng.gen_range(0..10) {
            0..=2 => self.literal(want, depth),
            3 | 4 => {
                let vars: Vec<Var> = self
                    .visible_vars()
                    .into_iter()
                    .filter(|v| want == Any || v.kind == want)
                    .collect();
                match vars.choose(self.rng) {
                    Some(var) if var.kind == Map && self.rng.gen_bool(0.2) => {
                        format!("{}.name", var.name)
                    }
                    Some(var) => var.name.clone(),
                    None => self.literal(want, depth),
                }
            }
            5..=7 => self.values_path(want),
            8 if want == Any && self.rng.gen_bool(0.2) => self.builtin_struct(),
            8 if want == Any || want == Str => self.builtin_object(),
            // At the top, `.` is printed as Helm prints `.Capabilities` (a pointer's
            // address): only its type is asked for.
            _ if want == Any && !self.dot_is_root => ".".into(),
            _ if matches!(want, Any | Str) && self.rng.gen_bool(0.3) => {
                let dot = if self.dot_is_root { "." } else { "$" };
                let f = ["typeOf", "kindOf"]
                    .choose(self.rng)
                    .copied()
                    .unwrap_or("typeOf");
                format!("{f} {dot}")
            }
            _ => self.literal(want, depth),
        }
    }

    fn literal(&mut self, want: Kind, depth: usize) -> String {
        let pick =
            |rng: &mut StdRng, list: &[&str]| list.choose(rng).copied().unwrap_or("1").to_string();
        match want {
            Str => pick(self.rng, STRING_LITERALS),
            I64 if self.rng.gen_bool(0.5) => pick(self.rng, I64_EXPRS),
            Time => pick(self.rng, TIME_EXPRS),
            Zone => pick(self.rng, ZONE_LITERALS),
            Int | I64 => pick(self.rng, INT_LITERALS),
            // A semantic version's parts are Go's `uint64`.
            Num if self.rng.gen_bool(0.15) => pick(self.rng, SEMVER_PARTS),
            Num => pick(self.rng, NUM_LITERALS),
            Bool => pick(self.rng, &["true", "false"]),
            // `.Capabilities.APIVersions` is a Go slice type with a method (`VersionSet`).
            List if self.rng.gen_bool(0.05) => {
                let root = if self.dot_is_root { "." } else { "$." };
                format!("{root}Capabilities.APIVersions")
            }
            List if depth < 3 => self.call_named("list", depth),
            Map if self.rng.gen_bool(0.1) => pick(self.rng, TOML_EXPRS),
            Map if depth < 3 => format!("({})", self.dict(depth)),
            List => "(list)".into(),
            Map => "(dict)".into(),
            Any => {
                let kind = self.concrete();
                self.literal(kind, depth)
            }
        }
    }

    fn dict(&mut self, depth: usize) -> String {
        let pairs = self.rng.gen_range(0..3);
        let mut out = String::from("dict");
        for _ in 0..pairs {
            let key = STRING_KEYS.choose(self.rng).copied().unwrap_or("\"a\"");
            let value = self.arg(Any, depth + 1);
            out.push_str(&format!(" {key} {value}"));
        }
        out
    }

    fn values_path(&mut self, want: Kind) -> String {
        let fitting: Vec<&ValuePath> = self
            .paths
            .iter()
            .filter(|p| {
                matches!(
                    (want, p.shape),
                    (Map, PathShape::Map)
                        | (List, PathShape::List)
                        | (Str, PathShape::Scalar(ScalarKind::Str))
                        | (Num, PathShape::Scalar(ScalarKind::Number))
                        | (Bool, PathShape::Scalar(ScalarKind::Word))
                        | (Any, _)
                )
            })
            .collect();
        let base = if self.dot_is_root && self.rng.gen_bool(0.7) {
            ".Values"
        } else {
            "$.Values"
        };
        // `.Values` itself: Helm's named map type `common.Values`.
        if matches!(want, Map | Any) && self.rng.gen_bool(0.1) {
            return base.to_string();
        }
        let chosen = fitting.choose(self.rng).copied();
        let Some(path) = chosen.filter(|_| !self.rng.gen_bool(0.03)) else {
            return if want == Any {
                format!("{base}.missing")
            } else {
                self.literal(want, 2)
            };
        };
        let plain = path.keys.iter().all(|k| {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !k.starts_with(|c: char| c.is_ascii_digit())
        });
        if plain {
            format!("{base}.{}", path.keys.join("."))
        } else {
            let keys: Vec<String> = path.keys.iter().map(|k| go_quote(k)).collect();
            format!("index {base} {}", keys.join(" "))
        }
    }

    /// Helm's built-in named slice and map types (what `toJson`, `toYaml`, `toToml`,
    /// `kindOf` and the list functions make of them), and `.Capabilities.KubeVersion`
    /// (printed by `String` or by its fields: `tests/regressions/kubeversion-printed-*`).
    /// Not `.Capabilities` (printed as a pointer's address inside a list):
    /// `tests/regressions/builtin-structs-serialized`.
    fn builtin_struct(&mut self) -> String {
        let root = if self.dot_is_root { "." } else { "$." };
        let field = [
            "Capabilities.APIVersions",
            "Files",
            "Capabilities.KubeVersion",
        ]
        .choose(self.rng)
        .copied()
        .unwrap_or("Capabilities");
        format!("{root}{field}")
    }

    fn builtin_object(&mut self) -> String {
        let root = if self.dot_is_root { "." } else { "$." };
        let field = [
            "Release.Name",
            "Release.Namespace",
            "Chart.Name",
            "Chart.Version",
            "Template.Name",
            "Template.BasePath",
            "Capabilities.KubeVersion.Version",
            "Capabilities.KubeVersion.Major",
        ]
        .choose(self.rng)
        .copied()
        .unwrap_or("Release.Name");
        format!("{root}{field}")
    }

    fn call(&mut self, want: Kind, depth: usize) -> String {
        match self.rng.gen_range(0..20) {
            0 if !self.defines.is_empty() && matches!(want, Str | Any) => {
                let name = self.defines.choose(self.rng).cloned().unwrap_or_default();
                let arg = self.template_arg();
                format!("include \"{name}\" {arg}")
            }
            1 if matches!(want, Str | Any) => self.tpl_call(),
            2 if matches!(want, Str | Any) => {
                let format = [
                    "\"%v\"",
                    "\"%d\"",
                    "\"%s-%v\"",
                    "\"%q\"",
                    "\"%5.2f\"",
                    "\"%x\"",
                    "\"%T\"",
                    "\"%+v\"",
                    "\"%-5s|%05d\"",
                    "\"%+d %x %X %o %b\"",
                    "\"%8.3f|%-8.2e|%g\"",
                    "\"%10v|%-10q|\"",
                    "\"%#x %#o %#v\"",
                    "\"% d %c %U\"",
                    "\"%*d|%-*s\"",
                    "\"%[2]v %[1]v\"",
                    "\"%.2s %.0f %6.2f%%\"",
                    "\"%t %s %d\"",
                    "\"%!\"",
                ]
                .choose(self.rng)
                .copied()
                .unwrap_or("\"%v\"");
                let count = self.rng.gen_range(0..3);
                let args: Vec<String> = (0..count)
                    .map(|_| {
                        let kind = *[Str, Int, I64, Num, Bool, List, Map]
                            .choose(self.rng)
                            .unwrap_or(&Str);
                        self.arg(kind, depth)
                    })
                    .collect();
                format!("printf {format} {}", args.join(" "))
                    .trim_end()
                    .to_string()
            }
            3 if want == Any => {
                // Field access on a parenthesised call.
                let inner = self.call(Map, depth + 1);
                format!("({inner}).name")
            }
            4 if matches!(want, Str | Any) => {
                // A part of `split`'s `map[string]string` (`""` when missing).
                let sep = self.arg(Str, depth + 1);
                let text = self.arg(Str, depth + 1);
                let part = ["_0", "_1", "_2"].choose(self.rng).copied().unwrap_or("_0");
                format!("(split {sep} {text}).{part}")
            }
            5 if want == List => {
                // Sorted keys: a `[]string`.
                let map = self.arg(Map, depth + 1);
                format!("sortAlpha (keys {map})")
            }
            _ => {
                let candidates: Vec<&Func> = FUNCS
                    .iter()
                    .filter(|func| want == Any || func.ret == want)
                    .collect();
                match candidates.choose(self.rng) {
                    Some(func) => self.call_func(func, depth),
                    None => self.literal(want, depth),
                }
            }
        }
    }

    fn call_named(&mut self, name: &str, depth: usize) -> String {
        match FUNCS.iter().find(|func| func.name == name) {
            Some(func) => format!("({})", self.call_func(func, depth)),
            None => name.to_string(),
        }
    }

    fn call_func(&mut self, func: &Func, depth: usize) -> String {
        let mut out = func.name.to_string();
        let mut args: Vec<Kind> = func.args.to_vec();
        if let Some((kind, max)) = func.rest {
            let count = self.rng.gen_range(0..=max);
            args.extend(std::iter::repeat_n(kind, count));
        }
        // Arguments of the wrong number now and then: an error both must give.
        if self.shapes.errors && self.rng.gen_bool(0.02) {
            args.pop();
        }
        // Go strings are bytes: a cut inside a character keeps half of it, which
        // `fromYaml` then refuses; deploykit-chart's strings are UTF-8 and hold U+FFFD
        // there instead (a known difference), so the cutting functions get ASCII text.
        let cuts_bytes = matches!(func.name, "substr" | "trunc" | "abbrev");
        for kind in args {
            out.push(' ');
            let mut arg = self.arg(kind, depth + 1);
            if cuts_bytes && !arg.is_ascii() {
                arg = "\"web\"".to_string();
            }
            out.push_str(&arg);
        }
        out
    }

    fn tpl_call(&mut self) -> String {
        // The text is a template of its own: `.` is what is passed (the top-level
        // object here), its variables are its own.
        let saved = (
            std::mem::take(&mut self.scopes),
            self.in_range,
            self.dot_is_root,
            self.budget,
            self.depth,
        );
        self.scopes = vec![Vec::new()];
        self.in_range = false;
        self.dot_is_root = true;
        self.depth = 2;
        self.budget = self.rng.gen_range(1..4);
        let mut inner = self.statements();
        if self.rng.gen_bool(0.2) {
            // A define inside the tpl text, used there: Helm parses it into a copy of
            // the template set.
            let name = format!("tpl{}", self.next_var);
            self.next_var += 1;
            inner = format!(
                "{{{{- define \"{name}\" }}}}{inner}{{{{ end }}}}{{{{ include \"{name}\" . }}}}"
            );
        }
        (
            self.scopes,
            self.in_range,
            self.dot_is_root,
            self.budget,
            self.depth,
        ) = saved;
        let quoted = if !inner.contains('`') && self.rng.gen_bool(0.5) {
            format!("`{inner}`")
        } else {
            go_quote(&inner)
        };
        let ctx = if self.dot_is_root && self.rng.gen_bool(0.5) {
            "."
        } else {
            "$"
        };
        format!("tpl {quoted} {ctx}")
    }

    /// Breaks a valid template in one of the ways users do.
    fn break_on_purpose(&mut self, text: String) -> String {
        match self.rng.gen_range(0..8) {
            0 => format!("{text}{{{{ end }}}}"),
            1 => format!("{text}{{{{ if true }}}}x"),
            2 => format!("{text}{{{{ $undefined }}}}"),
            3 => format!("{text}{{{{ fail \"boom\" }}}}"),
            4 => format!("{text}{{{{ required \"need x\" .Values.nope }}}}"),
            5 => format!("{text}{{{{ index (list 1) 5 }}}}"),
            6 => format!("{text}{{{{ template \"nope\" . }}}}"),
            _ => match text.rfind("}}") {
                Some(at) => format!("{}{}", &text[..at], &text[at + 2..]),
                None => format!("{text}{{{{"),
            },
        }
    }
}

/// Whether `text` is one string literal (which may hold spaces).
fn is_string_literal(text: &str) -> bool {
    (text.starts_with('"') && text.ends_with('"') || text.starts_with('`') && text.ends_with('`'))
        && text.len() >= 2
        && !text[1..text.len() - 1].contains(['"', '`'])
}

/// `text` as a Go interpreted string literal.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
