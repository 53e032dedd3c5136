//! OTEL001 `flask-debug-reloader`: `app.run(debug=True)` starts Werkzeug's reloader, which
//! re-executes the program in a child process that auto-instrumentation never patched.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::rules::{Context, FixKind, Match, Rule};
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL001",
    name: "flask-debug-reloader",
    language: Language::Python,
    severity: Severity::Warning,
    summary: "Flask `app.run(debug=True)` starts the reloader, which breaks auto-instrumentation",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#flask-debug-mode-with-reloader-breaks-instrumentation",
    fix: FixKind::Safe,
    query: include_str!("../../../queries/python/flask_debug_reloader.scm"),
    needles: &["debug", "use_reloader"],
    gate,
    check,
    scan: None,
};

const MESSAGE: &str = "Flask debug mode enables the Werkzeug reloader, which restarts the process and breaks OpenTelemetry auto-instrumentation. Pass `use_reloader=False`.";

fn gate(ctx: &Context) -> bool {
    ctx.has_otel_context()
}

fn check(m: &Match) -> Option<Finding> {
    let recv = m.get("_recv")?;
    let args = m.get("args")?;
    let call = m.get("call")?;
    if !is_flask_app(m, recv) {
        return None;
    }
    let mut debug: Option<Node> = None;
    let mut reloader: Option<Node> = None;
    let mut cursor = args.walk();
    for arg in args.named_children(&mut cursor) {
        match arg.kind() {
            // `**opts` may carry `use_reloader=False`: we cannot know, so stay silent.
            "dictionary_splat" => return None,
            "keyword_argument" => {
                let name = arg.child_by_field_name("name").map(|n| m.text(n));
                let value = arg.child_by_field_name("value")?;
                match name {
                    Some("debug") => debug = Some(value),
                    Some("use_reloader") => reloader = Some(value),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let func = call.child_by_field_name("function")?;
    let finding = Finding::new(m.span(func), MESSAGE);
    match reloader {
        // An explicit `use_reloader=True` always reloads.
        Some(r) if r.kind() == "true" => Some(finding.with_fix(Fix::safe(
            "Set `use_reloader=False`",
            vec![Edit::replace(m.span(r), "False")],
        ))),
        Some(_) => None,
        None => {
            let d = debug?;
            if d.kind() != "true" {
                return None;
            }
            let kw = d.parent()?;
            Some(finding.with_fix(Fix::safe(
                "Add `use_reloader=False`",
                vec![Edit::insert(m.span(kw).end, ", use_reloader=False")],
            )))
        }
    }
}

/// Whether `recv` names a Flask application object of this module.
fn is_flask_app(m: &Match, recv: Node) -> bool {
    let Some(py) = m.ctx.python() else {
        return false;
    };
    // `create_app().run(...)` with a local factory.
    if recv.kind() == "call" {
        let f = recv.child_by_field_name("function").map(|f| m.text(f));
        return f.is_some_and(|f| py.functions.iter().any(|d| d.creates_flask && d.name == f));
    }
    if recv.kind() != "identifier" {
        return false;
    }
    let name = m.text(recv);
    let flask_ctors: Vec<String> = py
        .names_bound_to("flask", "Flask")
        .map(|i| i.bound.clone())
        .chain(
            py.module_aliases("flask")
                .map(|i| format!("{}.Flask", i.bound)),
        )
        .collect();
    let bound_here = py.calls.iter().any(|c| {
        c.assigned_to.as_deref() == Some(name)
            && (flask_ctors.contains(&c.callee)
                || py
                    .functions
                    .iter()
                    .any(|d| d.creates_flask && d.name == c.callee))
    });
    bound_here || (matches!(name, "app" | "application") && py.imports_module("flask"))
}

const DOCS: &str = r#"## What it does
Flags `app.run(debug=True)` on a Flask application, without `use_reloader=False`, in a
module that uses OpenTelemetry. An explicit `use_reloader=True` is flagged too.

## Why is this bad?
Debug mode turns on Werkzeug's reloader (`use_reloader` defaults to `debug`). The reloader
re-executes the program in a child process; the instrumentation that
`opentelemetry-instrument` (or `initialize()`) applied to the parent is not in that child, so
requests are served without spans, metrics or logs — silently.

## Example
```python
from flask import Flask
from opentelemetry import trace

app = Flask(__name__)

if __name__ == "__main__":
    app.run(port=8082, debug=True)
```

## Use instead
```python
if __name__ == "__main__":
    app.run(port=8082, debug=True, use_reloader=False)
```

## Fix safety
Safe: inserts `, use_reloader=False` after `debug=True` (or turns `use_reloader=True` into
`False`). The debugger stays on; only automatic reloading on code changes stops.

## Source
- OpenTelemetry docs, Python zero-code troubleshooting: "Flask debug mode with reloader breaks instrumentation"
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#flask-debug-mode-with-reloader-breaks-instrumentation>
- opentelemetry-python-contrib issues #477 and #546
"#;
