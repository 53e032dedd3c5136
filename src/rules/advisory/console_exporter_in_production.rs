//! OTEL060 `console-exporter-in-production`: a console exporter wired up unconditionally in
//! application code, or `console` among the `OTEL_*_EXPORTER`s of a Kubernetes container or
//! a Docker image — every span, metric or log record is printed to stdout in production.

use super::{from_opentelemetry, imports_test_framework, non_production};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::judge;
use crate::launch::{EnvOrigin, EnvVar, LaunchFacts, ScopeKind};
use crate::rules::{
    always, anywhere, in_otel_context, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL060",
    name: "console-exporter-in-production",
    topic: Topic::Advisory,
    language: Language::Python,
    also: &[Language::Dockerfile, Language::Yaml],
    severity: Severity::Info,
    summary:
        "Console exporter wired up unconditionally in application code, a container or an image",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/languages/python/exporters/#console",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("console_exporter_in_production.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &[
                "ConsoleSpanExporter",
                "ConsoleMetricExporter",
                "ConsoleLogExporter",
                "ConsoleLogRecordExporter",
            ],
            facts: Facts::Needles(&["opentelemetry", "pytest", "unittest"]),
            file: &[],
            relevant: in_otel_context,
        },
        Pre {
            langs: &[Language::Dockerfile, Language::Yaml],
            needles: &["console"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// Calls whose last name ends so take an exporter: span/log processors, metric readers.
fn takes_exporter(callee: &str) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    last.ends_with("Processor") || last.ends_with("Reader")
}

/// Words in a function name that say it is meant for debugging or local runs.
const DEBUG_WORDS: &[&str] = &[
    "debug", "console", "dev", "local", "test", "stdout", "verbose",
];

/// Whether `if __name__ == "__main__":` is the condition (a script's entry: unconditional).
fn is_main_guard(cond: &str) -> bool {
    let c: String = cond.chars().filter(|c| !c.is_whitespace()).collect();
    let c = c.replace('\'', "\"");
    c == "__name__==\"__main__\"" || c == "\"__main__\"==__name__"
}

/// Why the call is not unconditional production wiring, if it is not: a branch, a
/// fallback, a function for debugging, a lambda.
fn guarded(m: &Match, call: Node) -> bool {
    let mut cur = call.parent();
    while let Some(n) = cur {
        match n.kind() {
            "conditional_expression"
            | "lambda"
            | "match_statement"
            | "case_clause"
            | "except_clause"
            | "except_group_clause"
            | "elif_clause"
            | "else_clause" => return true,
            "if_statement" => {
                let cond = n
                    .child_by_field_name("condition")
                    .map(|c| m.text(c))
                    .unwrap_or("");
                if !is_main_guard(cond) {
                    return true;
                }
            }
            "function_definition" => {
                let name = n
                    .child_by_field_name("name")
                    .map(|c| m.text(c).to_ascii_lowercase())
                    .unwrap_or_default();
                if name
                    .split('_')
                    .any(|w| DEBUG_WORDS.iter().any(|d| w.starts_with(d)))
                {
                    return true;
                }
            }
            _ => {}
        }
        cur = n.parent();
    }
    false
}

/// How the exporter is used: handed straight to a processor/reader (that call), or bound to
/// a name (`None` inside). Anything else (a dict of choices, a helper's argument, a return
/// value) is not judged.
enum Use<'t> {
    Processor(Node<'t>),
    Bound,
}

fn usage<'t>(m: &Match<'_, 't>, call: Node<'t>) -> Option<Use<'t>> {
    let mut p = call.parent()?;
    if p.kind() == "keyword_argument" {
        p = p.parent()?;
    }
    match p.kind() {
        "argument_list" => {
            let outer = p.parent().filter(|o| o.kind() == "call")?;
            let f = outer.child_by_field_name("function")?;
            takes_exporter(m.text(f)).then_some(Use::Processor(outer))
        }
        "assignment" => {
            let right = p.child_by_field_name("right")?;
            (right.id() == call.id()).then_some(Use::Bound)
        }
        _ => None,
    }
}

/// An explicit `out=` other than stdout/stderr writes to a file or buffer, not the console.
fn writes_elsewhere(m: &Match, args: Node) -> bool {
    let mut c = args.walk();
    let elsewhere = args.named_children(&mut c).any(|a| {
        a.kind() == "keyword_argument"
            && a.child_by_field_name("name").map(|n| m.text(n)) == Some("out")
            && a.child_by_field_name("value").is_some_and(|v| {
                let t = m.text(v).replace(char::is_whitespace, "");
                !matches!(
                    t.as_str(),
                    "sys.stdout" | "sys.stderr" | "stdout" | "stderr"
                )
            })
    });
    elsewhere
}

fn check(m: &Match) -> Option<Finding> {
    let py = m.ctx.python()?;
    if non_production(m.ctx.path) || imports_test_framework(py) {
        return None;
    }
    let call = m.get("call")?;
    let func = m.get("func")?;
    let args = m.get("args")?;
    if call.has_error() {
        return None;
    }
    let callee = m.text(func).replace(char::is_whitespace, "");
    if !from_opentelemetry(py, &callee) || writes_elsewhere(m, args) || guarded(m, call) {
        return None;
    }
    let usage = usage(m, call)?;
    let class = callee.rsplit('.').next().unwrap_or(&callee);
    let what = match class {
        "ConsoleSpanExporter" => "span",
        "ConsoleMetricExporter" => "metric data point",
        _ => "log record",
    };
    let mut finding = Finding::new(
        m.span(call),
        format!(
            "`{class}` prints every {what} to stdout, unconditionally: useful while debugging, noise and I/O cost in production. Guard it with a debug setting or remove it."
        ),
    );
    if let Use::Processor(processor) = usage {
        if let Some(fix) = remove_statement(m, processor) {
            finding = finding.with_fix(fix);
        }
    }
    Some(finding)
}

/// Deletes `x.add_span_processor(Processor(ConsoleSpanExporter()))` when it is a statement
/// of its own with siblings (the block stays non-empty), whole lines only.
fn remove_statement(m: &Match, processor: Node) -> Option<Fix> {
    let list = processor.parent().filter(|p| p.kind() == "argument_list")?;
    if list.named_child_count() != 1 {
        return None;
    }
    let adder = list.parent().filter(|p| p.kind() == "call")?;
    let name = adder.child_by_field_name("function").map(|f| m.text(f))?;
    let last = name.rsplit('.').next().unwrap_or(name).trim();
    if !matches!(last, "add_span_processor" | "add_log_record_processor") {
        return None;
    }
    let stmt = adder
        .parent()
        .filter(|s| s.kind() == "expression_statement" && s.named_child_count() == 1)?;
    let block = stmt.parent()?;
    let mut c = block.walk();
    let siblings = block
        .named_children(&mut c)
        .filter(|n| n.kind() != "comment" && n.id() != stmt.id())
        .count();
    if siblings == 0 {
        return None;
    }
    let text = m.chunk;
    let (s, e) = (stmt.start_byte(), stmt.end_byte());
    let line_start = text[..s].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..s].trim().is_empty() {
        return None;
    }
    let rest = &text[e..];
    let nl = rest.find('\n')?;
    let tail = rest[..nl].trim();
    if !tail.is_empty() && !tail.starts_with('#') {
        return None;
    }
    let span = Span::new(line_start + m.offset, e + nl + 1 + m.offset);
    Some(Fix::unsafe_(
        "Remove the console exporter",
        vec![Edit::delete(span)],
    ))
}

const EXPORTER_VARS: &[&str] = &[
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
];

/// Whether `scope` is, or is nested in, a scope of `kind`.
fn within_kind(f: &LaunchFacts, scope: usize, kind: ScopeKind) -> bool {
    let mut cur = Some(scope);
    let mut guard = 0;
    while let Some(s) = cur {
        let Some(sc) = f.scopes.get(s) else {
            return false;
        };
        if sc.kind == kind {
            return true;
        }
        cur = sc.parent;
        guard += 1;
        if guard > 64 {
            break;
        }
    }
    false
}

/// Whether the setting reaches a production runtime: a Kubernetes container (not a compose
/// service: compose files are mostly local setups), or the final stage of a Dockerfile
/// (its `ENV`, or a flag of its `CMD`/`ENTRYPOINT`).
fn reaches_runtime(ctx: &Context, f: &LaunchFacts, v: &EnvVar) -> bool {
    if ctx.file.language() == Language::Dockerfile {
        let Some(last) = f.images.last() else {
            return false;
        };
        if v.origin == EnvOrigin::Flag {
            return f.launchers.iter().any(|l| {
                l.runtime && l.scope == v.scope && !l.is_imported() && l.stage == Some(last.stage)
            });
        }
        return f.lookup(last.scope, &v.name) == Some(v);
    }
    judge::visible_contexts(f, v).into_iter().any(|c| {
        within_kind(f, c, ScopeKind::Container)
            && (v.origin != EnvOrigin::Flag
                || f.launchers.iter().any(|l| l.scope == c && l.runtime))
    })
}

/// The `console` items of a value: (start, end) within its text, with the span to delete
/// to remove it from the list (its comma included) when other items remain.
fn console_items(text: &str) -> (Vec<(usize, usize)>, usize) {
    let mut items = Vec::new();
    let mut pos = 0;
    let mut count = 0;
    for part in text.split(',') {
        let lead = part.len() - part.trim_start().len();
        let t = part.trim();
        if !t.is_empty() {
            count += 1;
            if t == "console" {
                items.push((pos + lead, pos + lead + t.len()));
            }
        }
        pos += part.len() + 1;
    }
    (items, count)
}

/// The edit removing `text[s..e]` and one neighbouring comma (with its spaces).
fn delete_item(text: &str, s: usize, e: usize) -> (usize, usize) {
    let before = text[..s].trim_end();
    if before.ends_with(',') {
        return (before.len() - 1, e);
    }
    let after = &text[e..];
    let trimmed = after.trim_start();
    if let Some(rest) = trimmed.strip_prefix(',') {
        let gap = rest.len() - rest.trim_start().len();
        let end = e + (after.len() - rest.len()) + gap;
        return (s, end);
    }
    (s, e)
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() || non_production(ctx.path) {
        return Vec::new();
    }
    let f = ctx.effective();
    let mut out = Vec::new();
    for v in f.own_env() {
        if !EXPORTER_VARS.contains(&v.name.as_str()) {
            continue;
        }
        let Some(val) = v.value.as_ref().filter(|t| !t.dynamic) else {
            continue;
        };
        let (items, count) = console_items(&val.text);
        let Some(&(s, e)) = items.first() else {
            continue;
        };
        if !reaches_runtime(ctx, f, v) {
            continue;
        }
        let span = val.sub_span(s, e).unwrap_or(val.best_span());
        let what = match v.name.as_str() {
            "OTEL_TRACES_EXPORTER" => "span",
            "OTEL_METRICS_EXPORTER" => "metric data point",
            _ => "log record",
        };
        let place = if ctx.file.language() == Language::Dockerfile {
            "image"
        } else {
            "container"
        };
        let mut finding = Finding::new(
            span,
            format!(
                "`{}` includes `console`: every {what} is printed to stdout in this production {place}. Keep console export for debugging sessions.",
                v.name
            ),
        );
        if count > 1 && items.len() == 1 {
            let (ds, de) = delete_item(&val.text, s, e);
            if let Some(sp) = val.sub_span(ds, de) {
                finding = finding.with_fix(Fix::unsafe_(
                    "Remove `console` from the exporter list",
                    vec![Edit::delete(sp)],
                ));
            }
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags console exporters wired up unconditionally in production:

- in Python, `ConsoleSpanExporter()`, `ConsoleMetricExporter()` or `ConsoleLogExporter()`
  (`ConsoleLogRecordExporter()`) imported from OpenTelemetry and handed straight to a span/log
  processor or metric reader (`BatchSpanProcessor(ConsoleSpanExporter())`,
  `PeriodicExportingMetricReader(ConsoleMetricExporter())`), or bound to a name
  (`exporter = ConsoleSpanExporter()`);
- `console` among the items of `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` or
  `OTEL_LOGS_EXPORTER` (or the `--traces_exporter …` flags of `opentelemetry-instrument`) in a
  Kubernetes container's environment (its `env:`, a ConfigMap it reads, its command line) or
  in the final stage of a Dockerfile.

It stays quiet where console output is a deliberate choice:

- a construction under an `if`/`elif`/`else` (other than `if __name__ == "__main__":`), in a
  conditional expression, a `match` case, an `except` fallback or a lambda; inside a function
  whose name says debug, console, dev, local, test, stdout or verbose; as a value of a dict or
  list of choices, or the argument of anything but a processor or reader; with an explicit
  `out=` other than `sys.stdout`/`sys.stderr` (a file or buffer); commented-out code;
- test and example code: files named `test_*.py`, `*_test.py`, `conftest.py`, modules importing
  `pytest` or `unittest`, and paths with a folder named `examples`, `samples`, `demo`, `docs`,
  `e2e`, `testdata` anywhere, or `tests`, `test`, `dev`, `local`, `debug`, `sandbox` among the
  last two folders; file names with the words test, dev, local, debug, example, sample, demo
  (`Dockerfile.dev`, `deployment-local.yaml`);
- docker-compose files, shell scripts, Procfiles, Makefiles and `.env` files, which mostly
  describe local runs.

## Why is this bad?
The console exporters exist for debugging: they print each span, data point or log record as
indented JSON to stdout. Left in production they flood container logs, cost I/O on the
request path (`SimpleSpanProcessor` exports synchronously) and duplicate what the real
exporter already sends. The app still exports, so this is a hint.

## Example
```python
provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
```
```yaml
env:
  - name: OTEL_TRACES_EXPORTER
    value: otlp,console
```

## Use instead
```python
if os.getenv("OTEL_DEBUG"):
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
```
```yaml
env:
  - name: OTEL_TRACES_EXPORTER
    value: otlp
```

## Fix safety
Unsafe: the console output goes away, and someone may read it. Offered only where the edit
is local: removing `console` from an exporter list that names another exporter
(`otlp,console` → `otlp`), and deleting an `add_span_processor(…)` /
`add_log_record_processor(…)` statement whose processor wraps the console exporter, when it
is a statement of its own and not the only one of its block (the exporter's import is left
for you to remove). A lone `console` value, an exporter bound to a name or a metric reader in
a list get no fix: removing them changes what is exported.

## Source
- Mackerel tracing guide for Python (the console exporter is "useful while debugging", and
  stays commented out): <https://mackerel.io/ja/docs/entry/tracing/installations/python>
- ClickStack Python guide, "Exporting to the console" (a debug mode)
- <https://opentelemetry.io/docs/languages/python/exporters/#console>
"#;
