//! OTEL033 `ambiguous-instrumentation-true`: `"true"` picks the one Instrumentation of the
//! pod's namespace; with two or more there, the Operator refuses to choose and injects nothing.

use super::model::{self, AnnotationKey};
use super::namespaces::{judged, quoted};
use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::OPERATOR_PREFIX;
use crate::syntax::yaml::{is_values_path, scalar};
use std::path::Path;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL033",
    name: "ambiguous-instrumentation-true",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "Inject annotation `\"true\"` in a namespace with several Instrumentations: the Operator cannot choose",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("ambiguous_instrumentation_true.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &[OPERATOR_PREFIX],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::NAMESPACE),
};

fn check(m: &Match) -> Option<Finding> {
    if !model::holder_is(m, &["podAnnotations"]) {
        return None;
    }
    let Some((s, pod_ns)) = judged(m, |v| v.eq_ignore_ascii_case("true")) else {
        return chart_values(m);
    };
    let mut names: Vec<&str> = m
        .ctx
        .workspace
        .instrumentations_in(&pod_ns)
        .into_iter()
        .filter_map(|i| i.name.as_deref())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.len() < 2 {
        return None;
    }
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    let message = format!(
        "`\"true\"` is ambiguous: namespace `{pod_ns}` has {} Instrumentations ({}{}), and the Operator injects nothing when it cannot choose. Name one.",
        names.len(),
        shown.join(", "),
        if names.len() > 5 { ", …" } else { "" }
    );
    let span = m.abs(s.span);
    let mut f = Finding::new(span, message);
    // Only names the API server accepts (a templated or broken one is no value to write).
    for n in names.iter().filter(|n| model::is_dns_subdomain(n)).take(8) {
        f = f.with_fix(Fix::unsafe_(
            format!("Use `{n}`"),
            vec![Edit::replace(span, quoted(&s, n))],
        ));
    }
    Some(f)
}

/// A chart's values file (`values.yaml` beside `templates/`) whose `podAnnotations:` say
/// `"true"` while the chart's templates define two or more Instrumentations that always
/// render into the release's namespace (no literal namespace, no wrapping `if`/`with`/
/// `range`) — the namespace of the chart's pods too.
fn chart_values(m: &Match) -> Option<Finding> {
    let path = m.ctx.path.filter(|p| is_values_path(p))?;
    let pair = m.get("pair")?;
    let (annotation, value) = model::values_pod_annotation(m, pair)?;
    if !matches!(annotation, AnnotationKey::Inject(_)) {
        return None;
    }
    let s = scalar(value?, m.chunk)?;
    // A plain `true` is a YAML boolean: OTEL004's.
    if s.is_plain() || !s.value.eq_ignore_ascii_case("true") {
        return None;
    }
    let ws = m.ctx.workspace;
    let templates = path.parent().unwrap_or(Path::new("")).join("templates");
    let mut count = 0;
    let mut names: Vec<&str> = Vec::new();
    for (file, summary) in ws.files_in(&templates, true) {
        for i in &summary.instrumentations {
            // Rendered in every installation, into the release's namespace, and served by
            // the CRD (other versions are rejected: OTEL040).
            let always = i.instrumentation.as_ref().is_some_and(|x| !x.conditional);
            let served = i.api_version == "opentelemetry.io/v1alpha1";
            if !always || !served || ws.object_namespace(file, i).is_some() {
                continue;
            }
            count += 1;
            names.extend(i.name.as_deref());
        }
    }
    names.sort_unstable();
    names.dedup();
    if count < 2 {
        return None;
    }
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    let message = format!(
        "`\"true\"` is ambiguous: the chart's templates install {count} Instrumentations ({}) into the release's namespace, where these pods run too, and the Operator injects nothing when it cannot choose. Name one.",
        if shown.is_empty() { "with templated names".to_string() } else { shown.join(", ") }
    );
    let span = m.abs(s.span);
    let mut f = Finding::new(span, message);
    // Only names the API server accepts (a templated or broken one is no value to write).
    for n in names.iter().filter(|n| model::is_dns_subdomain(n)).take(8) {
        f = f.with_fix(Fix::unsafe_(
            format!("Use `{n}`"),
            vec![Edit::replace(span, quoted(&s, n))],
        ));
    }
    Some(f)
}

const DOCS: &str = r#"## What it does
Flags an `instrumentation.opentelemetry.io/inject-<lang>: "true"` on a pod (or a Namespace)
whose namespace is explicit, when the workspace has two or more Instrumentations in that
namespace.

A chart's values file (`values.yaml`, `values-*.yaml` beside the chart's `templates/`) with
`podAnnotations:` (top-level or under a component key) saying `"true"` is flagged when the
chart's templates define two or more Instrumentations that always render into the release's
namespace — the namespace of the chart's pods: `opentelemetry.io/v1alpha1` (the version the
CRD serves), no literal `metadata.namespace`, and no `{{ if }}`/`{{ with }}`/`{{ range }}`
line that may leave one out.

Not flagged: unknown namespaces (objects without `metadata.namespace`, such as the Operator's
e2e test files, each applied in its own namespace); a namespace with one Instrumentation;
values that name an Instrumentation; values files of charts whose Instrumentations are
conditional or namespaced, or of charts kept elsewhere (no `templates/` beside them).

## Why is this bad?
For `"true"` the Operator takes the single Instrumentation of the pod's namespace. With
several it fails with "multiple OpenTelemetry Instrumentation instances available, cannot
determine which one to select" — logged in the Operator's pod only — and admits the pod
without instrumentation.

## Example
```yaml
        instrumentation.opentelemetry.io/inject-python: "true"   # namespace shop has python and java
```

## Use instead
```yaml
        instrumentation.opentelemetry.io/inject-python: "python"
```

## Fix safety
Each fix names one of the namespace's Instrumentations; unsafe, since which one is meant is
your decision. Only names the API server accepts (DNS-1123 subdomains) are offered: a
templated name (`{{ .Release.Name }}-python`) is no value a values file or manifest can hold.

## Source
- Operator `internal/webhook/podmutator.go` (`errMultipleInstancesPossible`).
- openshift-docs PR #82280.
"#;
