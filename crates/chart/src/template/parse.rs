//! The parser of Go's `text/template` (`text/template/parse/parse.go`): tokens to
//! [`Tree`]s, one for the file and one per `define`/`block`.

use std::borrow::Cow;
use std::sync::Arc;

use super::ast::{
    Arg, Branch, Builtin, Command, Cx, Fields, Func, Lists, Node, Number, Pipe, Run, Span,
    TemplateCall, Tree, Var, is_empty_tree,
};
use super::lex::{Item, ItemType, lex};
use crate::value::Value;

/// A parse error, already in Go's words (`template: NAME:LINE: MSG`).
pub(crate) struct ParseError(pub String);

type PResult<T> = Result<T, ParseError>;

struct Parser<'a> {
    items: Vec<Item>,
    lex_error: String,
    idx: usize,
    furthest: usize,
    source: &'a Arc<str>,
    parse_name: &'a Arc<str>,
    /// Go's `Tree.vars`: the names a variable reference may use here (declared or
    /// assigned earlier in an enclosing control, which keeps them until its `{{end}}`,
    /// across `{{else}}`). Only the parse checks them: the executor looks variables up
    /// by name on its own stack, as Go's does.
    vars: Vec<&'a str>,
    range_depth: usize,
    /// Where the action being parsed starts (for "in action started at" errors).
    action_pos: Option<usize>,
    /// Finished trees of this parse (defines and the file), by name.
    trees: Vec<Body>,
    /// The commands and arguments of every tree of the file, which its trees share.
    lists: Lists,
    /// The stack where node lists under construction grow: a finished list is moved
    /// out in one exact allocation (lists nest, so each one is the top of the stack).
    nodes: Vec<Node>,
    /// Where the commands and arguments of the pipelines being parsed grow, one
    /// level per pipeline nesting depth (parentheses); a finished pipeline's
    /// commands, or command's arguments, are moved to the end of `lists` in one copy.
    levels: Vec<Level>,
    /// The nesting depth of the pipeline being parsed (its level; 0 outside any).
    depth: usize,
}

/// The commands of a pipeline under construction and the arguments of its command
/// under construction.
#[derive(Default)]
struct Level {
    cmds: Vec<Command>,
    args: Vec<Arg>,
}

/// A parsed tree before it is given the file's lists: its name and its nodes.
struct Body {
    name: Arc<str>,
    root: Vec<Node>,
}

/// Moves the elements of `level` to the end of `list`, and gives the run they fill
/// there.
fn move_run<T>(level: &mut Vec<T>, list: &mut Vec<T>) -> Run {
    let first = list.len();
    list.append(level);
    Run {
        start: first,
        end: list.len(),
    }
}

/// The elements of `stack` from `start` on, moved into a list of their own (of
/// exactly their number, in one copy); `stack` keeps its allocation.
fn take_from<T>(stack: &mut Vec<T>, start: usize) -> Vec<T> {
    if start == 0 {
        // `split_off(0)` would hand over the stack's own allocation.
        let mut list = Vec::with_capacity(stack.len());
        list.append(stack);
        return list;
    }
    stack.split_off(start)
}

/// Buffers that one parse hands to the next within a template set (a render): the
/// token list and the stacks where lists grow. They hold nothing between parses but
/// their capacity.
#[derive(Default)]
pub(crate) struct Scratch {
    items: Vec<Item>,
    nodes: Vec<Node>,
    levels: Vec<Level>,
}

/// Parses `text` (the file `name`) into its trees: the file's own tree last.
pub(crate) fn parse(
    name: &str,
    text: &Arc<str>,
    scratch: &mut Scratch,
) -> Result<Vec<Tree>, ParseError> {
    let parse_name: Arc<str> = Arc::from(name);
    let lexed = lex(text, std::mem::take(&mut scratch.items));
    // A guess from the number of tokens, so that the lists rarely grow.
    let lists = Lists {
        cmds: Vec::with_capacity(lexed.items.len() / 8),
        args: Vec::with_capacity(lexed.items.len() / 4),
    };
    let mut p = Parser {
        items: lexed.items,
        lex_error: lexed.error,
        idx: 0,
        furthest: 0,
        source: text,
        parse_name: &parse_name,
        vars: vec!["$"],
        range_depth: 0,
        action_pos: None,
        trees: Vec::new(),
        lists,
        nodes: std::mem::take(&mut scratch.nodes),
        levels: std::mem::take(&mut scratch.levels),
        depth: 0,
    };
    let result = p.parse_top().and_then(|root| {
        p.add(Body {
            name: parse_name.clone(),
            root,
        })
    });
    p.nodes.clear();
    for level in &mut p.levels {
        level.cmds.clear();
        level.args.clear();
    }
    scratch.items = std::mem::take(&mut p.items);
    scratch.nodes = std::mem::take(&mut p.nodes);
    scratch.levels = std::mem::take(&mut p.levels);
    result?;
    let lists = Arc::new(p.lists);
    let trees = p.trees.into_iter().map(|body| Tree {
        name: body.name,
        parse_name: parse_name.clone(),
        source: text.clone(),
        root: body.root,
        lists: lists.clone(),
    });
    Ok(trees.collect())
}

fn builtin_or_func(name: &str) -> Option<Func> {
    match name {
        "include" => Some(Func::Include),
        "tpl" => Some(Func::Tpl),
        // Go looks in the template's function map before the builtins (Sprig's
        // `slice` replaces Go's).
        _ => crate::funcs::lookup(name)
            .map(Func::Ext)
            .or_else(|| Builtin::lookup(name).map(Func::Builtin)),
    }
}

impl<'a> Parser<'a> {
    fn errorf(&self, msg: impl std::fmt::Display) -> ParseError {
        let line = self
            .items
            .get(self.furthest.saturating_sub(1))
            .map_or(1, |i| self.line_of(i.pos));
        ParseError(format!("template: {}:{}: {}", self.parse_name, line, msg))
    }

    /// The 1-based line of byte offset `pos`.
    fn line_of(&self, pos: usize) -> usize {
        let pos = pos.min(self.source.len());
        1 + self.source.as_bytes()[..pos]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    fn next(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.idx = i + 1;
        if self.idx > self.furthest {
            self.furthest = self.idx;
        }
        self.items[i]
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> &Item {
        let i = self.idx.min(self.items.len() - 1);
        if i + 1 > self.furthest {
            self.furthest = i + 1;
        }
        &self.items[i]
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let item = self.next();
            if item.typ != ItemType::Space {
                return item;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let item = self.next_non_space();
        self.backup();
        item
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item> {
        let token = self.next_non_space();
        if token.typ != typ {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    fn unexpected(&self, token: &Item, context: &str) -> ParseError {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            let token_line = self.line_of(token.pos);
            let action_line = self.action_pos.map_or(0, |pos| self.line_of(pos));
            if action_line != 0 && action_line != token_line {
                extra = format!(" in action started at {}:{}", self.parse_name, action_line);
                if self.lex_error.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{}", self.lex_error, extra));
        }
        self.errorf(format!(
            "unexpected {} in {}",
            token.describe(self.source, &self.lex_error),
            context
        ))
    }

    /// Go's `Tree.add` within one parse: a second non-empty definition is an error.
    fn add(&mut self, tree: Body) -> PResult<()> {
        if let Some(i) = self.trees.iter().position(|t| t.name == tree.name) {
            if is_empty_tree(&self.trees[i].root, self.source) {
                self.trees[i] = tree;
                return Ok(());
            }
            if !is_empty_tree(&tree.root, self.source) {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    super::fmt::quote(&tree.name)
                )));
            }
            return Ok(());
        }
        self.trees.push(tree);
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let start = self.nodes.len();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim_idx = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = delim_idx;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => self.nodes.push(n),
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(take_from(&mut self.nodes, start))
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let token = self.next_non_space();
        if token.typ != ItemType::String && token.typ != ItemType::RawString {
            return Err(self.unexpected(&token, context));
        }
        let name = unquote(self.val(&token))
            .map_err(|e| self.errorf(e))?
            .into_owned();
        self.expect(ItemType::RightDelim, context)?;
        let tree = self.defined_tree(&name, context)?;
        self.add(tree)
    }

    /// The body of a `define` or `block` called `name`, up to its `{{end}}`: a tree
    /// of its own, with its own variables.
    fn defined_tree(&mut self, name: &str, context: &str) -> PResult<Body> {
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        if !matches!(end, End::End) {
            return Err(self.errorf(format!("unexpected {} in {}", end.describe(), context)));
        }
        Ok(Body {
            name: Arc::from(name),
            root: list,
        })
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, End)> {
        let start = self.nodes.len();
        while self.peek_non_space().typ != ItemType::Eof {
            let end = match self.text_or_action()? {
                Parsed::Node(n) => {
                    self.nodes.push(n);
                    continue;
                }
                Parsed::End => End::End,
                Parsed::Else => End::Else,
            };
            return Ok((take_from(&mut self.nodes, start), end));
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                start: token.pos,
                end: token.end,
            })),
            ItemType::LeftDelim => {
                self.action_pos = Some(token.pos);
                let r = self.action();
                self.action_pos = None;
                r
            }
            ItemType::Comment => Ok(Parsed::Node(Node::Comment)),
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break | ItemType::Continue => {
                let is_break = token.typ == ItemType::Break;
                let next = self.next_non_space();
                if next.typ != ItemType::RightDelim {
                    return Err(self.unexpected(
                        &next,
                        if is_break {
                            "{{break}}"
                        } else {
                            "{{continue}}"
                        },
                    ));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(if is_break {
                        "{{break}} outside {{range}}"
                    } else {
                        "{{continue}} outside {{range}}"
                    }));
                }
                return Ok(Parsed::Node(if is_break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            ItemType::Else => {
                let peek = self.peek_non_space();
                if peek.typ == ItemType::If || peek.typ == ItemType::With {
                    return Ok(Parsed::Else);
                }
                self.expect(ItemType::RightDelim, "else")?;
                return Ok(Parsed::Else);
            }
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.control(Ctl::If).map(Parsed::Node),
            ItemType::Range => return self.control(Ctl::Range).map(Parsed::Node),
            ItemType::With => return self.control(Ctl::With).map(Parsed::Node),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn control(&mut self, ctl: Ctl) -> PResult<Node> {
        let context = ctl.name();
        let mark = self.vars.len();
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if ctl == Ctl::Range {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if ctl == Ctl::Range {
            self.range_depth -= 1;
        }
        // As in Go, the first branch's variables stay known to the parse of the else
        // branch; at run time they are gone, and using one there fails when it runs.
        let mut else_list = None;
        if let End::Else = next {
            let peek = self.peek().typ;
            if ctl == Ctl::If && peek == ItemType::If {
                self.next();
                else_list = Some(vec![self.control(Ctl::If)?]);
            } else if ctl == Ctl::With && peek == ItemType::With {
                self.next();
                else_list = Some(vec![self.control(Ctl::With)?]);
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, End::End) {
                    return Err(self.errorf(format!("expected end; found {}", next.describe())));
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(mark);
        let branch = Box::new(Branch {
            pipe,
            list,
            else_list,
        });
        Ok(match ctl {
            Ctl::If => Node::If(branch),
            Ctl::Range => Node::Range(branch),
            Ctl::With => Node::With(branch),
        })
    }

    fn template_name(&mut self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => unquote(self.val(token))
                .map(Cow::into_owned)
                .map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template(Box::new(TemplateCall {
            pos: token.pos,
            name,
            pipe,
        })))
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let tree = self.defined_tree(&name, context)?;
        self.add(tree)?;
        Ok(Node::Template(Box::new(TemplateCall {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })))
    }

    /// The source and lists of the tree being parsed.
    fn cx(&self) -> Cx<'_> {
        self.lists.cx(self.source)
    }

    /// The text of a token.
    fn val(&self, token: &Item) -> &'a str {
        let source: &'a str = self.source;
        token.val(source)
    }

    /// Go's parse of a variable before `:=`, `=` or `,`: known from here on, whether
    /// declared or assigned.
    fn declare(&mut self, token: &Item) -> Var {
        self.vars.push(self.val(token));
        Var {
            pos: token.pos,
            name: span(token),
        }
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Run::default(),
        };
        self.depth += 1;
        if self.levels.len() <= self.depth {
            self.levels.resize_with(self.depth + 1, Level::default);
        }
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let v_idx = self.idx;
            // skip spaces before v
            let v = self.next_non_space();
            let after_var = self.peek().typ;
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    let var = self.declare(&v);
                    pipe.decl.push(var);
                }
                ItemType::Char if self.val(&next) == "," => {
                    self.next_non_space();
                    let var = self.declare(&v);
                    pipe.decl.push(var);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue 'decls;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after_var;
                    self.idx = v_idx;
                }
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    let level = &mut self.levels[self.depth].cmds;
                    pipe.cmds = move_run(level, &mut self.lists.cmds);
                    self.depth -= 1;
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    self.levels[self.depth].cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    /// Go's `useVar`: a reference to a name no enclosing scope knows is a parse error.
    fn check_var(&self, name: &str) -> PResult<()> {
        // The name before any `.` (names are short: a plain scan beats a searcher).
        let base_len = name.bytes().position(|b| b == b'.').unwrap_or(name.len());
        let base = name.get(..base_len).unwrap_or(name);
        if self.vars.contains(&base) {
            Ok(())
        } else {
            Err(self.errorf(format!("undefined variable {}", super::fmt::quote(base))))
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        let cx = self.cx();
        let cmds = cx.commands(pipe);
        if cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in cmds.iter().enumerate().skip(1) {
            if matches!(
                cx.args(c).first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let depth = self.depth;
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                self.levels[depth].args.push(operand);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        let level = &mut self.levels[depth].args;
        if level.is_empty() {
            return Err(self.errorf("empty command"));
        }
        let args = move_run(level, &mut self.lists.args);
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            let chain_pos = self.peek().pos;
            let mut chain_end = chain_pos;
            while self.peek().typ == ItemType::Field {
                chain_end = self.next().end;
            }
            // The chained fields are adjacent tokens: one span of the source.
            let chain = Fields::new(Span {
                start: chain_pos + 1,
                end: chain_end,
            });
            return Ok(Some(match node {
                Arg::Field { pos, .. } => Arg::Field {
                    pos: chain_pos,
                    idents: Fields::new(Span {
                        start: pos + 1,
                        end: chain_end,
                    }),
                },
                Arg::Variable { var, .. } => Arg::Variable {
                    var: Var {
                        pos: chain_pos,
                        ..var
                    },
                    fields: chain,
                },
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    return Err(self.errorf(format!(
                        "unexpected . after term {}",
                        super::fmt::quote(&node.show(self.cx()).to_string())
                    )));
                }
                other => Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(other),
                    fields: chain,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        let val = self.val(&token);
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                let Some(func) = builtin_or_func(val) else {
                    return Err(
                        self.errorf(format!("function {} not defined", super::fmt::quote(val)))
                    );
                };
                Arg::Ident {
                    pos,
                    name: span(&token),
                    func,
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => {
                self.check_var(val)?;
                Arg::Variable {
                    var: Var {
                        pos,
                        name: span(&token),
                    },
                    fields: Fields::default(),
                }
            }
            ItemType::Field => Arg::Field {
                pos,
                idents: if self.peek().typ == ItemType::Field {
                    // A chain: the operand makes the names of the whole span.
                    Fields::default()
                } else {
                    Fields::new(Span {
                        start: pos + 1,
                        end: token.end,
                    })
                },
            },
            ItemType::Bool => Arg::Bool {
                pos,
                value: val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let value = number(val, token.typ).map_err(|e| self.errorf(e))?;
                Arg::Number {
                    pos,
                    text: span(&token),
                    value,
                }
            }
            ItemType::LeftParen => {
                let pipe = self.pipeline("parenthesized pipeline", ItemType::RightParen)?;
                Arg::Pipe(Box::new(pipe))
            }
            ItemType::String | ItemType::RawString => {
                let s = unquote(val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos,
                    text: span(&token),
                    value: Value::string(&*s),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// The byte range of a token.
fn span(token: &Item) -> Span {
    Span {
        start: token.pos,
        end: token.end,
    }
}

enum Parsed {
    Node(Node),
    End,
    Else,
}

enum End {
    End,
    Else,
}

impl End {
    fn describe(&self) -> &'static str {
        match self {
            End::End => "{{end}}",
            End::Else => "{{else}}",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctl {
    If,
    Range,
    With,
}

impl Ctl {
    fn name(self) -> &'static str {
        match self {
            Ctl::If => "if",
            Ctl::Range => "range",
            Ctl::With => "with",
        }
    }
}

fn parse_int(text: &str) -> Option<i128> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits, prefixed) =
        if let Some(rest) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, rest, true)
        } else if let Some(rest) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, rest, true)
        } else if let Some(rest) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, rest, true)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..], true)
        } else {
            (10, body, false)
        };
    if digits.contains('_') && !prefixed && radix == 10 {
        // Go allows underscores only between digits; keep it simple and strict.
        if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
            return None;
        }
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    let v = i128::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Go's `newNumber` + `idealConstant`: the value a number literal has in a template.
fn number(text: &str, typ: ItemType) -> Result<Number, String> {
    if typ == ItemType::CharConstant {
        let inner = &text[1..];
        let (c, tail) = unquote_char(inner, '\'').ok_or_else(|| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        return Ok(Number::Int(i64::from(u32::from(c))));
    }
    if typ == ItemType::Complex || text.ends_with('i') {
        return Ok(Number::Bad(format!("{text} is a complex number").into()));
    }
    if let Some(i) = parse_int(text) {
        if let Ok(i) = i64::try_from(i) {
            return Ok(Number::Int(i));
        }
        if i >= 0 && u64::try_from(i).is_ok() {
            return Ok(Number::Bad(format!("{text} overflows int").into()));
        }
    }
    let is_hex = text.len() > 2
        && (text.starts_with("0x") || text.starts_with("0X"))
        && !text.contains(['p', 'P']);
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let parsed = if text.contains(['p', 'P']) {
        parse_hex_float(&clean).ok_or(())
    } else {
        clean.parse::<f64>().map_err(|_| ())
    };
    match parsed {
        Ok(f) if !is_hex => {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {}", super::fmt::quote(text)));
            }
            Ok(Number::Float(f))
        }
        _ => Err(format!(
            "illegal number syntax: {}",
            super::fmt::quote(text)
        )),
    }
}

/// A hexadecimal float literal (`0x1p60`, `0x1.8p-2`), as Go's `strconv.ParseFloat`.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let body = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    let (mantissa, exp) = body.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let value = value * 2f64.powi(exp);
    Some(if neg { -value } else { value })
}

fn unquote_char(s: &str, quote: char) -> Option<(char, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((c, chars.as_str()));
    }
    let e = chars.next()?;
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return None;
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c, chars.as_str()));
    }
    let rest = chars.as_str();
    let hex = |n: usize| -> Option<(char, &str)> {
        let digits = rest.get(..n)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        Some((char::from_u32(v)?, &rest[n..]))
    };
    match e {
        'x' => hex(2),
        'u' => hex(4),
        'U' => hex(8),
        '0'..='7' => {
            let digits = s.get(1..4)?;
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((char::from_u32(v)?, &s[4..]))
        }
        _ => None,
    }
}

/// Go's `strconv.Unquote` for template string literals (borrowed when the literal has
/// no escapes).
fn unquote(text: &str) -> Result<Cow<'_, str>, String> {
    let bad = || "invalid syntax".to_string();
    if let Some(raw) = text.strip_prefix('`') {
        let body = raw.strip_suffix('`').ok_or_else(bad)?;
        if body.contains('\r') {
            return Ok(Cow::Owned(body.replace('\r', "")));
        }
        return Ok(Cow::Borrowed(body));
    }
    let body = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(bad)?;
    if !body.contains('\\') {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        // \x escapes of bytes >= 0x80 make raw bytes in Go; keep them as chars here.
        let (c, tail) = unquote_char(rest, '"').ok_or_else(bad)?;
        out.push(c);
        rest = tail;
    }
    Ok(Cow::Owned(out))
}
