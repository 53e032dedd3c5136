//! OTEL033 `ambiguous-instrumentation-true`: `"true"` picks the one Instrumentation of the
//! pod's namespace; with two or more there, the Operator refuses to choose and injects nothing.

use super::namespaces::{judged, quoted};
use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::OPERATOR_PREFIX;

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
};

fn check(m: &Match) -> Option<Finding> {
    let (s, pod_ns) = judged(m, |v| v.eq_ignore_ascii_case("true"))?;
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
    for n in names.iter().take(8) {
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

Not flagged: unknown namespaces (objects without `metadata.namespace`, such as the Operator's
e2e test files, each applied in its own namespace); a namespace with one Instrumentation;
values that name an Instrumentation.

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
your decision.

## Source
- Operator `internal/webhook/podmutator.go` (`errMultipleInstancesPossible`).
- openshift-docs PR #82280.
"#;
