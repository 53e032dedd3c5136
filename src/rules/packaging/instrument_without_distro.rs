//! OTEL052 `instrument-without-distro`: `opentelemetry-instrument` in an image whose Python
//! packages are explicit `pip install` lists without any distro — no configurator, nothing
//! exported.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::packaging;
use crate::rules::{always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL052",
    name: "instrument-without-distro",
    topic: Topic::Packaging,
    language: Language::Dockerfile,
    also: &[],
    severity: Severity::Error,
    summary: "`opentelemetry-instrument` without an OpenTelemetry distro installed",
    docs: DOCS,
    url: "https://github.com/open-telemetry/opentelemetry-python-contrib/blob/main/opentelemetry-instrumentation/README.rst",
    fix: FixKind::Unsafe,
    query: None,
    pre: &[
        Pre {
            langs: &[Language::Dockerfile],
            needles: &["opentelemetry-instrument"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str = "No OpenTelemetry distro is installed (every `pip install` here lists packages explicitly and none is `opentelemetry-distro` or a vendor distro): `opentelemetry-instrument` finds no configurator and exports nothing. Install `opentelemetry-distro`.";

fn scan(ctx: &Context) -> Vec<Finding> {
    let f = ctx.launch();
    if f.distro_installed() != Some(false) {
        return Vec::new();
    }
    let installs: Vec<_> = f
        .launchers
        .iter()
        .filter_map(|l| packaging::pip_install_args(l).map(|a| (l, a)))
        .collect();
    let mut out = Vec::new();
    let (last, last_args) = installs[installs.len() - 1];
    for l in f.launchers.iter().filter(|l| l.instrumented() && l.runtime) {
        let Some(tok) = l.instrument else {
            continue;
        };
        let mut finding = Finding::new(tok, MESSAGE);
        let anchor = last_args.last().or(last.argv.last());
        let exec_form = last
            .argv
            .first()
            .is_some_and(|t| matches!(ctx.text.as_bytes().get(t.span.start), Some(b'"' | b'\'')));
        if let Some(a) = anchor.filter(|_| !exec_form) {
            finding = finding.with_fix(Fix::unsafe_(
                "Install `opentelemetry-distro` and the OTLP exporter",
                vec![Edit::insert(
                    a.span.end,
                    " opentelemetry-distro opentelemetry-exporter-otlp",
                )],
            ));
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags `opentelemetry-instrument` launchers in a Dockerfile whose Python packages are
installed only through explicit `pip install <pkg…>` lists (no `-r`, `-e`, `.`, requirement
or lock files, no poetry/uv/pipenv installs) when none of the packages is a distro
(`opentelemetry-distro`, `aws-opentelemetry-distro`, `splunk-opentelemetry`,
`hyperdx-opentelemetry`, `azure-monitor-opentelemetry`, …).

## Why is this bad?
`opentelemetry-instrument` only loads instrumentations; the SDK providers and exporters are
configured by a distro's configurator. Without one nothing is exported — no error, no data.

## Example
```dockerfile
RUN pip install flask opentelemetry-instrumentation-flask
CMD ["opentelemetry-instrument", "python", "app.py"]
```

## Use instead
```dockerfile
RUN pip install flask opentelemetry-instrumentation-flask opentelemetry-distro opentelemetry-exporter-otlp
CMD ["opentelemetry-instrument", "python", "app.py"]
```

## Fix safety
Unsafe: it adds dependencies to the image (appended to the last `pip install`, shell form
only). Add `RUN opentelemetry-bootstrap -a install` after it to install the instrumentations.

## Source
- opentelemetry-python-contrib `opentelemetry-instrumentation/README.rst` ("You need to
  install a distro package to get auto instrumentation working")
- opentelemetry-python #3482; opentelemetry-python-contrib #2157
"#;
