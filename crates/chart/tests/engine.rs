//! The template engine against Helm's own engine: every fixture chart under
//! `tests/fixtures/engine/` renders to the `expected.json` Helm produced for it (see the
//! README there to regenerate), or fails with the same message.

mod engine_support;

use std::path::Path;

use engine_support::{Outcome, render};
use rstest::rstest;

#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expected {
    Rendered(std::collections::BTreeMap<String, String>),
    Error(String),
}

#[rstest]
#[case::basics("basics")]
#[case::builtins("builtins")]
#[case::err_args_count("err-args-count")]
#[case::err_chain_nil("err-chain-nil")]
#[case::err_eq_list("err-eq-list")]
#[case::err_eq_types("err-eq-types")]
#[case::err_fail("err-fail")]
#[case::err_field_args("err-field-args")]
#[case::err_field_interface("err-field-interface")]
#[case::err_field_string("err-field-string")]
#[case::err_include_deep("err-include-deep")]
#[case::err_include_func("err-include-func")]
#[case::err_include_missing("err-include-missing")]
#[case::err_include_nested("err-include-nested")]
#[case::err_include_recursion("err-include-recursion")]
#[case::err_include_required_tpl("err-include-required-tpl")]
#[case::err_index_len("err-index-len")]
#[case::err_index_range("err-index-range")]
#[case::err_index_type("err-index-type")]
#[case::err_invalid_value("err-invalid-value")]
#[case::err_len_int("err-len-int")]
#[case::err_len_nil_pipe("err-len-nil-pipe")]
#[case::err_literal_type("err-literal-type")]
#[case::err_lt_types("err-lt-types")]
#[case::err_ne_args("err-ne-args")]
#[case::err_nil_command("err-nil-command")]
#[case::err_nil_literal_string("err-nil-literal-string")]
#[case::err_nil_map_field("err-nil-map-field")]
#[case::err_nil_pointer("err-nil-pointer")]
#[case::err_nil_pointer_null("err-nil-pointer-null")]
#[case::err_non_function("err-non-function")]
#[case::err_parse_break("err-parse-break")]
#[case::err_parse_char("err-parse-char")]
#[case::err_parse_comment("err-parse-comment")]
#[case::err_parse_else("err-parse-else")]
#[case::err_parse_empty("err-parse-empty")]
#[case::err_parse_end("err-parse-end")]
#[case::err_parse_eof("err-parse-eof")]
#[case::err_parse_func("err-parse-func")]
#[case::err_parse_multiple_define("err-parse-multiple-define")]
#[case::err_parse_number("err-parse-number")]
#[case::err_parse_operand("err-parse-operand")]
#[case::err_parse_pipeline("err-parse-pipeline")]
#[case::err_parse_range_decl("err-parse-range-decl")]
#[case::err_parse_unclosed("err-parse-unclosed")]
#[case::err_parse_unclosed_multiline("err-parse-unclosed-multiline")]
#[case::err_parse_undefined_var("err-parse-undefined-var")]
#[case::err_parse_unterminated("err-parse-unterminated")]
#[case::err_printf_type("err-printf-type")]
#[case::err_range_int_two("err-range-int-two")]
#[case::err_range_string("err-range-string")]
#[case::err_required("err-required")]
#[case::err_required_include("err-required-include")]
#[case::err_set_nil_map("err-set-nil-map")]
#[case::err_template_missing("err-template-missing")]
#[case::err_tpl_exec("err-tpl-exec")]
#[case::err_tpl_in_include("err-tpl-in-include")]
#[case::err_tpl_parse("err-tpl-parse")]
#[case::err_var_assign_undeclared("err-var-assign-undeclared")]
#[case::err_var_else_branch("err-var-else-branch")]
#[case::err_wrong_type("err-wrong-type")]
#[case::fmt("fmt")]
#[case::nil_args("nil-args")]
#[case::sprig_mix("sprig-mix")]
#[case::variables("variables")]
fn renders_like_helm(#[case] chart: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/engine")
        .join(chart);
    let expected: Expected =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let expected = match expected {
        Expected::Rendered(map) => Outcome::Rendered(map),
        Expected::Error(message) => Outcome::Error(message),
    };
    assert_eq!(render(&dir), expected);
}
