//! The parse tree (Go's `text/template/parse` nodes), with function names resolved and
//! variables compiled to stack slots. `Display` prints arguments, commands and pipelines
//! as Go's `Node.String()` does, which is what error messages show after `at <...>`.

use std::fmt;
use std::sync::Arc;

use crate::funcs::Function;
use crate::value::Value;

/// A Go builtin template function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Call,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Builtin {
    pub fn lookup(name: &str) -> Option<Builtin> {
        Some(match name {
            "and" => Builtin::And,
            "or" => Builtin::Or,
            "not" => Builtin::Not,
            "len" => Builtin::Len,
            "index" => Builtin::Index,
            "slice" => Builtin::Slice,
            "print" => Builtin::Print,
            "printf" => Builtin::Printf,
            "println" => Builtin::Println,
            "html" => Builtin::Html,
            "js" => Builtin::Js,
            "urlquery" => Builtin::Urlquery,
            "call" => Builtin::Call,
            "eq" => Builtin::Eq,
            "ne" => Builtin::Ne,
            "lt" => Builtin::Lt,
            "le" => Builtin::Le,
            "gt" => Builtin::Gt,
            "ge" => Builtin::Ge,
            _ => return None,
        })
    }
}

/// What an identifier in a command calls.
#[derive(Clone, Copy)]
pub(crate) enum Func {
    Builtin(Builtin),
    Include,
    Tpl,
    Ext(Function),
}

/// A parsed template: a file or a `define`d template.
pub(crate) struct Tree {
    /// The template's name (file path or `define` name).
    pub name: Arc<str>,
    /// The name of the file it was parsed from (Go's `ParseName`).
    pub parse_name: Arc<str>,
    /// The whole text of that file: text nodes point into it.
    pub source: Arc<str>,
    pub root: Vec<Node>,
}

impl Tree {
    /// Go's `Tree.ErrorContext` location: `NAME:LINE:COL` (COL is the 0-based byte
    /// offset in the line, as Go prints it).
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.source.len());
        let text = &self.source[..pos];
        let (line, col) = match text.rfind('\n') {
            Some(nl) => (text.matches('\n').count() + 1, pos - nl - 1),
            None => (1, pos),
        };
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

pub(crate) enum Node {
    /// Literal text: a byte range of the tree's source.
    Text {
        start: usize,
        end: usize,
    },
    Action(Pipe),
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template(Box<TemplateCall>),
    Break,
    Continue,
    Comment,
}

pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

pub(crate) struct TemplateCall {
    pub pos: usize,
    pub name: String,
    pub pipe: Option<Pipe>,
}

pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Var>,
    pub cmds: Vec<Command>,
}

#[derive(Clone)]
pub(crate) struct Var {
    pub pos: usize,
    pub name: Box<str>,
    pub slot: usize,
}

pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A chain of field names (`.a.b.c`), kept as one string (`a.b.c`): names never
/// hold a dot, so splitting gives them back.
#[derive(Clone, Default)]
pub(crate) struct Fields(Box<str>);

impl Fields {
    /// `path` is the chain's text without its leading dot (`a.b.c`).
    pub fn new(path: &str) -> Fields {
        Fields(path.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in order (none when empty), as `split_terminator('.')` gives them;
    /// a plain byte scan, cheaper than a string searcher on such short texts.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let mut rest: &str = &self.0;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (name, after) = match rest.bytes().position(|b| b == b'.') {
                Some(dot) => (&rest[..dot], &rest[dot + 1..]),
                None => (rest, ""),
            };
            rest = after;
            Some(name)
        })
    }
}

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, ".{}", self.0)
    }
}

pub(crate) enum Arg {
    Field {
        pos: usize,
        idents: Fields,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Fields,
    },
    Ident {
        pos: usize,
        name: Box<str>,
        func: Func,
    },
    Variable {
        var: Var,
        fields: Fields,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        text: Box<str>,
        value: Number,
    },
    String {
        pos: usize,
        /// The literal as written, when it is not `"` + value + `"`.
        quoted: Option<Box<str>>,
        value: Value,
    },
    Pipe(Box<Pipe>),
}

/// A number literal, as Go's `idealConstant` turns it into a value.
#[derive(Clone)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
    /// A constant Go can't use as an `int` or `float64` (the error message to give).
    Bad(String),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Ident { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Variable { var, .. } => var.pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => write!(f, "{idents}"),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(_) = **node {
                    write!(f, "({node})")?;
                } else {
                    write!(f, "{node}")?;
                }
                write!(f, "{fields}")
            }
            Arg::Ident { name, .. } => f.write_str(name),
            Arg::Variable { var, fields } => {
                write!(f, "{}{fields}", var.name)
            }
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number { text, .. } => f.write_str(text),
            Arg::String {
                quoted: Some(quoted),
                ..
            } => f.write_str(quoted),
            Arg::String { value, .. } => match value {
                Value::String(s) => write!(f, "\"{s}\""),
                other => write!(f, "{other:?}"),
            },
            Arg::Pipe(pipe) => write!(f, "{pipe}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(&v.name)?;
            }
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Go's `parse.IsEmptyTree`: only whitespace text and comments.
pub(crate) fn is_empty_tree(list: &[Node], source: &str) -> bool {
    list.iter().all(|node| match node {
        Node::Text { start, end } => source[*start..*end]
            .trim_matches(|c: char| c.is_whitespace())
            .is_empty(),
        Node::Comment => true,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn field_names_split_as_split_terminator_does() {
        for path in ["", "a", "Values.image.tag", "a..b", "a.", ".", "é.ü"] {
            let fields = Fields::new(path);
            let got: Vec<&str> = fields.names().collect();
            let want: Vec<&str> = path.split_terminator('.').collect();
            assert_eq!(got, want, "{path:?}");
        }
    }
}
