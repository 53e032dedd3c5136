//! OTEL022 `uvicorn-multiworker-under-instrumentation`: uvicorn's multiprocess mode under
//! `opentelemetry-instrument` spawns workers that lose metrics.

use super::uvicorn_reload_under_instrumentation::is_uvicorn_run;
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::judge::{self, CountFrom};
use crate::launch::{args, summary, Launcher, Token};
use crate::rules::{
    always, anywhere, Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL022",
    name: "uvicorn-multiworker-under-instrumentation",
    topic: Topic::Prefork,
    language: Language::Python,
    also: &[
        Language::Dockerfile,
        Language::Shell,
        Language::Procfile,
        Language::Yaml,
        Language::Makefile,
    ],
    severity: Severity::Warning,
    summary: "uvicorn `--workers N` under opentelemetry-instrument loses metrics",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#workarounds",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("uvicorn_multiworker_under_instrumentation.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["workers"],
            facts: Facts::Needles(&["uvicorn"]),
            file: &["uvicorn"],
            relevant,
        },
        Pre {
            langs: &[
                Language::Dockerfile,
                Language::Shell,
                Language::Procfile,
                Language::Yaml,
                Language::Makefile,
            ],
            needles: &["workers", "WEB_CONCURRENCY"],
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

const MESSAGE: &str = "uvicorn's worker processes under opentelemetry-instrument lose metrics (and are fragile with the SDK's background threads). Use gunicorn with UvicornWorker, or one worker.";

/// A module that names uvicorn, started under auto-instrumentation.
fn relevant(b: &Bytes) -> bool {
    b.has("uvicorn") && b.auto_instrumented()
}

fn check(m: &Match) -> Option<Finding> {
    let path = m.ctx.path?;
    if !is_uvicorn_run(m) || !m.ctx.workspace.is_auto_instrumented(path) {
        return None;
    }
    let value = m.get("value")?;
    if value.kind() != "integer" {
        return None;
    }
    let n: i64 = m.text(value).replace('_', "").parse().ok()?;
    if n <= 1 {
        return None;
    }
    Some(Finding::new(m.span(value), MESSAGE).with_fix(Fix::unsafe_(
        "Run a single worker",
        vec![Edit::replace(m.span(value), "1")],
    )))
}

/// `gunicorn -k uvicorn.workers.UvicornWorker -w N [-b host:port] target`, when the uvicorn
/// command has nothing else gunicorn would need translated.
fn gunicorn_rewrite(text: &str, l: &Launcher, count: &Token) -> Option<Edit> {
    let a = l.args();
    let target = args::positionals(a, summary::UVICORN_VALUE_OPTS);
    let target = match target.as_slice() {
        [t] => *t,
        _ => return None,
    };
    let host = args::find(a, &[], &["--host"]).and_then(|o| o.value);
    let port = args::find(a, &[], &["--port"]).and_then(|o| o.value);
    let known = ["--workers", "--host", "--port"];
    let mut i = 0;
    while let Some(t) = a.get(i) {
        if t.span == target.span {
            i += 1;
            continue;
        }
        let name = t.text.split('=').next().unwrap_or("");
        if !known.contains(&name) {
            return None;
        }
        i += if t.text.contains('=') { 1 } else { 2 };
    }
    let mut words = vec![
        "gunicorn".to_string(),
        "-k".into(),
        "uvicorn.workers.UvicornWorker".into(),
        "-w".into(),
        count.text.clone(),
    ];
    if host.is_some() || port.is_some() {
        let h = host.map_or("127.0.0.1".to_string(), |h| h.text);
        let p = port.map_or("8000".to_string(), |p| p.text);
        words.push("-b".into());
        words.push(format!("{h}:{p}"));
    }
    words.push(target.text.clone());
    if l.argv.iter().any(|t| t.dynamic || t.raw.is_none()) {
        return None;
    }
    let start = l.argv[0].span.start;
    let end = l.argv.last()?.span.end;
    let quoted = matches!(text.as_bytes().get(start), Some(b'"'));
    let sep_list = quoted && text[l.argv[0].span.end..].trim_start().starts_with(',');
    let new = if sep_list {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(", ")
    } else if quoted || text[l.argv[0].span.end..].trim_start().starts_with(',') {
        return None;
    } else {
        words.join(" ")
    };
    // Only when the whole command sits on the launcher's own span (no split ENTRYPOINT/CMD).
    if text.get(start..end)?.contains('\n') && !sep_list {
        return None;
    }
    Some(Edit::replace(Span::new(start, end), new))
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return Vec::new();
    }
    let eff = ctx.effective();
    let f = eff;
    let mut out = Vec::new();
    for l in f.launchers.iter().filter(|l| l.instrumented() && l.runtime) {
        let prog = l.program();
        if !matches!(prog.as_deref(), Some("uvicorn" | "fastapi")) {
            continue;
        }
        let Some(c) = judge::workers(l, f).count else {
            continue;
        };
        let Some(n) = c.count else {
            continue;
        };
        if !n.is_multi() {
            continue;
        }
        // Report where it is written: the count, or the program when the count comes from
        // the environment; another file's words are reported in that file.
        let anchor = if c.from == CountFrom::Cli || !judge::is_here(&l.argv[0]) {
            if !judge::is_here(&c.token) {
                continue;
            }
            c.token.best_span()
        } else {
            l.argv[0].span
        };
        let mut finding = Finding::new(anchor, MESSAGE);
        if let Some(e) = judge::replace_value(&c.token, "1") {
            finding = finding.with_fix(Fix::unsafe_("Run a single worker", vec![e]));
        }
        if prog.as_deref() == Some("uvicorn") && c.from == CountFrom::Cli {
            if let Some(e) = gunicorn_rewrite(ctx.text, l, &c.token) {
                finding = finding.with_fix(Fix::unsafe_(
                    "Serve with gunicorn and UvicornWorker",
                    vec![e],
                ));
            }
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags uvicorn's multiprocess mode under `opentelemetry-instrument`: `uvicorn … --workers N`
and `fastapi run --workers N` with N > 1 (also from `WEB_CONCURRENCY`), and
`uvicorn.run(…, workers=N)` with a literal N > 1 in a module the workspace launches with
`opentelemetry-instrument`. Non-literal counts and commented lines are never judged; the
documented programmatic remedy (`initialize()` in the app, `uvicorn main:app --workers 2`
without `opentelemetry-instrument`) is not flagged.

## Why is this bad?
The OpenTelemetry docs' pre-fork table: multi-worker Uvicorn exports traces and logs but no
metrics. gunicorn with `uvicorn.workers.UvicornWorker` exports all three.

## Example
```sh
opentelemetry-instrument uvicorn main:app --workers 4
```

## Use instead
```sh
opentelemetry-instrument gunicorn -k uvicorn.workers.UvicornWorker -w 4 main:app
```

## Fix safety
Both code actions are unsafe: one worker reduces concurrency; rewriting to gunicorn changes
the server (offered only when the command has nothing but the app, `--workers`, `--host`
and `--port`).

## Source
- OpenTelemetry docs, Python zero-code troubleshooting, workarounds table
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#workarounds>
- ClickStack Python guide; opentelemetry-python-contrib #385; opentelemetry-python #4927
"#;
