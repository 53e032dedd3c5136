//! Kustomize `kustomization.yaml` files: the `namespace:` they give the objects they build and
//! the `resources:` (files and folders) they list, for the workspace's view of namespaces
//! (rules.md §0.3) and the order kustomize applies objects in.
//!
//! A kustomization is known by its file name (`kustomization.yaml`, `kustomization.yml`,
//! `Kustomization`), as kustomize finds it; the facts of other files are never read as one.

use super::yaml::{get, items, kind, pairs, scalar};
use crate::diagnostic::Span;
use std::path::Path;
use tree_sitter::Node;

/// The file names kustomize reads a folder's kustomization from, in its order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether `path` names a kustomization file.
pub fn is_kustomization_path(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| FILE_NAMES.contains(&n))
}

/// What a kustomization tells the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Kustomization {
    /// `namespace:`: set on every object it builds (kustomize's namespace transformer, which
    /// also replaces an explicit `metadata.namespace`). `None` when absent or templated.
    pub namespace: Option<String>,
    /// The `resources:` entries (and the legacy `bases:`), as written, in order: files, or
    /// folders holding a kustomization of their own. Remote and templated ones are left out.
    pub resources: Vec<String>,
    /// `sortOptions.order: fifo`: objects are applied in `resources:` order, not kustomize's
    /// legacy kind order.
    pub fifo: bool,
}

/// One `resources:` entry with its scalar's span (chunk-relative, like the tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry as written.
    pub path: String,
    /// The scalar.
    pub span: Span,
}

/// The resource entries of a kustomization document, in order (`resources:` then `bases:`).
pub fn entries(root: Node, src: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for key in ["resources", "bases"] {
        let Some(list) = get(root, key, src) else {
            continue;
        };
        for item in items(list) {
            let Some(s) = scalar(item, src) else {
                continue;
            };
            let v = s.value.trim();
            if v.is_empty() || v.contains("{{") || v.contains('$') || is_remote(v) {
                continue;
            }
            out.push(Entry {
                path: v.to_string(),
                span: s.span,
            });
        }
    }
    out
}

/// Whether an entry names something outside the workspace (a URL, a git repository).
fn is_remote(v: &str) -> bool {
    v.contains("://")
        || v.contains("?ref=")
        || v.starts_with("github.com/")
        || v.starts_with("git@")
}

/// Reads a kustomization from a document root: a mapping with `resources:`/`bases:` or
/// `namespace:` at the top, and no `apiVersion`/`kind` of another API.
pub fn read(root: Node, src: &str) -> Option<Kustomization> {
    if !matches!(
        kind(super::yaml::content(root)),
        "block_mapping" | "flow_mapping"
    ) {
        return None;
    }
    let text = |k: &str| {
        get(root, k, src)
            .and_then(|v| scalar(v, src))
            .map(|s| s.value)
    };
    if let Some(api) = text("apiVersion") {
        if !api.starts_with("kustomize.config.k8s.io/") {
            return None;
        }
    }
    if let Some(k) = text("kind") {
        if k != "Kustomization" && k != "Component" {
            return None;
        }
    }
    let keys: Vec<String> = pairs(root)
        .into_iter()
        .filter_map(|p| super::yaml::pair_key(p, src))
        .collect();
    if !keys
        .iter()
        .any(|k| matches!(k.as_str(), "resources" | "bases" | "namespace"))
    {
        return None;
    }
    let namespace = text("namespace")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && !v.contains("{{") && !v.contains('$'));
    let fifo = get(root, "sortOptions", src)
        .and_then(|s| get(s, "order", src))
        .and_then(|v| scalar(v, src))
        .is_some_and(|s| s.value.eq_ignore_ascii_case("fifo"));
    Some(Kustomization {
        namespace,
        resources: entries(root, src).into_iter().map(|e| e.path).collect(),
        fifo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(src: &str) -> Option<Kustomization> {
        let tree = crate::syntax::parse(crate::language::Language::Yaml, src, None);
        read(crate::syntax::yaml::document_root(tree.root_node())?, src)
    }

    #[test]
    fn reads_namespace_and_resources() {
        let got = k("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources:\n  - deploy.yaml\n  - ../base\n  - https://github.com/x/y?ref=v1\n").unwrap();
        assert_eq!(got.namespace.as_deref(), Some("shop"));
        assert_eq!(got.resources, ["deploy.yaml", "../base"]);
        assert!(!got.fifo);
        let got = k("bases: [../base]\nsortOptions:\n  order: fifo\n").unwrap();
        assert_eq!(
            (got.namespace, got.resources, got.fifo),
            (None, vec!["../base".to_string()], true)
        );
        assert!(k("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").is_none());
        assert!(k("- a\n- b\n").is_none());
        assert!(is_kustomization_path(Path::new("a/kustomization.yml")));
        assert!(!is_kustomization_path(Path::new("a/kustomization.json")));
    }
}
