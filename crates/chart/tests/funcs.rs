//! Template functions against Helm's own answers.
//!
//! `fixtures/funcs/cases.txt` holds one template action per line; `expected.json` holds
//! what Helm's engine rendered for each (or the error it gave), recorded by
//! `fixtures/funcs/regenerate.py`. Each case here is evaluated by a small evaluator for
//! the action forms the cases use (function calls, literals, `.Values` paths, pipes,
//! parentheses), calling the functions through [`funcs::lookup`] exactly as the engine
//! does, and printed as Go prints a pipeline's value.

use std::path::PathBuf;

use deploykit_chart::funcs::{self, FuncError, gofmt};
use deploykit_chart::value::Value;
use deploykit_chart::yaml;
use rstest::rstest;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/funcs")
}

/// What a case produced: its text, or the error in the form the engine reports it.
#[derive(Debug, PartialEq)]
enum Outcome {
    Text(String),
    Error(FuncError),
}

struct Evaluator<'a> {
    tokens: Vec<Token>,
    pos: usize,
    values: &'a Value,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Field(Vec<String>),
    Str(String),
    Int(i64),
    Float(f64),
    Open,
    Close,
    Pipe,
    /// `.Name` right after `)`: a field or method of the parenthesized value.
    Method(String),
}

fn unescape_go(body: &str) -> String {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn tokenize(action: &str) -> Vec<Token> {
    let chars: Vec<char> = action.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '|' => {
                tokens.push(Token::Pipe);
                i += 1;
            }
            '"' => {
                let mut j = i + 1;
                while chars[j] != '"' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                let body: String = chars[i + 1..j].iter().collect();
                tokens.push(Token::Str(unescape_go(&body)));
                i = j + 1;
            }
            '.' => {
                let mut j = i;
                while j < chars.len() && !matches!(chars[j], ' ' | ')' | '|') {
                    j += 1;
                }
                let path: String = chars[i + 1..j].iter().collect();
                if i > 0 && chars[i - 1] == ')' {
                    tokens.push(Token::Method(path));
                } else {
                    tokens.push(Token::Field(path.split('.').map(String::from).collect()));
                }
                i = j;
            }
            _ => {
                let mut j = i;
                while j < chars.len() && !matches!(chars[j], ' ' | ')' | '(' | '|') {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                let token = if c.is_ascii_digit() || c == '-' {
                    if let Some(hex) = word.strip_prefix("0x") {
                        Token::Int(i64::from_str_radix(hex, 16).unwrap())
                    } else if let Ok(n) = word.parse::<i64>() {
                        Token::Int(n)
                    } else {
                        Token::Float(word.parse().unwrap())
                    }
                } else {
                    Token::Ident(word)
                };
                tokens.push(token);
                i = j;
            }
        }
    }
    tokens
}

impl Evaluator<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn pipeline(&mut self) -> Result<Value, FuncError> {
        let mut value: Option<Value> = None;
        loop {
            value = Some(self.command(value)?);
            if self.peek() == Some(&Token::Pipe) {
                self.pos += 1;
            } else {
                return Ok(value.unwrap_or_default());
            }
        }
    }

    fn command(&mut self, piped: Option<Value>) -> Result<Value, FuncError> {
        if let Some(Token::Ident(name)) = self.peek().cloned()
            && !matches!(name.as_str(), "true" | "false" | "nil")
        {
            self.pos += 1;
            let mut args = Vec::new();
            while !matches!(self.peek(), None | Some(Token::Close) | Some(Token::Pipe)) {
                args.push(self.operand()?);
            }
            args.extend(piped);
            return call(&name, &args);
        }
        self.operand()
    }

    fn operand(&mut self) -> Result<Value, FuncError> {
        let token = self.tokens[self.pos].clone();
        self.pos += 1;
        Ok(match token {
            Token::Str(s) => Value::string(s),
            Token::Int(i) => Value::Int(i),
            Token::Float(f) => Value::Float(f),
            Token::Ident(name) => match name.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "nil" => Value::Nil,
                _ => call(&name, &[])?,
            },
            Token::Field(path) => walk(self.values, &path[1..]),
            Token::Open => {
                let value = self.pipeline()?;
                assert_eq!(self.tokens[self.pos], Token::Close);
                self.pos += 1;
                if let Some(Token::Method(name)) = self.peek().cloned() {
                    self.pos += 1;
                    return Ok(method(&value, &name));
                }
                value
            }
            other => panic!("unexpected token {other:?}"),
        })
    }
}

fn call(name: &str, args: &[Value]) -> Result<Value, FuncError> {
    let f = funcs::lookup(name).unwrap_or_else(|| panic!("no function {name}"));
    f(args)
}

fn walk(value: &Value, path: &[String]) -> Value {
    let mut current = value.clone();
    for key in path {
        current = match &current {
            Value::Map(m) => m.get(key).unwrap_or_default(),
            _ => Value::Nil,
        };
    }
    current
}

fn method(value: &Value, name: &str) -> Value {
    match value {
        Value::Object(o) => o
            .field(name)
            .or_else(|| o.call_method(name, &[]).map(|r| r.unwrap()))
            .unwrap_or_default(),
        _ => panic!("no method {name} on {value:?}"),
    }
}

/// The fixture's values as a chart sees them (Helm's coalescing drops null keys).
fn values() -> Value {
    let text = std::fs::read_to_string(fixtures().join("values.yaml")).unwrap();
    let values = yaml::parse::parse(&text).unwrap();
    values
        .as_map()
        .unwrap()
        .write()
        .retain(|_, v| !matches!(v, Value::Nil));
    values
}

/// Splits a case into text and `{{ ... }}` actions (quotes respected).
fn segments(case: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = case;
    while let Some(start) = rest.find("{{") {
        out.push((false, &rest[..start]));
        let body = &rest[start + 2..];
        let mut in_string = false;
        let mut escaped = false;
        let mut end = body.len();
        for (i, c) in body.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            } else if body[i..].starts_with("}}") {
                end = i;
                break;
            }
        }
        out.push((true, &body[..end]));
        rest = body.get(end + 2..).unwrap_or_default();
    }
    out.push((false, rest));
    out
}

/// Evaluates a case (text and `{{ ... }}` actions) and prints it as Helm's engine does
/// (`<no value>` for nil, removed by Helm from the output).
fn evaluate(case: &str, values: &Value) -> Outcome {
    let mut text = String::new();
    for (is_action, part) in segments(case) {
        if !is_action {
            text.push_str(part);
            continue;
        }
        let mut evaluator = Evaluator {
            tokens: tokenize(part.trim()),
            pos: 0,
            values,
        };
        match evaluator.pipeline() {
            Ok(Value::Nil) => {}
            Ok(value) => text.push_str(&gofmt::format_v(&value)),
            Err(e) => return Outcome::Error(e),
        }
    }
    Outcome::Text(text)
}

/// Helm's error text reduced to what the function itself reports.
fn expected_error(message: &str) -> Option<FuncError> {
    if let Some((_, msg)) = message.split_once("): ")
        && message.starts_with("execution error at (")
    {
        return Some(FuncError::Call(msg.to_string()));
    }
    if let Some(i) = message.find("error calling ") {
        let rest = &message[i + "error calling ".len()..];
        let (_, msg) = rest.split_once(": ").unwrap();
        return Some(FuncError::Call(msg.to_string()));
    }
    let last = message.lines().last().unwrap().trim();
    // Errors about literal arguments come from the engine's parser, not a function.
    if last.contains("; found ") {
        return None;
    }
    Some(FuncError::Args(last.to_string()))
}

/// Outputs that differ between two runs, compared by shape instead.
fn nondeterministic(case: &str) -> Option<regex::Regex> {
    let pattern = if case.contains("htpasswd") {
        r"^invalid username: a:b$"
    } else {
        return None;
    };
    Some(regex::Regex::new(pattern).unwrap())
}

#[test]
fn functions_match_helm() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let values = values();
    let mut failures = Vec::new();
    let cases = expected.as_array().unwrap();
    for case in cases {
        let template = case["template"].as_str().unwrap();
        let got = evaluate(template, &values);
        if let Some(shape) = nondeterministic(template) {
            if !matches!(&got, Outcome::Text(t) if shape.is_match(t)) {
                failures.push(format!("{template}\n  got  {got:?}\n  want shape {shape}"));
            }
            continue;
        }
        let want = match (case.get("output"), case.get("error")) {
            (Some(output), _) => Outcome::Text(output.as_str().unwrap().to_string()),
            (_, Some(error)) => match expected_error(error.as_str().unwrap()) {
                Some(e) => Outcome::Error(e),
                None => continue,
            },
            _ => unreachable!(),
        };
        if got != want {
            failures.push(format!("{template}\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Helm:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[rstest]
#[case("randAlphaNum", 16, "^[A-Za-z0-9]{16}$")]
#[case("randAlpha", 8, "^[A-Za-z]{8}$")]
#[case("randNumeric", 5, "^[0-9]{5}$")]
#[case("randAscii", 12, "^[ -~]{12}$")]
#[case("randBytes", 12, "^[A-Za-z0-9+/]{16}$")]
fn random_strings_have_helms_shape(#[case] name: &str, #[case] n: i64, #[case] shape: &str) {
    let got = call(name, &[Value::Int(n)]).unwrap();
    assert!(
        regex::Regex::new(shape)
            .unwrap()
            .is_match(got.as_str().unwrap()),
        "{got:?}"
    );
}

#[test]
fn uuid_and_bcrypt_have_helms_shape() {
    let uuid = call("uuidv4", &[]).unwrap();
    let re =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    assert!(re.unwrap().is_match(uuid.as_str().unwrap()));
    let line = call("htpasswd", &[Value::string("user"), Value::string("pw")]).unwrap();
    assert!(line.as_str().unwrap().starts_with("user:$2a$10$"));
    assert_eq!(line.as_str().unwrap().len(), "user:".len() + 60);
}

#[test]
fn certificates_are_pem_and_chain_to_their_ca() {
    let ca = call("genCA", &[Value::string("my-ca"), Value::Int(365)]).unwrap();
    let field = |v: &Value, f: &str| match v {
        Value::Object(o) => o.field(f).unwrap().as_str().unwrap().to_string(),
        _ => panic!("not a certificate"),
    };
    assert!(field(&ca, "Cert").starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(field(&ca, "Key").starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    let ips = Value::list(vec![Value::string("10.0.0.1")]);
    let dns = Value::list(vec![Value::string("svc.ns.svc")]);
    let cert = call(
        "genSignedCert",
        &[
            Value::string("svc"),
            ips.clone(),
            dns.clone(),
            Value::Int(30),
            ca,
        ],
    )
    .unwrap();
    assert!(field(&cert, "Cert").ends_with("-----END CERTIFICATE-----\n"));
    let err = call(
        "genSelfSignedCert",
        &[
            Value::string("x"),
            Value::list(vec![Value::string("nope")]),
            dns,
            Value::Int(1),
        ],
    )
    .unwrap_err();
    assert_eq!(err, FuncError::Call("error parsing ip: nope".into()));
}

#[test]
fn set_changes_the_map_every_reference_sees() {
    let d = call("dict", &[]).unwrap();
    call("set", &[d.clone(), Value::string("k"), Value::string("v")]).unwrap();
    assert_eq!(gofmt::format_v(&d), "map[k:v]");
    let src = call("dict", &[Value::string("x"), Value::Int(1)]).unwrap();
    call("merge", &[d.clone(), src]).unwrap();
    assert_eq!(gofmt::format_v(&d), "map[k:v x:1]");
}

#[test]
fn unknown_functions_are_not_found() {
    assert!(funcs::lookup("env").is_none());
    assert!(funcs::lookup("expandenv").is_none());
    assert!(funcs::lookup("include").is_none());
    assert!(funcs::lookup("toYaml").is_some());
}
