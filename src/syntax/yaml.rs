//! A thin view of tree-sitter-yaml trees as Kubernetes objects: mapping look-ups by key,
//! scalars with their quoting, key paths of any node, and a per-document summary.
//!
//! tree-sitter-yaml follows YAML 1.2 and keeps quotes inside quoted scalars; Kubernetes reads
//! YAML 1.1 (`yes`/`on` are booleans there). The helpers return the raw and unquoted text and
//! whether the scalar was quoted, so rules can judge types the way the API server does.

use crate::diagnostic::Span;
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

fn text<'s>(node: Node, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// Descends through `block_node`/`flow_node` wrappers (and anchors/tags) to the content node.
pub fn content(node: Node) -> Node {
    let mut n = node;
    loop {
        match n.kind() {
            "block_node" | "flow_node" | "document" => {
                let mut c = n.walk();
                let next = n
                    .named_children(&mut c)
                    .find(|ch| !matches!(ch.kind(), "anchor" | "tag" | "comment"));
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
    match n.kind() {
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
    let key = pair.child_by_field_name("key")?;
    scalar(key, src).map(|s| s.value)
}

/// The pairs of a block or flow mapping (after unwrapping `node`).
pub fn pairs(node: Node) -> Vec<Node> {
    let m = content(node);
    if !matches!(m.kind(), "block_mapping" | "flow_mapping") {
        return Vec::new();
    }
    let mut c = m.walk();
    m.named_children(&mut c)
        .filter(|p| matches!(p.kind(), "block_mapping_pair" | "flow_pair"))
        .collect()
}

/// The pair with key `key` in the mapping at `node`.
pub fn pair<'t>(node: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    pairs(node)
        .into_iter()
        .find(|p| pair_key(*p, src).as_deref() == Some(key))
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
    match s.kind() {
        "block_sequence" => s
            .named_children(&mut c)
            .filter(|i| i.kind() == "block_sequence_item")
            .filter_map(|i| i.named_child(0))
            .collect(),
        "flow_sequence" => s
            .named_children(&mut c)
            .filter(|i| matches!(i.kind(), "flow_node" | "flow_pair"))
            .collect(),
        _ => Vec::new(),
    }
}

/// The keys from the document root down to `node` (sequence items appear as `-`).
pub fn key_path(node: Node, src: &str) -> Vec<String> {
    let mut path = Vec::new();
    let mut cur = Some(node);
    let mut child: Option<Node> = None;
    while let Some(n) = cur {
        match n.kind() {
            "block_mapping_pair" | "flow_pair" => {
                // Only count the pair when we came up through its value (or started on it).
                let via_key = child.is_some_and(|c| Some(c) == n.child_by_field_name("key"));
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
        cur = n.parent();
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
        .find(|n| n.kind() == "document")?;
    let mut c2 = doc.walk();
    let body = doc
        .named_children(&mut c2)
        .find(|n| matches!(n.kind(), "block_node" | "flow_node"))?;
    Some(body)
}

/// The identity of a Kubernetes object: a document with `apiVersion` and `kind`.
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
}

impl K8sObject {
    /// The API group (`opentelemetry.io` of `opentelemetry.io/v1alpha1`; empty for core).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// Whether this is an OpenTelemetry Operator `Instrumentation`.
    pub fn is_instrumentation(&self) -> bool {
        self.kind == "Instrumentation" && self.group() == "opentelemetry.io"
    }
}

/// Reads the object identity of a document root; `None` unless it has `apiVersion` and `kind`.
pub fn k8s_object(root: Node, src: &str) -> Option<K8sObject> {
    let api_version = scalar(get(root, "apiVersion", src)?, src)?.value;
    let kind = scalar(get(root, "kind", src)?, src)?.value;
    let meta = get(root, "metadata", src);
    let field = |k: &str| {
        meta.and_then(|m| get(m, k, src))
            .and_then(|v| scalar(v, src))
            .map(|s| s.value)
            .filter(|v| !v.is_empty() && !v.contains("{{"))
    };
    Some(K8sObject {
        api_version,
        kind,
        name: field("name"),
        namespace: field("namespace"),
    })
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
        let v = scalar(p.child_by_field_name("value").unwrap(), src).unwrap();
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
}
