//! gunicorn config modules: module-level settings (`workers = 4`, `worker_class = "…"`) and
//! function definitions (hooks such as `post_fork(server, worker)`, with what they call).
//! Computed per Python chunk, relative offsets, like `syntax::python`.

use super::Token;
use crate::diagnostic::Span;
use tree_sitter::Node;

/// gunicorn setting names (module-level assignments in a config module).
pub const SETTINGS: &[&str] = &[
    "bind",
    "workers",
    "worker_class",
    "threads",
    "worker_connections",
    "timeout",
    "keepalive",
    "preload_app",
    "reload",
    "wsgi_app",
    "raw_env",
    "accesslog",
    "errorlog",
    "loglevel",
    "max_requests",
    "max_requests_jitter",
    "graceful_timeout",
    "chdir",
    "daemon",
    "pidfile",
    "proc_name",
    "forwarded_allow_ips",
    "certfile",
    "keyfile",
    "backlog",
    "pythonpath",
    "worker_tmp_dir",
    "capture_output",
    "logconfig_dict",
    "umask",
    "user",
    "group",
];

/// Whether `text` may assign gunicorn settings the way a config module does — at least two
/// of [`SETTINGS`], one of them `bind`, `workers` or `worker_class` — as its bytes tell,
/// before any parse: each name must appear where [`assigns_at`] says a setting's
/// assignment can. Never says no where [`chunk_facts`] would find two such settings (it
/// records only those).
pub fn may_assign_settings(text: &str) -> bool {
    let assigned = |name: &str| {
        memchr::memmem::find_iter(text.as_bytes(), name.as_bytes())
            .any(|at| assigns_at(text, at, name))
    };
    if !["bind", "workers", "worker_class"]
        .iter()
        .any(|n| assigned(n))
    {
        return false;
    }
    SETTINGS.iter().filter(|n| assigned(n)).take(2).count() >= 2
}

/// Whether `name`, at byte `at` of `text`, starts a module-level assignment to it as a
/// config module writes one: at column 0 (after a byte-order mark, for the first line) or
/// after a `;`, followed by `=` (not `==`) or `:` (an annotation), with only blanks and line
/// continuations between. (A parse that recovers from an error may see an assignment where
/// other bytes stand between: `workers$ = 2`. That is no setting.)
fn assigns_at(text: &str, at: usize, name: &str) -> bool {
    let b = text.as_bytes();
    let line = text[..at].rfind(['\n', '\r']).map_or(0, |n| n + 1);
    let before = text[line..at].trim_start_matches('\u{feff}');
    let starts = before.is_empty() || before.trim_end_matches([' ', '\t', '\x0c']).ends_with(';');
    if !starts || b.get(at + name.len()).is_some_and(|c| is_ident(*c)) {
        return false;
    }
    let mut j = at + name.len();
    loop {
        match b.get(j) {
            Some(b' ' | b'\t' | b'\x0c') => j += 1,
            Some(b'\\') if b.get(j + 1) == Some(&b'\n') => j += 2,
            Some(b'\\') if b.get(j + 1) == Some(&b'\r') => {
                j += if b.get(j + 2) == Some(&b'\n') { 3 } else { 2 }
            }
            _ => break,
        }
    }
    match b.get(j) {
        Some(b':') => true,
        Some(b'=') => b.get(j + 1) != Some(&b'='),
        _ => false,
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// gunicorn server hooks.
pub const HOOKS: &[&str] = &[
    "on_starting",
    "on_reload",
    "when_ready",
    "pre_fork",
    "post_fork",
    "post_worker_init",
    "worker_int",
    "worker_abort",
    "pre_exec",
    "pre_request",
    "post_request",
    "child_exit",
    "worker_exit",
    "nworkers_changed",
    "on_exit",
    "ssl_context",
];

/// What a setting's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// An integer literal.
    Int(i64),
    /// A string literal (the token holds the text inside the quotes).
    Str,
    /// An expression using `cpu_count()`: more than one on any real machine.
    CpuCount,
    /// Anything else: unknown.
    Other,
}

/// A module-level `name = value` assignment of a gunicorn setting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Setting {
    /// The setting name.
    pub name: String,
    /// The value (for a string: inside the quotes).
    pub value: Token,
    /// What kind of value.
    pub kind: ValueKind,
    /// The whole statement.
    pub stmt: Span,
}

/// A module-level function definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// The name's bytes.
    pub name_span: Span,
    /// Number of parameters.
    pub params: usize,
    /// Callees in the body, white space removed (`initialize`, `trace.set_tracer_provider`).
    pub calls: Vec<String>,
    /// Decorators, text without `@`.
    pub decorators: Vec<String>,
    /// The definition (decorators included).
    pub span: Span,
    /// Indentation of the body's first statement.
    pub body_indent: String,
}

/// Settings and functions of a module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GunicornFacts {
    /// gunicorn settings in source order.
    pub settings: Vec<Setting>,
    /// Module-level functions.
    pub functions: Vec<Function>,
}

impl GunicornFacts {
    /// Appends the facts of the next chunk, at byte `offset`.
    pub fn extend_from(&mut self, other: &GunicornFacts, offset: usize) {
        for s in &other.settings {
            let mut s = s.clone();
            s.value.span = s.value.span.shift(offset);
            s.value.raw = s.value.raw.map(|r| r + offset);
            s.stmt = s.stmt.shift(offset);
            self.settings.push(s);
        }
        for f in &other.functions {
            let mut f = f.clone();
            f.name_span = f.name_span.shift(offset);
            f.span = f.span.shift(offset);
            self.functions.push(f);
        }
    }

    /// The last assignment of a setting.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.name == name)
    }

    /// The function with this name.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().rev().find(|f| f.name == name)
    }
}

fn text<'s>(n: Node, src: &'s str) -> &'s str {
    src.get(n.byte_range()).unwrap_or("")
}

/// Facts of one chunk.
pub fn chunk_facts(root: Node, src: &str) -> GunicornFacts {
    let mut out = GunicornFacts::default();
    let mut c = root.walk();
    for stmt in root.named_children(&mut c) {
        match stmt.kind() {
            "expression_statement" => {
                let Some(a) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else {
                    continue;
                };
                let (Some(l), Some(r)) = (
                    a.child_by_field_name("left"),
                    a.child_by_field_name("right"),
                ) else {
                    continue;
                };
                let name = text(l, src);
                if l.kind() != "identifier"
                    || !SETTINGS.contains(&name)
                    || !assigns_at(src, l.start_byte(), name)
                {
                    continue;
                }
                let rt = text(r, src);
                let (value, kind) = match r.kind() {
                    "integer" => (
                        Token {
                            text: rt.to_string(),
                            span: Span::new(r.start_byte(), r.end_byte()),
                            raw: Some(r.start_byte()),
                            dynamic: false,
                        },
                        rt.replace('_', "")
                            .parse()
                            .map_or(ValueKind::Other, ValueKind::Int),
                    ),
                    "string" if !rt.contains('{') => {
                        let q = rt.find(['"', '\'']).unwrap_or(0);
                        let quote = &rt[q..q + 1];
                        let triple = rt[q..].starts_with(&quote.repeat(3));
                        let ql = if triple { 3 } else { 1 };
                        let inner_s = q + ql;
                        let inner_e = rt.len().saturating_sub(ql).max(inner_s);
                        let inner = &rt[inner_s..inner_e];
                        (
                            Token {
                                text: inner.to_string(),
                                span: Span::new(r.start_byte(), r.end_byte()),
                                raw: (!inner.contains('\\')).then_some(r.start_byte() + inner_s),
                                dynamic: false,
                            },
                            ValueKind::Str,
                        )
                    }
                    _ => (
                        Token {
                            text: rt.to_string(),
                            span: Span::new(r.start_byte(), r.end_byte()),
                            raw: Some(r.start_byte()),
                            dynamic: true,
                        },
                        if rt.contains("cpu_count") {
                            ValueKind::CpuCount
                        } else {
                            ValueKind::Other
                        },
                    ),
                };
                out.settings.push(Setting {
                    name: name.to_string(),
                    value,
                    kind,
                    stmt: Span::new(stmt.start_byte(), stmt.end_byte()),
                });
            }
            "function_definition" => out.functions.push(function(stmt, stmt, src, vec![])),
            "decorated_definition" => {
                if let Some(def) = stmt
                    .child_by_field_name("definition")
                    .filter(|d| d.kind() == "function_definition")
                {
                    let mut dc = stmt.walk();
                    let decos = stmt
                        .named_children(&mut dc)
                        .filter(|d| d.kind() == "decorator")
                        .map(|d| text(d, src).trim_start_matches('@').trim().to_string())
                        .collect();
                    out.functions.push(function(def, stmt, src, decos));
                }
            }
            _ => {}
        }
    }
    out
}

fn function(def: Node, outer: Node, src: &str, decorators: Vec<String>) -> Function {
    let name = def.child_by_field_name("name");
    let params = def.child_by_field_name("parameters").map_or(0, |p| {
        let mut c = p.walk();
        let n = p
            .named_children(&mut c)
            .filter(|x| x.kind() != "comment")
            .count();
        n
    });
    let mut calls = Vec::new();
    let mut body_indent = "    ".to_string();
    if let Some(body) = def.child_by_field_name("body") {
        let col = body.start_position().column;
        body_indent = " ".repeat(col.max(1));
        let mut stack = vec![body];
        while let Some(n) = stack.pop() {
            if n.kind() == "call" {
                if let Some(f) = n.child_by_field_name("function") {
                    calls.push(
                        text(f, src)
                            .chars()
                            .filter(|c| !c.is_whitespace())
                            .collect(),
                    );
                }
            }
            if matches!(
                n.kind(),
                "function_definition" | "class_definition" | "lambda"
            ) && n != body
            {
                continue;
            }
            let mut c = n.walk();
            for ch in n.named_children(&mut c) {
                stack.push(ch);
            }
        }
    }
    Function {
        name: name.map(|n| text(n, src).to_string()).unwrap_or_default(),
        name_span: name.map_or(Span::default(), |n| Span::new(n.start_byte(), n.end_byte())),
        params,
        calls,
        decorators,
        span: Span::new(outer.start_byte(), outer.end_byte()),
        body_indent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_assignments_by_bytes() {
        assert!(may_assign_settings("bind = ':80'\nworkers = 4\n"));
        assert!(may_assign_settings(
            "\u{feff}workers: int = 2\ntimeout = 3\n"
        ));
        assert!(may_assign_settings("import os; workers = 2; threads=4\n"));
        assert!(may_assign_settings("x = 1\r\nbind = 'a'\r\nuser = 'u'\r\n"));
        // One setting, nested assignments, comparisons and longer names are not enough.
        assert!(!may_assign_settings("workers = 4\n"));
        assert!(!may_assign_settings(
            "def f():\n    bind = 1\n    timeout = 2\n"
        ));
        assert!(!may_assign_settings("workers == 4\ntimeout = 1\n"));
        assert!(may_assign_settings("workers \\\n  = 4\ntimeout = 1\n"));
        assert!(!may_assign_settings("workers_max = 4\nsubtimeout = 1\n"));
        assert!(!may_assign_settings("timeout = 1\nuser = 2\n"));
    }

    /// The facts record only the assignments the bytes tell (found by the fuzzer: a parse
    /// recovering from `workers\u{fffd} = 2` saw an assignment to `workers`, so the full
    /// check judged a gunicorn config that the pre-filter had ruled out).
    #[test]
    fn settings_are_the_assignments_the_bytes_tell() {
        let names = |src: &str| -> Vec<String> {
            let tree = crate::syntax::parse(crate::language::Language::Python, src, None);
            chunk_facts(tree.root_node(), src)
                .settings
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        for src in [
            "bind = 'x'\nworkers\u{fffd}\u{fffd} = 2\n",
            "bind = 'x'\nworkers$ = 2\n",
            "bind = 'x'\nx $ workers = 2\n",
        ] {
            assert_eq!(names(src), ["bind"], "{src:?}");
            assert!(!may_assign_settings(src), "{src:?}");
        }
        let src = "bind = 'x'\nworkers \\\n  = 2\n";
        assert_eq!(names(src), ["bind", "workers"]);
        assert!(may_assign_settings(src));
    }
}
