//! OTEL063 `uninstrumented-stdlib-http-server`: an app that serves HTTP through the standard
//! library's `http.server` under zero-code or programmatic auto-instrumentation — no
//! instrumentation exists for it, so no server spans are made.

use crate::diagnostic::{Finding, Severity};
use crate::language::Language;
use crate::rules::{always, Bytes, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::PyFacts;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL063",
    name: "uninstrumented-stdlib-http-server",
    topic: Topic::Advisory,
    language: Language::Python,
    also: &[],
    severity: Severity::Info,
    summary:
        "`http.server` app under auto-instrumentation: nothing instruments it, no server spans",
    docs: DOCS,
    url: "https://github.com/open-telemetry/opentelemetry-python-contrib/issues/3059",
    fix: FixKind::None,
    query: Some(Query {
        text: include_str!("uninstrumented_stdlib_http_server.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Python],
        needles: &["HTTPServer"],
        // The chunks that can import `http.server` (`import http.server`, `from http.server
        // import …`, `from http import server`) or start instrumentation; a bare "http" is
        // in every URL of every docstring.
        facts: Facts::Needles(&[
            "http.server",
            "from http",
            "initialize",
            "auto_instrumentation",
            "start_as_current_span",
            "start_span",
        ]),
        file: &["auto_instrumentation"],
        relevant,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

const AUTO: &str = "opentelemetry.instrumentation.auto_instrumentation";

/// Under auto-instrumentation as bytes can tell: a launcher runs it under
/// `opentelemetry-instrument` or in an injected pod, or it may call `initialize()`.
fn relevant(b: &Bytes) -> bool {
    // Programmatic auto-instrumentation is imported from its module by name.
    b.auto_instrumented() || b.has("auto_instrumentation")
}

/// Whether the module starts programmatic auto-instrumentation: an `initialize()` of
/// `opentelemetry.instrumentation.auto_instrumentation` (any alias, anywhere in the module),
/// or an import of its `sitecustomize`.
fn initializes(py: &PyFacts) -> bool {
    let sitecustomize = py.imports.iter().any(|i| {
        !i.type_checking
            && (i.module == format!("{AUTO}.sitecustomize")
                || (i.module == AUTO && i.name.as_deref() == Some("sitecustomize")))
    });
    if sitecustomize {
        return true;
    }
    py.notable_calls
        .iter()
        .filter(|c| c.name() == "initialize")
        .any(|c| match c.receiver() {
            None => py.imports.iter().any(|i| {
                !i.type_checking
                    && i.module == AUTO
                    && i.name.as_deref() == Some("initialize")
                    && i.bound == c.callee
            }),
            Some(r) => {
                r == AUTO
                    || py.imports.iter().any(|i| {
                        !i.type_checking
                            && i.bound == r
                            && ((i.name.is_none() && i.module == AUTO)
                                || (i.module == "opentelemetry.instrumentation"
                                    && i.name.as_deref() == Some("auto_instrumentation")))
                    })
            }
        })
}

/// Whether the module makes spans by hand (`tracer.start_as_current_span(…)` as a context
/// manager or decorator, `tracer.start_span(…)`): then it has server spans of its own.
fn manual_spans(py: &PyFacts) -> bool {
    py.notable_calls
        .iter()
        .any(|c| matches!(c.name(), "start_as_current_span" | "start_span"))
}

const MESSAGE: &str = "`http.server` has no OpenTelemetry instrumentation: under auto-instrumentation this server makes no server spans and ignores incoming trace context. Serve the app with an instrumented framework or server (a WSGI app under `wsgiref` with `OpenTelemetryMiddleware`, Flask, FastAPI…), or create spans in the handler.";

fn check(m: &Match) -> Option<Finding> {
    let py = m.ctx.python()?;
    let call = m.get("call")?;
    let func = m.get("func")?;
    if call.has_error() {
        return None;
    }
    let callee = m.text(func).replace(char::is_whitespace, "");
    let class = callee.rsplit('.').next().unwrap_or(&callee);
    let stdlib = py
        .class_refs("http.server", class)
        .iter()
        .any(|(r, _)| *r == callee)
        || py.imports.iter().any(|i| {
            !i.type_checking
                && i.module == "http.server"
                && i.name.as_deref() == Some(class)
                && i.bound == callee
        });
    if !stdlib || manual_spans(py) {
        return None;
    }
    let zero_code = m
        .ctx
        .path
        .is_some_and(|p| m.ctx.workspace.is_auto_instrumented(p));
    if !zero_code && !initializes(py) {
        return None;
    }
    Some(Finding::new(m.span(call), MESSAGE))
}

const DOCS: &str = r#"## What it does
Flags `HTTPServer(...)` and `ThreadingHTTPServer(...)` from the standard library's
`http.server` (imported under any alias, or as `http.server.HTTPServer`) in a module under
auto-instrumentation: a launcher of the workspace runs it under `opentelemetry-instrument`,
or in a pod the OpenTelemetry Operator injects (image ↔ Dockerfile heuristics), or the module
calls `initialize()` from `opentelemetry.instrumentation.auto_instrumentation` (anywhere,
under any alias) or imports its `sitecustomize`.

Quiet when the module creates spans itself (`start_as_current_span(…)` as a context manager
or decorator, `start_span(…)`), and for servers that are not `http.server`'s (a WSGI app under
`wsgiref.simple_server.make_server` can be wrapped in `OpenTelemetryMiddleware`).

## Why is this bad?
Zero-code instrumentation patches libraries that have an instrumentation package (Flask,
Django, FastAPI, `requests`, …). There is none for `http.server` / `BaseHTTPRequestHandler`:
requests served this way make no server spans and do not continue incoming traces; only the
outgoing calls they make are traced. Users expect server spans and find none.

## Example
```python
from http.server import BaseHTTPRequestHandler, HTTPServer

HTTPServer(("", 8000), Handler).serve_forever()  # run with opentelemetry-instrument
```

## Use instead
```python
from wsgiref.simple_server import make_server
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

make_server("", 8000, OpenTelemetryMiddleware(app)).serve_forever()
```
(or any instrumented framework), or start a span in each `do_GET`/`do_POST`.

## Fix safety
No automatic fix: serving through another server is a change of the app.

## Source
- opentelemetry-python-contrib #3059 (an `http.server` app under `opentelemetry-instrument`
  produces no server spans)
- <https://opentelemetry.io/docs/zero-code/python/>
"#;
