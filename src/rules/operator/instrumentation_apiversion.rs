//! OTEL040 `instrumentation-apiversion`: an Instrumentation written against an API version the
//! released Operator CRDs do not serve (`opentelemetry.io/v1beta1`): the API server rejects it,
//! or a future CRD reads its fields elsewhere — either way no pod gets instrumented.

use super::model;
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{get, pair, scalar};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL040",
    name: "instrumentation-apiversion",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Warning,
    summary: "Instrumentation uses an apiVersion the Operator's CRD does not serve (only opentelemetry.io/v1alpha1)",
    docs: DOCS,
    url: "https://github.com/open-telemetry/opentelemetry-operator/blob/main/docs/api/instrumentations.md",
    fix: FixKind::Sometimes,
    query: Some(Query {
        text: include_str!("instrumentation_apiversion.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &["opentelemetry.io/"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::INSTRUMENTATION,
};

/// The one version the released CRD serves.
const SERVED: &str = "opentelemetry.io/v1alpha1";

fn check(m: &Match) -> Option<Finding> {
    let src = m.chunk;
    let pair_node = m.get("pair")?;
    if m.key_path(pair_node) != ["apiVersion"] {
        return None;
    }
    let (root, clean) = model::document_in(m, pair_node)?;
    if !clean {
        return None;
    }
    let obj = model::object(m, root)?;
    if !obj.is_instrumentation() || obj.api_version == SERVED {
        return None;
    }
    let s = scalar(m.get("value")?, src)?;
    let version = s.value.strip_prefix("opentelemetry.io/")?;
    let message = format!(
        "`Instrumentation` is served as `{SERVED}` only; `opentelemetry.io/{version}` is not a version of the Operator's CRD, so the object is rejected and no pod is instrumented."
    );
    let q = usize::from(s.quote.is_some());
    let inner = m.abs(Span::new(s.span.start + q, s.span.end - q));
    // Fields of the v1beta1 proposal (`spec.envConfig`…) have no place in v1alpha1: the
    // version alone is then not the whole fix.
    let proposal_shaped = get(root, "spec", src).is_some_and(|spec| {
        ["envConfig", "sdkConfig", "defaults"]
            .iter()
            .any(|k| pair(spec, k, src).is_some())
    });
    let title = format!("Use `apiVersion: {SERVED}`");
    let edits = vec![Edit::replace(inner, SERVED)];
    let fix = if proposal_shaped {
        Fix::unsafe_(title, edits)
    } else {
        Fix::safe(title, edits)
    };
    Some(Finding::new(m.abs(s.span), message).with_fix(fix))
}

const DOCS: &str = r#"## What it does
Flags the `apiVersion:` of a `kind: Instrumentation` in the `opentelemetry.io` group whose
version is not `v1alpha1` — typically `opentelemetry.io/v1beta1` copied from the v1beta1
proposal or from the OpenTelemetryCollector resource (which does have a `v1beta1`). Other API
groups (a vendor's `Instrumentation` kind) are left alone.

## Why is this bad?
The released Operator CRDs serve `Instrumentation` as `v1alpha1` only. `kubectl apply`
rejects the object ("no matches for kind Instrumentation in version opentelemetry.io/v1beta1"),
or, in a pipeline that ignores the error, the Instrumentation never exists: the webhook finds
nothing to inject and every pod starts uninstrumented, silently.

## Example
```yaml
apiVersion: opentelemetry.io/v1beta1
kind: Instrumentation
metadata:
  name: python
spec:
  exporter:
    endpoint: http://otel-collector:4318
```

## Use instead
```yaml
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
spec:
  exporter:
    endpoint: http://otel-collector:4318
```

## Fix safety
Setting the version to `opentelemetry.io/v1alpha1` is safe when the spec is v1alpha1-shaped
(`exporter`, `env`, `python`, `propagators`, `sampler`…). When it uses fields of the v1beta1
proposal (`spec.envConfig`, `spec.sdkConfig`, `spec.defaults`), the fix is unsafe: those
fields must be moved back to their v1alpha1 places by hand.

## Source
- Operator `config/crd/bases/opentelemetry.io_instrumentations.yaml` (served: `v1alpha1`).
- Operator `docs/rfcs/instrumentation-v1beta1.md` (the proposal's field moves).
- https://opentelemetry.io/docs/zero-code/python/troubleshooting/ (Operator checks).
"#;
