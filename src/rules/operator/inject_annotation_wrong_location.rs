//! OTEL003 `inject-annotation-wrong-location`: an `instrumentation.opentelemetry.io/inject-*`
//! annotation (or a companion key) placed where the Operator never looks — on a Deployment's
//! own metadata, under `spec.metadata`, in a CronJob's Job metadata, one level off in the pod
//! template, or under `labels` — so pods start without auto-instrumentation, silently.

use super::edit::{self, Leaf};
use super::model::{self, Place, Site, Wrong};
use crate::diagnostic::{Finding, Fix, Severity};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{get_path, is_values_path, pair, pair_key, scalar, OPERATOR_PREFIX};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL003",
    name: "inject-annotation-wrong-location",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "Operator inject annotation placed where the Operator does not read it (not on the pod template)",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-configuration",
    fix: FixKind::Safe,
    query: Some(Query {
        text: include_str!("inject_annotation_wrong_location.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Yaml],
            needles: &[OPERATOR_PREFIX],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::NAMESPACE),
};

fn check(m: &Match) -> Option<Finding> {
    if !model::holder_is(m, &["podLabels"]) {
        return None;
    }
    let src = m.chunk;
    let Some(site) = model::site(m, m.get("pair")?) else {
        return values_labels(m);
    };
    if !site.is_misplaced(src) {
        return None;
    }
    let Place::Wrong(wrong) = &site.place else {
        return None;
    };
    let finding = Finding::new(m.span(site.key_node), message(&site, wrong));
    Some(match fix(&site, src) {
        Some(f) => finding.with_fix(f.shifted(m.offset)),
        None => finding,
    })
}

fn message(site: &Site, wrong: &Wrong) -> String {
    let target = site.target().join(".");
    if site.shape.namespace {
        return format!(
            "The Operator reads namespace-wide defaults from the Namespace's annotations; as a label this key is ignored. Move it to `{target}`."
        );
    }
    let kind = &site.obj.kind;
    let parent = site.parent.join(".");
    let place = match wrong {
        Wrong::OwnMetadata(p) if p.len() == 1 => format!("on a {kind}'s own metadata"),
        Wrong::OwnMetadata(_) => {
            "on the metadata of the CronJob's Job template (`spec.jobTemplate.metadata`)"
                .to_string()
        }
        Wrong::HolderMetadata(h) => {
            format!("under `{}.metadata` (not a {kind} field)", h.join("."))
        }
        Wrong::TemplateAnnotations => {
            format!("under `{parent}` (the `metadata:` level is missing)")
        }
        Wrong::TemplateSpecAnnotations => format!("under `{parent}` (not a pod spec field)"),
        Wrong::Labels => "as a label (the Operator reads annotations only)".to_string(),
    };
    format!(
        "Auto-instrumentation annotations are read from the Pod; {place} this annotation is ignored. Move it to `{target}`."
    )
}

/// Moves the key line under the pods' annotations; `None` when the shape is not plain block
/// YAML or the result would not be.
fn fix(site: &Site, src: &str) -> Option<Fix> {
    let target = site.target();
    // Only `metadata:`/`annotations:` are ever created: a workload without a pod template
    // (an Argo Rollout with `workloadRef`) gets no fix.
    if !site.shape.template().is_empty()
        && get_path(site.root, site.shape.template(), src).is_none()
    {
        return None;
    }
    // A label that a selector also matches on must stay, or the selector breaks.
    if matches!(site.place, Place::Wrong(Wrong::Labels)) && selected_on(site, src) {
        return None;
    }
    let removal = edit::remove_pair_line(site.pair, src, &target)?;
    let add = edit::add_under(
        site.root,
        src,
        &target,
        Leaf::Mapping,
        std::slice::from_ref(&removal.text),
    )?;
    let edits = edit::move_edits(&removal, add)?;
    let old: Vec<&str> = site.parent.iter().map(String::as_str).collect();
    edit::verified(src, &edits, |root, out| {
        let has = |path: &[&str]| {
            get_path(root, path, out).is_some_and(|a| pair(a, &site.key, out).is_some())
        };
        has(&target) && !has(&old)
    })?;
    Some(Fix::safe(format!("Move to `{}`", target.join(".")), edits))
}

/// A Helm values file's `podLabels:` (top-level or under a component key) holding an
/// Operator annotation: charts render it into the pods' labels, which the Operator never
/// reads. The fix moves it to the `podAnnotations:` beside it.
fn values_labels(m: &Match) -> Option<Finding> {
    let src = m.chunk;
    if !m.ctx.path.is_some_and(is_values_path) {
        return None;
    }
    let pair_node = m.get("pair")?;
    let key = pair_key(pair_node, src)?;
    let annotation = model::annotation_key(&key)?;
    let (root, clean) = model::document_in(m, pair_node)?;
    if !clean || model::object(m, root).is_some() {
        return None;
    }
    let path = m.key_path(pair_node);
    let n = path.len();
    if !(2..=3).contains(&n) || path[n - 2] != "podLabels" || path.contains(&"-".to_string()) {
        return None;
    }
    let value = pair_node
        .child_by_field_name("value")
        .and_then(|v| scalar(v, src));
    if matches!(annotation, model::AnnotationKey::Inject(_))
        && !model::is_truthy(value.as_ref().map(|v| v.value.as_str()))
    {
        return None;
    }
    let mut target: Vec<&str> = path[..n - 2].iter().map(String::as_str).collect();
    target.push("podAnnotations");
    if get_path(root, &target, src).is_some_and(|a| pair(a, &key, src).is_some()) {
        return None;
    }
    let shown = target.join(".");
    let finding = Finding::new(
        m.span(pair_node.child_by_field_name("key")?),
        format!(
            "Charts render `podLabels` into the pods' labels, and the Operator reads annotations only: this key is ignored. Move it to `{shown}`."
        ),
    );
    let fix = (|| {
        let removal = edit::remove_pair_line(pair_node, src, &target)?;
        let add = edit::add_under(
            root,
            src,
            &target,
            Leaf::Mapping,
            std::slice::from_ref(&removal.text),
        )?;
        let edits = edit::move_edits(&removal, add)?;
        let old: Vec<&str> = path[..n - 1].iter().map(String::as_str).collect();
        edit::verified(src, &edits, |root, out| {
            let has =
                |p: &[&str]| get_path(root, p, out).is_some_and(|a| pair(a, &key, out).is_some());
            has(&target) && !has(&old)
        })?;
        Some(Fix::safe(format!("Move to `{shown}`"), edits))
    })();
    Some(match fix {
        Some(f) => finding.with_fix(f.shifted(m.offset)),
        None => finding,
    })
}

/// Whether a selector of the workload (`spec.selector[.matchLabels]`) names the key.
fn selected_on(site: &Site, src: &str) -> bool {
    site.shape.template_holders.iter().any(|h| {
        let mut sel: Vec<&str> = h.to_vec();
        sel.push("selector");
        let direct = get_path(site.root, &sel, src);
        sel.push("matchLabels");
        let matched = get_path(site.root, &sel, src);
        [direct, matched]
            .into_iter()
            .flatten()
            .any(|m| pair(m, &site.key, src).is_some())
    })
}

const DOCS: &str = r#"## What it does
Flags an OpenTelemetry Operator pod annotation —
`instrumentation.opentelemetry.io/inject-<lang>` (python, java, nodejs, dotnet, go, sdk,
apache-httpd, nginx, php, ruby) or a companion key (`container-names`,
`<lang>-container-names`, `otel-python-platform`, `otel-dotnet-auto-runtime`,
`otel-go-auto-target-exe`) — written where the Operator does not read it:

- the workload's own `metadata.annotations` (Deployment, StatefulSet, DaemonSet, ReplicaSet,
  ReplicationController, Job, CronJob, DeploymentConfig, Argo Rollout, Knative Service,
  PodTemplate);
- `spec.metadata.annotations` (not a field of these kinds);
- a CronJob's `spec.jobTemplate.metadata.annotations` (that is the Job's metadata);
- `spec.template.annotations` (missing `metadata:`) or `spec.template.spec.annotations`;
- under `labels` instead of `annotations` (also on a Pod or a Namespace);
- in a Helm values file (`values.yaml`, `values-<env>.yaml`, …), under `podLabels:` (top-level
  or under a component key) instead of the `podAnnotations:` beside it: charts render
  `podLabels` into the pods' labels. Other maps of a values file are chart-specific and never
  judged.

Kubernetes objects are recognised by `apiVersion` and `kind`. Not flagged: the pod template's
annotations (`spec.template.metadata.annotations`, a CronJob's
`spec.jobTemplate.spec.template.metadata.annotations`, a Pod's `metadata.annotations`), a
Namespace's `metadata.annotations` (a valid namespace-wide default), a key that also sits at
the right place (a redundant copy), an inject value of `"false"` or empty (it has no effect
anywhere), commented-out keys, and documents that are not YAML as written (Helm templates with
`{{ … }}` control lines).

## Why is this bad?
The Operator's admission webhook looks at the annotations of the **Pod** being created (and of
its Namespace). Annotations on the Deployment object itself are never copied to its pods, so
the pods start without the init container and without any telemetry — and nothing reports an
error.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    instrumentation.opentelemetry.io/inject-python: "true"
spec:
  template:
    metadata:
      labels:
        app: web
```

## Use instead
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels:
        app: web
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
```

## Fix safety
Safe. The fix deletes the key's line (and an `annotations:`/`labels:` mapping it leaves empty)
and inserts the same line under the pod template's `metadata.annotations`, creating
`annotations:` (indented like its sibling `labels:`) and `metadata:` when missing. Applying it
changes the pod template, so the workload rolls out new, instrumented pods — which is what the
annotation asked for. No fix is offered when the key shares its line with other content, sits
in a flow mapping (`{…}`), or when the edited document would not parse.

## Source
- OpenTelemetry docs, Operator troubleshooting: "Check auto-instrumentation configuration"
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-configuration>
- OpenTelemetry docs, Operator auto-instrumentation (annotations go on the pod template)
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/>
- opentelemetry-operator `internal/instrumentation/annotation.go`, `podmutator.go`
  <https://github.com/open-telemetry/opentelemetry-operator/blob/main/internal/instrumentation/podmutator.go>
- kubewarden/adm-controller PR #446 (the same mistake in a controller)
"#;
