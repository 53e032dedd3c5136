//! OTEL021 `uvicorn-reload-under-instrumentation`: uvicorn's reloader (or `fastapi dev`)
//! runs the app in a child process that auto-instrumentation never patched.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::{args, judge};
use crate::rules::{
    always, anywhere, Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL021",
    name: "uvicorn-reload-under-instrumentation",
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
    summary: "uvicorn `--reload` / `fastapi dev` under auto-instrumentation",
    docs: DOCS,
    url: "https://github.com/open-telemetry/opentelemetry-python-contrib/issues/385",
    fix: FixKind::Sometimes,
    query: Some(Query {
        text: include_str!("uvicorn_reload_under_instrumentation.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["reload"],
            facts: Facts::Needles(&["uvicorn", "opentelemetry"]),
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
            needles: &["reload", "fastapi", "UVICORN_RELOAD"],
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

const MESSAGE: &str = "uvicorn's reloader runs the app in a child process; OpenTelemetry auto-instrumentation does not work with `--reload`.";

/// A module that names uvicorn, in OpenTelemetry context.
fn relevant(b: &Bytes) -> bool {
    b.has("uvicorn") && b.otel_context()
}

/// Whether `func` (the callee node text) is uvicorn's `run`.
pub fn is_uvicorn_run(m: &Match) -> bool {
    let Some(py) = m.ctx.python() else {
        return false;
    };
    match m.get("_mod") {
        Some(module) => {
            let alias = m.text(module);
            py.module_aliases("uvicorn").any(|i| i.bound == alias)
        }
        None => py
            .names_bound_to("uvicorn", "run")
            .any(|i| i.bound == "run"),
    }
}

fn check(m: &Match) -> Option<Finding> {
    if !m.ctx.has_otel_context() || !is_uvicorn_run(m) {
        return None;
    }
    let value = m.get("value")?;
    if value.kind() != "true" {
        return None;
    }
    let arg = m.get("arg")?;
    Some(Finding::new(m.span(arg), MESSAGE).with_fix(Fix::safe(
        "Set `reload=False`",
        vec![Edit::replace(m.span(value), "False")],
    )))
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return Vec::new();
    }
    let eff = ctx.effective();
    let f = eff;
    let mut out = Vec::new();
    for l in f.launchers.iter().filter(|l| l.instrumented()) {
        let a = l.args();
        match l.program().as_deref() {
            Some("uvicorn") => {
                // `UVICORN_RELOAD=true` set in this file (a literal we can edit).
                let reload_env = f
                    .lookup(l.scope, "UVICORN_RELOAD")
                    .and_then(|v| v.value.as_ref())
                    .filter(|v| {
                        !v.dynamic
                            && judge::is_here(v)
                            && matches!(
                                v.text.trim().to_ascii_lowercase().as_str(),
                                "true" | "1" | "yes"
                            )
                    });
                if let Some((_, tok)) = args::flag(a, &["--reload"]) {
                    if !judge::is_here(&tok) {
                        continue;
                    }
                    // With `UVICORN_RELOAD=true` here too, the reloader stays on without the
                    // flag: the fix turns both off.
                    let mut edits = vec![judge::delete_word(ctx.text, &tok)];
                    edits.extend(reload_env.and_then(|v| judge::replace_value(v, "false")));
                    let title = if edits.len() > 1 {
                        "Remove `--reload` and set `UVICORN_RELOAD=false`"
                    } else {
                        "Remove `--reload`"
                    };
                    out.push(Finding::new(tok.span, MESSAGE).with_fix(Fix::safe(title, edits)));
                } else if let Some(v) = reload_env {
                    {
                        let mut finding = Finding::new(v.best_span(), MESSAGE);
                        if let Some(e) = judge::replace_value(v, "false") {
                            finding =
                                finding.with_fix(Fix::safe("Set `UVICORN_RELOAD=false`", vec![e]));
                        }
                        out.push(finding);
                    }
                }
            }
            Some("fastapi") => {
                let Some(dev) = a.first().filter(|t| t.text == "dev" && judge::is_here(t)) else {
                    continue;
                };
                if args::flag(a, &["--no-reload"]).is_some() {
                    continue;
                }
                let mut finding = Finding::new(dev.span, "`fastapi dev` runs uvicorn with the reloader; OpenTelemetry auto-instrumentation does not work with it. Use `fastapi run`.");
                if let Some(e) = judge::replace_value(dev, "run") {
                    finding = finding.with_fix(Fix::unsafe_("Use `fastapi run`", vec![e]));
                }
                out.push(finding);
            }
            _ => {}
        }
    }
    out
}

const DOCS: &str = r#"## What it does
Flags uvicorn's reloader where auto-instrumentation is active: `uvicorn … --reload` and
`fastapi dev` (reload is its default; `--no-reload` turns it off) launched by
`opentelemetry-instrument`, `UVICORN_RELOAD=true` in such a launcher's environment, and
`uvicorn.run(…, reload=True)` in a module with OpenTelemetry context. `--reload-dir` and
`--reload-exclude` alone do nothing and are not flagged.

## Why is this bad?
With `--reload` uvicorn's main process only watches files; the app runs in a spawned child
process. The instrumentation `opentelemetry-instrument` applied to the parent is not in that
child, so requests are served without spans, metrics or logs.

## Example
```sh
opentelemetry-instrument uvicorn main:app --reload
```

## Use instead
```sh
opentelemetry-instrument uvicorn main:app
```

## Fix safety
Removing `--reload` (or `reload=True` → `reload=False`, `UVICORN_RELOAD=false`) is safe: the
server serves the same app, only automatic reloading on code changes stops. When the same
launcher also sets `UVICORN_RELOAD=true` in this file, the fix removes the flag and sets the
variable to `false`, since either alone keeps the reloader on. `fastapi dev` →
`fastapi run` is unsafe: `run` also listens on all interfaces and uses production defaults.

## Source
- ClickStack Python guide (uvicorn `--reload` and `--workers` "do not currently work");
  opentelemetry-python-contrib #385
- opentelemetry-python #3482
"#;
