//! OTEL001 `flask-debug-reloader`: `app.run(debug=True)` starts Werkzeug's reloader, which
//! re-executes the program in a child process that auto-instrumentation never patched.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::OTHER_FRAMEWORKS;
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL001",
    name: "flask-debug-reloader",
    topic: Topic::Flask,
    language: Language::Python,
    severity: Severity::Warning,
    summary: "Flask `app.run(debug=True)` starts the reloader, which breaks auto-instrumentation",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#flask-debug-mode-with-reloader-breaks-instrumentation",
    fix: FixKind::Safe,
    query: Some(Query {
        text: include_str!("flask_debug_reloader.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["debug", "use_reloader"],
            facts: Facts::Named(FACT_NEEDLES, receiver_names),
            file: &["flask", "Flask"],
            relevant,
        },
    ],
    gate,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
    also: &[],
};

const MESSAGE: &str = "Flask debug mode enables the Werkzeug reloader, which restarts the process and breaks OpenTelemetry auto-instrumentation. Pass `use_reloader=False`.";

/// The facts [`is_flask_app`] reads: imports of `flask`, of OpenTelemetry and of the other
/// frameworks, `Flask(...)` calls and the functions that make them — and, through
/// [`receiver_names`], the calls of those names (`app = F(__name__)`, `app = create_app()`).
const FACT_NEEDLES: &[&str] = &[
    "flask",
    "Flask",
    "opentelemetry",
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

/// The names whose calls can make (or rule out) a Flask app: what `flask` and the other
/// frameworks were imported as, and the module's Flask factories.
pub(crate) fn receiver_names(py: &crate::syntax::python::PyFacts) -> Vec<String> {
    let frameworks = |m: &str| {
        let root = m.split('.').next().unwrap_or("");
        root == "flask" || OTHER_FRAMEWORKS.contains(&root)
    };
    py.imports
        .iter()
        .filter(|i| frameworks(&i.module))
        .map(|i| i.bound.clone())
        .chain(
            py.functions
                .iter()
                .filter(|f| f.creates_flask)
                .map(|f| f.name.clone()),
        )
        .collect()
}

/// A Flask app (its module names `flask` or `Flask`) in OpenTelemetry context.
fn relevant(b: &Bytes) -> bool {
    b.has_any(&["flask", "Flask"]) && b.otel_context()
}

fn gate(ctx: &Context) -> bool {
    ctx.has_otel_context()
}

fn check(m: &Match) -> Option<Finding> {
    let recv = m.get("_recv")?;
    let method = m.get("_method")?;
    let args = m.get("args")?;
    let call = m.get("call")?;
    // Half-typed code: say nothing until the call parses.
    if call.has_error() || !is_flask_app(m, recv, call) {
        return None;
    }
    let mut debug: Option<Node> = None;
    let mut reloader: Option<Node> = None;
    let mut splat = false;
    let mut cursor = args.walk();
    for arg in args.named_children(&mut cursor) {
        match arg.kind() {
            // `**opts` may carry `use_reloader=False`: unknown. (`*args` cannot: it fills
            // host, port, debug and load_dotenv only.)
            "dictionary_splat" => splat = true,
            "keyword_argument" => {
                let name = arg.child_by_field_name("name").map(|n| m.text(n));
                let Some(value) = arg.child_by_field_name("value") else {
                    continue;
                };
                match name {
                    Some("debug") => debug = Some(value),
                    Some("use_reloader") => reloader = Some(value),
                    _ => {}
                }
            }
            // Positional `debug` (third, after host and port) is not judged: its literal
            // `True` is no needle, so the byte prefilter could not find it consistently.
            _ => {}
        }
    }
    let finding = Finding::new(anchor(m, recv, method, call), MESSAGE);
    match reloader {
        // An explicit `use_reloader=True` always reloads, whatever `**opts` holds.
        Some(r) if r.kind() == "true" => Some(finding.with_fix(Fix::safe(
            "Set `use_reloader=False`",
            vec![Edit::replace(m.span(r), "False")],
        ))),
        Some(_) => None,
        None => {
            let d = debug?;
            if splat || d.kind() != "true" {
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

/// The reported span: `app.run`, or just `run` when a long receiver puts it on a later line
/// (the anchor is the line of the `.run(` call).
fn anchor(m: &Match, recv: Node, method: Node, call: Node) -> Span {
    let func = call.child_by_field_name("function").unwrap_or(method);
    if recv.start_position().row == method.start_position().row {
        m.span(func)
    } else {
        m.span(method)
    }
}

/// Whether `recv` names a Flask application object of this module (the module's facts, see
/// [`PyFacts::is_flask_run`](crate::syntax::python::PyFacts::is_flask_run), plus an
/// assignment in the function around the call).
fn is_flask_app(m: &Match, recv: Node, call: Node) -> bool {
    let Some(py) = m.ctx.python() else {
        return false;
    };
    // `create_app().run(...)` with a local factory.
    if recv.kind() == "call" {
        let f = recv.child_by_field_name("function").map(|f| m.text(f));
        return f.is_some_and(|f| py.is_flask_factory(f));
    }
    if recv.kind() != "identifier" {
        return false;
    }
    let name = m.text(recv);
    py.binds_flask_app(name)
        || assigned_in_function(m, call, name, &|c| py.is_flask_ctor(c))
        || py.flask_app_by_name(name, None)
}

/// Whether the function around `call` assigns `name = <Flask constructor>(...)`:
/// `def main(): server = Flask(__name__); server.run(debug=True)`.
pub(crate) fn assigned_in_function(
    m: &Match,
    call: Node,
    name: &str,
    is_ctor: &dyn Fn(&str) -> bool,
) -> bool {
    let mut func = call.parent();
    while let Some(f) = func {
        if f.kind() == "function_definition" {
            break;
        }
        func = f.parent();
    }
    let Some(body) = func.and_then(|f| f.child_by_field_name("body")) else {
        return false;
    };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "assignment" {
            let target = node.child_by_field_name("left").map(|l| m.text(l));
            let ctor = node
                .child_by_field_name("right")
                .filter(|r| r.kind() == "call")
                .and_then(|r| r.child_by_field_name("function"))
                .map(|f| m.text(f).split_whitespace().collect::<String>());
            if target == Some(name) && ctor.is_some_and(|c| is_ctor(&c)) {
                return true;
            }
            continue;
        }
        // Statements only: nested functions and classes have their own scope.
        let mut c = node.walk();
        for child in node.named_children(&mut c) {
            let k = child.kind();
            if k == "block"
                || k == "assignment"
                || (k.ends_with("statement") || k.ends_with("clause"))
            {
                stack.push(child);
            }
        }
    }
    false
}

const DOCS: &str = r#"## What it does
Flags `app.run(debug=True)` on a Flask application, without `use_reloader=False`, in a
module that uses OpenTelemetry. An explicit `use_reloader=True` is flagged too.

The receiver counts as a Flask application when the module binds it from `Flask(...)`
(`from flask import Flask`, an alias, or `flask.Flask(...)`), from a local factory whose body
calls `Flask(...)` (`create_app()`), or — in a module that imports `flask` — when it is
named `app` or `application` and no other framework built it. `debug` set from a variable
(`os.environ.get(...)`, `settings.DEBUG`) and calls with `**options` are left alone: the
value is unknown. Debug mode turned on elsewhere — `app.config["DEBUG"] = True`,
`FLASK_DEBUG=1`, `flask run --debug` — is OTEL006's.

A module uses OpenTelemetry when it imports it, calls `initialize()`, or a launcher of the
workspace starts it under `opentelemetry-instrument` (or in an Operator-injected pod). A
launcher's relative path (`python run.py`, `FLASK_APP=./server.py`) is taken from the folder
the command runs in: a Dockerfile's `WORKDIR`, mapped into the build context through the
`COPY . <dest>` that put it there (else the Dockerfile's folder); a shell script's,
Procfile's, Makefile's or compose file's own folder, with `--chdir`/`--app-dir` on top.

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
