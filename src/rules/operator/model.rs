//! The OpenTelemetry Operator model shared by OTEL003–OTEL005 and OTEL031–OTEL038: which keys
//! are Operator annotations, where in a Kubernetes object one sits and whether the Operator
//! reads it there, which containers an `inject-<lang>` annotation targets and what runtime a
//! container shows (`Evidence`), OTLP endpoint parsing, and the exporter settings an
//! Operator-injected Python process ends up with (rules.md §0.3, §0.4).

use crate::rules::Match;
use crate::source::ChunkFacts;
use crate::syntax::yaml::{
    self, content, get_path, pair, pair_key, pairs, pod_shape, scalar, K8sObject, PodShape,
    OPERATOR_PREFIX,
};
use crate::workspace::INJECT_PYTHON;
use std::sync::Arc;
use tree_sitter::Node;

/// The languages of `instrumentation.opentelemetry.io/inject-<lang>`.
pub const INJECT_LANGUAGES: &[&str] = &[
    "python",
    "java",
    "nodejs",
    "dotnet",
    "go",
    "sdk",
    "apache-httpd",
    "nginx",
    "php",
    "ruby",
];

/// What an `instrumentation.opentelemetry.io/…` key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationKey {
    /// `inject-<lang>`: turns injection on (`"true"`, a name) or off (`"false"`).
    Inject(&'static str),
    /// A companion that only matters next to an inject key: `container-names`,
    /// `<lang>-container-names`, `otel-python-platform`, `otel-dotnet-auto-runtime`,
    /// `otel-go-auto-target-exe`.
    Companion,
}

/// Classifies a full annotation key; `None` for keys the Operator does not read from pods.
pub fn annotation_key(key: &str) -> Option<AnnotationKey> {
    let rest = key.strip_prefix(OPERATOR_PREFIX)?;
    if let Some(lang) = rest.strip_suffix("-container-names") {
        // The Operator spells the nginx one `inject-nginx-container-names`.
        let lang = lang.strip_prefix("inject-").unwrap_or(lang);
        return INJECT_LANGUAGES
            .contains(&lang)
            .then_some(AnnotationKey::Companion);
    }
    if matches!(
        rest,
        "container-names"
            | "otel-python-platform"
            | "otel-dotnet-auto-runtime"
            | "otel-go-auto-target-exe"
    ) {
        return Some(AnnotationKey::Companion);
    }
    let lang = rest.strip_prefix("inject-")?;
    INJECT_LANGUAGES
        .iter()
        .find(|l| **l == lang)
        .map(|l| AnnotationKey::Inject(l))
}

/// A place the Operator never reads pod annotations from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wrong {
    /// The workload's own `metadata.annotations`, or a CronJob's `spec.jobTemplate.metadata`.
    OwnMetadata(&'static [&'static str]),
    /// `spec.metadata.annotations`: not a field of the workload.
    HolderMetadata(&'static [&'static str]),
    /// `spec.template.annotations`: the `metadata:` level is missing.
    TemplateAnnotations,
    /// `spec.template.spec.annotations`: not a pod spec field.
    TemplateSpecAnnotations,
    /// Under a `labels:` map instead of `annotations:`.
    Labels,
}

/// Where an Operator annotation sits in its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The pods' annotations: where the Operator reads it.
    Pod,
    /// A Namespace's annotations: the namespace-wide default.
    Namespace,
    /// A place the Operator ignores.
    Wrong(Wrong),
    /// Anywhere else (lists, unrelated objects): no rule judges it.
    Other,
}

/// One Operator annotation key found in a Kubernetes document, with its context.
pub struct Site<'t> {
    /// The document's root mapping.
    pub root: Node<'t>,
    /// The object's identity and facts.
    pub obj: Arc<K8sObject>,
    /// Where its pods' metadata lives.
    pub shape: PodShape,
    /// The `key: value` pair.
    pub pair: Node<'t>,
    /// The key node.
    pub key_node: Node<'t>,
    /// The value node, absent for `key:` with nothing after it.
    pub value_node: Option<Node<'t>>,
    /// The key, unquoted.
    pub key: String,
    /// What the key asks for.
    pub annotation: AnnotationKey,
    /// Key path of the mapping that holds the pair.
    pub parent: Vec<String>,
    /// Whether the Operator reads it there.
    pub place: Place,
}

/// [`document_of`] from the match's tree root: one descent instead of a climb.
pub fn document_in<'t>(m: &Match<'_, 't>, node: Node<'t>) -> Option<(Node<'t>, bool)> {
    let top = m.root;
    if top.child_with_descendant(node).is_none() && top != node {
        return document_of(node);
    }
    let root = yaml::document_root(top)?;
    Some((root, !top.has_error()))
}

/// The document root mapping above `node`, and whether the document parsed cleanly.
pub fn document_of(node: Node) -> Option<(Node, bool)> {
    let mut top = node;
    while let Some(p) = top.parent() {
        top = p;
    }
    let root = yaml::document_root(top)?;
    Some((root, !top.has_error()))
}

/// Whether the mapping an Operator annotation query matched under (`@_map`) is one a rule
/// reads: `annotations:` or `labels:` (plain or quoted), or one of `extra` (plain: the Helm
/// values maps `podAnnotations:`, `podLabels:`). The annotation rules share one query over
/// all of them, so that one pass serves them all; each keeps its own here.
pub fn holder_is(m: &Match, extra: &[&str]) -> bool {
    let Some(map) = m.get("_map") else {
        return false;
    };
    let text = m.text(map);
    matches!(
        text,
        "annotations" | "labels" | "\"annotations\"" | "\"labels\"" | "'annotations'" | "'labels'"
    ) || extra.contains(&text)
}

/// The Kubernetes identity of the match's document: from the chunk facts the engine already
/// computed, else read again.
pub fn object(m: &Match, root: Node) -> Option<Arc<K8sObject>> {
    let chunks = m.ctx.file.chunks();
    let i = chunks.partition_point(|c| c.start < m.offset);
    if let Some(c) = chunks.get(i).filter(|c| c.start == m.offset) {
        if let ChunkFacts::Yaml(obj) = &c.facts {
            return obj.clone();
        }
    }
    yaml::k8s_object(root, m.chunk).map(Arc::new)
}

fn path_eq(path: &[String], parts: &[&[&str]]) -> bool {
    let mut want = parts.iter().flat_map(|p| p.iter());
    let mut got = path.iter();
    loop {
        match (got.next(), want.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Reads the Operator annotation at a mapping pair, in a document that parsed cleanly (Helm
/// templates and half-typed documents are not judged). `None` when the key is no Operator
/// pod annotation or the document is no object that creates pods (or a Namespace).
pub fn site<'t>(m: &Match<'_, 't>, pair_node: Node<'t>) -> Option<Site<'t>> {
    let src = m.chunk;
    let key = pair_key(pair_node, src)?;
    let annotation = annotation_key(&key)?;
    let (root, clean) = document_in(m, pair_node)?;
    if !clean {
        return None;
    }
    let obj = object(m, root)?;
    let shape = pod_shape(&obj.api_version, &obj.kind)?;
    let mut parent = m.key_path(pair_node);
    parent.pop();
    let place = classify(&shape, &parent);
    Some(Site {
        root,
        obj,
        shape,
        pair: pair_node,
        key_node: pair_node.child_by_field_name("key")?,
        value_node: pair_node.child_by_field_name("value"),
        key,
        annotation,
        parent,
        place,
    })
}

/// An Operator annotation under `podAnnotations:` in a document that is no Kubernetes object
/// (a Helm values file: charts render that map into the pod template with `toYaml`, types
/// included). Gives the key's kind and the value node.
pub fn values_pod_annotation<'t>(
    m: &Match<'_, 't>,
    pair_node: Node<'t>,
) -> Option<(AnnotationKey, Option<Node<'t>>)> {
    let src = m.chunk;
    let annotation = annotation_key(&pair_key(pair_node, src)?)?;
    let (root, clean) = document_in(m, pair_node)?;
    if !clean || object(m, root).is_some() {
        return None;
    }
    let path = m.key_path(pair_node);
    let parent = path.len().checked_sub(2).and_then(|i| path.get(i))?;
    (parent == "podAnnotations").then(|| (annotation, pair_node.child_by_field_name("value")))
}

fn classify(shape: &PodShape, parent: &[String]) -> Place {
    if parent.iter().any(|k| k == "-") {
        return Place::Other;
    }
    if path_eq(parent, &[shape.pod_meta, &["annotations"]]) {
        return if shape.namespace {
            Place::Namespace
        } else {
            Place::Pod
        };
    }
    if path_eq(parent, &[shape.pod_meta, &["labels"]]) {
        return Place::Wrong(Wrong::Labels);
    }
    for m in shape.other_metas {
        if path_eq(parent, &[m, &["annotations"]]) {
            return Place::Wrong(Wrong::OwnMetadata(m));
        }
        if path_eq(parent, &[m, &["labels"]]) {
            return Place::Wrong(Wrong::Labels);
        }
    }
    for h in shape.template_holders {
        if path_eq(parent, &[h, &["metadata", "annotations"]])
            || path_eq(parent, &[h, &["metadata", "labels"]])
        {
            return Place::Wrong(Wrong::HolderMetadata(h));
        }
    }
    let t = shape.template();
    if !t.is_empty() {
        if path_eq(parent, &[t, &["annotations"]]) || path_eq(parent, &[t, &["labels"]]) {
            return Place::Wrong(Wrong::TemplateAnnotations);
        }
        if path_eq(parent, &[t, &["spec", "annotations"]]) {
            return Place::Wrong(Wrong::TemplateSpecAnnotations);
        }
    }
    Place::Other
}

impl<'t> Site<'t> {
    /// The value as written: unquoted text and whether it was quoted (`None` when the pair
    /// has no scalar value).
    pub fn value(&self, src: &str) -> Option<yaml::Scalar> {
        self.value_node.and_then(|v| scalar(v, src))
    }

    /// Whether the value leaves injection off wherever it sits: `"false"` (any case, quoted
    /// or not), empty or null.
    pub fn is_off(&self, src: &str) -> bool {
        let Some(v) = self.value_node else {
            return true;
        };
        let c = content(v);
        if c.kind() == "plain_scalar" && c.named_child(0).is_some_and(|n| n.kind() == "null_scalar")
        {
            return true;
        }
        match scalar(v, src) {
            Some(s) => {
                s.value.is_empty()
                    || s.value.eq_ignore_ascii_case("false")
                    || (s.is_plain() && yaml11_bool(&s.value) == Some(false))
            }
            None => false,
        }
    }

    /// The key path of the pods' annotations (`spec.template.metadata.annotations`).
    pub fn target(&self) -> Vec<&'static str> {
        let mut t = self.shape.pod_meta.to_vec();
        t.push("annotations");
        t
    }

    /// Whether the same key is also present where the Operator reads it.
    pub fn has_correct_copy(&self, src: &str) -> bool {
        get_path(self.root, &self.target(), src)
            .is_some_and(|ann| pair(ann, &self.key, src).is_some())
    }

    /// Whether OTEL003 reports this key: a wrong place, a value that would turn something
    /// on, and no copy at the right place.
    pub fn is_misplaced(&self, src: &str) -> bool {
        if !matches!(self.place, Place::Wrong(_)) {
            return false;
        }
        if matches!(self.annotation, AnnotationKey::Inject(_)) && self.is_off(src) {
            return false;
        }
        !self.has_correct_copy(src)
    }

    /// Whether the pair sits in a real `ObjectMeta` string map (annotations or labels of the
    /// object, its Job template or its pods), where the API server checks the value's type.
    pub fn in_object_meta(&self) -> bool {
        match &self.place {
            Place::Pod | Place::Namespace => true,
            Place::Wrong(Wrong::OwnMetadata(_)) => true,
            Place::Wrong(Wrong::Labels) => {
                let metas = std::iter::once(self.shape.pod_meta)
                    .chain(self.shape.other_metas.iter().copied());
                metas
                    .into_iter()
                    .any(|m| path_eq(&self.parent, &[m, &["labels"]]))
            }
            _ => false,
        }
    }
}

/// Whether a file holds test assertions rather than objects to apply: chainsaw and kuttl
/// compare the cluster against `*assert*.yaml` (and `*error*.yaml`: what must not exist),
/// where partial objects are the norm.
pub fn is_test_assertion(path: Option<&std::path::Path>) -> bool {
    let Some(name) = path.and_then(|p| p.file_name()).and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    let Some(stem) = lower
        .strip_suffix(".yaml")
        .or_else(|| lower.strip_suffix(".yml"))
    else {
        return false;
    };
    stem.split(['-', '_', '.'])
        .any(|w| matches!(w, "assert" | "error" | "errors"))
}

/// The boolean a plain scalar is in YAML 1.1, which Kubernetes reads (sigs.k8s.io/yaml):
/// `y`, `yes`, `on`, `true` and `n`, `no`, `off`, `false` in lower, Title or UPPER case.
pub fn yaml11_bool(plain: &str) -> Option<bool> {
    match plain {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Some(false)
        }
        _ => None,
    }
}

/// Whether a text is a DNS-1123 label (namespace names): `[a-z0-9]([-a-z0-9]*[a-z0-9])?`,
/// at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether a text is a DNS-1123 subdomain (object names): dot-separated labels, at most 253
/// characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// The explicit port of an OTLP endpoint (`scheme://host:port/path` or `host:port`) and its
/// byte range in `url`. Ports written with variables (`${PORT}`) are not ports (§0.3).
pub fn explicit_port(url: &str) -> Option<(u16, std::ops::Range<usize>)> {
    let start = url.len() - url.trim_start().len();
    let s = url.trim();
    let (auth_start, rest) = match s.find("://") {
        Some(i) => (start + i + 3, &s[i + 3..]),
        None => (start, s),
    };
    let auth_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..auth_len];
    let host_start = auth.rfind('@').map_or(0, |i| i + 1);
    let hostport = &auth[host_start..];
    let colon = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        (hostport.as_bytes().get(close + 1) == Some(&b':')).then_some(close + 1)?
    } else {
        hostport.rfind(':')?
    };
    let port = &hostport[colon + 1..];
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let at = auth_start + host_start + colon + 1;
    Some((port.parse().ok()?, at..at + port.len()))
}

/// The three OTLP signals, as they appear in variable names.
pub const SIGNALS: [&str; 3] = ["TRACES", "METRICS", "LOGS"];

/// The exporter environment an Operator-injected Python process sees: layers of `env` lists,
/// highest precedence first (container env, `spec.python.env`, `spec.env`), then the Operator's
/// Python defaults and `spec.exporter.endpoint`. `T` says where a value is written.
pub struct PythonEnv<'a, T> {
    /// `(name, literal value or None for valueFrom, origin)` per layer.
    pub layers: Vec<Vec<(&'a str, Option<&'a str>, T)>>,
    /// `spec.exporter.endpoint`, the lowest-precedence `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub exporter: Option<(&'a str, T)>,
}

impl<'a, T: Copy + PartialEq> PythonEnv<'a, T> {
    /// The first definition of `name`: `Some((value, origin))`, value `None` when unknown.
    fn lookup(&self, name: &str) -> Option<(Option<&'a str>, T)> {
        self.layers.iter().find_map(|l| {
            l.iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, v, o)| (*v, *o))
        })
    }

    /// Where the endpoints that Python's OTLP/HTTP exporter uses are written, for the signals
    /// whose effective endpoint has explicit port 4317. Signals exported with gRPC (an explicit
    /// `grpc` protocol or `otlp_proto_grpc` exporter: OTEL031's business), not exported over
    /// OTLP, or configured with values the files do not show, are left out.
    pub fn http_on_4317(&self) -> Vec<(&'a str, T)> {
        let mut out: Vec<(&'a str, T)> = Vec::new();
        for sig in SIGNALS {
            let exporters = match self.lookup(&format!("OTEL_{sig}_EXPORTER")) {
                Some((Some(v), _)) => v,
                Some((None, _)) => continue,
                None => "otlp",
            };
            let names: Vec<&str> = exporters.split(',').map(str::trim).collect();
            if names.contains(&"otlp_proto_grpc") {
                continue;
            }
            let explicit_http = names.contains(&"otlp_proto_http");
            if !explicit_http && !names.contains(&"otlp") {
                continue;
            }
            if !explicit_http {
                let protocol = self
                    .lookup(&format!("OTEL_EXPORTER_OTLP_{sig}_PROTOCOL"))
                    .or_else(|| self.lookup("OTEL_EXPORTER_OTLP_PROTOCOL"));
                match protocol {
                    Some((Some(p), _)) if p.trim().starts_with("grpc") => continue,
                    Some((None, _)) => continue,
                    _ => {}
                }
            }
            let endpoint = self
                .lookup(&format!("OTEL_EXPORTER_OTLP_{sig}_ENDPOINT"))
                .or_else(|| self.lookup("OTEL_EXPORTER_OTLP_ENDPOINT"))
                .or_else(|| self.exporter.map(|(v, o)| (Some(v), o)));
            let Some((Some(url), origin)) = endpoint else {
                continue;
            };
            if explicit_port(url).is_some_and(|(p, _)| p == 4317)
                && !out.iter().any(|(_, o)| *o == origin)
            {
                out.push((url, origin));
            }
        }
        out
    }
}

/// The `env:` entries of a list node as a layer, each with its `value:` node.
pub fn env_layer<'t>(
    list: Option<Node<'t>>,
    src: &str,
) -> Vec<(String, Option<String>, Option<Node<'t>>)> {
    list.map(|l| yaml::env_vars(l, src))
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let v = e.value.map(|s| s.value);
            (e.name, v, e.value_node)
        })
        .collect()
}

/// The `spec` keys of an Instrumentation that configure one language.
pub fn language_sections(spec: Node, src: &str) -> Vec<String> {
    pairs(spec)
        .into_iter()
        .filter_map(|p| pair_key(p, src))
        .filter(|k| yaml::INSTRUMENTATION_LANGUAGES.contains(&k.as_str()))
        .collect()
}

/// Where an env entry's `value:` sits when it is in a container the Operator injects Python
/// into: `path` is the pair's key path in a pod-bearing object, `env_item` the env list item.
/// Gives the container's mapping, the effective inject-python value and the pod's namespace;
/// `None` when the entry is elsewhere, the pod is not injected, or the container not targeted.
pub struct PythonContainer<'t> {
    /// The container's mapping.
    pub container: Node<'t>,
    /// The effective `inject-python` value (pod, else Namespace default).
    pub inject: String,
    /// The pod's namespace as the workspace sees it (kustomize included).
    pub pod_ns: Option<String>,
}

/// See [`PythonContainer`].
pub fn python_container<'t>(
    m: &Match<'_, 't>,
    obj: &K8sObject,
    path: &[&str],
    env_item: Node<'t>,
) -> Option<PythonContainer<'t>> {
    let src = m.chunk;
    let shape = yaml::pod_shape(&obj.api_version, &obj.kind)?;
    if shape.namespace {
        return None;
    }
    let pod_spec: Vec<&str> = shape.template().iter().copied().chain(["spec"]).collect();
    let n = pod_spec.len();
    if path.len() != n + 5
        || path[..n] != pod_spec[..]
        || !matches!(path[n], "containers" | "initContainers")
        || path[n + 1..] != ["-", "env", "-", "value"]
    {
        return None;
    }
    let ws = m.ctx.workspace;
    let pod_ns = ws.pod_namespace(m.ctx.path, obj);
    let inject = ws
        .effective_annotation(
            obj.pod_annotation(INJECT_PYTHON),
            pod_ns.as_deref(),
            INJECT_PYTHON,
        )?
        .to_string();
    if inject.is_empty() || inject.eq_ignore_ascii_case("false") {
        return None;
    }
    let container = climb_to_mapping_with(env_item, "env", src)?;
    let name = yaml::get(container, "name", src)
        .and_then(|v| yaml::scalar(v, src))
        .map(|s| s.value);
    targeted(obj, container, name.as_deref(), path[n]).then_some(PythonContainer {
        container,
        inject,
        pod_ns,
    })
}

pub use crate::syntax::yaml::VALUES_ENV_KEYS;

/// An env list of a Helm values file whose component's `podAnnotations:` asks for Python
/// injection (the chart's main container, the first, is the one the Operator instruments).
pub struct ValuesEnv<'t> {
    /// The env list (`env:`, `extraEnv:`, `extraEnvVars:`).
    pub env_list: Node<'t>,
    /// The `inject-python` value.
    pub inject: String,
}

/// See [`ValuesEnv`]: `path` is the key path of an env item's `value:` in a values file
/// (`env.-.value`, or `<component>.env.-.value`).
pub fn values_python_env<'t>(
    m: &Match<'_, 't>,
    root: Node<'t>,
    path: &[&str],
) -> Option<ValuesEnv<'t>> {
    let src = m.chunk;
    if !m.ctx.path.is_some_and(yaml::is_values_path) || object(m, root).is_some() {
        return None;
    }
    let n = path.len();
    if !(3..=4).contains(&n) || path[n - 2..] != ["-", "value"] {
        return None;
    }
    let key = path[n - 3];
    if !VALUES_ENV_KEYS.contains(&key) {
        return None;
    }
    let owner = if n == 4 {
        yaml::get(root, path[0], src)?
    } else {
        root
    };
    let ann = yaml::get(owner, "podAnnotations", src)?;
    let inject = scalar(yaml::get(ann, INJECT_PYTHON, src)?, src)?.value;
    if !is_truthy(Some(&inject)) || inject.contains("{{") {
        return None;
    }
    Some(ValuesEnv {
        env_list: yaml::get(owner, key, src)?,
        inject,
    })
}

/// The mapping above `node` that has `key` (the container of an env item).
pub fn climb_to_mapping_with<'t>(node: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    let mut cur = node.parent();
    while let Some(n) = cur {
        if matches!(n.kind(), "block_mapping" | "flow_mapping") && pair(n, key, src).is_some() {
            return Some(n);
        }
        cur = n.parent();
    }
    None
}

/// Whether the Operator injects Python into this container: the ones named by
/// `python-container-names` (or `container-names`), else the first of `containers`.
pub fn targeted(obj: &K8sObject, container: Node, name: Option<&str>, list: &str) -> bool {
    let names = obj
        .pod_annotation("instrumentation.opentelemetry.io/python-container-names")
        .or_else(|| obj.pod_annotation("instrumentation.opentelemetry.io/container-names"));
    if let Some(names) = names {
        return name.is_some_and(|n| names.split(',').any(|x| x.trim() == n));
    }
    if list != "containers" {
        return false;
    }
    // The first item of the `containers` list that holds this container.
    let mut cur = container.parent();
    while let Some(n) = cur {
        if matches!(n.kind(), "block_sequence" | "flow_sequence") {
            return yaml::items(n)
                .first()
                .is_some_and(|first| crate::syntax::yaml::content(*first).id() == container.id());
        }
        cur = n.parent();
    }
    false
}

/// Whether an effective annotation value turns injection on: set, not empty, not `"false"`.
pub fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("false"))
}

/// Words that are no Instrumentation anyone means (OTEL004 reports them as values).
const BOOLISH: &[&str] = &[
    "yes", "y", "on", "enabled", "enable", "1", "no", "n", "off", "disabled", "disable", "0",
];

/// Whether an `inject-*` value plausibly selects an Instrumentation: `"true"` (any case), a
/// valid `name` or `namespace/name` — not `"false"`, empty, boolean-ish words or malformed
/// references (OTEL004's findings, which come first).
pub fn selects_instrumentation(value: &str) -> bool {
    if value.eq_ignore_ascii_case("true") {
        return true;
    }
    if BOOLISH.contains(&value.to_ascii_lowercase().as_str()) {
        return false;
    }
    match value.split_once('/') {
        Some((ns, name)) => is_dns_label(ns) && is_dns_subdomain(name),
        None => is_dns_subdomain(value),
    }
}

/// The annotation that lists the containers an `inject-<lang>` annotation targets when
/// several instrumentations share a pod (the Operator spells the nginx one
/// `inject-nginx-container-names`).
pub fn container_names_key(lang: &str) -> String {
    if lang == "nginx" {
        format!("{OPERATOR_PREFIX}inject-nginx-container-names")
    } else {
        format!("{OPERATOR_PREFIX}{lang}-container-names")
    }
}

/// The common `container-names` annotation.
pub const CONTAINER_NAMES: &str = "instrumentation.opentelemetry.io/container-names";

/// The names an annotation value lists (`"app,worker"`), trimmed, empty pieces left out.
pub fn split_names(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect()
}

/// The container names `inject-<lang>` targets on a pod (operator `podmutator.go`): the
/// common `container-names` list followed by the `<lang>-container-names` list (the Operator
/// appends the second to the first), each from the pod or its Namespace. `None` when neither
/// is set: the Operator then takes the first of `containers`.
pub fn container_names_for(
    ws: &crate::workspace::Workspace,
    obj: &K8sObject,
    lang: &str,
) -> Option<Vec<String>> {
    let ns = obj.pod_namespace();
    let lang_key = container_names_key(lang);
    let mut out: Vec<String> = Vec::new();
    let mut set = false;
    for key in [CONTAINER_NAMES, lang_key.as_str()] {
        if let Some(v) = ws
            .effective_annotation(obj.pod_annotation(key), ns, key)
            .filter(|v| !v.trim().is_empty())
        {
            set = true;
            out.extend(split_names(v).into_iter().map(str::to_string));
        }
    }
    set.then_some(out)
}

/// The `containers` and `initContainers` items of the pod spec of an object (of shape
/// `shape`); `None` when the object has no literal `containers` list.
pub fn pod_containers<'t>(
    root: Node<'t>,
    shape: &PodShape,
    src: &str,
) -> Option<(Vec<Node<'t>>, Vec<Node<'t>>)> {
    if shape.namespace {
        return None;
    }
    let mut path: Vec<&str> = shape.template().to_vec();
    path.push("spec");
    let spec = get_path(root, &path, src)?;
    let list = |k: &str| -> Option<Vec<Node<'t>>> {
        let v = yaml::get(spec, k, src)?;
        let c = content(v);
        matches!(yaml::kind(c), "block_sequence" | "flow_sequence")
            .then(|| yaml::items(c).into_iter().map(content).collect())
    };
    let containers = list("containers")?;
    Some((containers, list("initContainers").unwrap_or_default()))
}

/// The `name:` of a container mapping.
pub fn container_name(container: Node, src: &str) -> Option<String> {
    yaml::get(container, "name", src)
        .and_then(|v| scalar(v, src))
        .map(|s| s.value)
}

/// The `image:` of a container mapping.
pub fn container_image(container: Node, src: &str) -> Option<String> {
    yaml::get(container, "image", src)
        .and_then(|v| scalar(v, src))
        .map(|s| s.value)
        .filter(|v| !v.is_empty())
}

/// The repository path of an image reference, lower-case, without tag and digest
/// (`ghcr.io/org/app` of `ghcr.io/org/app:1.2@sha256:…`).
pub fn image_path(image: &str) -> String {
    let s = image.trim();
    let s = s.split('@').next().unwrap_or(s);
    let path = match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => &s[..i],
        _ => s,
    };
    path.to_ascii_lowercase()
}

/// What a container's image and command line say about the runtime it runs (OTEL035,
/// OTEL038). Each field is *evidence for* a runtime; several (or none) may hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The image path contains `python`; the program is a Python interpreter or server
    /// (`python3.12`, `gunicorn`, `uvicorn`, `celery`, `opentelemetry-instrument`, …); or an
    /// argument is a `*.py` file (`manage.py`).
    pub python: bool,
    /// `java` runs, or a JVM image (`eclipse-temurin`, `openjdk`, `amazoncorretto`, …).
    pub java: bool,
    /// `node`/`npm`/`yarn` runs, or a Node.js image (`node:20`, `…-nodejs`).
    pub node: bool,
    /// `dotnet` runs, or a .NET image (`mcr.microsoft.com/dotnet/aspnet`).
    pub dotnet: bool,
    /// A Go toolchain image (`golang`); Go binaries themselves show nothing.
    pub go: bool,
    /// `httpd`/`apachectl` runs, or an Apache httpd image.
    pub httpd: bool,
    /// `nginx` runs, or an nginx / OpenResty image.
    pub nginx: bool,
}

/// Programs that are Python (besides `python`, `python3`, `python3.12`…).
const PYTHON_PROGRAMS: &[&str] = &[
    "gunicorn",
    "uvicorn",
    "hypercorn",
    "daphne",
    "flask",
    "celery",
    "uwsgi",
    "opentelemetry-instrument",
    "fastapi",
];

/// Words that only start the real program: `exec`, `env`, init shims.
const WRAPPERS: &[&str] = &["exec", "env", "tini", "dumb-init", "--"];

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn is_python_interpreter(b: &str) -> bool {
    b.strip_prefix("python")
        .is_some_and(|rest| rest.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
}

/// The image name's tokens (`e2e-test-app-java` → `e2e`, `test`, `app`, `java`), trailing
/// version digits removed (`nodejs20` → `nodejs`).
fn image_tokens(name: &str) -> Vec<&str> {
    name.split(['-', '_', '.'])
        .map(|t| t.trim_end_matches(|c: char| c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .collect()
}

impl Evidence {
    /// Evidence from an image reference and the words of `command:` and `args:`.
    pub fn from_parts(image: Option<&str>, command: &[String], args: &[String]) -> Evidence {
        let mut e = Evidence::default();
        if let Some(image) = image {
            e.image(&image_path(image));
        }
        // The program: `command[0]`, else `args[0]` (run by the image's entrypoint, or as
        // the program when it has none).
        let argv: Vec<&str> = if command.is_empty() {
            args.iter().map(String::as_str).collect()
        } else {
            command.iter().chain(args).map(String::as_str).collect()
        };
        e.argv(&argv, 0);
        e
    }

    /// Evidence of a container mapping.
    pub fn of_container(container: Node, src: &str) -> Evidence {
        let words = |k: &str| -> Vec<String> {
            yaml::get(container, k, src)
                .map(|v| {
                    yaml::items(v)
                        .into_iter()
                        .filter_map(|i| crate::launch::yaml::token(i, src))
                        .map(|t| t.text)
                        .collect()
                })
                .unwrap_or_default()
        };
        let image = container_image(container, src);
        Evidence::from_parts(image.as_deref(), &words("command"), &words("args"))
    }

    fn image(&mut self, path: &str) {
        let name = path.rsplit('/').next().unwrap_or(path);
        let tokens = image_tokens(name);
        let has = |t: &[&str]| tokens.iter().any(|x| t.contains(x));
        self.python |= path.contains("python");
        self.java |= matches!(
            name,
            "openjdk"
                | "eclipse-temurin"
                | "amazoncorretto"
                | "ibm-semeru-runtimes"
                | "adoptopenjdk"
                | "sapmachine"
                | "zulu-openjdk"
                | "tomcat"
                | "jetty"
                | "maven"
                | "gradle"
                | "wildfly"
        ) || has(&["java", "jdk", "jre", "openjdk", "temurin", "corretto"]);
        self.node |= name == "node" || has(&["nodejs"]);
        self.dotnet |= path.contains("/dotnet/") || has(&["dotnet", "aspnet", "dotnetcore"]);
        self.go |= name == "golang" || has(&["golang"]);
        self.httpd |= name == "httpd" || has(&["httpd", "apache"]);
        self.nginx |= has(&["nginx", "openresty"]);
    }

    /// Reads a command line: its program, its `*.py` arguments, and one level of
    /// `sh -c "<script>"` (each line's or `&&`/`;`-separated command's program).
    fn argv(&mut self, argv: &[&str], depth: usize) {
        let mut i = 0;
        while i < argv.len() {
            let w = argv[i];
            let is_assignment = w.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            });
            if WRAPPERS.contains(&basename(w)) || is_assignment {
                i += 1;
            } else {
                break;
            }
        }
        let Some(program) = argv.get(i) else {
            return;
        };
        let b = basename(program);
        for w in &argv[i..] {
            let wb = basename(w.rsplit('=').next().unwrap_or(w));
            if wb.len() > 3 && wb.ends_with(".py") {
                self.python = true;
            }
        }
        match b {
            _ if is_python_interpreter(b) || PYTHON_PROGRAMS.contains(&b) => self.python = true,
            "java" => self.java = true,
            "node" | "nodejs" | "npm" | "npx" | "yarn" | "pnpm" => self.node = true,
            "dotnet" => self.dotnet = true,
            "httpd" | "apachectl" | "apache2" | "apache2ctl" => self.httpd = true,
            "nginx" | "openresty" => self.nginx = true,
            "sh" | "bash" | "ash" | "dash" | "zsh" if depth == 0 => {
                let rest = &argv[i + 1..];
                let Some(c) = rest
                    .iter()
                    .position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
                else {
                    return;
                };
                let Some(script) = rest.get(c + 1) else {
                    return;
                };
                for part in script.split(['\n', ';']).flat_map(|l| l.split("&&")) {
                    let line = part.trim();
                    if line.starts_with('#') {
                        continue;
                    }
                    let words: Vec<&str> = line.split_whitespace().collect();
                    self.argv(&words, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Strong evidence of a runtime the Python auto-instrumentation cannot work in (a JVM,
    /// Node.js, .NET), and none of Python.
    pub fn only_non_python(&self) -> bool {
        !self.python && (self.java || self.node || self.dotnet)
    }

    /// Whether it shows the runtime `inject-<lang>` instruments (`true` for languages it
    /// has no notion of).
    pub fn runs(&self, lang: &str) -> bool {
        match lang {
            "python" => self.python,
            "java" => self.java,
            "nodejs" => self.node,
            "dotnet" => self.dotnet,
            "go" => self.go,
            "apache-httpd" => self.httpd,
            "nginx" => self.nginx,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = |s: &str| annotation_key(&format!("{OPERATOR_PREFIX}{s}"));
        assert_eq!(k("inject-python"), Some(AnnotationKey::Inject("python")));
        assert_eq!(
            k("inject-apache-httpd"),
            Some(AnnotationKey::Inject("apache-httpd"))
        );
        assert_eq!(
            k("inject-nginx-container-names"),
            Some(AnnotationKey::Companion)
        );
        assert_eq!(k("python-container-names"), Some(AnnotationKey::Companion));
        assert_eq!(k("container-names"), Some(AnnotationKey::Companion));
        assert_eq!(k("otel-python-platform"), Some(AnnotationKey::Companion));
        assert_eq!(k("inject-cobol"), None);
        assert_eq!(k("default-auto-instrumentation-python-image"), None);
        assert_eq!(annotation_key("sidecar.opentelemetry.io/inject"), None);
    }

    #[test]
    fn ports() {
        let p = |s: &'static str| explicit_port(s).map(|(p, r)| (p, &s[r]));
        assert_eq!(p("http://collector:4317"), Some((4317, "4317")));
        assert_eq!(p("http://collector:4317/v1/traces"), Some((4317, "4317")));
        assert_eq!(p("collector.ns.svc:4318"), Some((4318, "4318")));
        assert_eq!(p("http://$(OTEL_NODE_IP):4317"), Some((4317, "4317")));
        assert_eq!(p("https://[::1]:4317"), Some((4317, "4317")));
        assert_eq!(p("http://user:pw@host:4317"), Some((4317, "4317")));
        assert_eq!(p("http://collector"), None);
        assert_eq!(p("http://collector:${PORT}"), None);
        assert_eq!(p("https://[::1]"), None);
        assert_eq!(p(" http://c:4317 "), Some((4317, "4317")));
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_subdomain("my-instrumentation"));
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("My_Instr"));
        assert!(!is_dns_subdomain("-a"));
        assert!(!is_dns_subdomain(""));
        assert!(is_dns_label("opentelemetry"));
        assert!(!is_dns_label("a.b"));
    }

    #[test]
    fn python_env_precedence() {
        // exporter 4317 overridden by python env 4318.
        let e = PythonEnv {
            layers: vec![
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", Some("http://c:4318"), 1)],
                vec![],
            ],
            exporter: Some(("http://c:4317", 9)),
        };
        assert!(e.http_on_4317().is_empty());
        let e = PythonEnv {
            layers: vec![
                vec![],
                vec![("OTEL_EXPORTER_OTLP_PROTOCOL", Some("grpc"), 2)],
            ],
            exporter: Some(("http://c:4317", 9)),
        };
        assert!(e.http_on_4317().is_empty());
        let e = PythonEnv {
            layers: vec![vec![(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                Some("http://c:4317/v1/traces"),
                1,
            )]],
            exporter: Some(("http://c:4318", 9)),
        };
        assert_eq!(e.http_on_4317(), vec![("http://c:4317/v1/traces", 1)]);
        let e = PythonEnv {
            layers: vec![vec![
                ("OTEL_TRACES_EXPORTER", Some("none"), 1),
                ("OTEL_METRICS_EXPORTER", Some("prometheus"), 1),
                ("OTEL_LOGS_EXPORTER", Some("console"), 1),
            ]],
            exporter: Some(("http://c:4317", 9)),
        };
        assert!(e.http_on_4317().is_empty());
    }
    fn ev(image: Option<&str>, command: &[&str], args: &[&str]) -> Evidence {
        let v = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Evidence::from_parts(image, &v(command), &v(args))
    }

    #[test]
    fn python_evidence() {
        assert!(ev(Some("python:3.12-slim"), &[], &[]).python);
        assert!(
            ev(
                Some("ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main"),
                &[],
                &[]
            )
            .python
        );
        // The tag is no image path.
        assert!(!ev(Some("registry.example.com/api:python3"), &[], &[]).python);
        assert!(ev(None, &["gunicorn", "-w", "4", "app:app"], &[]).python);
        assert!(ev(None, &["/usr/local/bin/python3.12"], &["-m", "app"]).python);
        assert!(ev(None, &[], &["uvicorn", "main:app"]).python);
        assert!(ev(None, &["opentelemetry-instrument", "flask", "run"], &[]).python);
        assert!(
            ev(
                None,
                &["/bin/sh", "-c"],
                &["python manage.py migrate && exec gunicorn x.wsgi"]
            )
            .python
        );
        assert!(ev(None, &["env", "A=1", "celery", "-A", "proj", "worker"], &[]).python);
        assert!(ev(None, &["./entrypoint"], &["manage.py", "runserver"]).python);
        assert!(ev(None, &["run"], &["--config=/etc/gunicorn.conf.py"]).python);
        // No evidence either way.
        let none = ev(Some("registry.example.com/api:1.4"), &["/app/server"], &[]);
        assert_eq!(none, Evidence::default());
        assert!(!ev(None, &["pythonic-tool"], &[]).python);
        assert!(!ev(Some("busybox"), &["sleep", "infinity"], &[]).python);
    }

    #[test]
    fn non_python_evidence() {
        let j = ev(
            Some("eclipse-temurin:21-jre"),
            &["java", "-jar", "/app.jar"],
            &[],
        );
        assert!(j.java && j.only_non_python() && j.runs("java") && !j.runs("python"));
        assert!(ev(Some("openjdk:17"), &[], &[]).java);
        assert!(ev(Some("amazoncorretto:21"), &[], &[]).java);
        assert!(
            ev(
                Some("ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-java:main"),
                &[],
                &[]
            )
            .java
        );
        assert!(
            ev(
                None,
                &["/bin/bash", "-c"],
                &["echo start\njava -jar /app.jar &\nsleep 10"]
            )
            .java
        );
        assert!(ev(Some("node:20-alpine"), &[], &[]).node);
        assert!(ev(Some("gcr.io/distroless/nodejs20-debian12"), &[], &[]).node);
        assert!(ev(None, &["npm", "start"], &[]).node);
        // prometheus node-exporter is no Node.js.
        assert!(!ev(Some("quay.io/prometheus/node-exporter:v1.8"), &[], &[]).node);
        assert!(ev(Some("mcr.microsoft.com/dotnet/aspnet:8.0"), &[], &[]).dotnet);
        assert!(ev(None, &["dotnet", "App.dll"], &[]).dotnet);
        assert!(ev(Some("nginx:1.27"), &[], &[]).nginx);
        assert!(ev(Some("httpd:2.4"), &[], &[]).httpd);
        // Both: not only non-Python.
        assert!(!ev(Some("python:3.12"), &["java", "-jar", "x.jar"], &[]).only_non_python());
        assert!(ev(None, &["x"], &[]).runs("sdk"));
    }

    #[test]
    fn image_paths() {
        assert_eq!(
            image_path("ghcr.io/org/app:1.2@sha256:abc"),
            "ghcr.io/org/app"
        );
        assert_eq!(image_path("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(image_path("localhost:5000/App:1"), "localhost:5000/app");
        assert_eq!(split_names(" a, b,,c "), ["a", "b", "c"]);
        assert!(container_names_key("nginx").ends_with("/inject-nginx-container-names"));
        assert!(container_names_key("python").ends_with("/python-container-names"));
    }
}
