//! The executor of Go's `text/template` (`text/template/exec.go`) with Helm's options
//! (`missingkey=zero`) and Helm's `include` and `tpl`.

use std::sync::{Arc, Mutex};

use super::TreeMap;
use super::ast::{
    Arg, Branch, Builtin, Command, Cx, Fields, Func, Node, Number, Pipe, TemplateCall, Tree, Var,
};
use super::builtins;
use super::error::{GoError, Layer};
use crate::funcs::FuncError;
use crate::value::{GoBuf, Value};

/// Go's `maxExecDepth` is 100000; nested `template` calls are capped lower here (only
/// runaway recursion gets there, and each level costs a stack frame).
const MAX_TEMPLATE_DEPTH: usize = 10000;
/// Helm's `recursionMaxNums`.
const MAX_INCLUDE: usize = 1000;

/// A set of named templates that lookups search, innermost first (`tpl` adds the
/// templates its text defines on top of the chart's).
pub(crate) struct Scope<'a> {
    pub trees: &'a TreeMap,
    pub parent: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    fn lookup(&self, name: &str) -> Option<&'a Arc<Tree>> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some(t) = s.trees.get(name) {
                return Some(t);
            }
            scope = s.parent;
        }
        None
    }
}

/// A value with Go's static type knowledge that matters for errors: `iface` is true
/// when the value sits in an `interface{}` slot (a map element, a list element), where
/// nil is a nil interface (field access fails) rather than "no value".
#[derive(Clone)]
pub(crate) struct Slot {
    pub v: Value,
    pub iface: bool,
}

impl Slot {
    fn concrete(v: Value) -> Slot {
        Slot { v, iface: false }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, GoError>;

/// A call's argument values: up to four without an allocation.
type ArgValues = smallvec::SmallVec<[Value; 4]>;

/// Shared by every template run of one top-level execution.
pub(crate) struct Shared {
    pub included: Mutex<rustc_hash::FxHashMap<String, usize>>,
}

/// Nested executions (templates, includes, `tpl`) hop to a fresh thread stack every
/// `HOP` levels, so that Helm's limits (1000 nested includes) fit in any stack.
const HOP: usize = 16;
const HOP_STACK: usize = 16 << 20;

/// Runs `f` here, or on a new thread with a fresh stack when `nest` is a hop level.
/// `None` when no thread could be started.
fn hop<T: Send>(nest: usize, f: impl FnOnce() -> T + Send) -> Option<T> {
    if nest == 0 || !nest.is_multiple_of(HOP) {
        return Some(f());
    }
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .stack_size(HOP_STACK)
            .spawn_scoped(scope, f)
            .ok()?;
        Some(
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    })
}

fn no_thread() -> GoError {
    GoError::plain("template nesting too deep: no thread available to continue".to_string())
}

/// A variable on the executor's stack (Go's `variable`): looked up by name from the
/// top, so a redeclared name hides the older one from the next action on, and a name
/// the running branch never declared is an error only when it is used.
struct Variable<'a> {
    name: &'a str,
    value: Slot,
}

pub(crate) struct State<'a> {
    scope: &'a Scope<'a>,
    shared: &'a Shared,
    tree: &'a Tree,
    name: &'a str,
    vars: Vec<Variable<'a>>,
    /// Go's template depth (reset by `include`, as Go's `ExecuteTemplate` does).
    depth: usize,
    /// Nesting of every kind, for stack hops.
    nest: usize,
}

/// Where an error happened: the node Go's `state.at` last pointed to.
#[derive(Clone, Copy)]
enum At<'n> {
    Arg(&'n Arg),
    Cmd(&'n Command),
    Template(&'n TemplateCall),
}

/// Runs `tree` (named `name`) with `dot`, appending to `out`.
pub(crate) fn execute(
    scope: &Scope<'_>,
    shared: &Shared,
    tree: &Tree,
    name: &str,
    dot: Value,
    out: &mut GoBuf,
    nest: usize,
) -> R<()> {
    let mut state = State {
        scope,
        shared,
        tree,
        name,
        vars: vec![Variable {
            name: "$",
            value: Slot::concrete(dot.clone()),
        }],
        depth: 0,
        nest,
    };
    state.walk_list(out, &Slot::concrete(dot), &tree.root)?;
    Ok(())
}

fn truth(v: &Value) -> bool {
    v.is_truthy()
}

impl<'a> State<'a> {
    fn error_at(&self, at: Option<At<'_>>, msg: String, cause: Option<GoError>) -> GoError {
        let full = match at {
            None => format!("template: {}: {}", self.name, msg),
            Some(at) => {
                let (pos, ctx) = match at {
                    At::Arg(a) => (a.pos(), a.show(self.tree.cx()).to_string()),
                    At::Cmd(c) => (c.pos, c.show(self.tree.cx()).to_string()),
                    At::Template(t) => (
                        t.pos,
                        match &t.pipe {
                            None => format!("{{{{template {}}}}}", super::fmt::quote(&t.name)),
                            Some(p) => format!(
                                "{{{{template {} {}}}}}",
                                super::fmt::quote(&t.name),
                                p.show(self.tree.cx())
                            ),
                        },
                    ),
                };
                format!(
                    "template: {}: executing {} at <{}>: {}",
                    self.tree.location(pos),
                    super::fmt::quote(self.name),
                    ctx,
                    msg
                )
            }
        };
        let mut layers = vec![Layer::exec(full.clone())];
        match cause {
            Some(cause) => {
                layers.push(Layer::other(full));
                layers.extend(cause.layers);
            }
            None => layers.push(Layer::other(full)),
        }
        GoError { layers }
    }

    fn walk_list(&mut self, out: &mut GoBuf, dot: &Slot, list: &'a [Node]) -> R<Flow> {
        for node in list {
            match self.walk(out, dot, node)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, out: &mut GoBuf, dot: &Slot, node: &'a Node) -> R<Flow> {
        match node {
            Node::Text { start, end } => out.push_str(&self.tree.source[*start..*end]),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    print_value(out, &v);
                }
            }
            Node::Comment => {}
            Node::If(b) => return self.walk_if_with(out, dot, b, false),
            Node::With(b) => return self.walk_if_with(out, dot, b, true),
            Node::Range(b) => return self.walk_range(out, dot, b),
            Node::Template(t) => self.walk_template(out, dot, t)?,
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(&mut self, out: &mut GoBuf, dot: &Slot, b: &'a Branch, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if truth(&v) {
            if with {
                self.walk_list(out, &Slot::concrete(v), &b.list)?
            } else {
                self.walk_list(out, dot, &b.list)?
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk_list(out, dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range_iteration(
        &mut self,
        out: &mut GoBuf,
        b: &'a Branch,
        index: Value,
        elem: Slot,
    ) -> R<Flow> {
        let mark = self.vars.len();
        let decl = &b.pipe.decl;
        if b.pipe.is_assign {
            // `range $i, $e = ...`: Go's `setVar` by name (index first when two).
            match decl.as_slice() {
                [] => {}
                [only] => self.set_var(only, &b.pipe, elem.clone())?,
                [first, second, ..] => {
                    self.set_var(first, &b.pipe, Slot::concrete(index))?;
                    self.set_var(second, &b.pipe, elem.clone())?;
                }
            }
        } else {
            // `range $i, $e := ...`: the pipeline pushed them; Go's `setTopVar`.
            let top = mark.checked_sub(decl.len().min(2)).unwrap_or(mark);
            let values = match decl.len() {
                0 => vec![],
                1 => vec![elem.clone()],
                _ => vec![Slot::concrete(index), elem.clone()],
            };
            for (var, value) in self.vars.iter_mut().skip(top).zip(values) {
                var.value = value;
            }
        }
        let flow = self.walk_list(out, &elem, &b.list);
        self.vars.truncate(mark);
        flow
    }

    /// Go's `setVar`: the innermost variable called `var`'s name takes `value`; none
    /// on the stack (declared only in a branch that did not run) is an error.
    fn set_var(&mut self, var: &Var, pipe: &'a Pipe, value: Slot) -> R<()> {
        let name = var.name.text(&self.tree.source);
        match self.vars.iter_mut().rev().find(|v| v.name == name) {
            Some(slot) => {
                slot.value = value;
                Ok(())
            }
            None => {
                let msg = format!("undefined variable: {name}");
                Err(self.error_at(last_at(self.tree, pipe), msg, None))
            }
        }
    }

    /// Go's `varValue`: the innermost variable called `var`'s name; none on the stack
    /// (declared only in a branch that did not run) is an error at `at`.
    fn var_value(&self, var: &Var, at: &'a Arg) -> R<Slot> {
        let name = var.name.text(&self.tree.source);
        match self.vars.iter().rev().find(|v| v.name == name) {
            Some(found) => Ok(found.value.clone()),
            None => {
                let msg = format!("undefined variable: {name}");
                Err(self.error_at(Some(At::Arg(at)), msg, None))
            }
        }
    }

    fn walk_range(&mut self, out: &mut GoBuf, dot: &Slot, b: &'a Branch) -> R<Flow> {
        let mark = self.vars.len();
        let mut v = self.eval_pipeline(dot, &b.pipe)?;
        if let Value::Object(object) = &v
            && let Some(plain) = object.underlying()
        {
            v = plain;
        }
        let mut ran = false;
        match &v {
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    ran = true;
                    let elem = Slot {
                        v: item.clone(),
                        iface: true,
                    };
                    match self.range_iteration(out, b, Value::Int(i as i64), elem)? {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                    }
                }
            }
            Value::Bytes(bytes) => {
                for (i, byte) in bytes.iter().enumerate() {
                    ran = true;
                    let elem = Slot::concrete(Value::Int(i64::from(*byte)));
                    match self.range_iteration(out, b, Value::Int(i as i64), elem)? {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                    }
                }
            }
            Value::Map(map) => {
                let entries: Vec<(String, Value)> = map
                    .read()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (key, item) in entries {
                    ran = true;
                    let elem = Slot {
                        v: item,
                        iface: true,
                    };
                    match self.range_iteration(out, b, Value::string(key), elem)? {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                    }
                }
            }
            Value::Int(_) | Value::Int64(_) | Value::Uint64(_) => {
                // Go ranges over an integer with elements of its own type.
                let n = match &v {
                    Value::Uint64(u) => i64::try_from(*u).unwrap_or(i64::MAX),
                    other => other.as_int().unwrap_or_default(),
                };
                let element = |i: i64| match &v {
                    Value::Uint64(_) => Value::Uint64(i.unsigned_abs()),
                    Value::Int64(_) => Value::Int64(i),
                    _ => Value::Int(i),
                };
                if b.pipe.decl.len() > 1 {
                    let msg = format!("can't use {n} to iterate over more than one variable");
                    return Err(self.error_at(last_at(self.tree, &b.pipe), msg, None));
                }
                for i in 0..n {
                    ran = true;
                    match self.range_iteration(out, b, element(i), Slot::concrete(element(i)))? {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                    }
                }
            }
            Value::Nil => {}
            other => {
                let msg = format!("range can't iterate over {}", value_text(other));
                return Err(self.error_at(last_at(self.tree, &b.pipe), msg, None));
            }
        }
        let flow = if !ran && let Some(else_list) = &b.else_list {
            self.walk_list(out, dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        // `break`/`continue` in the else branch are parsed as an enclosing range's, but
        // Go's walkRange recovers a break for its whole body, else branch included: a
        // break there only ends this range; a continue goes on to the enclosing one.
        Ok(match flow {
            Flow::Break => Flow::Normal,
            other => other,
        })
    }

    fn walk_template(&mut self, out: &mut GoBuf, dot: &Slot, t: &'a TemplateCall) -> R<()> {
        let Some(tree) = self.scope.lookup(&t.name) else {
            let msg = format!("template {} not defined", super::fmt::quote(&t.name));
            return Err(self.error_at(Some(At::Template(t)), msg, None));
        };
        if self.depth >= MAX_TEMPLATE_DEPTH {
            let msg = "exceeded maximum template depth (100000)".to_string();
            return Err(self.error_at(Some(At::Template(t)), msg, None));
        }
        let new_dot = match &t.pipe {
            Some(pipe) => self.eval_pipeline(dot, pipe)?,
            None => Value::Nil,
        };
        let (scope, shared, depth, nest) = (self.scope, self.shared, self.depth + 1, self.nest + 1);
        let run = move || {
            let mut state = State {
                scope,
                shared,
                tree,
                name: &tree.name,
                vars: vec![Variable {
                    name: "$",
                    value: Slot::concrete(new_dot.clone()),
                }],
                depth,
                nest,
            };
            state
                .walk_list(out, &Slot::concrete(new_dot), &tree.root)
                .map(|_| ())
        };
        hop(nest, run).unwrap_or_else(|| Err(no_thread()))
    }

    fn eval_pipeline(&mut self, dot: &Slot, pipe: &'a Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in self.tree.commands(pipe) {
            value = Some(self.eval_command(dot, cmd, value)?.v);
        }
        let value = value.unwrap_or_default();
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var, pipe, Slot::concrete(value.clone()))?;
            } else {
                let name = var.name.text(&self.tree.source);
                self.vars.push(Variable {
                    name,
                    value: Slot::concrete(value.clone()),
                });
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd_args: &[Arg], final_: &Option<Value>) -> R<()> {
        if let Some(first) = cmd_args.first()
            && (cmd_args.len() > 1 || final_.is_some())
        {
            let msg = format!(
                "can't give argument to non-function {}",
                first.show(self.tree.cx())
            );
            return Err(self.error_at(Some(At::Arg(first)), msg, None));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Slot, cmd: &'a Command, final_: Option<Value>) -> R<Slot> {
        let args: &'a [Arg] = self.tree.args(cmd);
        let Some(first) = args.first() else {
            // The parser refuses empty commands; say so rather than panic.
            return Err(self.error_at(Some(At::Cmd(cmd)), "empty command".to_string(), None));
        };
        match first {
            Arg::Field { idents, .. } => {
                return self.eval_field_chain(dot, dot.clone(), first, idents, args, final_);
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain(dot, first, node, fields, args, final_);
            }
            Arg::Ident { name, func, .. } => {
                let name = name.text(&self.tree.source);
                return self
                    .call(dot, *func, name, first, Some(cmd), &args[1..], final_)
                    .map(Slot::concrete);
            }
            Arg::Pipe(pipe) => {
                self.not_a_function(args, &final_)?;
                return self.eval_pipeline(dot, pipe).map(Slot::concrete);
            }
            Arg::Variable { var, fields } => {
                let value = self.var_value(var, first)?;
                if fields.is_empty() {
                    self.not_a_function(args, &final_)?;
                    return Ok(value);
                }
                return self.eval_field_chain(dot, value, first, fields, args, final_);
            }
            _ => {}
        }
        self.not_a_function(args, &final_)?;
        match first {
            Arg::Bool { value, .. } => Ok(Slot::concrete(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.error_at(
                Some(At::Arg(first)),
                "nil is not a command".to_string(),
                None,
            )),
            Arg::Number { value, .. } => self.number(first, value).map(Slot::concrete),
            Arg::String { value, .. } => Ok(Slot::concrete(value.clone())),
            _ => Err(self.error_at(
                Some(At::Arg(first)),
                format!(
                    "can't evaluate command {}",
                    super::fmt::quote(&first.show(self.tree.cx()).to_string())
                ),
                None,
            )),
        }
    }

    fn number(&self, at: &Arg, n: &Number) -> R<Value> {
        match n {
            Number::Int(i) => Ok(Value::Int(*i)),
            Number::Float(f) => Ok(Value::Float(*f)),
            Number::Bad(msg) => Err(self.error_at(Some(At::Arg(at)), msg.to_string(), None)),
        }
    }

    fn eval_chain(
        &mut self,
        dot: &Slot,
        at: &'a Arg,
        node: &'a Arg,
        fields: &'a Fields,
        cmd_args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Slot> {
        if let Arg::Nil { .. } = node {
            let msg = format!(
                "indirection through explicit nil in {}",
                at.show(self.tree.cx())
            );
            return Err(self.error_at(Some(At::Arg(at)), msg, None));
        }
        let receiver = self.eval_arg(dot, node)?;
        self.eval_field_chain(dot, Slot::concrete(receiver), at, fields, cmd_args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Slot,
        mut receiver: Slot,
        at: &'a Arg,
        idents: &'a Fields,
        cmd_args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Slot> {
        let mut names = idents.names(&self.tree.source);
        let mut name = names.next().unwrap_or_default();
        for next in names {
            receiver = self.eval_field(dot, name, at, &[], None, receiver)?;
            name = next;
        }
        self.eval_field(dot, name, at, cmd_args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Slot,
        name: &str,
        at: &'a Arg,
        cmd_args: &'a [Arg],
        final_: Option<Value>,
        receiver: Slot,
    ) -> R<Slot> {
        let has_args = cmd_args.len() > 1 || final_.is_some();
        match &receiver.v {
            Value::Nil => {
                if receiver.iface {
                    let msg = format!("nil pointer evaluating interface {{}}.{name}");
                    return Err(self.error_at(Some(At::Arg(at)), msg, None));
                }
                Ok(Slot::concrete(Value::Nil))
            }
            Value::Map(map) => {
                if has_args {
                    let msg = format!("{name} is not a method but has arguments");
                    return Err(self.error_at(Some(At::Arg(at)), msg, None));
                }
                // A `map[string]string` gives a string, `""` for a missing key.
                let iface = map.map_type() != crate::value::MapType::StringMap;
                Ok(Slot {
                    v: map.get_or_zero(name),
                    iface,
                })
            }
            Value::Object(object) => {
                let object = object.clone();
                let mut args = Vec::new();
                if has_args {
                    for arg in cmd_args.iter().skip(1) {
                        args.push(self.eval_arg(dot, arg)?);
                    }
                    if let Some(f) = final_ {
                        args.push(f);
                    }
                }
                if let Some(result) = object.call_method(name, &args) {
                    return match result {
                        Ok(v) => Ok(Slot::concrete(v)),
                        Err(msg) => {
                            if msg.starts_with("wrong number of args")
                                || msg.starts_with("wrong type")
                            {
                                Err(self.error_at(Some(At::Arg(at)), msg, None))
                            } else {
                                let cause = GoError::plain(msg.clone());
                                let m = format!("error calling {name}: {msg}");
                                Err(self.error_at(Some(At::Arg(at)), m, Some(cause)))
                            }
                        }
                    };
                }
                match object.field(name) {
                    Some(v) => {
                        if has_args {
                            let msg =
                                format!("{name} has arguments but cannot be invoked as function");
                            return Err(self.error_at(Some(At::Arg(at)), msg, None));
                        }
                        Ok(Slot::concrete(v))
                    }
                    None => {
                        let typ = if receiver.iface {
                            "interface {}"
                        } else {
                            object.type_name()
                        };
                        let msg = format!("can't evaluate field {name} in type {typ}");
                        Err(self.error_at(Some(At::Arg(at)), msg, None))
                    }
                }
            }
            other => {
                let typ = if receiver.iface {
                    "interface {}"
                } else {
                    other.type_name()
                };
                let msg = format!("can't evaluate field {name} in type {typ}");
                Err(self.error_at(Some(At::Arg(at)), msg, None))
            }
        }
    }

    /// Go's `evalArg` for an `interface{}` parameter.
    fn eval_arg(&mut self, dot: &Slot, arg: &'a Arg) -> R<Value> {
        match arg {
            Arg::Dot { .. } => Ok(dot.v.clone()),
            Arg::Nil { .. } => Ok(Value::Nil),
            Arg::Field { idents, .. } => Ok(self
                .eval_field_chain(
                    dot,
                    dot.clone(),
                    arg,
                    idents,
                    std::slice::from_ref(arg),
                    None,
                )?
                .v),
            Arg::Variable { var, fields } => {
                let value = self.var_value(var, arg)?;
                if fields.is_empty() {
                    return Ok(value.v);
                }
                Ok(self.eval_field_chain(dot, value, arg, fields, &[], None)?.v)
            }
            Arg::Pipe(pipe) => self.eval_pipeline(dot, pipe),
            Arg::Ident { name, func, .. } => {
                let name = name.text(&self.tree.source);
                self.call(dot, *func, name, arg, None, &[], None)
            }
            Arg::Chain { node, fields, .. } => {
                Ok(self.eval_chain(dot, arg, node, fields, &[], None)?.v)
            }
            Arg::Bool { value, .. } => Ok(Value::Bool(*value)),
            Arg::Number { value, .. } => self.number(arg, value),
            Arg::String { value, .. } => Ok(value.clone()),
        }
    }

    /// Go's `validateType` for nil arguments of function `name`: a literal `nil`, or a
    /// nil that holds no `interface {}` (a variable or pipeline result, the piped
    /// value), becomes the zero value of a map or slice parameter. A nil read from a
    /// map stays a nil `interface {}`, which the function refuses as Go does.
    fn zero_nil_args(&self, dot: &Slot, name: &str, args: &'a [Arg], values: &mut [Value]) {
        for (i, value) in values.iter_mut().enumerate() {
            if !matches!(value, Value::Nil) {
                continue;
            }
            let Some(param) = crate::funcs::nil_param(name, i) else {
                continue;
            };
            // Past the explicit arguments is the piped value: Go unwraps it out of
            // its interface, so its nil is the invalid value.
            let invalid = args
                .get(i)
                .is_none_or(|arg| self.holds_invalid_nil(dot, arg));
            if !invalid {
                continue;
            }
            *value = match param {
                crate::funcs::NilParam::Map => Value::Map(crate::value::MapRef::nil_map()),
                crate::funcs::NilParam::List => Value::list(Vec::new()),
            };
        }
    }

    /// Whether `arg`, which evaluated to nil, gives Go's invalid value (or a literal
    /// `nil`) rather than a nil `interface {}` read from a map or list.
    fn holds_invalid_nil(&self, dot: &Slot, arg: &'a Arg) -> bool {
        match arg {
            Arg::Nil { .. } | Arg::Pipe(_) => true,
            Arg::Dot { .. } => !dot.iface,
            Arg::Variable { var, fields } => {
                // A field of Go's invalid value is the invalid value again (`$v.x` with
                // `$v` nil); a field missing from a map is a nil `interface {}`.
                let name = var.name.text(&self.tree.source);
                self.vars
                    .iter()
                    .rev()
                    .find(|v| v.name == name)
                    .is_some_and(|v| {
                        !v.value.iface && (fields.is_empty() || matches!(v.value.v, Value::Nil))
                    })
            }
            _ => false,
        }
    }

    /// The values of a call's arguments (and of the piped value, last); most calls
    /// have a few, kept on the stack.
    fn eval_args(&mut self, dot: &Slot, args: &'a [Arg], final_: Option<Value>) -> R<ArgValues> {
        let mut values = ArgValues::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.eval_arg(dot, arg)?);
        }
        if let Some(f) = final_ {
            values.push(f);
        }
        Ok(values)
    }

    /// Go's message for an argument that doesn't fit the function's parameter type,
    /// from the function's own `wrong type for value; expected T; got G`: literals are
    /// refused at evaluation (`expected string; found 1`), a nil from a pipeline or
    /// variable is an invalid value, a nil from a map is an `interface {}`.
    fn args_error(
        &self,
        dot: &Slot,
        ident: &'a Arg,
        args: &'a [Arg],
        values: &[Value],
        msg: String,
    ) -> GoError {
        let fallback = args.last().map_or(At::Arg(ident), At::Arg);
        if msg.starts_with("wrong number of args") {
            return self.error_at(Some(At::Arg(ident)), msg, None);
        }
        let Some(rest) = msg.strip_prefix("wrong type for value; expected ") else {
            return self.error_at(Some(fallback), msg, None);
        };
        let Some((expected, got)) = rest.split_once("; got ") else {
            return self.error_at(Some(fallback), msg, None);
        };
        for (i, arg) in args.iter().enumerate() {
            if let Arg::Nil { .. } = arg
                && got == "interface {}"
                && !can_be_nil(expected)
            {
                // Go's `evalArg` refuses a literal nil for a type that can't hold it.
                let m = format!("cannot assign nil to {expected}");
                return self.error_at(Some(At::Arg(arg)), m, None);
            }
            // Only a literal whose value has the refused type can be the one refused
            // (a values-file float reaching an int says `interface {}`).
            let refused = values.get(i).is_some_and(|v| {
                v.type_name() == got || (got == "interface {}" && matches!(v, Value::Float(_)))
            });
            if refused && let Some(m) = literal_mismatch(arg, expected, self.tree.cx()) {
                return self.error_at(Some(At::Arg(arg)), m, None);
            }
        }
        if got == "interface {}" {
            for (i, value) in values.iter().enumerate() {
                if !matches!(value, Value::Nil) {
                    continue;
                }
                let at = args.get(i).map_or(fallback, At::Arg);
                let invalid = args
                    .get(i)
                    .is_none_or(|arg| self.holds_invalid_nil(dot, arg));
                if invalid {
                    return self.error_at(
                        Some(at),
                        format!("invalid value; expected {expected}"),
                        None,
                    );
                }
                return self.error_at(Some(at), msg, None);
            }
        }
        for (i, value) in values.iter().enumerate() {
            if value.type_name() == got {
                let at = args.get(i).map_or(fallback, At::Arg);
                return self.error_at(Some(at), msg, None);
            }
        }
        self.error_at(Some(fallback), msg, None)
    }

    /// Calls function `name`; `args` are the explicit arguments, `final_` the value
    /// piped in. `cmd` is the command node (absent when the function is an argument).
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        dot: &Slot,
        func: Func,
        name: &str,
        ident: &'a Arg,
        cmd: Option<&'a Command>,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let call_at = match cmd {
            Some(c) => At::Cmd(c),
            None => At::Arg(ident),
        };
        let num_in = args.len() + usize::from(final_.is_some());
        let want = |this: &Self, n: usize| -> R<()> {
            if num_in != n {
                let msg = format!("wrong number of args for {name}: want {n} got {num_in}");
                return Err(this.error_at(Some(At::Arg(ident)), msg, None));
            }
            Ok(())
        };
        let want_at_least = |this: &Self, n: usize| -> R<()> {
            if num_in < n {
                let msg = format!(
                    "wrong number of args for {name}: want at least {n} got {}",
                    args.len()
                );
                return Err(this.error_at(Some(At::Arg(ident)), msg, None));
            }
            Ok(())
        };
        let b = match func {
            Func::Builtin(b) => b,
            Func::Include => {
                want(self, 2)?;
                let mut values = self.eval_args(dot, args, final_)?;
                copy_structs(&mut values);
                return self.include(call_at, ident, args, &values);
            }
            Func::Tpl => {
                want(self, 2)?;
                let mut values = self.eval_args(dot, args, final_)?;
                copy_structs(&mut values);
                return self.tpl(call_at, ident, args, &values);
            }
            Func::Ext(f) => {
                let mut values = self.eval_args(dot, args, final_)?;
                copy_structs(&mut values);
                if values.iter().any(|v| matches!(v, Value::Nil)) {
                    self.zero_nil_args(dot, name, args, &mut values);
                }
                return match f(&values) {
                    Ok(v) => Ok(v),
                    Err(FuncError::Args(msg)) => {
                        Err(self.args_error(dot, ident, args, &values, msg))
                    }
                    Err(FuncError::Call(msg)) => {
                        let msg = if (name == "required" || name == "fail")
                            && !msg.starts_with("HELM_ERR_START")
                        {
                            format!("HELM_ERR_START{msg}HELM_ERR_END")
                        } else {
                            msg
                        };
                        let full = format!("error calling {name}: {msg}");
                        Err(self.error_at(Some(call_at), full, Some(GoError::plain(msg))))
                    }
                };
            }
        };
        match b {
            Builtin::And | Builtin::Or => {
                want_at_least(self, 1)?;
                let is_or = b == Builtin::Or;
                let mut v = Value::Nil;
                for arg in args {
                    v = self.eval_arg(dot, arg)?;
                    if truth(&v) == is_or {
                        return Ok(v);
                    }
                }
                if let Some(f) = final_ {
                    v = f;
                }
                Ok(v)
            }
            Builtin::Not => {
                want(self, 1)?;
                let values = self.eval_args(dot, args, final_)?;
                Ok(Value::Bool(!truth(&values[0])))
            }
            _ => {
                match b {
                    Builtin::Len => want(self, 1)?,
                    Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => {
                        want(self, 2)?
                    }
                    Builtin::Index
                    | Builtin::Slice
                    | Builtin::Call
                    | Builtin::Eq
                    | Builtin::Printf => want_at_least(self, 1)?,
                    _ => {}
                }
                if b == Builtin::Printf
                    && let Some(first) = args.first()
                    && let Some(msg) = literal_mismatch(first, "string", self.tree.cx())
                {
                    return Err(self.error_at(Some(At::Arg(first)), msg, None));
                }
                let piped_nil = args.is_empty() && matches!(final_, Some(Value::Nil));
                let mut values = self.eval_args(dot, args, final_)?;
                // The printing builtins take `any`; the others Go's `reflect.Value`s,
                // which keep the address (`index`, `eq` of the same struct).
                if matches!(
                    b,
                    Builtin::Print
                        | Builtin::Printf
                        | Builtin::Println
                        | Builtin::Html
                        | Builtin::Js
                        | Builtin::Urlquery
                ) {
                    copy_structs(&mut values);
                }
                if b == Builtin::Printf && values[0].as_str().is_none() {
                    let msg = format!(
                        "wrong type for value; expected string; got {}",
                        values[0].type_name()
                    );
                    return Err(self.args_error(dot, ident, args, &values, msg));
                }
                if b == Builtin::Len
                    && (piped_nil
                        || (matches!(values.first(), Some(Value::Nil))
                            && args.first().is_some_and(|arg| {
                                is_invalid_source(arg) || self.holds_invalid_nil(dot, arg)
                            })))
                {
                    let msg = "reflect: call of reflect.Value.Type on zero Value".to_string();
                    let full = format!("error calling {name}: {msg}");
                    return Err(self.error_at(Some(call_at), full, Some(GoError::plain(msg))));
                }
                builtins::call(b, &values).map_err(|msg| {
                    let full = format!("error calling {name}: {msg}");
                    self.error_at(Some(call_at), full, Some(GoError::plain(msg)))
                })
            }
        }
    }

    fn include(
        &mut self,
        call_at: At<'_>,
        ident: &Arg,
        args: &[Arg],
        values: &[Value],
    ) -> R<Value> {
        let Value::String(name) = &values[0] else {
            let msg = format!(
                "wrong type for value; expected string; got {}",
                values[0].type_name()
            );
            let at = args.first().map_or(At::Arg(ident), At::Arg);
            return Err(self.error_at(Some(at), msg, None));
        };
        let fail = |this: &Self, cause: GoError| -> GoError {
            let msg = format!("error calling include: {}", cause.message());
            this.error_at(Some(call_at), msg, Some(cause))
        };
        {
            let mut included = self
                .shared
                .included
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if !included.contains_key(&**name) {
                included.insert(name.to_string(), 0);
            }
            let count = included.get_mut(&**name).unwrap_or_else(|| unreachable!());
            if *count > MAX_INCLUDE {
                drop(included);
                let cause = GoError::plain(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                ));
                return Err(fail(self, cause));
            }
            *count += 1;
        }
        let result = match self.scope.lookup(name) {
            None => Err(GoError::plain(format!(
                "template: no template {} associated with template \"gotpl\"",
                super::fmt::quote(name)
            ))),
            Some(tree) => {
                let (scope, shared, nest, data) =
                    (self.scope, self.shared, self.nest + 1, values[1].clone());
                let run = move || {
                    let mut out = GoBuf::default();
                    execute(scope, shared, tree, &tree.name, data, &mut out, nest).map(|()| out)
                };
                hop(nest, run).unwrap_or_else(|| Err(no_thread()))
            }
        };
        if let Some(count) = self
            .shared
            .included
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&**name)
        {
            *count -= 1;
        }
        match result {
            Ok(out) => Ok(out.into_value()),
            Err(cause) => Err(fail(self, cause)),
        }
    }

    fn tpl(&mut self, call_at: At<'_>, ident: &Arg, args: &[Arg], values: &[Value]) -> R<Value> {
        let Some(text) = values[0].as_str() else {
            let msg = format!(
                "wrong type for value; expected string; got {}",
                values[0].type_name()
            );
            let at = args.first().map_or(At::Arg(ident), At::Arg);
            return Err(self.error_at(Some(at), msg, None));
        };
        let fail = |this: &Self, cause: GoError| -> GoError {
            let msg = format!("error calling tpl: {}", cause.message());
            this.error_at(Some(call_at), msg, Some(cause))
        };
        let source: Arc<str> = Arc::from(text);
        let trees = match super::parse::parse("gotpl", &source, &mut Default::default()) {
            Ok(trees) => trees,
            Err(e) => {
                let mut cause = GoError::plain(e.0.clone());
                cause.layers.insert(
                    0,
                    Layer::other(format!(
                        "cannot parse template {}: {}",
                        super::fmt::quote(text),
                        e.0
                    )),
                );
                return Err(fail(self, cause));
            }
        };
        let mut overlay = TreeMap::default();
        let mut main = None;
        for tree in trees {
            let tree = Arc::new(tree);
            if &*tree.name == "gotpl" {
                main = Some(tree.clone());
            }
            let keep_old = super::ast::is_empty_tree(&tree.root, &tree.source)
                && self.scope.lookup(&tree.name).is_some();
            if !keep_old {
                overlay.insert(tree.name.clone(), tree);
            }
        }
        let Some(main) = main else {
            return Ok(Value::string(""));
        };
        let scope = Scope {
            trees: &overlay,
            parent: Some(self.scope),
        };
        let (shared, nest, data) = (self.shared, self.nest + 1, values[1].clone());
        let scope = &scope;
        let run = move || {
            let mut out = GoBuf::default();
            execute(scope, shared, &main, "gotpl", data, &mut out, nest).map(|()| out)
        };
        match hop(nest, run).unwrap_or_else(|| Err(no_thread())) {
            Ok(mut out) => {
                if super::has_no_value(out.as_bytes()) {
                    out.remove_all("<no value>");
                }
                Ok(out.into_value())
            }
            Err(mut cause) => {
                let msg = format!(
                    "error during tpl function execution for {}: {}",
                    super::fmt::quote(text),
                    cause.message()
                );
                cause.layers.insert(0, Layer::other(msg));
                Err(fail(self, cause))
            }
        }
    }
}

/// Whether a nil from this argument is Go's invalid value (from a pipeline or a bare
/// variable) rather than a nil `interface{}` (from a map field).
fn is_invalid_source(arg: &Arg) -> bool {
    match arg {
        Arg::Field { .. } | Arg::Chain { .. } => false,
        Arg::Variable { fields, .. } => fields.is_empty(),
        _ => true,
    }
}

/// Go's `canBeNil` for a type as Go prints it: maps, slices, pointers, functions,
/// channels and interfaces.
fn can_be_nil(type_name: &str) -> bool {
    ["[]", "map[", "*", "func", "chan ", "interface"]
        .iter()
        .any(|prefix| type_name.starts_with(prefix))
}

/// Go's `evalArg` error for a literal that can't be a parameter of type `expected`
/// (`cx` is the argument's tree's).
fn literal_mismatch(arg: &Arg, expected: &str, cx: Cx<'_>) -> Option<String> {
    let kind = match expected {
        "string" => "string",
        "int" | "int64" | "int32" | "int8" | "int16" | "uint" | "uint64" | "uint32" | "uint8" => {
            "integer"
        }
        "float64" | "float32" => "float",
        "bool" => "bool",
        "interface {}" => return None,
        other => {
            return match arg {
                Arg::Bool { .. } | Arg::Number { .. } | Arg::String { .. } => {
                    let arg = arg.show(cx);
                    Some(format!("can't handle {arg} for arg of type {other}"))
                }
                _ => None,
            };
        }
    };
    let fits = match arg {
        Arg::String { .. } => kind == "string",
        Arg::Bool { .. } => kind == "bool",
        Arg::Number { value, .. } => match value {
            Number::Int(_) => kind == "integer" || kind == "float",
            Number::Float(f) => kind == "float" || (kind == "integer" && f.fract() == 0.0),
            Number::Bad(_) => false,
        },
        _ => return None,
    };
    if fits {
        None
    } else {
        Some(format!("expected {kind}; found {}", arg.show(cx)))
    }
}

/// The node Go's `state.at` last pointed to after evaluating `pipe`, a pipeline of
/// `tree`.
fn last_at<'n>(tree: &'n Tree, pipe: &Pipe) -> Option<At<'n>> {
    let args = tree.args(tree.commands(pipe).last()?);
    let arg = match args.first()? {
        Arg::Ident { .. } => args.last()?,
        first => first,
    };
    Some(At::Arg(arg))
}

/// Go's `%v` of a value, as errors print it.
fn value_text(v: &Value) -> String {
    let mut s = String::new();
    super::fmt::write_value(&mut s, v);
    s
}

/// Go's `printValue`: what `{{ pipeline }}` writes.
fn print_value(out: &mut GoBuf, v: &Value) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::String(s) => out.push_str(s),
        Value::ByteString(b) => out.push_bytes(b.bytes()),
        Value::Int(i) | Value::Int64(i) => {
            use std::fmt::Write;
            let _ = write!(out, "{i}");
        }
        Value::Uint64(u) => {
            use std::fmt::Write;
            let _ = write!(out, "{u}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Object(object) => out.push_str(&object.template_string()),
        other => super::fmt::write_value(out, other),
    }
}

/// Go passes a struct to a function's `any` parameter as a copy, which `{{ }}` then
/// prints by its fields rather than by its pointer's `String` method.
fn copy_structs(values: &mut ArgValues) {
    for value in values.iter_mut() {
        if let Value::Object(object) = value
            && let Some(copy) = object.copied()
        {
            *value = copy;
        }
    }
}
