//! OTEL032 `annotation-namespace-mismatch`: a pod's `"true"` or `"<name>"` inject value is
//! resolved in the pod's own namespace, but the workspace has the Instrumentation only in other
//! namespaces — the Operator finds none and the pod starts uninstrumented.

use super::namespaces::{judged, quoted};
use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::OPERATOR_PREFIX;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL032",
    name: "annotation-namespace-mismatch",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "Inject annotation resolves in the pod's namespace, but the Instrumentation is only in another namespace",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-the-auto-instrumentation-annotation",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("annotation_namespace_mismatch.scm"),
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
    if !super::model::holder_is(m, &["podAnnotations"]) {
        return None;
    }
    let ws = m.ctx.workspace;
    // An Instrumentation that may be applied into any namespace could be the pod's.
    if ws.has_instrumentation_without_namespace() {
        return None;
    }
    let (s, pod_ns) = judged(m, |v| {
        v.eq_ignore_ascii_case("true")
            || (!v.contains('/') && crate::rules::operator::model::is_dns_subdomain(v))
    })?;
    let v = s.value.as_str();
    let any = v.eq_ignore_ascii_case("true");
    if !any && (v.contains('/') || !crate::rules::operator::model::is_dns_subdomain(v)) {
        return None;
    }
    // The Instrumentations it could mean; one in the pod's namespace, and the Operator finds
    // it. (Indexed look-ups first: most annotations stop there.)
    let here = ws.instrumentations_in(&pod_ns);
    if here.iter().any(|i| any || i.name.as_deref() == Some(v)) {
        return None;
    }
    let mut cands: Vec<String> = Vec::new();
    for (i, ns) in ws.instrumentations_with_namespace().iter() {
        // A templated name could be anything.
        let name = i.name.as_deref()?;
        if !any && name != v {
            continue;
        }
        let ns = ns.as_deref()?;
        if ns == pod_ns {
            return None;
        }
        let r = format!("{ns}/{name}");
        if !cands.contains(&r) {
            cands.push(r);
        }
    }
    if cands.is_empty() {
        return None;
    }
    let what = if any {
        "an Instrumentation".to_string()
    } else {
        format!("Instrumentation `{v}`")
    };
    let shown: Vec<String> = cands.iter().take(5).map(|c| format!("`{c}`")).collect();
    let message = format!(
        "`\"{v}\"` is looked up in the pod's namespace `{pod_ns}`, which has no {what}; the workspace has it only as {}{}. Name it with its namespace.",
        shown.join(", "),
        if cands.len() > 5 { ", …" } else { "" }
    );
    let span = m.abs(s.span);
    let mut f = Finding::new(span, message);
    for c in cands.iter().take(8) {
        f = f.with_fix(Fix::unsafe_(
            format!("Use `{c}`"),
            vec![Edit::replace(span, quoted(&s, c))],
        ));
    }
    Some(f)
}

const DOCS: &str = r#"## What it does
Flags an `instrumentation.opentelemetry.io/inject-<lang>` value `"true"` or `"<name>"` on a
pod (or a Namespace) whose namespace is explicit, when the workspace has the Instrumentation
it means — for `"true"`, any Instrumentation — only in other explicit namespaces.

Not flagged: pods or Instrumentations whose namespace is unknown (no `metadata.namespace`;
a Helm values file's `podAnnotations:`, whose pods run in the release's namespace),
because they may be applied anywhere; an Instrumentation of that name (or, for `"true"`, any)
in the pod's namespace; `"<namespace>/<name>"` values (OTEL004 judges those); templated values.
A name that only Instrumentations of other namespaces have is reported here, not as OTEL004's
"names no Instrumentation".

## Why is this bad?
The Operator resolves `"true"` and `"<name>"` in the **pod's** namespace
(`podmutator.go getInstrumentationInstance`). With the Instrumentation in another namespace
it finds none, admits the pod unchanged and logs the failure only in its own pod: no
telemetry, no event on the workload.

## Example
```yaml
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: my-instrumentation
  namespace: opentelemetry
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-python: "my-instrumentation"
```

## Use instead
```yaml
        instrumentation.opentelemetry.io/inject-python: "opentelemetry/my-instrumentation"
```

## Fix safety
Each fix names one candidate as `"<namespace>/<name>"`; it is unsafe because which
Instrumentation the pod should use is your decision (and a cross-namespace reference needs
the collector endpoint to resolve from the pod's namespace, see OTEL039).

## Source
- https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-the-auto-instrumentation-annotation
  (the `opentelemetry/my-instrumentation` example).
- Operator `internal/webhook/podmutator.go` (`getInstrumentationInstance`).
"#;
