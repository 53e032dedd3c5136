//! Per-file facts of a Python module: what it imports, what it calls and binds at module
//! level, in source order. Computed once per chunk (with chunk-relative offsets) and merged,
//! so rules never re-walk the tree to learn them.

use tree_sitter::Node;

/// One name bound by a module-level `import` or `from … import …`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Import {
    /// The module imported from (`fastapi`, `opentelemetry.instrumentation.auto_instrumentation`);
    /// for `import a.b` the full dotted path.
    pub module: String,
    /// The imported member for `from m import name`, `None` for `import m`; `*` for a wildcard.
    pub name: Option<String>,
    /// The local name bound (`as` alias, or the first component for `import a.b`).
    pub bound: String,
    /// Start byte of the import statement.
    pub stmt_start: usize,
    /// End byte of the import statement.
    pub stmt_end: usize,
    /// Start byte of the top-level statement containing the import (the import itself, or
    /// the `try`/`if`/`def` around it): where code can be moved or inserted.
    pub top_start: usize,
    /// End byte of that top-level statement.
    pub top_end: usize,
    /// Under `if TYPE_CHECKING:`: never executed.
    pub type_checking: bool,
    /// Inside a function or class body rather than at module level.
    pub nested: bool,
}

/// A module-level call (not inside a `def`), by its callee's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Call {
    /// The callee as written, white space removed: `initialize`, `fastapi.FastAPI`.
    pub callee: String,
    /// Start byte of the call expression.
    pub start: usize,
    /// End byte of the call expression.
    pub end: usize,
    /// The name the result is assigned to (`app = Flask(...)` → `app`).
    pub assigned_to: Option<String>,
    /// Start byte of the module-level statement containing the call.
    pub stmt_start: usize,
    /// End byte of that module-level statement.
    pub stmt_end: usize,
    /// Whether the statement sits under an `if`/`try`/`with`/`for`/`while` at module level.
    pub guarded: bool,
    /// Under `if TYPE_CHECKING:`: never executed.
    pub type_checking: bool,
    /// Whether every argument is a literal (`True`, `1`, `"x"`, `None`, …), possibly as a
    /// keyword argument: the call does not depend on names bound elsewhere in the module.
    pub literal_args: bool,
}

impl Call {
    /// Whether the call is the whole top-level statement (`initialize()` on its own, not
    /// assigned, not inside a block).
    pub fn is_whole_statement(&self) -> bool {
        !self.guarded && self.start == self.stmt_start && self.end == self.stmt_end
    }
}

/// A module-level function definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionDef {
    /// The function's name.
    pub name: String,
    /// Start byte of the definition (decorators included).
    pub start: usize,
    /// Whether its body calls `Flask(...)` (or `<module>.Flask(...)`): an app factory.
    pub creates_flask: bool,
    /// The calls of its body in source order (nested definitions and lambdas left out), kept
    /// only when the body names one of [`FLOW_NAMES`] (Django's handler entry points or its
    /// instrumentor): statement order inside a function matters to one rule only (OTEL008),
    /// and recording every call of every function would cost memory for nothing.
    pub flow: Vec<FlowCall>,
}

/// Names whose mention in a function body makes [`chunk_facts`] record the body's calls
/// ([`FunctionDef::flow`]).
pub const FLOW_NAMES: &[&str] = &[
    "DjangoInstrumentor",
    "execute_from_command_line",
    "get_wsgi_application",
    "get_asgi_application",
    "WSGIHandler",
    "ASGIHandler",
];

/// One call in a function body, with where it sits in the body's blocks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowCall {
    /// The callee as written, white space removed.
    pub callee: String,
    /// Start byte of the call expression.
    pub start: usize,
    /// End byte of the call expression.
    pub end: usize,
    /// The innermost block holding the call's statement (the body itself for a statement of
    /// the body): start and end byte.
    pub block: (usize, usize),
    /// The statement of that block that holds the call: start and end byte.
    pub stmt: (usize, usize),
    /// The statement of the function body that holds the call: start and end byte.
    pub body_stmt: (usize, usize),
}

impl FlowCall {
    /// Whether this call runs before `later` whenever `later` runs: its statement is a
    /// direct statement of a block that also holds `later`, and ends before it.
    pub fn dominates(&self, later: usize) -> bool {
        self.block.0 <= later && later < self.block.1 && self.stmt.1 <= later
    }

    fn shift(&mut self, by: usize) {
        self.start += by;
        self.end += by;
        self.block = (self.block.0 + by, self.block.1 + by);
        self.stmt = (self.stmt.0 + by, self.stmt.1 + by);
        self.body_stmt = (self.body_stmt.0 + by, self.body_stmt.1 + by);
    }
}

/// A call anywhere in the module (module level or inside a function or class body) whose
/// callee's last name is one of [`NOTABLE_CALLS`]: what a rule must know of the whole module
/// beyond module-level statements (a `setLevel(…)` inside `def setup_logging()`, say).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotableCall {
    /// The callee as written, white space removed: `logging.getLogger().setLevel`.
    pub callee: String,
    /// The positional arguments, white space removed.
    pub args: Vec<String>,
    /// The keyword arguments: name and value, white space removed (`**x` as name `**`).
    pub keywords: Vec<(String, String)>,
    /// Start byte of the call expression.
    pub start: usize,
}

impl NotableCall {
    /// The callee's last name: `setLevel` for `logging.getLogger().setLevel`.
    pub fn name(&self) -> &str {
        last_name(&self.callee)
    }

    /// The receiver of a method call (`logging.getLogger()` for `logging.getLogger().setLevel`).
    pub fn receiver(&self) -> Option<&str> {
        let n = self.name();
        self.callee
            .strip_suffix(n)
            .and_then(|r| r.strip_suffix('.'))
    }

    /// The value of keyword argument `name`.
    pub fn keyword(&self, name: &str) -> Option<&str> {
        self.keywords
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The last name of a dotted callee (`a.b().c` → `c`).
fn last_name(callee: &str) -> &str {
    callee.rsplit('.').next().unwrap_or(callee)
}

/// The callee names recorded as [`NotableCall`]s wherever they are called: logging levels and
/// handlers (OTEL062), manual spans and programmatic auto-instrumentation (OTEL063).
pub const NOTABLE_CALLS: &[&str] = &[
    "setLevel",
    "basicConfig",
    "dictConfig",
    "fileConfig",
    "addHandler",
    "instrument",
    "initialize",
    "start_as_current_span",
    "start_span",
];

/// A call `<receiver>.run(...)` at module level or in the body of a module-level function
/// (not in a class, a nested function or a lambda): how a Flask app starts its development
/// server, with what decides whether its reloader runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunCall {
    /// The receiver as written, white space removed: `app`, `create_app()`.
    pub receiver: String,
    /// In a function body: the callee of the last assignment `<receiver> = <call>(...)` of
    /// that body before the call (`server = Flask(__name__)` → `Flask`), if any.
    pub local_ctor: Option<String>,
    /// The module-level function whose body holds the call; `None` at module level.
    pub function: Option<String>,
    /// Start byte of the call expression.
    pub start: usize,
    /// End byte of the call expression.
    pub end: usize,
    /// Whether debug mode and the reloader are left to the app's configuration and
    /// `FLASK_DEBUG`: no `debug=` or `use_reloader=` keyword, no third positional argument
    /// (`debug`), no `*args`/`**options`, and the arguments parse.
    pub follows_config: bool,
    /// Where an argument is appended: the end of the last argument, or just after `(`.
    pub insert_at: usize,
    /// Whether the call has any argument (an appended one then needs `, `).
    pub has_args: bool,
}

/// Facts of a module or of one chunk of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PyFacts {
    /// Imports in source order (module level, and nested ones marked `nested`).
    pub imports: Vec<Import>,
    /// Module-level calls in source order.
    pub calls: Vec<Call>,
    /// Module-level function definitions.
    pub functions: Vec<FunctionDef>,
    /// `<receiver>.run(...)` calls in source order (see [`RunCall`]).
    pub runs: Vec<RunCall>,
    /// Start bytes of the top-level statements, in order: the module's statement order.
    pub statements: Vec<usize>,
    /// End byte of the module docstring and `from __future__` imports: the earliest place
    /// a statement may be inserted.
    pub header_end: Option<usize>,
    /// The literal settings module the module defaults `DJANGO_SETTINGS_MODULE` to
    /// (`os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")`, anywhere in
    /// the module), when it does.
    pub django_settings: Option<String>,
    /// Calls of [`NOTABLE_CALLS`] names anywhere in the module, in source order.
    pub notable_calls: Vec<NotableCall>,
}

impl PyFacts {
    /// Appends the facts of the next chunk, which starts at byte `offset`.
    pub fn extend_from(&mut self, other: &PyFacts, offset: usize) {
        self.imports.extend(other.imports.iter().map(|i| Import {
            stmt_start: i.stmt_start + offset,
            stmt_end: i.stmt_end + offset,
            top_start: i.top_start + offset,
            top_end: i.top_end + offset,
            ..i.clone()
        }));
        self.calls.extend(other.calls.iter().map(|c| Call {
            start: c.start + offset,
            end: c.end + offset,
            stmt_start: c.stmt_start + offset,
            stmt_end: c.stmt_end + offset,
            ..c.clone()
        }));
        self.functions.extend(other.functions.iter().map(|f| {
            let mut f = f.clone();
            f.start += offset;
            for c in &mut f.flow {
                c.shift(offset);
            }
            f
        }));
        self.runs.extend(other.runs.iter().map(|r| RunCall {
            start: r.start + offset,
            end: r.end + offset,
            insert_at: r.insert_at + offset,
            ..r.clone()
        }));
        self.statements
            .extend(other.statements.iter().map(|s| s + offset));
        self.notable_calls
            .extend(other.notable_calls.iter().map(|c| NotableCall {
                start: c.start + offset,
                ..c.clone()
            }));
        if self.header_end.is_none() && offset == 0 {
            self.header_end = other.header_end;
        }
        if self.django_settings.is_none() {
            self.django_settings.clone_from(&other.django_settings);
        }
    }

    /// Whether the module imports any `opentelemetry` module (anywhere in the file).
    pub fn imports_opentelemetry(&self) -> bool {
        self.imports
            .iter()
            .any(|i| i.module == "opentelemetry" || i.module.starts_with("opentelemetry."))
    }

    /// Whether the module imports `module` (or a submodule of it) anywhere.
    pub fn imports_module(&self, module: &str) -> bool {
        self.imports.iter().any(|i| {
            i.module == module
                || (i.module.starts_with(module) && i.module[module.len()..].starts_with('.'))
        })
    }

    /// Local names bound to `module.member` by executed (non-TYPE_CHECKING) imports.
    pub fn names_bound_to<'a>(
        &'a self,
        module: &'a str,
        member: &'a str,
    ) -> impl Iterator<Item = &'a Import> + 'a {
        self.imports.iter().filter(move |i| {
            !i.type_checking && i.module == module && i.name.as_deref() == Some(member)
        })
    }

    /// Local names bound to the module object `module` by `import module [as x]`.
    pub fn module_aliases<'a>(&'a self, module: &'a str) -> impl Iterator<Item = &'a Import> + 'a {
        self.imports
            .iter()
            .filter(move |i| !i.type_checking && i.name.is_none() && i.module == module)
    }

    /// The expressions that name the module object `module` through executed module-level
    /// imports, each with its import: `import m` → `m`; `import m as x` → `x`;
    /// `import m.sub` → `m` (importing a submodule binds and loads its package, so `m.sub`
    /// is spelled out in full);
    /// `from p import m [as x]` where `p.m` is `module` → `m` (or `x`).
    pub fn module_refs<'a>(
        &'a self,
        module: &'a str,
    ) -> impl Iterator<Item = (String, &'a Import)> + 'a {
        self.imports
            .iter()
            .filter(|i| i.is_executed())
            .filter_map(move |i| {
                match i.name.as_deref() {
                    None => {
                        let root = i.module.split('.').next().unwrap_or("");
                        let aliased = i.bound != root;
                        if aliased {
                            (i.module == module).then(|| i.bound.clone())
                        } else {
                            // `import a.b.c` binds `a` and loads `a`, `a.b` and `a.b.c`. (A bare
                            // `import a` does not load `a.b`: it does not count for `a.b`.)
                            let covers = i.module == module
                                || (i.module.starts_with(module)
                                    && i.module[module.len()..].starts_with('.'));
                            covers.then(|| module.to_string())
                        }
                    }
                    Some("*") => None,
                    Some(name) => {
                        let full = module.strip_suffix(name)?.strip_suffix('.')?;
                        (full == i.module).then(|| i.bound.clone())
                    }
                }
                .map(|r| (r, i))
            })
    }

    /// The expressions that name the class `module.class` through executed module-level
    /// imports, each with its import: `from m import C [as X]` → `C` (or `X`);
    /// `from m import *` → `C`; and `<ref>.C` for each of [`PyFacts::module_refs`].
    pub fn class_refs<'a>(&'a self, module: &'a str, class: &'a str) -> Vec<(String, &'a Import)> {
        let direct = self
            .imports
            .iter()
            .filter(|i| i.is_executed() && i.module == module)
            .filter_map(|i| match i.name.as_deref() {
                Some("*") => Some((class.to_string(), i)),
                Some(n) if n == class => Some((i.bound.clone(), i)),
                _ => None,
            });
        let via_module = self
            .module_refs(module)
            .map(|(r, i)| (format!("{r}.{class}"), i));
        direct.chain(via_module).collect()
    }
}

/// Top-level packages of web frameworks other than Flask: an `app` made by one of them is
/// not a Flask app, even in a module that also imports `flask`.
pub const OTHER_FRAMEWORKS: &[&str] = &[
    "aiohttp",
    "bottle",
    "connexion",
    "django",
    "falcon",
    "fastapi",
    "litestar",
    "quart",
    "sanic",
    "socketio",
    "starlette",
    "tornado",
];

/// Flask applications, as the module's facts tell (rules.md OTEL001: a name bound from
/// `Flask(...)`/`flask.Flask(...)` or from a local `create_app()` factory; fallback: `app` or
/// `application` in a module importing `flask`, unless another framework built it).
impl PyFacts {
    /// Whether `name` is a module-level function whose body calls `Flask(...)`.
    pub fn is_flask_factory(&self, name: &str) -> bool {
        self.functions
            .iter()
            .any(|d| d.creates_flask && d.name == name)
    }

    /// Whether a callee (white space removed) builds a Flask app: the class through an import
    /// (module level, or inside a function), or a local factory.
    pub fn is_flask_ctor(&self, callee: &str) -> bool {
        self.class_refs("flask", "Flask")
            .iter()
            .any(|(r, _)| r == callee)
            || self
                .names_bound_to("flask", "Flask")
                .any(|i| i.bound == callee)
            || self.is_flask_factory(callee)
    }

    /// Whether a module-level assignment binds `name` from a Flask constructor or factory.
    pub fn binds_flask_app(&self, name: &str) -> bool {
        self.calls
            .iter()
            .any(|c| c.assigned_to.as_deref() == Some(name) && self.is_flask_ctor(&c.callee))
    }

    /// The fallback: `name` is `app` or `application`, the module imports `flask`, and no
    /// module-level call of another framework (nor `built_by`, a local assignment's callee)
    /// built it.
    pub fn flask_app_by_name(&self, name: &str, built_by: Option<&str>) -> bool {
        if !matches!(name, "app" | "application") || !self.imports_module("flask") {
            return false;
        }
        let other = |callee: &str| {
            let root = callee.split('.').next().unwrap_or("");
            self.imports.iter().any(|i| {
                i.bound == root
                    && OTHER_FRAMEWORKS.contains(&i.module.split('.').next().unwrap_or(""))
            })
        };
        let module_level = self
            .calls
            .iter()
            .filter(|c| c.assigned_to.as_deref() == Some(name))
            .any(|c| other(&c.callee));
        !module_level && !built_by.is_some_and(other)
    }

    /// Whether the receiver of a `.run(...)` call is a Flask app: `create_app()` with a local
    /// factory, a name a local assignment built from a Flask constructor, or a module-level
    /// Flask app (by binding, else by the fallback).
    pub fn is_flask_run(&self, r: &RunCall) -> bool {
        if let Some(callee) = r.receiver.strip_suffix(')') {
            let f = callee.split('(').next().unwrap_or("");
            return callee.contains('(') && self.is_flask_factory(f);
        }
        match r.local_ctor.as_deref() {
            Some(c) if self.is_flask_ctor(c) => true,
            Some(c) => self.flask_app_by_name(&r.receiver, Some(c)),
            None => self.binds_flask_app(&r.receiver) || self.flask_app_by_name(&r.receiver, None),
        }
    }
}

impl Import {
    /// Whether the import runs when the module is imported: not under `if TYPE_CHECKING:`
    /// and not inside a function or class body.
    pub fn is_executed(&self) -> bool {
        !self.type_checking && !self.nested
    }

    /// Whether it is a relative import (`from . import x`, `from .db import y`).
    pub fn is_relative(&self) -> bool {
        self.module.starts_with('.')
    }
}

/// Computes the facts of one parsed chunk (offsets relative to the chunk's text).
pub fn chunk_facts(root: Node, src: &str, first_chunk: bool) -> PyFacts {
    let mut facts = PyFacts::default();
    let mut cursor = root.walk();
    let mut header_end = if first_chunk { Some(0) } else { None };
    let mut header_open = first_chunk;
    for stmt in root.named_children(&mut cursor) {
        if stmt.kind() == "comment" {
            continue;
        }
        facts.statements.push(stmt.start_byte());
        if header_open {
            if is_docstring(stmt) || stmt.kind() == "future_import_statement" {
                header_end = Some(stmt.end_byte());
            } else {
                header_open = false;
            }
        }
        let top = Top {
            start: stmt.start_byte(),
            end: stmt.end_byte(),
        };
        walk_statement(stmt, src, &mut facts, top, false, false);
        // Imports inside functions still tell us what the module uses (OTel context).
        collect_nested_imports(stmt, src, top, &mut facts.imports);
        collect_runs(stmt, src, &mut facts.runs);
    }
    facts.header_end = header_end;
    facts.imports.sort_by_key(|i| (i.stmt_start, i.nested));
    if src.contains("DJANGO_SETTINGS_MODULE") {
        facts.django_settings = settings_default(root, src);
    }
    collect_notable_calls(root, src, &mut facts.notable_calls);
    facts
}

/// The value of the first `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "<literal>")`
/// (also `environ.setdefault`) under `root`.
fn settings_default(root: Node, src: &str) -> Option<String> {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.kind() == "call" {
            let callee = n
                .child_by_field_name("function")
                .map(|f| compact(text(f, src)))
                .unwrap_or_default();
            if callee == "environ.setdefault" || callee.ends_with(".environ.setdefault") {
                let args = n.child_by_field_name("arguments");
                let mut c = args.map(|a| a.walk());
                let vals: Vec<Node> = match (args, c.as_mut()) {
                    (Some(a), Some(c)) => a.named_children(c).collect(),
                    _ => Vec::new(),
                };
                if let [k, v] = vals[..] {
                    if string_value(k, src).as_deref() == Some("DJANGO_SETTINGS_MODULE") {
                        if let Some(v) = string_value(v, src) {
                            return Some(v);
                        }
                    }
                }
            }
        }
        let mut c = n.walk();
        let children: Vec<Node> = n.named_children(&mut c).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}

/// The value of a plain string literal (no interpolation, no escapes).
fn string_value(n: Node, src: &str) -> Option<String> {
    if n.kind() != "string" || !is_literal(n) {
        return None;
    }
    let t = text(n, src);
    let body = t.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let q = body.chars().next()?;
    if q != '"' && q != '\'' || body.len() < 2 || body.starts_with(&q.to_string().repeat(3)) {
        return None;
    }
    let inner = body.get(1..body.len() - 1)?;
    (!inner.contains('\\') && !inner.contains(q)).then(|| inner.to_string())
}

/// Records the [`NOTABLE_CALLS`] of a chunk. Most chunks name none of them: a byte search
/// decides before any node is visited.
fn collect_notable_calls(root: Node, src: &str, out: &mut Vec<NotableCall>) {
    let bytes = src.as_bytes().get(root.byte_range()).unwrap_or(&[]);
    if !NOTABLE_CALLS
        .iter()
        .any(|n| memchr::memmem::find(bytes, n.as_bytes()).is_some())
    {
        return;
    }
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.kind() == "comment" || node.kind() == "string" {
            continue;
        }
        if node.kind() == "call" {
            if let Some(f) = node.child_by_field_name("function") {
                let callee = compact(text(f, src));
                if NOTABLE_CALLS.contains(&last_name(&callee)) {
                    let mut args = Vec::new();
                    let mut keywords = Vec::new();
                    if let Some(a) = node.child_by_field_name("arguments") {
                        let mut c = a.walk();
                        for arg in a.named_children(&mut c) {
                            match arg.kind() {
                                "comment" => {}
                                "keyword_argument" => {
                                    let k = arg
                                        .child_by_field_name("name")
                                        .map(|n| text(n, src).to_string())
                                        .unwrap_or_default();
                                    let v = arg
                                        .child_by_field_name("value")
                                        .map(|v| compact(text(v, src)))
                                        .unwrap_or_default();
                                    keywords.push((k, v));
                                }
                                "dictionary_splat" => {
                                    keywords.push(("**".to_string(), compact(text(arg, src))))
                                }
                                _ => args.push(compact(text(arg, src))),
                            }
                        }
                    }
                    out.push(NotableCall {
                        callee,
                        args,
                        keywords,
                        start: node.start_byte(),
                    });
                }
            }
        }
        let mut c = node.walk();
        let children: Vec<Node> = node.named_children(&mut c).collect();
        stack.extend(children.into_iter().rev());
    }
}

/// The byte range of the top-level statement being walked.
#[derive(Clone, Copy)]
struct Top {
    start: usize,
    end: usize,
}

fn is_docstring(stmt: Node) -> bool {
    stmt.kind() == "expression_statement"
        && stmt.named_child_count() == 1
        && stmt.named_child(0).is_some_and(|c| c.kind() == "string")
}

fn text<'s>(node: Node, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// How an `if` condition relates to `typing.TYPE_CHECKING`, which is false at run time.
#[derive(PartialEq)]
enum TypeCheckingTest {
    /// `if TYPE_CHECKING:` / `if typing.TYPE_CHECKING:`: the body never runs.
    Is,
    /// `if not TYPE_CHECKING:`: the body runs, the `else:` never does.
    IsNot,
    /// Anything else.
    Other,
}

fn type_checking_test(cond: Node, src: &str) -> TypeCheckingTest {
    let names_it = |n: Node| {
        let t = compact(text(n, src));
        t == "TYPE_CHECKING" || t.ends_with(".TYPE_CHECKING")
    };
    match cond.kind() {
        "identifier" | "attribute" if names_it(cond) => TypeCheckingTest::Is,
        "not_operator" => match cond.child_by_field_name("argument") {
            Some(a) if matches!(a.kind(), "identifier" | "attribute") && names_it(a) => {
                TypeCheckingTest::IsNot
            }
            _ => TypeCheckingTest::Other,
        },
        "parenthesized_expression" => match cond.named_child(0) {
            Some(inner) => type_checking_test(inner, src),
            None => TypeCheckingTest::Other,
        },
        _ => TypeCheckingTest::Other,
    }
}

/// Walks one module-level statement, descending into control flow that runs at import time.
/// `guarded` is set below the top level (inside an `if`/`try`/`with`/loop body).
fn walk_statement(
    stmt: Node,
    src: &str,
    facts: &mut PyFacts,
    top: Top,
    guarded: bool,
    type_checking: bool,
) {
    match stmt.kind() {
        "import_statement" | "import_from_statement" | "future_import_statement" => {
            imports_of(stmt, src, top, type_checking, false, &mut facts.imports);
        }
        "expression_statement" => {
            let mut c = stmt.walk();
            for expr in stmt.named_children(&mut c) {
                let site = Site {
                    top,
                    guarded,
                    type_checking,
                };
                record_expression(expr, src, facts, site, None);
            }
        }
        "function_definition" => facts
            .functions
            .push(function_def(stmt, stmt.start_byte(), src)),
        "decorated_definition" => {
            if let Some(def) = stmt.child_by_field_name("definition") {
                if def.kind() == "function_definition" {
                    facts
                        .functions
                        .push(function_def(def, stmt.start_byte(), src));
                }
            }
        }
        "if_statement" => {
            let test = stmt
                .child_by_field_name("condition")
                .map_or(TypeCheckingTest::Other, |c| type_checking_test(c, src));
            let body_tc = type_checking || test == TypeCheckingTest::Is;
            let else_tc = type_checking || test == TypeCheckingTest::IsNot;
            if let Some(body) = stmt.child_by_field_name("consequence") {
                walk_block(body, src, facts, top, body_tc);
            }
            let mut c = stmt.walk();
            for alt in stmt.children_by_field_name("alternative", &mut c) {
                match alt.kind() {
                    // An `elif` runs when `TYPE_CHECKING` is false, like an `else`.
                    "elif_clause" => {
                        if let Some(body) = alt.child_by_field_name("consequence") {
                            walk_block(body, src, facts, top, else_tc);
                        }
                    }
                    "else_clause" => {
                        if let Some(body) = alt.child_by_field_name("body") {
                            walk_block(body, src, facts, top, else_tc);
                        }
                    }
                    _ => {}
                }
            }
        }
        "try_statement" | "with_statement" | "for_statement" | "while_statement" => {
            let mut c = stmt.walk();
            for child in stmt.named_children(&mut c) {
                match child.kind() {
                    "block" => walk_block(child, src, facts, top, type_checking),
                    "except_clause" | "else_clause" | "finally_clause" | "except_group_clause" => {
                        let mut c2 = child.walk();
                        for b in child.named_children(&mut c2) {
                            if b.kind() == "block" {
                                walk_block(b, src, facts, top, type_checking);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn walk_block(block: Node, src: &str, facts: &mut PyFacts, top: Top, type_checking: bool) {
    let mut c = block.walk();
    for s in block.named_children(&mut c) {
        walk_statement(s, src, facts, top, true, type_checking);
    }
}

/// Where an expression sits: its top-level statement and the blocks around it.
#[derive(Clone, Copy)]
struct Site {
    top: Top,
    guarded: bool,
    type_checking: bool,
}

fn record_expression(
    expr: Node,
    src: &str,
    facts: &mut PyFacts,
    site: Site,
    assigned_to: Option<String>,
) {
    match expr.kind() {
        "call" => {
            if let Some(f) = expr.child_by_field_name("function") {
                facts.calls.push(Call {
                    callee: compact(text(f, src)),
                    start: expr.start_byte(),
                    end: expr.end_byte(),
                    assigned_to,
                    stmt_start: site.top.start,
                    stmt_end: site.top.end,
                    guarded: site.guarded,
                    type_checking: site.type_checking,
                    literal_args: expr
                        .child_by_field_name("arguments")
                        .is_some_and(|a| all_literal_args(a)),
                });
            }
        }
        "assignment" => {
            let target = expr
                .child_by_field_name("left")
                .filter(|l| l.kind() == "identifier")
                .map(|l| text(l, src).to_string());
            if let Some(right) = expr.child_by_field_name("right") {
                record_expression(right, src, facts, site, target);
            }
        }
        "await" => {
            if let Some(inner) = expr.named_child(0) {
                record_expression(inner, src, facts, site, assigned_to);
            }
        }
        _ => {}
    }
}

/// Whether every argument of an `argument_list` is a literal constant (also as a keyword
/// argument's value). Errors and splats are not literals.
fn all_literal_args(args: Node) -> bool {
    if args.kind() != "argument_list" || args.has_error() {
        return false;
    }
    let mut c = args.walk();
    let ok = args.named_children(&mut c).all(|a| {
        let value = if a.kind() == "keyword_argument" {
            a.child_by_field_name("value")
        } else {
            Some(a)
        };
        value.is_some_and(is_literal)
    });
    ok
}

fn is_literal(n: Node) -> bool {
    match n.kind() {
        "true" | "false" | "none" | "integer" | "float" => true,
        // An f-string interpolates names.
        "string" => {
            let mut c = n.walk();
            let interpolated = n
                .named_children(&mut c)
                .any(|ch| ch.kind() == "interpolation");
            !interpolated
        }
        "concatenated_string" => {
            let mut c = n.walk();
            let all = n.named_children(&mut c).all(is_literal);
            all
        }
        "unary_operator" => n.child_by_field_name("argument").is_some_and(is_literal),
        _ => false,
    }
}

fn function_def(def: Node, start: usize, src: &str) -> FunctionDef {
    let name = def
        .child_by_field_name("name")
        .map(|n| text(n, src).to_string())
        .unwrap_or_default();
    let body = def
        .child_by_field_name("body")
        .map(|b| text(b, src))
        .unwrap_or("");
    let flow = match def.child_by_field_name("body") {
        Some(b) if FLOW_NAMES.iter().any(|n| body.contains(n)) => flow_calls(b, src),
        _ => Vec::new(),
    };
    FunctionDef {
        name,
        start,
        creates_flask: calls_flask(body),
        flow,
    }
}

/// The calls of a function body in source order, each with its block and statements.
fn flow_calls(body: Node, src: &str) -> Vec<FlowCall> {
    let mut out = Vec::new();
    let whole = (body.start_byte(), body.end_byte());
    let mut c = body.walk();
    for stmt in body.named_children(&mut c) {
        let s = (stmt.start_byte(), stmt.end_byte());
        flow_in(stmt, src, whole, s, s, &mut out);
    }
    out.sort_by_key(|f| f.start);
    out
}

/// Records the calls under `node`, which sits in `block` inside the statement `stmt` of that
/// block (and `body_stmt` of the function body).
fn flow_in(
    node: Node,
    src: &str,
    block: (usize, usize),
    stmt: (usize, usize),
    body_stmt: (usize, usize),
    out: &mut Vec<FlowCall>,
) {
    match node.kind() {
        "function_definition" | "class_definition" | "lambda" | "decorated_definition" => return,
        "block" => {
            let b = (node.start_byte(), node.end_byte());
            let mut c = node.walk();
            for s in node.named_children(&mut c) {
                flow_in(s, src, b, (s.start_byte(), s.end_byte()), body_stmt, out);
            }
            return;
        }
        "call" => {
            if let Some(f) = node.child_by_field_name("function") {
                out.push(FlowCall {
                    callee: compact(text(f, src)),
                    start: node.start_byte(),
                    end: node.end_byte(),
                    block,
                    stmt,
                    body_stmt,
                });
            }
        }
        _ => {}
    }
    let mut c = node.walk();
    for ch in node.named_children(&mut c) {
        flow_in(ch, src, block, stmt, body_stmt, out);
    }
}

/// Whether `body` contains `Flask(` as a whole name (`Flask(`, `flask.Flask(`), not as the
/// tail of another (`MyFlask(`).
fn calls_flask(body: &str) -> bool {
    body.match_indices("Flask(").any(|(at, _)| {
        let before = body[..at].chars().next_back();
        !matches!(before, Some(c) if c.is_alphanumeric() || c == '_')
    })
}

/// Records the `<receiver>.run(...)` calls of one top-level statement: at module level, or
/// in the body of a module-level function (with the assignments of that body before each
/// call). Classes, nested functions and lambdas are not entered. A statement without `run`
/// in its text is not walked at all.
fn collect_runs(stmt: Node, src: &str, out: &mut Vec<RunCall>) {
    if memchr::memmem::find(text(stmt, src).as_bytes(), b"run").is_none() {
        return;
    }
    let def = match stmt.kind() {
        "function_definition" => Some(stmt),
        "decorated_definition" => stmt
            .child_by_field_name("definition")
            .filter(|d| d.kind() == "function_definition"),
        "class_definition" => return,
        _ => None,
    };
    let (root, function) = match def {
        Some(d) => {
            let Some(body) = d.child_by_field_name("body") else {
                return;
            };
            let name = d
                .child_by_field_name("name")
                .map(|n| text(n, src).to_string());
            (body, name)
        }
        None => (stmt, None),
    };
    let mut calls: Vec<Node> = Vec::new();
    // `(name, callee, start)` of the body's `name = callee(...)` assignments.
    let mut assigned: Vec<(String, String, usize)> = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "function_definition" | "class_definition" | "lambda" | "decorated_definition"
                if n != root =>
            {
                continue
            }
            "call" => {
                let is_run = n
                    .child_by_field_name("function")
                    .filter(|f| f.kind() == "attribute")
                    .and_then(|f| f.child_by_field_name("attribute"))
                    .is_some_and(|a| text(a, src) == "run");
                if is_run {
                    calls.push(n);
                }
            }
            "assignment" if function.is_some() => {
                let left = n
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "identifier");
                let callee = n
                    .child_by_field_name("right")
                    .filter(|r| r.kind() == "call")
                    .and_then(|r| r.child_by_field_name("function"));
                if let (Some(l), Some(c)) = (left, callee) {
                    assigned.push((
                        text(l, src).to_string(),
                        compact(text(c, src)),
                        n.start_byte(),
                    ));
                }
            }
            _ => {}
        }
        let mut c = n.walk();
        for child in n.named_children(&mut c) {
            stack.push(child);
        }
    }
    calls.sort_by_key(|c| c.start_byte());
    for call in calls {
        let Some(recv) = call
            .child_by_field_name("function")
            .and_then(|f| f.child_by_field_name("object"))
        else {
            continue;
        };
        let receiver = compact(text(recv, src));
        let local_ctor = assigned
            .iter()
            .filter(|(name, _, at)| *name == receiver && *at < call.start_byte())
            .max_by_key(|(_, _, at)| *at)
            .map(|(_, callee, _)| callee.clone());
        let args = call.child_by_field_name("arguments");
        let (follows_config, insert_at, has_args) = match args {
            Some(a) if a.kind() == "argument_list" => run_arguments(a, src),
            _ => (false, call.end_byte(), false),
        };
        out.push(RunCall {
            receiver,
            local_ctor,
            function: function.clone(),
            start: call.start_byte(),
            end: call.end_byte(),
            follows_config,
            insert_at,
            has_args,
        });
    }
}

/// For [`RunCall`]: whether the arguments leave debug mode and the reloader to the app's
/// configuration, where an argument is appended, and whether there are any.
fn run_arguments(args: Node, src: &str) -> (bool, usize, bool) {
    let mut c = args.walk();
    let list: Vec<Node> = args
        .named_children(&mut c)
        .filter(|a| a.kind() != "comment")
        .collect();
    let mut positional = 0;
    let mut decided = args.has_error();
    for a in &list {
        match a.kind() {
            "keyword_argument" => {
                let name = a.child_by_field_name("name").map(|n| text(n, src));
                if matches!(name, Some("debug" | "use_reloader")) {
                    decided = true;
                }
            }
            "list_splat" | "dictionary_splat" => decided = true,
            _ => positional += 1,
        }
    }
    // `run(host, port, debug)`: the third positional argument is `debug`.
    if positional >= 3 {
        decided = true;
    }
    let insert_at = list
        .last()
        .map_or(args.start_byte() + 1, |last| last.end_byte());
    (!decided, insert_at, !list.is_empty())
}

/// Records the names an import statement binds.
fn imports_of(
    stmt: Node,
    src: &str,
    top: Top,
    type_checking: bool,
    nested: bool,
    out: &mut Vec<Import>,
) {
    let start = stmt.start_byte();
    let end = stmt.end_byte();
    let push = |out: &mut Vec<Import>, module: String, name: Option<String>, bound: String| {
        out.push(Import {
            module,
            name,
            bound,
            stmt_start: start,
            stmt_end: end,
            top_start: top.start,
            top_end: top.end,
            type_checking,
            nested,
        })
    };
    match stmt.kind() {
        "import_statement" => {
            let mut c = stmt.walk();
            for n in stmt.children_by_field_name("name", &mut c) {
                match n.kind() {
                    "dotted_name" => {
                        let m = compact(text(n, src));
                        let first = m.split('.').next().unwrap_or("").to_string();
                        push(out, m, None, first);
                    }
                    "aliased_import" => {
                        let m = n.child_by_field_name("name").map(|x| compact(text(x, src)));
                        let a = n
                            .child_by_field_name("alias")
                            .map(|x| text(x, src).to_string());
                        if let (Some(m), Some(a)) = (m, a) {
                            push(out, m, None, a);
                        }
                    }
                    _ => {}
                }
            }
        }
        "import_from_statement" => {
            let Some(module) = stmt.child_by_field_name("module_name") else {
                return;
            };
            let module = compact(text(module, src));
            let mut c = stmt.walk();
            let mut any = false;
            for n in stmt.children_by_field_name("name", &mut c) {
                any = true;
                match n.kind() {
                    "dotted_name" => {
                        let m = compact(text(n, src));
                        push(out, module.clone(), Some(m.clone()), m);
                    }
                    "aliased_import" => {
                        let m = n.child_by_field_name("name").map(|x| compact(text(x, src)));
                        let a = n
                            .child_by_field_name("alias")
                            .map(|x| text(x, src).to_string());
                        if let (Some(m), Some(a)) = (m, a) {
                            push(out, module.clone(), Some(m), a);
                        }
                    }
                    _ => {}
                }
            }
            if !any {
                let mut c = stmt.walk();
                if stmt
                    .named_children(&mut c)
                    .any(|n| n.kind() == "wildcard_import")
                {
                    push(out, module, Some("*".into()), "*".into());
                }
            }
        }
        _ => {}
    }
}

/// Imports inside the function and class bodies of one top-level statement, marked `nested`.
fn collect_nested_imports(stmt: Node, src: &str, top: Top, out: &mut Vec<Import>) {
    let mut stack = vec![(stmt, false)];
    while let Some((node, inside_def)) = stack.pop() {
        let kind = node.kind();
        if inside_def && matches!(kind, "import_statement" | "import_from_statement") {
            imports_of(node, src, top, false, true, out);
            continue;
        }
        // Only statements hold imports; skip expressions entirely for speed.
        let def = inside_def || matches!(kind, "function_definition" | "class_definition");
        let mut c = node.walk();
        for child in node.named_children(&mut c) {
            let k = child.kind();
            if k.ends_with("statement")
                || k.ends_with("definition")
                || k.ends_with("clause")
                || k == "block"
            {
                stack.push((child, def));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> PyFacts {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        let tree = p.parse(src, None).unwrap();
        chunk_facts(tree.root_node(), src, true)
    }

    #[test]
    fn notable_calls_anywhere() {
        let src = "import logging\n\ndef setup(h):\n    root = logging.getLogger()\n    root.addHandler(h)\n    # root.setLevel(0)\n    logging.basicConfig(level=logging.INFO, **extra)\n\nclass A:\n    def f(self):\n        with tracer.start_as_current_span(\"x\"):\n            pass\nprint(\"setLevel(1)\")\n";
        let f = facts(src);
        type Seen<'a> = (&'a str, Vec<String>, Vec<(String, String)>);
        let got: Vec<Seen> = f
            .notable_calls
            .iter()
            .map(|c| (c.name(), c.args.clone(), c.keywords.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("addHandler", vec!["h".to_string()], vec![]),
                (
                    "basicConfig",
                    vec![],
                    vec![
                        ("level".to_string(), "logging.INFO".to_string()),
                        ("**".to_string(), "**extra".to_string())
                    ]
                ),
                ("start_as_current_span", vec!["\"x\"".to_string()], vec![]),
            ]
        );
        assert_eq!(f.notable_calls[0].receiver(), Some("root"));
        assert_eq!(f.notable_calls[1].keyword("level"), Some("logging.INFO"));
        assert!(facts("import os\nos.getenv(\"X\")\n")
            .notable_calls
            .is_empty());
    }

    #[test]
    fn imports_and_calls() {
        let src = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport os, a.b as ab\nfrom fastapi import FastAPI as F, APIRouter\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from flask import Flask\nelse:\n    import json\napp = F()\ninitialize()\ndef make():\n    from opentelemetry import trace\n    return Flask(__name__)\n";
        let f = facts(src);
        let bound: Vec<&str> = f.imports.iter().map(|i| i.bound.as_str()).collect();
        assert_eq!(
            bound,
            [
                "os",
                "ab",
                "F",
                "APIRouter",
                "TYPE_CHECKING",
                "Flask",
                "json",
                "trace"
            ]
        );
        assert!(f.imports[5].type_checking);
        assert!(!f.imports[6].type_checking);
        assert!(f.imports[7].nested);
        assert!(f.imports_opentelemetry());
        let calls: Vec<(&str, Option<&str>)> = f
            .calls
            .iter()
            .map(|c| (c.callee.as_str(), c.assigned_to.as_deref()))
            .collect();
        assert_eq!(calls, [("F", Some("app")), ("initialize", None)]);
        assert_eq!(f.functions[0].name, "make");
        assert!(f.functions[0].creates_flask);
        assert_eq!(
            f.header_end,
            Some(src.find("annotations").unwrap() + "annotations".len())
        );
    }

    #[test]
    fn statement_spans_and_whole_statement_calls() {
        let src = "import os\ntry:\n    from fastapi import FastAPI\nexcept ImportError:\n    FastAPI = None\ninitialize()\nx = initialize(1, 'a', f'{os}')\nif os:\n    initialize(debug=True, level=-1)\ndef f():\n    import json\n";
        let f = facts(src);
        let fastapi = f.imports.iter().find(|i| i.module == "fastapi").unwrap();
        assert_eq!(
            &src[fastapi.stmt_start..fastapi.stmt_end],
            "from fastapi import FastAPI"
        );
        assert_eq!(fastapi.top_start, src.find("try:").unwrap());
        assert_eq!(
            fastapi.top_end,
            src.find("FastAPI = None").unwrap() + "FastAPI = None".len()
        );
        let json = f.imports.iter().find(|i| i.module == "json").unwrap();
        assert!(json.nested && !json.is_executed());
        assert_eq!(json.top_start, src.find("def f").unwrap());

        let [bare, assigned, guarded] = &f.calls[..] else {
            panic!("{:?}", f.calls);
        };
        assert_eq!(&src[bare.start..bare.end], "initialize()");
        assert!(bare.is_whole_statement() && bare.literal_args && !bare.guarded);
        assert!(!assigned.is_whole_statement() && !assigned.guarded);
        assert!(!assigned.literal_args, "an f-string interpolates names");
        assert!(guarded.guarded && !guarded.is_whole_statement() && guarded.literal_args);
        assert_eq!(guarded.stmt_start, src.find("if os:").unwrap());
    }

    #[test]
    fn type_checking_conditions() {
        let src = "import typing\nif typing.TYPE_CHECKING:\n    import a\n    b()\nelif x:\n    import c\nif not TYPE_CHECKING:\n    import d\nelse:\n    import e\nif (TYPE_CHECKING):\n    import f\nif TYPE_CHECKING or x:\n    import g\n";
        let f = facts(src);
        let tc: Vec<(&str, bool)> = f
            .imports
            .iter()
            .map(|i| (i.module.as_str(), i.type_checking))
            .collect();
        assert_eq!(
            tc,
            [
                ("typing", false),
                ("a", true),
                ("c", false),
                ("d", false),
                ("e", true),
                ("f", true),
                ("g", false)
            ]
        );
        assert!(f.calls[0].type_checking);
    }

    #[test]
    fn module_and_class_references() {
        let src = "import fastapi\nimport flask as fl\nimport starlette.applications\nfrom opentelemetry.instrumentation import auto_instrumentation as ai\nimport opentelemetry.instrumentation.auto_instrumentation.sitecustomize\nfrom flask import Flask as F, json\nfrom fastapi import *\nimport opentelemetry\nif TYPE_CHECKING:\n    import quart\n";
        let f = facts(src);
        let refs = |m: &str| f.module_refs(m).map(|(r, _)| r).collect::<Vec<_>>();
        assert_eq!(refs("fastapi"), ["fastapi"]);
        assert_eq!(refs("flask"), ["fl"]);
        assert_eq!(refs("starlette"), ["starlette"]);
        assert_eq!(refs("starlette.applications"), ["starlette.applications"]);
        let auto = "opentelemetry.instrumentation.auto_instrumentation";
        assert_eq!(refs(auto), ["ai", auto]);
        // A bare `import opentelemetry` does not load the submodule.
        assert_eq!(refs("opentelemetry.trace"), Vec::<String>::new());
        assert_eq!(refs("quart"), Vec::<String>::new());
        let classes = |m: &str, c: &str| {
            f.class_refs(m, c)
                .into_iter()
                .map(|(r, _)| r)
                .collect::<Vec<_>>()
        };
        assert_eq!(classes("flask", "Flask"), ["F", "fl.Flask"]);
        assert_eq!(
            classes("fastapi", "FastAPI"),
            ["FastAPI", "fastapi.FastAPI"]
        );
    }

    #[test]
    fn run_calls_and_what_decides_their_reloader() {
        let src = "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run(\n        host='0.0.0.0',\n    )\n    app.run(debug=True)\n    app.run(**opts)\n    app.run('h', 80, False)\n    create_app().run()\ndef main():\n    server = Flask(__name__)\n    server.run()\n    def inner():\n        app.run()\n    return lambda: app.run()\nclass C:\n    def m(self):\n        app.run()\ntracer.run(use_reloader=False)\n";
        let f = facts(src);
        let runs: Vec<(&str, Option<&str>, Option<&str>, bool)> = f
            .runs
            .iter()
            .map(|r| {
                (
                    r.receiver.as_str(),
                    r.local_ctor.as_deref(),
                    r.function.as_deref(),
                    r.follows_config,
                )
            })
            .collect();
        assert_eq!(
            runs,
            [
                ("app", None, None, true),
                ("app", None, None, false),
                ("app", None, None, false),
                ("app", None, None, false),
                ("create_app()", None, None, true),
                ("server", Some("Flask"), Some("main"), true),
                ("tracer", None, None, false),
            ]
        );
        // Appended after the last argument (a trailing comma stays after it), or after `(`.
        let first = &f.runs[0];
        assert!(first.has_args);
        assert_eq!(
            &src[..first.insert_at],
            &src[..src.find("'0.0.0.0'").unwrap() + 9]
        );
        let server = &f.runs[5];
        assert!(!server.has_args);
        assert_eq!(&src[server.insert_at - 11..server.insert_at], "server.run(");
        assert!(f.is_flask_run(&f.runs[0]) && f.is_flask_run(&f.runs[5]));
        assert!(
            !f.is_flask_run(&f.runs[4]),
            "`create_app` is no local factory"
        );
        assert!(!f.is_flask_run(&f.runs[6]));
    }

    #[test]
    fn flask_apps_by_binding_factory_and_fallback() {
        let f = facts("import flask\nfrom quart import Quart\nweb = flask.Flask('w')\nother = Quart('q')\ndef make():\n    return flask.Flask('m')\nm = make()\n");
        assert!(f.binds_flask_app("web") && f.binds_flask_app("m"));
        assert!(!f.binds_flask_app("other"));
        assert!(f.is_flask_factory("make") && f.is_flask_ctor("make"));
        assert!(f.flask_app_by_name("app", None));
        assert!(!f.flask_app_by_name("app", Some("Quart")));
        assert!(
            !f.flask_app_by_name("web", None),
            "only `app`/`application`"
        );
        let g = facts("import flask\nfrom quart import Quart\napp = Quart('q')\n");
        assert!(!g.flask_app_by_name("app", None));
    }

    #[test]
    fn flask_factories_by_whole_name() {
        assert!(calls_flask("return Flask(__name__)"));
        assert!(calls_flask("app = flask.Flask(__name__)"));
        assert!(calls_flask("Flask("));
        assert!(!calls_flask("return MyFlask()"));
        assert!(!calls_flask("return Flask"));
    }

    #[test]
    fn chunk_offsets_shift_every_position() {
        let mut all = PyFacts::default();
        let a = facts("import os\n");
        let b = facts("try:\n    import fastapi\nexcept ImportError:\n    pass\ninitialize()\n");
        all.extend_from(&a, 0);
        all.extend_from(&b, 10);
        let i = &all.imports[1];
        assert_eq!((i.stmt_start, i.top_start), (19, 10));
        let c = &all.calls[0];
        assert_eq!((c.start, c.end, c.stmt_start, c.stmt_end), (63, 75, 63, 75));
        assert_eq!(all.statements, [0, 10, 63]);
        let c = facts("app.run(port=1)\n");
        all.extend_from(&c, 76);
        let r = &all.runs[0];
        assert_eq!((r.start, r.end, r.insert_at), (76, 91, 90));
    }
}
