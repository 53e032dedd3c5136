//! OTEL038 `operator-container-selection`: an `inject-python` pod whose injection lands in
//! the wrong container or in none — the first container is not the Python app and no
//! `container-names` says which one is, a container list names no container of the pod (or
//! one twice, or with characters the Operator rejects), or several instrumentations share the
//! pod without a per-language list each.

use super::edit::{self, Leaf};
use super::model::{self, AnnotationKey, Evidence, Place, CONTAINER_NAMES, INJECT_LANGUAGES};
use crate::diagnostic::{Finding, Fix, Severity};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{get_path, pair, OPERATOR_PREFIX};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL038",
    name: "operator-container-selection",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Warning,
    summary: "inject-python targets the wrong container: first container is not the Python app, container-names names no container, or several instrumentations lack per-language lists",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#multi-container-pods",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("operator_container_selection.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &["inject-python"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::NAMESPACE),
};

const PYTHON_NAMES: &str = "instrumentation.opentelemetry.io/python-container-names";

fn short(key: &str) -> &str {
    key.strip_prefix(OPERATOR_PREFIX).unwrap_or(key)
}

fn check(m: &Match) -> Option<Finding> {
    if !model::holder_is(m, &[]) {
        return None;
    }
    let src = m.chunk;
    let site = model::site(m, m.get("pair")?)?;
    if site.annotation != AnnotationKey::Inject("python")
        || site.place != Place::Pod
        || site.is_off(src)
    {
        return None;
    }
    // A value the API server rejects (`true` unquoted) or the Operator cannot resolve is
    // OTEL004's finding; which container it would inject comes after.
    let own = site.value(src)?;
    if (own.is_plain() && model::yaml11_bool(&own.value).is_some())
        || !model::selects_instrumentation(&own.value)
    {
        return None;
    }
    let ws = m.ctx.workspace;
    let obj = &site.obj;
    let ns = obj.pod_namespace();
    let (containers, inits) = model::pod_containers(site.root, &site.shape, src)?;
    let names: Vec<Option<String>> = containers
        .iter()
        .chain(&inits)
        .map(|c| model::container_name(*c, src))
        .collect();
    let exists = |n: &str| names.iter().any(|x| x.as_deref() == Some(n));
    let mut problems: Vec<String> = Vec::new();
    let mut add: Option<(&str, String)> = None;

    // (b) The pod's own Python lists: every name a container, none twice, valid characters.
    let mut listed: Vec<&str> = Vec::new();
    for key in [CONTAINER_NAMES, PYTHON_NAMES] {
        let Some(v) = obj.pod_annotation(key) else {
            continue;
        };
        if v.contains("{{") || v.contains('$') {
            continue;
        }
        let k = short(key);
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b',')
        {
            problems.push(format!(
                "`{k}: \"{v}\"` holds characters the Operator rejects (only letters, digits, `-` and `,`; no spaces), so it instruments nothing."
            ));
        }
        for n in model::split_names(v) {
            if !exists(n) {
                problems.push(format!(
                    "`{k}` names `{n}`, which is neither a container nor an init container of this pod."
                ));
            } else if listed.contains(&n) {
                problems.push(format!(
                    "`{n}` is listed twice for Python (`container-names` and `python-container-names` are joined); the Operator refuses duplicates and instruments nothing."
                ));
            }
            listed.push(n);
        }
    }

    // (c) Several instrumentations: each needs its own list.
    let inject_key = |l: &str| format!("{OPERATOR_PREFIX}inject-{l}");
    let effective = |key: &str| ws.effective_annotation(obj.pod_annotation(key), ns, key);
    let truthy: Vec<&str> = INJECT_LANGUAGES
        .iter()
        .copied()
        .filter(|l| effective(&inject_key(l)).is_some_and(model::selects_instrumentation))
        .collect();
    let python_evident: Vec<String> = containers
        .iter()
        .filter(|c| Evidence::of_container(**c, src).python)
        .filter_map(|c| model::container_name(*c, src))
        .collect();
    if truthy.len() >= 2 {
        let missing: Vec<String> = truthy
            .iter()
            .map(|l| model::container_names_key(l))
            .filter(|k| effective(k).is_none_or(|v| v.trim().is_empty()))
            .map(|k| format!("`{}`", short(&k)))
            .collect();
        if !missing.is_empty() {
            let langs: Vec<String> = truthy.iter().map(|l| format!("`inject-{l}`")).collect();
            problems.push(format!(
                "The pod asks for {} instrumentations ({}) without {}: the Operator injects none of them unless each has its own container list (and multi-instrumentation is enabled).",
                truthy.len(),
                langs.join(", "),
                missing.join(", ")
            ));
            if effective(PYTHON_NAMES).is_none() && !python_evident.is_empty() {
                add = Some((PYTHON_NAMES, python_evident.join(",")));
            }
        } else {
            // Two languages in one container: the Operator refuses the pod.
            let py = model::container_names_for(ws, obj, "python").unwrap_or_default();
            for l in truthy.iter().filter(|l| **l != "python") {
                let other = model::container_names_for(ws, obj, l).unwrap_or_default();
                if let Some(n) = py.iter().find(|n| other.contains(n)) {
                    problems.push(format!(
                        "`{n}` is targeted by `inject-python` and `inject-{l}`; the Operator refuses two instrumentations in one container and instruments nothing."
                    ));
                }
            }
        }
    } else if model::container_names_for(ws, obj, "python").is_none() && containers.len() > 1 {
        // (a) Only the first container is instrumented.
        let first = containers[0];
        let first_image = model::container_image(first, src).map(|i| model::image_path(&i));
        let same_image_as_python = containers.iter().skip(1).any(|c| {
            Evidence::of_container(*c, src).python
                && model::container_image(*c, src).map(|i| model::image_path(&i)) == first_image
                && first_image.is_some()
        });
        let others: Vec<String> = containers
            .iter()
            .skip(1)
            .filter(|c| Evidence::of_container(**c, src).python)
            .filter_map(|c| model::container_name(*c, src))
            .collect();
        if !Evidence::of_container(first, src).python && !same_image_as_python && !others.is_empty()
        {
            let first_name = model::container_name(first, src)
                .map_or("the first container".to_string(), |n| format!("`{n}`"));
            let shown: Vec<String> = others.iter().map(|n| format!("`{n}`")).collect();
            problems.push(format!(
                "Without `container-names` the Operator instruments only the first container, {first_name}, which shows no sign of Python, while {} does. Name the Python container in `instrumentation.opentelemetry.io/container-names`.",
                shown.join(", ")
            ));
            add = Some((CONTAINER_NAMES, others.join(",")));
        }
    }
    if problems.is_empty() {
        return None;
    }
    let finding = Finding::new(m.span(site.key_node), problems.join(" "));
    let fix = add.and_then(|(key, value)| add_annotation(&site, src, key, &value));
    Some(match fix {
        Some(f) => finding.with_fix(f.shifted(m.offset)),
        None => finding,
    })
}

/// Adds `key: "value"` to the pod's annotations, next to `inject-python`.
fn add_annotation(site: &model::Site, src: &str, key: &str, value: &str) -> Option<Fix> {
    if site.obj.pod_annotation(key).is_some() {
        return None;
    }
    let target = site.target();
    let line = format!("{key}: \"{value}\"");
    let e = edit::add_under(site.root, src, &target, Leaf::Mapping, &[line])?;
    let edits = vec![e];
    edit::verified(src, &edits, |root, out| {
        get_path(root, &target, out).is_some_and(|a| pair(a, key, out).is_some())
    })?;
    Some(Fix::unsafe_(
        format!("Add `{}: \"{value}\"`", short(key)),
        edits,
    ))
}

const DOCS: &str = r#"## What it does
Flags the `instrumentation.opentelemetry.io/inject-python` annotation of a pod when the
Operator would inject Python into the wrong container, or into none:

- (a) the pod has several `containers`, no `container-names` / `python-container-names`
  (on the pod or its Namespace), and the first container shows no sign of Python while
  another does (see `inject-language-mismatch`, OTEL035, for what counts as evidence) — the
  Operator instruments only the first container;
- (b) `container-names` or `python-container-names` names a container that is neither in
  `containers` nor in `initContainers`, lists one twice (the two lists are joined), or holds
  characters the Operator rejects (anything but letters, digits, `-` and `,` — a space after
  the comma is enough);
- (c) two or more `inject-*` annotations are on (on the pod or its Namespace) and one of them
  has no `<lang>-container-names` list, or two lists name the same container.

Not flagged: single-container pods; lists naming existing containers or init containers
(the Operator's e2e pod that targets its `python-init` init container); pods whose first
container is the Python app; a first container with the same image as the Python container
(a web process and its worker, say). Lists on a Namespace are used, but only the pod's own
are checked for unknown names.

## Why is this bad?
Without a list the Operator injects into `spec.containers[0]` only — often a proxy sidecar
(`cloud-sql-proxy`, `envoy`) listed first — and the Python app runs uninstrumented. A list
with an unknown name or a space, duplicates, or several instrumentations without their own
lists make the Operator skip the pod ("incorrect instrumentation configuration - please
provide container names for all instrumentations"), with the error in its own log only.

## Example
```yaml
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
    spec:
      containers:
        - name: cloud-sql-proxy
          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11
        - name: api
          image: registry.example.com/api:1.4
          command: ["gunicorn", "app:app"]
```

## Use instead
```yaml
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
        instrumentation.opentelemetry.io/container-names: "api"
```

## Fix safety
For (a) the fix adds `instrumentation.opentelemetry.io/container-names` naming the
containers that show Python; for (c) it adds `python-container-names` the same way (the
other languages' lists are yours to write). Both are unsafe: which containers run Python is
read from images and commands, a heuristic. Unknown names, duplicates and invalid characters
get no fix.

## Source
- https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#multi-container-pods
- Operator `docs/auto-instrumentation/multi-container.md`, `multi-instrumentation.md`;
  `internal/instrumentation/podmutator.go` (`areInstrumentedContainersCorrect`,
  `isValidContainersAnnotation`), `sdk.go` (first container by default).
"#;
