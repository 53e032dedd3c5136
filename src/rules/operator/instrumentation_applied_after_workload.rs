//! OTEL034 `instrumentation-applied-after-workload`: a workload whose pods ask for injection is
//! applied before the Instrumentation they resolve to — in one multi-document file, or by a
//! kustomization (whose legacy order puts unknown kinds such as Instrumentation after
//! Deployments). The Operator's webhook then finds no Instrumentation when the first pods are
//! created and admits them uninstrumented.

use super::model::{annotation_key, AnnotationKey};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, Bytes, Context, Facts, FixKind, Pre, Rule, Topic};
use crate::source::ChunkFacts;
use crate::syntax::kustomize::{self, is_kustomization_path};
use crate::syntax::yaml::{self, get_path, pair, pod_shape, K8sObject};
use crate::workspace::clean;
use std::collections::HashMap;
use std::path::Path;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL034",
    name: "instrumentation-applied-after-workload",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[Language::Shell, Language::Makefile],
    severity: Severity::Warning,
    summary: "Workload applied before the Instrumentation its inject annotation resolves to: its first pods start uninstrumented",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-deployment-order",
    fix: FixKind::Sometimes,
    query: None,
    pre: &[
        Pre {
            langs: &[Language::Yaml],
            needles: &[],
            facts: Facts::All,
            file: &["Instrumentation", "instrumentation.opentelemetry.io", "kubectl"],
            relevant,
        },
        Pre {
            langs: &[Language::Shell, Language::Makefile],
            needles: &["kubectl", "oc apply", "oc create"],
            facts: Facts::All,
            file: &[],
            relevant: relevant_script,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::INSTRUMENTATION).or(crate::syntax::yaml::Classes::NAMESPACE),
};

/// A kustomization (what it builds is in other files), a stream with both an
/// Instrumentation and an inject annotation, or a CI file that runs kubectl in a workspace
/// with Instrumentations.
fn relevant(b: &Bytes) -> bool {
    b.path.is_some_and(is_kustomization_path)
        || (b.has("Instrumentation") && b.has("instrumentation.opentelemetry.io"))
        || (b.has("kubectl") && has_instrumentations(b))
}

/// A script or Makefile that applies manifests, in a workspace with Instrumentations.
fn relevant_script(b: &Bytes) -> bool {
    has_instrumentations(b)
}

fn has_instrumentations(b: &Bytes) -> bool {
    b.workspace.instrumentations().next().is_some()
}

fn scan(ctx: &Context) -> Vec<Finding> {
    match ctx.path {
        Some(p) if is_kustomization_path(p) => kustomization(ctx, p),
        _ if ctx.file.language() != Language::Yaml => super::apply_order::scripts(ctx),
        _ => {
            let mut out = stream(ctx);
            out.extend(super::apply_order::scripts(ctx));
            out
        }
    }
}

/// The first truthy `inject-*` annotation of an object's pods: `(key, value)`.
pub(super) fn inject_values(o: &K8sObject) -> impl Iterator<Item = (&str, &str)> {
    o.pod_annotations
        .iter()
        .filter(|(k, _)| matches!(annotation_key(k), Some(AnnotationKey::Inject(_))))
        .map(|(k, v)| (k.as_str(), v.trim()))
        .filter(|(_, v)| !v.is_empty() && !v.eq_ignore_ascii_case("false"))
}

/// A workload: an object that creates pods (not a Namespace).
pub(super) fn is_workload(o: &K8sObject) -> bool {
    pod_shape(&o.api_version, &o.kind).is_some_and(|s| !s.namespace)
}

/// Whether an inject value could select an Instrumentation named `name` in namespace
/// `inst_ns`, for a pod in `pod_ns` (unknown namespaces could be any one).
pub(super) fn could_select(
    value: &str,
    pod_ns: Option<&str>,
    name: Option<&str>,
    inst_ns: Option<&str>,
) -> bool {
    let same_ns = |want: Option<&str>| match (want, inst_ns) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    if value.eq_ignore_ascii_case("true") {
        return same_ns(pod_ns);
    }
    match value.split_once('/') {
        Some((ns, n)) => name == Some(n) && same_ns(Some(ns)),
        None => name == Some(value) && same_ns(pod_ns),
    }
}

/// The workspace's Instrumentations by name and by namespace, to find the ones an inject
/// value could select without asking each of them.
struct Candidates<'a> {
    all: &'a [(std::sync::Arc<K8sObject>, Option<String>)],
    by_name: HashMap<&'a str, Vec<usize>>,
    /// How many are in each known namespace, and in none known.
    in_ns: HashMap<&'a str, Vec<usize>>,
    unknown_ns: Vec<usize>,
}

impl<'a> Candidates<'a> {
    fn of(all: &'a [(std::sync::Arc<K8sObject>, Option<String>)]) -> Self {
        let mut c = Candidates {
            all,
            by_name: HashMap::new(),
            in_ns: HashMap::new(),
            unknown_ns: Vec::new(),
        };
        for (n, (i, ns)) in all.iter().enumerate() {
            if let Some(name) = i.name.as_deref() {
                c.by_name.entry(name).or_default().push(n);
            }
            match ns.as_deref() {
                Some(ns) => c.in_ns.entry(ns).or_default().push(n),
                None => c.unknown_ns.push(n),
            }
        }
        c
    }
}

/// The one Instrumentation `value` could select for a pod in `pod_ns` ([`could_select`]),
/// if exactly one could.
fn only_candidate<'a>(
    c: &Candidates<'a>,
    value: &str,
    pod_ns: Option<&str>,
) -> Option<&'a K8sObject> {
    let pick = |n: usize| Some(&*c.all[n].0);
    if value.eq_ignore_ascii_case("true") {
        // Every one in the pod's namespace or in an unknown one (all, when the pod's is
        // unknown).
        return match pod_ns {
            None => (c.all.len() == 1).then(|| pick(0)).flatten(),
            Some(ns) => {
                let known = c.in_ns.get(ns).map_or(&[][..], Vec::as_slice);
                match (known, c.unknown_ns.as_slice()) {
                    ([one], []) | ([], [one]) => pick(*one),
                    _ => None,
                }
            }
        };
    }
    let name = value.split_once('/').map_or(value, |(_, n)| n);
    let mut cands = c.by_name.get(name).into_iter().flatten().filter(|&&n| {
        let (i, ns) = &c.all[n];
        could_select(value, pod_ns, i.name.as_deref(), ns.as_deref())
    });
    match (cands.next(), cands.next()) {
        (Some(&one), None) => pick(one),
        _ => None,
    }
}

/// (a) A multi-document stream: a workload whose inject value can only mean an
/// Instrumentation further down the same stream.
fn stream(ctx: &Context) -> Vec<Finding> {
    let ws = ctx.workspace;
    let path = ctx.path;
    if super::model::is_test_assertion(path) {
        return Vec::new();
    }
    // Applied by a kustomization (its own order) or rendered by Helm (sorted by kind): the
    // order of the documents is not the order they are applied in.
    if let Some(p) = path {
        if !ws.kustomizations_of(p).is_empty()
            || p.components().any(|c| c.as_os_str() == "templates")
        {
            return Vec::new();
        }
    }
    // A document this check has not parsed (the command line parses a stream's
    // Instrumentations apart from its workloads) is known by the stream's summary; only a
    // stream the workspace does not hold must be read whole.
    let chunks = ctx.file.chunks();
    let mut docs: Vec<(usize, &std::sync::Arc<K8sObject>)> = Vec::new();
    // The documents known from the summary, and whether each parses.
    let mut summarised: Vec<(usize, bool)> = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        match &c.facts {
            ChunkFacts::Yaml(Some(o)) => docs.push((i, o)),
            _ if c.has_facts() => {}
            _ => match path.and_then(|p| ws.stream_document_at(p, c.start)) {
                Some(d) => {
                    docs.push((i, &d.object));
                    summarised.push((i, d.parses));
                }
                None if path.is_none_or(|p| !ws.holds(p)) => ws.whole_stream(),
                None => {}
            },
        }
    }
    let insts: Vec<(usize, &K8sObject)> = docs
        .iter()
        .filter(|(_, o)| o.is_instrumentation())
        .map(|(i, o)| (*i, &***o))
        .collect();
    let Some(&(last_inst, _)) = insts.last() else {
        return Vec::new();
    };
    let all = ws.instrumentations_with_namespace();
    // The Instrumentation of this stream an inject value in a namespace can only mean, by
    // value and namespace: a stream repeats a few of them over thousands of workloads.
    type Meant<'a> = HashMap<(&'a str, Option<String>), Option<(usize, &'a K8sObject)>>;
    let mut meant: Meant = HashMap::new();
    let by = Candidates::of(&all);
    let mut out = Vec::new();
    for &(wi, w) in docs
        .iter()
        .filter(|(i, o)| *i < last_inst && is_workload(o))
    {
        let pod_ns = ws.pod_namespace(path, w);
        for (key, value) in inject_values(w) {
            let found = *meant.entry((value, pod_ns.clone())).or_insert_with(|| {
                let target = only_candidate(&by, value, pod_ns.as_deref())?;
                insts.iter().find(|(_, o)| **o == *target).copied()
            });
            let Some((ii, inst)) = found else {
                continue;
            };
            if ii < wi {
                continue;
            }
            let Some(anchor) = annotation_span(ctx, wi, w, key) else {
                continue;
            };
            let name = inst.name.as_deref().unwrap_or("?");
            let message = format!(
                "This workload is applied before Instrumentation `{name}` further down the file: when its first pods are created the Operator's webhook finds no Instrumentation and admits them uninstrumented (they need a restart). Put the Instrumentation document first."
            );
            let mut f = Finding::new(anchor, message);
            let parses = match summarised.iter().find(|(i, _)| *i == ii) {
                Some(&(_, parses)) => parses,
                None => ctx.file.chunks()[ii]
                    .tree()
                    .is_some_and(|t| !t.root_node().has_error()),
            };
            if let Some(fix) = move_up(ctx, &docs, ii, parses) {
                f = f.with_fix(fix);
            }
            out.push(f);
            break;
        }
    }
    out
}

/// The span of the annotation key `key` in the pod metadata of chunk `i`'s object.
fn annotation_span(ctx: &Context, i: usize, o: &K8sObject, key: &str) -> Option<Span> {
    let c = &ctx.file.chunks()[i];
    let src = &ctx.text[c.start..c.start + c.len];
    let root = yaml::document_root(c.tree()?.root_node())?;
    let shape = pod_shape(&o.api_version, &o.kind)?;
    let mut p = shape.pod_meta.to_vec();
    p.push("annotations");
    let ann = get_path(root, &p, src)?;
    let k = yaml::key_of(pair(ann, key, src)?)?;
    Some(Span::new(c.start + k.start_byte(), c.start + k.end_byte()))
}

/// Moves the Instrumentation document (chunk `ii`, with its `---`) above the first workload
/// document, when that document parses.
fn move_up(
    ctx: &Context,
    docs: &[(usize, &std::sync::Arc<K8sObject>)],
    ii: usize,
    parses: bool,
) -> Option<Fix> {
    let chunks = ctx.file.chunks();
    let &(first, _) = docs.iter().find(|(i, o)| *i < ii && is_workload(o))?;
    let text = ctx.text;
    let (fc, ic) = (&chunks[first], &chunks[ii]);
    let inst = &text[ic.start..ic.start + ic.len];
    let nl = yaml::newline_of(text);
    let mut moved = String::new();
    let first_has_marker = text[fc.start..].starts_with("---");
    if !first_has_marker {
        // To the top of the stream: the document's own `---` line goes after it instead.
        let body = inst
            .strip_prefix("---")
            .map(|r| &r[r.find('\n').map_or(r.len(), |n| n + 1)..])
            .unwrap_or(inst);
        moved.push_str(body);
    } else {
        if !inst.starts_with("---") {
            moved.push_str("---");
            moved.push_str(nl);
        }
        moved.push_str(inst);
    }
    if !moved.ends_with('\n') {
        moved.push_str(nl);
    }
    if !first_has_marker {
        moved.push_str("---");
        moved.push_str(nl);
    }
    let edits = vec![
        Edit::insert(fc.start, moved),
        Edit::delete(Span::new(ic.start, ic.start + ic.len)),
    ];
    let fix = |edits| {
        // A Namespace document between them may be the Instrumentation's: moving it above
        // that would apply it before its namespace exists.
        let namespace_between = docs
            .iter()
            .any(|(i, o)| *i > first && *i < ii && o.kind == "Namespace" && o.group().is_empty());
        let title = "Move the Instrumentation document above the first workload";
        if namespace_between {
            Fix::unsafe_(title, edits)
        } else {
            Fix::safe(title, edits)
        }
    };
    // Documents are parsed on their own: the stream re-parses when the moved one does (an
    // edit inside it overlaps the fix, so a cached finding never outlives its text).
    parses.then(|| fix(edits))
}

/// Kinds kustomize's legacy order puts first, in that order (`api/resource/resource.go`
/// `orderFirst`); every other kind but the webhook configurations sorts by
/// `group_version_kind` (core group `~G`) after them.
const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Whether kustomize's legacy order puts an object of this kind before an Instrumentation.
fn sorts_before_instrumentation(o: &K8sObject, inst: &K8sObject) -> bool {
    if ORDER_FIRST.contains(&o.kind.as_str()) {
        return true;
    }
    let gvk = |x: &K8sObject| {
        let (g, v) = x
            .api_version
            .rsplit_once('/')
            .unwrap_or(("", &x.api_version));
        let g = if g.is_empty() { "~G" } else { g };
        format!("{g}_{v}_{}", x.kind)
    };
    gvk(o) < gvk(inst)
}

/// (c) A kustomization that builds both a workload and the Instrumentation its pods resolve
/// to: reported on the entry that brings the Instrumentation in.
fn kustomization(ctx: &Context, path: &Path) -> Vec<Finding> {
    let ws = ctx.workspace;
    let Some(c) = ctx.file.chunks().iter().find(|c| c.kustomization.is_some()) else {
        return Vec::new();
    };
    if c.kustomization.as_ref().is_some_and(|k| k.fifo) {
        return Vec::new();
    }
    let Some(root) = c.tree().and_then(|t| yaml::document_root(t.root_node())) else {
        return Vec::new();
    };
    let src = &ctx.text[c.start..c.start + c.len];
    let entries = kustomize::entries(root, src);
    let built = ws.kustomization_builds(path);
    // Its objects: (entry, file, object, namespace).
    let mut insts: Vec<(usize, &Path, &K8sObject, Option<String>)> = Vec::new();
    let mut workloads: Vec<(usize, &K8sObject, Option<String>)> = Vec::new();
    for &(e, p, s) in &built {
        for o in &s.instrumentations {
            insts.push((e, p, o, ws.object_namespace(p, o)));
        }
        for o in s.injectors.iter().filter(|o| is_workload(o)) {
            workloads.push((e, o, ws.pod_namespace(Some(p), o)));
        }
    }
    let mut out: Vec<Finding> = Vec::new();
    let mut reported: Vec<usize> = Vec::new();
    for (we, w, pod_ns) in &workloads {
        for (_, value) in inject_values(w) {
            // Built together, two unknown namespaces are the one the build is applied to.
            let cands: Vec<_> = insts
                .iter()
                .filter(|(_, _, i, ns)| {
                    let same = |want: Option<&str>| want == ns.as_deref();
                    if value.eq_ignore_ascii_case("true") {
                        same(pod_ns.as_deref())
                    } else {
                        match value.split_once('/') {
                            Some((n, name)) => i.name.as_deref() == Some(name) && same(Some(n)),
                            None => i.name.as_deref() == Some(value) && same(pod_ns.as_deref()),
                        }
                    }
                })
                .collect();
            let [&(ie, ip, inst, ref ins)] = cands[..] else {
                continue;
            };
            // Where the namespace is known, no other Instrumentation of the workspace may be
            // the one (it could exist before the build is applied).
            if let Some(ns) = pod_ns.as_deref().or(ins.as_deref()) {
                if ws.resolve(value, Some(ns)).is_none_or(|r| r != inst) {
                    continue;
                }
            }
            if !sorts_before_instrumentation(w, inst) || reported.contains(&ie) {
                continue;
            }
            let Some(entry) = entries.get(ie) else {
                continue;
            };
            // Brought in by a folder that also brings the workload: that folder's own
            // kustomization reports it.
            let dir = path.parent().unwrap_or(Path::new(""));
            let is_file = clean(&dir.join(&entry.path)) == clean(ip);
            if !is_file && ie == *we {
                continue;
            }
            reported.push(ie);
            let name = inst.name.as_deref().unwrap_or("?");
            let wname = w.name.as_deref().unwrap_or("?");
            let message = format!(
                "kustomize applies {} `{wname}` before Instrumentation `{name}` (its legacy order puts kinds it does not know, such as Instrumentation, after Deployments): pods created before the Instrumentation exists start uninstrumented. Apply the Instrumentation first, in a step of its own.",
                w.kind
            );
            out.push(Finding::new(
                Span::new(c.start + entry.span.start, c.start + entry.span.end),
                message,
            ));
        }
    }
    out
}

const DOCS: &str = r#"## What it does
Flags a workload whose pods ask the OpenTelemetry Operator for injection
(`instrumentation.opentelemetry.io/inject-<lang>`) when it is applied before the
Instrumentation its value resolves to:

- in one multi-document YAML file, the workload's document comes first (reported on the
  inject annotation);
- a shell script, a Makefile recipe or a CI job (GitHub Actions `run:` steps, GitLab CI
  `script:`) runs `kubectl apply -f` / `kubectl create -f` / `kubectl apply -k` of the
  workload's file (or a folder holding it, or a kustomization building it) before the one
  of the Instrumentation's (reported on the workload's command). Paths are taken from the
  script's or Makefile's folder (for a GitHub workflow, the repository root above
  `.github/`; for `.gitlab-ci.yml`, its folder); `-n` gives the objects without a
  namespace theirs;
- a kustomization builds both (reported on the Instrumentation's entry under `resources:`):
  kustomize's default (legacy) order applies Deployments, StatefulSets and CronJobs — and
  kinds whose `group_version_kind` sorts before `opentelemetry.io_v1alpha1_Instrumentation`,
  such as DaemonSets and Jobs — before Instrumentations.

Not flagged in scripts: the Instrumentation applied first; commands whose order is not the
file's — in functions, `if`/`case`, loops and `||` lists, in different Makefile targets or
`ifeq` blocks, in different CI jobs (they run in parallel); order unknown — a path built from
variables, `-f -`, a URL, a path naming no file or folder of the workspace, or any of those
before the workload's command; commands after a `cd`, or in a step with a
`working-directory`; `--dry-run`; both in one command (kubectl's own order, milliseconds
apart); chainsaw tests (their `apply` steps are no kubectl commands).

Not flagged: the Instrumentation document first; files a kustomization builds or Helm
`templates/` (their order is not the file's); kustomizations with `sortOptions: {order: fifo}`;
values that could also mean an Instrumentation of another file (order unknown); Pods and other
core kinds, which kustomize sorts after Instrumentations; test steps (chainsaw) that apply
the Instrumentation in an earlier step of their own, and their assertion files
(`00-assert.yaml`).

## Why is this bad?
The Operator injects at pod creation, through its admission webhook. When the first pods are
created before the Instrumentation exists, the webhook finds none and admits them
unchanged: no init container, no telemetry, and nothing happens until the pods are restarted.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
---
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
```

## Use instead
```yaml
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
---
apiVersion: apps/v1
kind: Deployment
...
```
With kustomize, apply the Instrumentation in a step of its own (or
`sortOptions: {order: fifo}` with it listed first).

## Fix safety
In a multi-document file the fix moves the Instrumentation document (with its `---`) above
the first workload document, only when the result still parses; it is safe unless a Namespace
document lies between the two (the Instrumentation may need it first). Kustomizations get no
fix. In a script the fix moves the Instrumentation's command line above the workload's, when
each command has a line of its own, both are indented alike, and at most five lines (of the
same block) lie between; it is unsafe: what runs between — a `kubectl wait` for the
Operator's webhook, the Namespace the workload's file creates — may be what the
Instrumentation needs first.

## Source
- https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-deployment-order
- open-telemetry/opentelemetry-operator#1329, #553; kustomize `api/resource` legacy order.
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The indexed look-up answers as asking every Instrumentation would.
    #[test]
    fn only_candidate_is_what_could_select_leaves_alone() {
        let inst = |name: Option<&str>| {
            Arc::new(K8sObject {
                kind: "Instrumentation".into(),
                name: name.map(str::to_string),
                ..Default::default()
            })
        };
        let sets: Vec<Vec<(Option<&str>, Option<&str>)>> = vec![
            vec![],
            vec![(Some("a"), Some("x"))],
            vec![(Some("a"), None)],
            vec![(Some("a"), Some("x")), (Some("a"), Some("y"))],
            vec![(Some("a"), Some("x")), (Some("b"), Some("x")), (None, None)],
            vec![
                (Some("a"), None),
                (Some("a"), Some("x")),
                (Some("b"), Some("y")),
            ],
        ];
        let values = [
            "true", "TRUE", "a", "b", "x/a", "y/a", "x/b", "z/a", "c", "x/",
        ];
        for set in sets {
            let all: Vec<(Arc<K8sObject>, Option<String>)> = set
                .iter()
                .map(|(n, ns)| (inst(*n), ns.map(str::to_string)))
                .collect();
            let by = Candidates::of(&all);
            for value in values {
                for pod_ns in [None, Some("x"), Some("y"), Some("z")] {
                    let linear: Vec<usize> = (0..all.len())
                        .filter(|&n| {
                            let (i, ns) = &all[n];
                            could_select(value, pod_ns, i.name.as_deref(), ns.as_deref())
                        })
                        .collect();
                    let want = match linear[..] {
                        [one] => Some(&*all[one].0 as *const K8sObject),
                        _ => None,
                    };
                    let got = only_candidate(&by, value, pod_ns).map(|o| o as *const K8sObject);
                    assert_eq!(got, want, "{set:?} {value} {pod_ns:?}");
                }
            }
        }
    }
}
