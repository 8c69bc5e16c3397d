//! The parse tree (Go's `text/template/parse` nodes), with function names resolved.
//! `Display` prints arguments, commands and pipelines as Go's `Node.String()` does,
//! which is what error messages show after `at <...>`.

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
    /// The commands and arguments of the pipelines of its file's trees.
    pub lists: Arc<Lists>,
}

impl Tree {
    /// The tree's source and lists, which its nodes point into.
    pub fn cx(&self) -> Cx<'_> {
        self.lists.cx(&self.source)
    }

    /// The commands of `pipe`, a pipeline of this tree.
    #[inline]
    pub fn commands(&self, pipe: &Pipe) -> &[Command] {
        self.cx().commands(pipe)
    }

    /// The arguments of `cmd`, a command of this tree.
    #[inline]
    pub fn args(&self, cmd: &Command) -> &[Arg] {
        self.cx().args(cmd)
    }

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
    /// Its commands, in its tree's [`Lists::cmds`].
    pub cmds: Run,
}

/// A run of one of a tree's [`Lists`]: the items at indices `start..end`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Run {
    pub start: usize,
    pub end: usize,
}

/// The commands and arguments of the pipelines of a file's trees, in one list of
/// each: a pipeline holds a run of `cmds`, a command a run of `args` (two allocations
/// for the file instead of one per pipeline and per command).
#[derive(Default)]
pub(crate) struct Lists {
    pub cmds: Vec<Command>,
    pub args: Vec<Arg>,
}

impl Lists {
    /// These lists with `source`, the text of their file: what its nodes point into.
    pub fn cx<'t>(&'t self, source: &'t str) -> Cx<'t> {
        Cx {
            source,
            cmds: &self.cmds,
            args: &self.args,
        }
    }
}

/// What a tree's nodes point into: its source (names, literals) and its lists
/// (commands, arguments).
#[derive(Clone, Copy)]
pub(crate) struct Cx<'t> {
    pub source: &'t str,
    pub cmds: &'t [Command],
    pub args: &'t [Arg],
}

impl<'t> Cx<'t> {
    /// The commands of `pipe`.
    #[inline]
    pub fn commands(&self, pipe: &Pipe) -> &'t [Command] {
        &self.cmds[pipe.cmds.start..pipe.cmds.end]
    }

    /// The arguments of `cmd`.
    #[inline]
    pub fn args(&self, cmd: &Command) -> &'t [Arg] {
        &self.args[cmd.args.start..cmd.args.end]
    }
}

/// A byte range of the tree's source: a name, a literal or a field chain as written.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The text of the range in `source`, the tree's source.
    pub fn text(self, source: &str) -> &str {
        &source[self.start..self.end]
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Var {
    pub pos: usize,
    /// The variable's name as written (`$x`): the executor looks it up by name, as
    /// Go's does.
    pub name: Span,
}

pub(crate) struct Command {
    pub pos: usize,
    /// Its arguments, in its tree's [`Lists::args`].
    pub args: Run,
}

/// A chain of field names (`.a.b.c`): the span of its text without the leading dot
/// (`a.b.c`); names never hold a dot, so splitting gives them back.
#[derive(Clone, Copy, Default)]
pub(crate) struct Fields(Span);

impl Fields {
    /// The chain whose text (`a.b.c`, without its leading dot) is `path`.
    pub fn new(path: Span) -> Fields {
        Fields(path)
    }

    pub fn is_empty(&self) -> bool {
        self.0.start == self.0.end
    }

    /// The names, in order (none when empty), as `split_terminator('.')` gives them;
    /// a plain byte scan, cheaper than a string searcher on such short texts.
    pub fn names<'s>(&self, source: &'s str) -> impl Iterator<Item = &'s str> + use<'s> {
        let mut rest: &str = self.0.text(source);
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

    fn write(&self, f: &mut fmt::Formatter<'_>, source: &str) -> fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        write!(f, ".{}", self.0.text(source))
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
        name: Span,
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
        /// The literal as written.
        text: Span,
        value: Number,
    },
    String {
        pos: usize,
        /// The literal as written, quotes included.
        text: Span,
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
    Bad(Box<str>),
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

    /// The argument as Go's `Node.String()` prints it (`cx` is its tree's).
    pub fn show<'n>(&'n self, cx: Cx<'n>) -> Shown<'n, Arg> {
        Shown { node: self, cx }
    }
}

impl Command {
    /// The command as Go's `Node.String()` prints it (`cx` is its tree's).
    pub fn show<'n>(&'n self, cx: Cx<'n>) -> Shown<'n, Command> {
        Shown { node: self, cx }
    }
}

impl Pipe {
    /// The pipeline as Go's `Node.String()` prints it (`cx` is its tree's).
    pub fn show<'n>(&'n self, cx: Cx<'n>) -> Shown<'n, Pipe> {
        Shown { node: self, cx }
    }
}

/// A node with what it points into: `Display` prints it as Go's `Node.String()` does.
pub(crate) struct Shown<'n, T> {
    node: &'n T,
    cx: Cx<'n>,
}

impl fmt::Display for Shown<'_, Arg> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (cx, source) = (self.cx, self.cx.source);
        match self.node {
            Arg::Field { idents, .. } => idents.write(f, source),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(_) = **node {
                    write!(f, "({})", node.show(cx))?;
                } else {
                    write!(f, "{}", node.show(cx))?;
                }
                fields.write(f, source)
            }
            Arg::Ident { name, .. } => f.write_str(name.text(source)),
            Arg::Variable { var, fields } => {
                f.write_str(var.name.text(source))?;
                fields.write(f, source)
            }
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            // A string shows as written: Go prints a quoted literal of its value,
            // which gives back any literal without escapes.
            Arg::Number { text, .. } | Arg::String { text, .. } => f.write_str(text.text(source)),
            Arg::Pipe(pipe) => write!(f, "{}", pipe.show(cx)),
        }
    }
}

impl fmt::Display for Shown<'_, Command> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.cx.args(self.node).iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({})", p.show(self.cx))?;
            } else {
                write!(f, "{}", arg.show(self.cx))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Shown<'_, Pipe> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pipe = self.node;
        if !pipe.decl.is_empty() {
            for (i, v) in pipe.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(v.name.text(self.cx.source))?;
            }
            f.write_str(if pipe.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cx.commands(pipe).iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{}", c.show(self.cx))?;
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
    use super::{Fields, Span};

    #[test]
    fn field_names_split_as_split_terminator_does() {
        for path in ["", "a", "Values.image.tag", "a..b", "a.", ".", "é.ü"] {
            let source = format!("{{{{.{path}}}}}");
            let span = Span {
                start: 3,
                end: 3 + path.len(),
            };
            let fields = Fields::new(span);
            let got: Vec<&str> = fields.names(&source).collect();
            let want: Vec<&str> = path.split_terminator('.').collect();
            assert_eq!(got, want, "{path:?}");
        }
    }
}
