//! OTEL050 `bootstrap-under-uv`: `opentelemetry-bootstrap -a install` in a uv-managed
//! environment, where it installs with pip behind uv's back.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::packaging;
use crate::rules::{always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL050",
    name: "bootstrap-under-uv",
    topic: Topic::Packaging,
    language: Language::Dockerfile,
    also: &[Language::Shell, Language::Makefile, Language::Yaml],
    severity: Severity::Warning,
    summary: "`opentelemetry-bootstrap -a install` in a uv-managed environment",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#bootstrap-using-uv",
    fix: FixKind::Unsafe,
    query: None,
    pre: &[Pre {
        langs: &[
            Language::Dockerfile,
            Language::Shell,
            Language::Makefile,
            Language::Yaml,
        ],
        needles: &["opentelemetry-bootstrap"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str = "`opentelemetry-bootstrap -a install` installs with pip behind uv's back (dependency errors or a broken environment). Generate the requirements and install them with uv: `uv run opentelemetry-bootstrap -a requirements | uv pip install --requirement -`.";

const REPLACEMENT: &str =
    "uv run opentelemetry-bootstrap -a requirements | uv pip install --requirement -";

fn scan(ctx: &Context) -> Vec<Finding> {
    let f = ctx.launch();
    let mut out = Vec::new();
    for l in f
        .own_launchers()
        .filter(|l| packaging::is_bootstrap_install(l))
    {
        if !l.uv_run && !packaging::uv_managed_for(f, l) {
            continue;
        }
        let head = &l.argv[0];
        let mut finding = Finding::new(head.span, MESSAGE);
        // Shell form only: the replacement is a pipeline.
        let end = l.argv.last().map_or(head.span.end, |t| t.span.end);
        let start = l.span.start;
        let exec_form = matches!(ctx.text.as_bytes().get(head.span.start), Some(b'"' | b'\''));
        if !exec_form
            && start <= head.span.start
            && end <= l.span.end
            && l.argv.iter().all(|t| t.raw.is_some())
        {
            finding = finding.with_fix(Fix::unsafe_(
                "Install the instrumentations with uv",
                vec![Edit::replace(Span::new(start, end), REPLACEMENT)],
            ));
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags `opentelemetry-bootstrap -a install` (`--action=install`, `--action install`) in a
Dockerfile, script or Makefile that manages Python with uv (`uv sync`, `uv pip`, `uv venv`,
`uv run`, a copied `uv.lock` or uv binary), or run as `uv run opentelemetry-bootstrap -a
install`; and in CI steps — GitHub Actions `run:` (bash/sh steps) and GitLab CI `script:` /
`before_script:` / `after_script:` — when the same job uses uv (a uv command, or a step
`uses: astral-sh/setup-uv`).

## Why is this bad?
`-a install` shells out to pip to install the instrumentation packages. In a uv-managed
environment that yields dependency errors or unexpected results, and the next `uv sync`
removes what pip added.

## Example
```dockerfile
RUN uv sync --frozen && uv run opentelemetry-bootstrap -a install
```

## Use instead
```dockerfile
RUN uv sync --frozen && uv run opentelemetry-bootstrap -a requirements | uv pip install --requirement -
```

## Fix safety
Unsafe: it changes how packages are installed (re-run it after every `uv sync`). Offered for
shell-form commands only (Dockerfile `RUN`, scripts, recipes, CI steps), since the
replacement is a pipeline.

## Source
- OpenTelemetry docs, Python zero-code troubleshooting, "Bootstrap using uv"
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#bootstrap-using-uv>
"#;
