//! A thin view of tree-sitter-yaml trees as Kubernetes objects: mapping look-ups by key,
//! scalars with their quoting, key paths of any node, and a per-document summary.
//!
//! tree-sitter-yaml follows YAML 1.2 and keeps quotes inside quoted scalars; Kubernetes reads
//! YAML 1.1 (`yes`/`on` are booleans there). The helpers return the raw and unquoted text and
//! whether the scalar was quoted, so rules can judge types the way the API server does.

use crate::diagnostic::Span;
use crate::syntax::yaml_view::{TreeView, View};
use tree_sitter::Node;

/// A scalar value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The value without quotes (escapes in double quotes are not interpreted).
    pub value: String,
    /// `None` for a plain scalar, else the quote character.
    pub quote: Option<char>,
    /// The bytes of the scalar, quotes included (chunk-relative like the tree).
    pub span: Span,
}

impl Scalar {
    /// Whether the scalar is plain (unquoted).
    pub fn is_plain(&self) -> bool {
        self.quote.is_none()
    }
}

/// The node's kind, from a table made once: `Node::kind` measures and validates the C string
/// of the name on every call, and the YAML views ask it for every node they pass.
pub fn kind<'t>(n: impl std::borrow::Borrow<Node<'t>>) -> &'static str {
    let n = *n.borrow();
    static KINDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let kinds = KINDS.get_or_init(|| {
        let lang: tree_sitter::Language = tree_sitter_yaml::LANGUAGE.into();
        (0..lang.node_kind_count() as u16)
            .map(|id| lang.node_kind_for_id(id).unwrap_or(""))
            .collect()
    });
    match kinds.get(n.kind_id() as usize) {
        Some(k) if n.language().node_kind_count() == kinds.len() => k,
        // A node of another grammar (a caller passing any node).
        _ => n.kind(),
    }
}

/// The `key` of a mapping pair (field ids looked up once: `child_by_field_name` searches the
/// grammar's field names on every call).
pub fn key_of<'t>(pair: Node<'t>) -> Option<Node<'t>> {
    pair.child_by_field_id(field_id("key"))
}

/// The `value` of a mapping pair.
pub fn value_of<'t>(pair: Node<'t>) -> Option<Node<'t>> {
    pair.child_by_field_id(field_id("value"))
}

fn field_id(name: &str) -> u16 {
    static IDS: std::sync::OnceLock<(u16, u16)> = std::sync::OnceLock::new();
    let (key, value) = *IDS.get_or_init(|| {
        let lang: tree_sitter::Language = tree_sitter_yaml::LANGUAGE.into();
        let id = |n| lang.field_id_for_name(n).map_or(0, |id| id.get());
        (id("key"), id("value"))
    });
    if name == "key" {
        key
    } else {
        value
    }
}

fn text<'s>(node: Node, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// Descends through `block_node`/`flow_node` wrappers (and anchors/tags) to the content node.
pub fn content(node: Node) -> Node {
    let mut n = node;
    loop {
        match kind(n) {
            "block_node" | "flow_node" | "document" => {
                // Usually the first named child; anchors, tags and comments come before it.
                // (By index, not with a cursor: this is asked for every node the views pass.)
                let mut next = None;
                for i in 0..n.named_child_count() {
                    let Some(ch) = n.named_child(i) else {
                        break;
                    };
                    if !matches!(kind(ch), "anchor" | "tag" | "comment") {
                        next = Some(ch);
                        break;
                    }
                }
                match next {
                    Some(next) => n = next,
                    None => return n,
                }
            }
            _ => return n,
        }
    }
}

/// The scalar at `node` (after unwrapping), if it is one.
pub fn scalar(node: Node, src: &str) -> Option<Scalar> {
    let n = content(node);
    let span = Span::new(n.start_byte(), n.end_byte());
    match kind(n) {
        "plain_scalar" => Some(Scalar {
            value: text(n, src).trim().to_string(),
            quote: None,
            span,
        }),
        "double_quote_scalar" | "single_quote_scalar" => {
            let t = text(n, src);
            let q = t.chars().next()?;
            let inner = t.get(1..t.len().saturating_sub(1)).unwrap_or("");
            Some(Scalar {
                value: inner.to_string(),
                quote: Some(q),
                span,
            })
        }
        _ => None,
    }
}

/// The key text of a mapping pair, unquoted.
pub fn pair_key(pair: Node, src: &str) -> Option<String> {
    let key = key_of(pair)?;
    scalar(key, src).map(|s| s.value)
}

/// The pairs of a block or flow mapping (after unwrapping `node`).
pub fn pairs(node: Node) -> Vec<Node> {
    let m = content(node);
    if !matches!(kind(m), "block_mapping" | "flow_mapping") {
        return Vec::new();
    }
    let mut c = m.walk();
    m.named_children(&mut c)
        .filter(|p| matches!(kind(p), "block_mapping_pair" | "flow_pair"))
        .collect()
}

/// The key text of a mapping pair, unquoted, without allocating (what [`pair_key`] gives).
fn pair_key_str<'s>(pair: Node, src: &'s str) -> Option<&'s str> {
    let key = key_of(pair)?;
    let n = content(key);
    match kind(n) {
        "plain_scalar" => Some(text(n, src).trim()),
        "double_quote_scalar" | "single_quote_scalar" => {
            let t = text(n, src);
            let q = t.chars().next()?;
            Some(t.get(q.len_utf8()..t.len().saturating_sub(1)).unwrap_or(""))
        }
        _ => None,
    }
}

/// The pair with key `key` in the mapping at `node`: the first, as in [`pairs`] order.
/// Called for every key of every object, so it walks the children with one cursor, turns a
/// plain key away by its first bytes, and compares the others in place.
pub fn pair<'t>(node: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    let m = content(node);
    if !matches!(kind(m), "block_mapping" | "flow_mapping") {
        return None;
    }
    let bytes = src.as_bytes();
    let mut c = m.walk();
    if !c.goto_first_child() {
        return None;
    }
    loop {
        let p = c.node();
        if matches!(kind(p), "block_mapping_pair" | "flow_pair") {
            // A pair that starts with a word starts with its plain key: when the bytes there
            // are not `key`'s, the key is another one.
            let at = p.start_byte();
            let plain = bytes
                .get(at)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
            let other = plain
                && !bytes
                    .get(at..)
                    .is_some_and(|t| t.starts_with(key.as_bytes()));
            if !other && pair_key_str(p, src) == Some(key) {
                return Some(p);
            }
        }
        if !c.goto_next_sibling() {
            return None;
        }
    }
}

/// The value node under `key` in the mapping at `node`.
pub fn get<'t>(node: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    pair(node, key, src)?.child_by_field_name("value")
}

/// The value at a path of keys.
pub fn get_path<'t>(node: Node<'t>, path: &[&str], src: &str) -> Option<Node<'t>> {
    let mut n = node;
    for k in path {
        n = get(n, k, src)?;
    }
    Some(n)
}

/// The items of a block or flow sequence (after unwrapping `node`).
pub fn items(node: Node) -> Vec<Node> {
    let s = content(node);
    let mut c = s.walk();
    match kind(s) {
        "block_sequence" => s
            .named_children(&mut c)
            .filter(|i| kind(i) == "block_sequence_item")
            .filter_map(|i| i.named_child(0))
            .collect(),
        "flow_sequence" => s
            .named_children(&mut c)
            .filter(|i| matches!(kind(i), "flow_node" | "flow_pair"))
            .collect(),
        _ => Vec::new(),
    }
}

/// The keys from the document root down to `node` (sequence items appear as `-`).
pub fn key_path(node: Node, src: &str) -> Vec<String> {
    let mut chain = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur {
        chain.push(n);
        cur = n.parent();
    }
    chain.reverse();
    key_path_of(&chain, src)
}

/// The nodes from `root` down to `node`, both included (just `[node]` when `node` is not
/// under `root`): one descent, where climbing with `Node::parent` descends once per step.
pub fn ancestors<'t>(root: Node<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let mut chain = vec![root];
    let mut cur = root;
    while cur != node {
        match cur.child_with_descendant(node) {
            Some(c) if c != cur => {
                chain.push(c);
                cur = c;
            }
            _ => return vec![node],
        }
    }
    chain
}

/// [`key_path`] of the last node of `chain` (its [`ancestors`], root first).
pub fn key_path_of(chain: &[Node], src: &str) -> Vec<String> {
    let mut path = Vec::new();
    let mut child: Option<Node> = None;
    for &n in chain.iter().rev() {
        match kind(n) {
            "block_mapping_pair" | "flow_pair" => {
                // Only count the pair when we came up through its value (or started on it).
                let via_key = child.is_some_and(|c| Some(c) == key_of(n));
                if !via_key {
                    if let Some(k) = pair_key(n, src) {
                        path.push(k);
                    }
                }
            }
            "block_sequence_item" => path.push("-".to_string()),
            "flow_sequence" => path.push("-".to_string()),
            "document" | "stream" => break,
            _ => {}
        }
        child = Some(n);
    }
    path.reverse();
    path
}

/// The document's root content node, if the document has one.
pub fn document_root(root: Node) -> Option<Node> {
    // `stream` > `document` > block_node…; a chunk holds exactly one document, but leading
    // comments or directives may precede it.
    let mut c = root.walk();
    let doc = root
        .named_children(&mut c)
        .find(|n| kind(n) == "document")?;
    let mut c2 = doc.walk();
    let body = doc
        .named_children(&mut c2)
        .find(|n| matches!(kind(n), "block_node" | "flow_node"))?;
    Some(body)
}

/// The identity of a Kubernetes object: a document with `apiVersion` and `kind`, plus the few
/// facts other documents and files need (the workspace model of rules.md §0.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct K8sObject {
    /// `apiVersion` value.
    pub api_version: String,
    /// `kind` value.
    pub kind: String,
    /// `metadata.name`.
    pub name: Option<String>,
    /// `metadata.namespace` (explicit only).
    pub namespace: Option<String>,
    /// The `instrumentation.opentelemetry.io/*` annotations at the place the Operator reads
    /// them: the pod template's (or Pod's) annotations of a workload, or a Namespace's own
    /// annotations. `(full key, value as written without quotes)`, in document order.
    pub pod_annotations: Vec<(String, String)>,
    /// For an OpenTelemetry Operator `Instrumentation`: what other documents need of its spec.
    pub instrumentation: Option<InstrumentationSpec>,
    /// The pods ask the Operator for a sidecar collector (`sidecar.opentelemetry.io/inject`
    /// truthy at the place the Operator reads it).
    pub sidecar: bool,
    /// Every container the Operator instruments (those of `container-names`, else the first)
    /// sets its own `OTEL_EXPORTER_OTLP_ENDPOINT` or `…_TRACES_ENDPOINT` in `env:`.
    pub own_endpoint: bool,
    /// For an OpenTelemetry Operator `OpenTelemetryCollector`: `spec.mode` (`None`: the
    /// default, a Deployment with a Service).
    pub collector_mode: Option<String>,
}

/// The parts of an `Instrumentation` spec that decide what an injected Python process sees.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct InstrumentationSpec {
    /// The language sections present under `spec` (`python`, `java`, `nodejs`, `dotnet`, `go`,
    /// `apacheHttpd`, `nginx`, …), even when empty (`python: {}`).
    pub languages: Vec<String>,
    /// `spec.env`: name and literal value (`None` for `valueFrom` or a non-scalar value).
    pub env: Vec<(String, Option<String>)>,
    /// `spec.python.env`, like `env`.
    pub python_env: Vec<(String, Option<String>)>,
    /// `spec.exporter.endpoint`.
    pub exporter_endpoint: Option<String>,
    /// The language sections other than `python` whose `env` sets an OTLP endpoint.
    pub language_endpoints: Vec<String>,
    /// The document is a template (`{{ … }}`) or does not parse: its spec is not all there.
    pub unsure: bool,
    /// A Helm template wraps it in `if`/`with`/`range`: it may not be rendered at all.
    pub conditional: bool,
}

impl InstrumentationSpec {
    /// Whether the spec has a `python` section.
    pub fn has_python(&self) -> bool {
        self.languages.iter().any(|l| l == "python")
    }
}

impl K8sObject {
    /// The API group (`opentelemetry.io` of `opentelemetry.io/v1alpha1`; empty for core).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// Whether this is an OpenTelemetry Operator `Instrumentation`.
    pub fn is_instrumentation(&self) -> bool {
        is_instrumentation(&self.api_version, &self.kind)
    }

    /// Whether this is an OpenTelemetry Operator `OpenTelemetryCollector`.
    pub fn is_collector(&self) -> bool {
        self.kind == "OpenTelemetryCollector" && self.group() == "opentelemetry.io"
    }

    /// Whether these are the pods of a Helm values file's `podAnnotations:` map
    /// ([`values_pods`]).
    pub fn is_helm_values(&self) -> bool {
        self.api_version == HELM_VALUES_API && self.kind == HELM_VALUES_KIND
    }

    /// Whether this is a `Service` (core, or a Knative Service, which makes a Service of its
    /// name): a host name pods can resolve.
    pub fn is_service(&self) -> bool {
        self.kind == "Service" && matches!(self.group(), "" | "serving.knative.dev")
    }

    /// The namespace the object's pods run in, as far as the files say: a Namespace's own
    /// name, else the explicit `metadata.namespace`.
    pub fn pod_namespace(&self) -> Option<&str> {
        if self.kind == "Namespace" && self.group().is_empty() {
            self.name.as_deref()
        } else {
            self.namespace.as_deref()
        }
    }

    /// The value of a pod-level `instrumentation.opentelemetry.io/*` annotation.
    pub fn pod_annotation(&self, key: &str) -> Option<&str> {
        self.pod_annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// What the object is to the rules that read documents' trees ([`Classes`]).
    pub fn class(&self) -> Classes {
        match pod_shape(&self.api_version, &self.kind) {
            Some(shape) if shape.namespace => Classes::NAMESPACE,
            Some(_) => Classes::PODS,
            None if self.is_instrumentation() => Classes::INSTRUMENTATION,
            None if self.is_collector() => Classes::COLLECTOR,
            None => Classes::OTHER,
        }
    }
}

/// Sets of object classes: which YAML documents' trees a rule reads (`rules::Rule::trees`),
/// by the object the document holds. A document that holds no object the line reader
/// reads (a compose file, a Helm values file, one it cannot read) is every rule's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Classes(pub u8);

impl Classes {
    /// None: a rule that reads documents' facts only (launchers, environment, objects).
    pub const NONE: Classes = Classes(0);
    /// Objects that make pods ([`pod_shape`]: workloads, Pods, PodTemplates).
    pub const PODS: Classes = Classes(1);
    /// Namespaces (their annotations are the namespace-wide injection default).
    pub const NAMESPACE: Classes = Classes(2);
    /// The Operator's `Instrumentation`s.
    pub const INSTRUMENTATION: Classes = Classes(4);
    /// The Operator's `OpenTelemetryCollector`s.
    pub const COLLECTOR: Classes = Classes(8);
    /// Every other object: ConfigMaps, Services, Ingresses, RBAC, …
    pub const OTHER: Classes = Classes(16);
    /// Every document.
    pub const ALL: Classes = Classes(31);

    /// Both sets.
    pub const fn or(self, other: Classes) -> Classes {
        Classes(self.0 | other.0)
    }

    /// Whether the two sets share a class.
    pub fn meets(self, other: Classes) -> bool {
        self.0 & other.0 != 0
    }
}

/// Whether `apiVersion` + `kind` name an OpenTelemetry Operator `Instrumentation` (not the
/// same-named kinds of other groups, such as `newrelic.com`).
pub fn is_instrumentation(api_version: &str, kind: &str) -> bool {
    kind == "Instrumentation"
        && api_version.rsplit_once('/').map_or("", |(g, _)| g) == "opentelemetry.io"
}

/// Where a kind of object keeps the metadata of the pods it creates (rules.md §0.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodShape {
    /// Key path of the metadata whose annotations the Operator reads for the pods.
    pub pod_meta: &'static [&'static str],
    /// Key paths of the object's other `ObjectMeta`s (its own, a CronJob's Job template's).
    pub other_metas: &'static [&'static [&'static str]],
    /// Key paths of the mappings that hold a pod template (`spec` of a Deployment), where a
    /// stray `metadata:` is no field at all.
    pub template_holders: &'static [&'static [&'static str]],
    /// Whether this is a Namespace: its annotations are namespace-wide defaults, not a pod's.
    pub namespace: bool,
}

impl PodShape {
    /// The path of the pod template (`spec.template`), empty for a Pod or Namespace.
    pub fn template(&self) -> &'static [&'static str] {
        &self.pod_meta[..self.pod_meta.len() - 1]
    }
}

const TEMPLATE_SHAPE: PodShape = PodShape {
    pod_meta: &["spec", "template", "metadata"],
    other_metas: &[&["metadata"]],
    template_holders: &[&["spec"]],
    namespace: false,
};

/// The pod shape of a kind of object, by `apiVersion` group and `kind`; `None` for objects that
/// create no pods (Services, ConfigMaps, Instrumentations, …).
pub fn pod_shape(api_version: &str, kind: &str) -> Option<PodShape> {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    match (group, kind) {
        ("", "Pod") => Some(PodShape {
            pod_meta: &["metadata"],
            other_metas: &[],
            template_holders: &[],
            namespace: false,
        }),
        ("", "Namespace") => Some(PodShape {
            pod_meta: &["metadata"],
            other_metas: &[],
            template_holders: &[],
            namespace: true,
        }),
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("batch", "Job")
        | ("apps.openshift.io", "DeploymentConfig")
        | ("argoproj.io", "Rollout")
        | ("serving.knative.dev", "Service") => Some(TEMPLATE_SHAPE),
        ("batch", "CronJob") => Some(PodShape {
            pod_meta: &["spec", "jobTemplate", "spec", "template", "metadata"],
            other_metas: &[&["metadata"], &["spec", "jobTemplate", "metadata"]],
            template_holders: &[&["spec"], &["spec", "jobTemplate", "spec"]],
            namespace: false,
        }),
        ("", "PodTemplate") => Some(PodShape {
            pod_meta: &["template", "metadata"],
            other_metas: &[&["metadata"]],
            template_holders: &[],
            namespace: false,
        }),
        _ => None,
    }
}

/// The key prefix of every OpenTelemetry Operator annotation.
pub const OPERATOR_PREFIX: &str = "instrumentation.opentelemetry.io/";

/// One entry of a container (or Instrumentation) `env:` list.
#[derive(Debug, Clone)]
pub struct EnvVar<'t> {
    /// The variable name.
    pub name: String,
    /// The literal `value:` (absent for `valueFrom` or when not a scalar).
    pub value: Option<Scalar>,
    /// The `value:` node, when present.
    pub value_node: Option<Node<'t>>,
    /// The list item (a mapping).
    pub item: Node<'t>,
}

/// The entries of an `env:` list (items without a scalar `name` are skipped).
pub fn env_vars<'t>(list: Node<'t>, src: &str) -> Vec<EnvVar<'t>> {
    items(list)
        .into_iter()
        .filter_map(|item| {
            let name = scalar(get(item, "name", src)?, src)?.value;
            let value_node = get(item, "value", src);
            Some(EnvVar {
                name,
                value: value_node.and_then(|v| scalar(v, src)),
                value_node,
                item,
            })
        })
        .collect()
}

/// `(name, literal value)` of an `env:` list, for file facts (what [`env_vars`] reads).
fn env_facts<'s, V: View<'s>>(v: V, list: Option<V::Node>) -> Vec<(String, Option<String>)> {
    let Some(list) = list else {
        return Vec::new();
    };
    v.items(list)
        .into_iter()
        .filter_map(|item| {
            let name = v.scalar(v.get(item, "name")?)?.to_string();
            let value = v.get(item, "value").and_then(|n| v.scalar(n));
            Some((name, value.map(str::to_string)))
        })
        .collect()
}

/// Reads the object identity of a document root; `None` unless it has `apiVersion` and `kind`.
pub fn k8s_object(root: Node, src: &str) -> Option<K8sObject> {
    object_in(TreeView::new(src), root)
}

/// [`k8s_object`] through either reader of the document (`syntax::yaml_view`).
pub fn object_in<'s, V: View<'s>>(v: V, root: V::Node) -> Option<K8sObject> {
    let src = v.src();
    let api_version = v.scalar(v.get(root, "apiVersion")?)?.to_string();
    let kind = v.scalar(v.get(root, "kind")?)?.to_string();
    let meta = v.get(root, "metadata");
    let field = |k: &str| {
        meta.and_then(|m| v.get(m, k))
            .and_then(|n| v.scalar(n))
            .filter(|s| !s.is_empty() && !s.contains("{{"))
            .map(str::to_string)
    };
    let mut pod_annotations = Vec::new();
    let mut sidecar = false;
    let shape = pod_shape(&api_version, &kind);
    if let Some(shape) = shape {
        let mut path = shape.pod_meta.to_vec();
        path.push("annotations");
        if let Some(ann) = v.get_path(root, &path) {
            sidecar = v
                .get(ann, SIDECAR_INJECT)
                .and_then(|n| v.scalar(n))
                .is_some_and(|s| {
                    let s = s.trim();
                    !s.is_empty() && !s.eq_ignore_ascii_case("false")
                });
            for p in v.pairs(ann) {
                let Some(key) = v.pair_key(p).filter(|k| k.starts_with(OPERATOR_PREFIX)) else {
                    continue;
                };
                let value = v.value(p).and_then(|n| v.scalar(n)).unwrap_or_default();
                pod_annotations.push((key.to_string(), value.to_string()));
            }
        }
    }
    let instrumentation = is_instrumentation(&api_version, &kind).then(|| {
        let spec = v.get(root, "spec");
        let languages = spec
            .map(|s| {
                v.pairs(s)
                    .into_iter()
                    .filter_map(|p| v.pair_key(p))
                    .filter(|k| INSTRUMENTATION_LANGUAGES.contains(k))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        InstrumentationSpec {
            languages,
            env: env_facts(v, spec.and_then(|s| v.get(s, "env"))),
            python_env: env_facts(v, spec.and_then(|s| v.get_path(s, &["python", "env"]))),
            exporter_endpoint: spec
                .and_then(|s| v.get_path(s, &["exporter", "endpoint"]))
                .and_then(|n| v.scalar(n))
                .map(str::to_string),
            language_endpoints: spec
                .map(|s| {
                    INSTRUMENTATION_LANGUAGES
                        .iter()
                        .filter(|l| **l != "python")
                        .filter(|l| {
                            env_facts(v, v.get_path(s, &[l, "env"]))
                                .iter()
                                .any(|(n, _)| ENDPOINT_VARS.contains(&n.as_str()))
                        })
                        .map(|l| l.to_string())
                        .collect()
                })
                .unwrap_or_default(),
            conditional: src.lines().any(|l| {
                let t = l.trim_start();
                let Some(inner) = t.strip_prefix("{{") else {
                    return false;
                };
                let inner = inner.trim_start_matches('-').trim_start();
                ["if ", "with ", "range "]
                    .iter()
                    .any(|k| inner.starts_with(k))
            }),
            unsure: src.contains("{{") || v.has_error(root),
        }
    });
    let own_endpoint = !pod_annotations.is_empty()
        && shape.is_some_and(|sh| containers_set_endpoint(v, root, sh, &pod_annotations));
    let collector_mode = (kind == "OpenTelemetryCollector"
        && api_version.starts_with("opentelemetry.io/"))
    .then(|| {
        v.get_path(root, &["spec", "mode"])
            .and_then(|n| v.scalar(n))
            .map(str::to_string)
    })
    .flatten();
    Some(K8sObject {
        api_version,
        kind,
        name: field("name"),
        namespace: field("namespace"),
        pod_annotations,
        instrumentation,
        sidecar,
        own_endpoint,
        collector_mode,
    })
}

/// The `apiVersion` of the pods a Helm values file describes (not a Kubernetes object: a
/// `podAnnotations:` map a chart renders into its pod template).
pub const HELM_VALUES_API: &str = "helm.sh/values";

/// The kind of those pods.
pub const HELM_VALUES_KIND: &str = "PodAnnotations";

/// Whether a path names a Helm values file: `values.yaml`, `values-<env>.yaml`,
/// `values.<env>.yaml`, `<env>-values.yaml` (`.yml` too).
pub fn is_values_path(path: &std::path::Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
    else {
        return false;
    };
    stem == "values"
        || stem.starts_with("values-")
        || stem.starts_with("values.")
        || stem.ends_with("-values")
        || stem.ends_with(".values")
        || stem.ends_with("_values")
}

/// The keys of a Helm values component that charts render into the main container's `env:`.
pub const VALUES_ENV_KEYS: &[&str] = &["env", "extraEnv", "extraEnvVars"];

/// The `podAnnotations:` maps of a document that is no Kubernetes object (a Helm values
/// file), top-level or one level down under a component key (`worker: {podAnnotations: …}`),
/// that carry Operator annotations: each as the pods it describes (kind
/// [`HELM_VALUES_KIND`], named by its component; namespace unknown — the release's).
pub fn values_pods(root: Node, src: &str) -> Vec<K8sObject> {
    let mut out = Vec::new();
    let mut read = |owner: Node, component: Option<String>| {
        let Some(ann) = get(owner, "podAnnotations", src) else {
            return;
        };
        let mut pod_annotations = Vec::new();
        for p in pairs(ann) {
            let Some(key) = pair_key(p, src).filter(|k| k.starts_with(OPERATOR_PREFIX)) else {
                continue;
            };
            let value = p
                .child_by_field_name("value")
                .and_then(|v| scalar(v, src))
                .map(|s| s.value)
                .unwrap_or_default();
            pod_annotations.push((key, value));
        }
        if pod_annotations.is_empty() {
            return;
        }
        let sidecar = get(ann, SIDECAR_INJECT, src)
            .and_then(|v| scalar(v, src))
            .is_some_and(|s| {
                let v = s.value.trim();
                !v.is_empty() && !v.eq_ignore_ascii_case("false")
            });
        // The env beside it (the main container's) sets the endpoint.
        let own_endpoint = VALUES_ENV_KEYS.iter().any(|k| {
            env_facts(TreeView::new(src), get(owner, k, src))
                .iter()
                .any(|(n, _)| ENDPOINT_VARS.contains(&n.as_str()))
        });
        out.push(K8sObject {
            api_version: HELM_VALUES_API.to_string(),
            kind: HELM_VALUES_KIND.to_string(),
            name: component,
            pod_annotations,
            sidecar,
            own_endpoint,
            ..Default::default()
        });
    };
    read(root, None);
    for p in pairs(root) {
        if let (Some(k), Some(v)) = (pair_key(p, src), value_of(p)) {
            if matches!(kind(content(v)), "block_mapping" | "flow_mapping") {
                read(v, Some(k));
            }
        }
    }
    out
}

/// The pod annotation that asks the Operator for a sidecar collector./// The pod annotation that asks the Operator for a sidecar collector.
pub const SIDECAR_INJECT: &str = "sidecar.opentelemetry.io/inject";

/// The variables that set where OTLP traces go.
pub const ENDPOINT_VARS: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Whether every container the Operator instruments sets its own endpoint: those named by
/// a `*container-names` annotation, else the first of `containers`.
fn containers_set_endpoint<'s, V: View<'s>>(
    v: V,
    root: V::Node,
    shape: PodShape,
    annotations: &[(String, String)],
) -> bool {
    let mut spec_path = shape.template().to_vec();
    spec_path.extend(["spec", "containers"]);
    let Some(list) = v.get_path(root, &spec_path) else {
        return false;
    };
    let containers = v.items(list);
    let names: Vec<&str> = annotations
        .iter()
        .filter(|(k, _)| k.ends_with("container-names"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let sets = |c: &V::Node| {
        env_facts(v, v.get(*c, "env"))
            .iter()
            .any(|(n, _)| ENDPOINT_VARS.contains(&n.as_str()))
    };
    if names.is_empty() {
        return containers.first().is_some_and(sets);
    }
    let chosen: Vec<&V::Node> = containers
        .iter()
        .filter(|c| {
            v.get(**c, "name")
                .and_then(|n| v.scalar(n))
                .is_some_and(|s| names.contains(&s))
        })
        .collect();
    !chosen.is_empty() && chosen.into_iter().all(sets)
}

/// The language sections of an `Instrumentation` spec.
pub const INSTRUMENTATION_LANGUAGES: &[&str] = &[
    "python",
    "java",
    "nodejs",
    "dotnet",
    "go",
    "apacheHttpd",
    "nginx",
    "php",
    "ruby",
];

/// Byte offset of the start of the line containing `pos`.
pub fn line_start(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    memchr::memrchr(b'\n', &src.as_bytes()[..pos]).map_or(0, |n| n + 1)
}

/// Byte offset just past the line break ending the line that contains `pos` (the text's end
/// when the line has none).
pub fn line_after(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    memchr::memchr(b'\n', &src.as_bytes()[pos..]).map_or(src.len(), |n| pos + n + 1)
}

/// Byte offset just past the last line of `node`: tree-sitter-yaml sometimes ends a block
/// node after the final line break, sometimes before it.
pub fn line_after_node(src: &str, node: Node) -> usize {
    let start = node.start_byte();
    let mut end = node.end_byte().max(start + 1).min(src.len());
    // Comment lines at its end (the tree puts them in the last mapping) belong to what
    // follows: text added after the node goes above them.
    while end > 0 {
        let ls = line_start(src, end - 1);
        if ls <= start {
            break;
        }
        let line = &src[ls..end];
        let t = line.trim_start();
        let hash = ls + (line.len() - t.len());
        let is_comment = t.starts_with('#')
            && node
                .descendant_for_byte_range(hash, hash + 1)
                .is_some_and(|n| kind(n) == "comment");
        if !(t.trim().is_empty() || is_comment) {
            break;
        }
        end = ls;
    }
    line_after(src, end.saturating_sub(1))
}

/// The column of `pos` (bytes since its line start) when only spaces precede it on its line.
pub fn indent_at(src: &str, pos: usize) -> Option<usize> {
    let ls = line_start(src, pos);
    let before = src.get(ls..pos)?;
    before.bytes().all(|b| b == b' ').then_some(pos - ls)
}

/// The line break the text uses (`\r\n` when its first line ends so).
pub fn newline_of(src: &str) -> &'static str {
    match memchr::memchr(b'\n', src.as_bytes()) {
        Some(n) if n > 0 && src.as_bytes()[n - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> tree_sitter::Tree {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&tree_sitter_yaml::LANGUAGE.into()).unwrap();
        p.parse(src, None).unwrap()
    }

    #[test]
    fn kind_of_a_node_of_another_grammar_is_its_own_kind() {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        let tree = p.parse("x = 1\n", None).unwrap();
        let root = tree.root_node();
        assert_eq!(kind(root), "module");
        assert_eq!(kind(root.child(0).unwrap()), "expression_statement");
        assert_eq!(kind(parse("a: b\n").root_node()), "stream");
    }

    /// The grammar's scanner stops at a NUL byte as at the end of the input;
    /// `syntax::parse` reads it as a space, so what follows stays in the tree.
    #[test]
    fn a_nul_byte_hides_nothing_after_it() {
        let src = "env:\n  - name: A\n    value: \0\0 x\n  - name: DJANGO_SETTINGS_MODULE\n";
        assert!(
            parse(src).root_node().end_byte() < src.len(),
            "the grammar stops there"
        );
        let tree = crate::syntax::parse(crate::language::Language::Yaml, src, None);
        assert_eq!(tree.root_node().end_byte(), src.len());
        let root = document_root(tree.root_node()).unwrap();
        let names: Vec<String> = env_vars(get(root, "env", src).unwrap(), src)
            .iter()
            .map(|v| v.name.clone())
            .collect();
        assert_eq!(names, ["A", "DJANGO_SETTINGS_MODULE"]);
    }

    #[test]
    fn object_and_paths() {
        let src = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \"instrumentation.opentelemetry.io/inject-python\": 'true'\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: x\n";
        let tree = parse(src);
        let root = document_root(tree.root_node()).unwrap();
        let obj = k8s_object(root, src).unwrap();
        assert_eq!(obj.kind, "Deployment");
        assert_eq!(obj.name.as_deref(), Some("web"));
        assert_eq!(obj.namespace, None);
        let ann = get_path(root, &["metadata", "annotations"], src).unwrap();
        let p = pairs(ann)[0];
        assert_eq!(
            key_path(p, src),
            [
                "metadata",
                "annotations",
                "instrumentation.opentelemetry.io/inject-python"
            ]
        );
        let v = scalar(value_of(p).unwrap(), src).unwrap();
        assert_eq!((v.value.as_str(), v.quote), ("true", Some('\'')));
        let containers = get_path(root, &["spec", "template", "spec", "containers"], src).unwrap();
        let c = items(containers);
        assert_eq!(c.len(), 1);
        let image = pair(c[0], "image", src).unwrap();
        assert_eq!(
            key_path(image, src),
            ["spec", "template", "spec", "containers", "-", "image"]
        );
    }

    #[test]
    fn operator_facts() {
        let src = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\n  namespace: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-java: \"true\"\nspec:\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          annotations:\n            instrumentation.opentelemetry.io/inject-python: 'py'\n            other: x\n";
        let tree = parse(src);
        let obj = k8s_object(document_root(tree.root_node()).unwrap(), src).unwrap();
        assert_eq!(
            obj.pod_annotations,
            vec![(
                "instrumentation.opentelemetry.io/inject-python".to_string(),
                "py".to_string()
            )]
        );
        assert_eq!(obj.pod_namespace(), Some("shop"));
        assert!(obj.instrumentation.is_none());

        let src = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: i\nspec:\n  exporter:\n    endpoint: http://c:4317\n  env:\n    - name: A\n      value: \"1\"\n    - name: B\n      valueFrom: {fieldRef: {fieldPath: x}}\n  java: {}\n  python:\n    env: [{name: C, value: c}]\n";
        let tree = parse(src);
        let obj = k8s_object(document_root(tree.root_node()).unwrap(), src).unwrap();
        let spec = obj.instrumentation.unwrap();
        assert_eq!(spec.languages, ["java", "python"]);
        assert!(spec.has_python());
        assert_eq!(
            spec.env,
            vec![("A".into(), Some("1".into())), ("B".into(), None)]
        );
        assert_eq!(spec.python_env, vec![("C".into(), Some("c".into()))]);
        assert_eq!(spec.exporter_endpoint.as_deref(), Some("http://c:4317"));
        assert!(!is_instrumentation(
            "newrelic.com/v1beta2",
            "Instrumentation"
        ));
    }

    #[test]
    fn pod_shapes_by_group_and_kind() {
        let meta = |v: &str, k: &str| pod_shape(v, k).map(|s| s.pod_meta.join("."));
        assert_eq!(meta("v1", "Pod").as_deref(), Some("metadata"));
        assert_eq!(
            meta("apps/v1", "Deployment").as_deref(),
            Some("spec.template.metadata")
        );
        assert_eq!(
            meta("serving.knative.dev/v1", "Service").as_deref(),
            Some("spec.template.metadata")
        );
        assert_eq!(
            meta("batch/v1beta1", "CronJob").as_deref(),
            Some("spec.jobTemplate.spec.template.metadata")
        );
        assert_eq!(
            meta("v1", "PodTemplate").as_deref(),
            Some("template.metadata")
        );
        assert!(pod_shape("v1", "Namespace").is_some_and(|s| s.namespace));
        assert_eq!(meta("v1", "Service"), None);
        assert_eq!(meta("example.com/v1", "Deployment"), None);
    }

    #[test]
    fn line_helpers() {
        let src = "a: 1\r\n  b: 2\nc";
        assert_eq!(newline_of(src), "\r\n");
        assert_eq!(line_start(src, 8), 6);
        assert_eq!(line_after(src, 0), 6);
        assert_eq!(line_after(src, src.len()), src.len());
        assert_eq!(indent_at(src, 8), Some(2));
        assert_eq!(indent_at(src, 3), None);
    }
}
