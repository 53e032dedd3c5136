//! OTEL008 `django-instrument-after-app-load`: `DjangoInstrumentor().instrument()` (directly,
//! or through a module-local function that calls it) executed after the module created
//! Django's handler — `get_wsgi_application()`, `get_asgi_application()`, `WSGIHandler()`,
//! `ASGIHandler()` — or ran `execute_from_command_line(...)`. The instrumentor inserts its
//! middleware into `settings.MIDDLEWARE`, which the handler has already loaded.
//!
//! Order is judged within one flow: the module's top-level statements (from the merged
//! module facts), or one function body ([`FunctionDef::flow`]). A handler call counts when it
//! runs before the instrument call whenever that one runs: at module level an unguarded
//! statement; in a function, a statement of a block that also holds the instrument call.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::summary::is_django_instrument_call;
use crate::rules::{always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};
use crate::syntax::python::{FunctionDef, PyFacts};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL008",
    name: "django-instrument-after-app-load",
    topic: Topic::Django,
    language: Language::Python,
    also: &[],
    severity: Severity::Error,
    summary: "`DjangoInstrumentor().instrument()` after the Django handler loaded its middleware",
    docs: DOCS,
    url: "https://github.com/open-telemetry/opentelemetry-python/tree/main/docs/examples/django",
    fix: FixKind::Unsafe,
    query: None,
    // The instrumentor is named in the module: in the instrument call, or in the body of
    // the local function that wraps it.
    pre: &[Pre {
        langs: &[Language::Python],
        needles: &["DjangoInstrumentor"],
        facts: Facts::All,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str = "DjangoInstrumentor must run before the Django handler loads middleware.";

/// Calls that build Django's handler (and so read `settings.MIDDLEWARE`).
const HANDLERS: &[&str] = &[
    "get_wsgi_application",
    "get_asgi_application",
    "WSGIHandler",
    "ASGIHandler",
    "execute_from_command_line",
];

fn is_handler(callee: &str) -> bool {
    HANDLERS.contains(&callee.rsplit('.').next().unwrap_or(callee))
}

/// What counts as running the instrumentor in this module.
struct Instrument<'p> {
    /// Local names of the `DjangoInstrumentor` class (imports, aliases included).
    classes: Vec<String>,
    /// Module-level functions whose body calls it directly.
    wrappers: Vec<&'p FunctionDef>,
}

impl<'p> Instrument<'p> {
    fn of(py: &'p PyFacts) -> Self {
        let mut classes: Vec<String> = py
            .imports
            .iter()
            .filter(|i| {
                !i.type_checking
                    && i.module == "opentelemetry.instrumentation.django"
                    && i.name.as_deref() == Some("DjangoInstrumentor")
            })
            .map(|i| i.bound.clone())
            .collect();
        classes.push("DjangoInstrumentor".into());
        let mut me = Instrument {
            classes,
            wrappers: Vec::new(),
        };
        let wrappers = py
            .functions
            .iter()
            .filter(|f| f.flow.iter().any(|c| me.direct(&c.callee)))
            .collect();
        me.wrappers = wrappers;
        me
    }

    fn direct(&self, callee: &str) -> bool {
        is_django_instrument_call(callee)
            || callee
                .strip_suffix("().instrument")
                .is_some_and(|o| self.classes.iter().any(|c| c == o))
    }

    /// Whether the call runs the instrumentor; the wrapper it calls, if it is one.
    fn runs(&self, callee: &str) -> Option<Option<&'p FunctionDef>> {
        if self.direct(callee) {
            return Some(None);
        }
        self.wrappers
            .iter()
            .find(|f| f.name == callee)
            .map(|f| Some(*f))
    }

    /// Where the name the callee starts with is bound: the latest import or definition of it.
    fn bound_at(&self, py: &PyFacts, callee: &str, wrapper: Option<&FunctionDef>) -> Vec<usize> {
        if let Some(w) = wrapper {
            return vec![w.start];
        }
        let root = callee.split(['.', '(']).next().unwrap_or(callee);
        py.imports
            .iter()
            .filter(|i| i.bound == root)
            .map(|i| i.stmt_start)
            .collect()
    }
}

fn scan(ctx: &Context) -> Vec<Finding> {
    let Some(py) = ctx.python() else {
        return Vec::new();
    };
    let ins = Instrument::of(py);
    let mut out = Vec::new();
    // Module level.
    for b in py.calls.iter().filter(|c| !c.type_checking) {
        let Some(wrapper) = ins.runs(&b.callee) else {
            continue;
        };
        let Some(a) = py.calls.iter().find(|a| {
            is_handler(&a.callee) && !a.guarded && !a.type_checking && a.stmt_end <= b.start
        }) else {
            continue;
        };
        let mut finding = Finding::new(Span::new(b.start, b.end), MESSAGE);
        let bound = ins.bound_at(py, &b.callee, wrapper);
        if let Some(fix) = move_fix(ctx.text, (b.stmt_start, b.stmt_end), a.stmt_start, &bound) {
            finding = finding.with_fix(fix);
        }
        out.push(finding);
    }
    // Function bodies.
    for f in &py.functions {
        for b in &f.flow {
            let Some(wrapper) = ins.runs(&b.callee) else {
                continue;
            };
            if wrapper.is_some_and(|w| w.name == f.name) {
                continue;
            }
            let Some(a) = f
                .flow
                .iter()
                .find(|a| is_handler(&a.callee) && a.dominates(b.start))
            else {
                continue;
            };
            let mut finding = Finding::new(Span::new(b.start, b.end), MESSAGE);
            let moved = if a.stmt == a.body_stmt {
                Some(b.body_stmt)
            } else if a.block == b.block {
                Some(b.stmt)
            } else {
                None
            };
            let mut bound = ins.bound_at(py, &b.callee, wrapper);
            // A wrapper defined at module level is bound before any call of `main` runs.
            if wrapper.is_some() {
                bound.clear();
            }
            if let Some(fix) = moved.and_then(|m| move_fix(ctx.text, m, a.stmt.0, &bound)) {
                finding = finding.with_fix(fix);
            }
            out.push(finding);
        }
    }
    out
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1)
}

/// Moves the whole lines of `stmt` to the line start of `before`: only when the statement has
/// its lines to itself, both sit at the same indentation, no binding the moved code needs
/// (`bound`) comes between, and the result still parses.
fn move_fix(text: &str, stmt: (usize, usize), before: usize, bound: &[usize]) -> Option<Fix> {
    let (s, e) = stmt;
    let ls = line_start(text, s);
    if !text[ls..s].trim().is_empty() {
        return None;
    }
    let rest = &text[e..];
    let eol = rest.find('\n').map_or(text.len(), |n| e + n + 1);
    if !text[e..eol].trim().is_empty() && !text[e..eol].trim_start().starts_with('#') {
        return None;
    }
    let at = line_start(text, before);
    if !text[at..before].trim().is_empty() || at >= ls {
        return None;
    }
    if text[ls..s] != text[at..before] {
        return None;
    }
    // A binding between the two places would come too late; one inside the moved lines
    // moves along.
    let before_or_moved = |b: usize| b < at || (ls <= b && b < eol);
    if bound.iter().any(|&b| b >= at && b < ls)
        || (!bound.is_empty() && !bound.iter().any(|&b| before_or_moved(b)))
    {
        return None;
    }
    let mut moved = text[ls..eol].to_string();
    if !moved.ends_with('\n') {
        moved.push_str(if text.contains("\r\n") { "\r\n" } else { "\n" });
    }
    let edits = vec![Edit::insert(at, moved), Edit::delete(Span::new(ls, eol))];
    let fix = Fix::unsafe_(
        "Move the instrument call before the Django handler is created",
        edits,
    );
    let (fixed, n) = crate::engine::fix::apply(text, &[&fix]);
    if n != 1 || crate::engine::parse(Language::Python, fixed).has_syntax_error() {
        return None;
    }
    Some(fix)
}

const DOCS: &str = r#"## What it does
Flags `DjangoInstrumentor().instrument(...)` — or the call of a module-local function whose
body calls it, like the `instrument()` of the Mackerel guide — when it executes after the
module created Django's handler: `get_wsgi_application()`, `get_asgi_application()`,
`WSGIHandler()`, `ASGIHandler()` or `execute_from_command_line(...)`. Order is judged within
one flow: the module's top-level statements (`wsgi.py`, `asgi.py`), or one function body
(`main()` of `manage.py`). The handler call counts when it surely ran first: an unguarded
top-level statement, or a statement of a block of the function that also holds the
instrument call.

Not flagged: `instrument()` in `main()` before `execute_from_command_line` (the Mackerel
guide, opentelemetry-python's `docs/examples/django/manage.py`); `instrument()` in a gunicorn
`post_fork` hook or a uWSGI `@postfork` function (no handler call in that flow); the
instrumentor at the end of `settings.py` (the middleware list is still being defined); a
handler created only in a branch that excludes the instrument call (`if`/`else`).

## Why is this bad?
The Django instrumentor works by inserting its middleware into `settings.MIDDLEWARE`.
Django's handler reads that list once, when it is created (`load_middleware()`), and
`execute_from_command_line` creates it for `runserver`. Instrumenting afterwards changes a list
nobody reads again: no request of this process gets a server span.

## Example
```python
def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
    DjangoInstrumentor().instrument()
```

## Use instead
```python
def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    DjangoInstrumentor().instrument()
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
```

## Fix safety
Unsafe: the fix moves the instrument statement (its whole lines) to just before the first
handler-creating statement, so code between the two now runs after the instrumentation —
review it. It is offered only when both statements sit at the same indentation, the name it
calls is bound before the new place (imports, the wrapper's `def`), and the result parses.

## Source
- Mackerel guide (seed 003): `instrument()` inside `manage.py`'s `main()`
- opentelemetry-python `docs/examples/django` (`manage.py`)
- opentelemetry-python-contrib django instrumentor `_instrument()` (`settings.MIDDLEWARE`
  insertion)
"#;
