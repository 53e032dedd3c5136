//! Facts that span files: the Instrumentation objects of the workspace, the objects whose pods
//! carry Operator annotations, and (later) its launchers. Built from per-file summaries, so a
//! changed file updates only its own part.

use crate::syntax::yaml::K8sObject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one file contributes to the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FileSummary {
    /// OpenTelemetry Operator `Instrumentation` objects defined in the file.
    pub instrumentations: Vec<K8sObject>,
    /// Workloads, Pods and Namespaces whose pod-level annotations include
    /// `instrumentation.opentelemetry.io/*` keys.
    pub injectors: Vec<K8sObject>,
}

/// The cross-file facts of one workspace root.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    files: BTreeMap<PathBuf, FileSummary>,
    /// Bumped on every change, so caches can tell.
    pub generation: u64,
}

impl Workspace {
    /// An empty workspace (single-file checks).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or replaces) a file's summary. Returns whether anything changed.
    pub fn update(&mut self, path: PathBuf, summary: FileSummary) -> bool {
        if self.files.get(&path) == Some(&summary) {
            return false;
        }
        self.files.insert(path, summary);
        self.generation += 1;
        true
    }

    /// Forgets a file.
    pub fn remove(&mut self, path: &Path) -> bool {
        let removed = self.files.remove(path).is_some();
        if removed {
            self.generation += 1;
        }
        removed
    }

    /// Every Instrumentation of the workspace.
    pub fn instrumentations(&self) -> impl Iterator<Item = &K8sObject> {
        self.files.values().flat_map(|f| f.instrumentations.iter())
    }

    /// Whether a launcher of the workspace runs this Python file under auto-instrumentation.
    /// (Launchers arrive with the launcher index; until then nothing is known.)
    pub fn is_auto_instrumented(&self, _path: &Path) -> bool {
        false
    }
}

// --- OpenTelemetry Operator: annotation values → Instrumentation objects (rules.md §0.3). ---

/// The pod annotation that asks for Python injection.
pub const INJECT_PYTHON: &str = "instrumentation.opentelemetry.io/inject-python";

impl Workspace {
    /// Every object whose pods (or namespace) carry Operator annotations.
    pub fn injectors(&self) -> impl Iterator<Item = &K8sObject> {
        self.files.values().flat_map(|f| f.injectors.iter())
    }

    /// Whether any Instrumentation or annotated object of the workspace names its namespace.
    /// When none does, the workspace is read as one namespace (§0.3).
    pub fn has_explicit_namespaces(&self) -> bool {
        self.instrumentations()
            .chain(self.injectors())
            .any(|o| o.pod_namespace().is_some())
    }

    /// The value of `key` on the Namespace object named `ns`, if the workspace defines one.
    pub fn namespace_annotation(&self, ns: &str, key: &str) -> Option<&str> {
        self.injectors()
            .filter(|o| {
                o.kind == "Namespace" && o.group().is_empty() && o.name.as_deref() == Some(ns)
            })
            .find_map(|o| o.pod_annotation(key))
    }

    /// The value the Operator acts on for a pod: its own annotation combined with its
    /// Namespace's (operator `annotation.go annotationValue`). `None` when neither is set.
    pub fn effective_annotation<'a>(
        &'a self,
        pod_value: Option<&'a str>,
        pod_ns: Option<&str>,
        key: &str,
    ) -> Option<&'a str> {
        let pod = pod_value.filter(|v| !v.is_empty());
        let ns = pod_ns
            .and_then(|n| self.namespace_annotation(n, key))
            .filter(|v| !v.is_empty());
        match (pod, ns) {
            (p, None) => p,
            (None, n) => n,
            (Some(p), Some(_)) if !p.eq_ignore_ascii_case("true") => Some(p),
            (Some(p), Some(n)) if n.eq_ignore_ascii_case("false") => Some(p),
            (Some(_), Some(n)) => Some(n),
        }
    }

    /// The Instrumentation an `inject-*` value selects for a pod in `pod_ns` (operator
    /// `podmutator.go getInstrumentationInstance`), when the files decide it: `"true"` → the
    /// only one in the pod's namespace, `"name"` → that name in the pod's namespace,
    /// `"ns/name"` → that object. Namespaces must be explicit on both sides to match, except
    /// in a workspace where no object names one (then it is read as a single namespace).
    /// `None` for `"false"`, empty, ambiguous or undecidable values.
    pub fn resolve(&self, value: &str, pod_ns: Option<&str>) -> Option<&K8sObject> {
        if value.is_empty() || value.eq_ignore_ascii_case("false") {
            return None;
        }
        let single_namespace = !self.has_explicit_namespaces();
        let in_pod_ns = |o: &&K8sObject| match pod_ns {
            Some(ns) => o.namespace.as_deref() == Some(ns),
            None => single_namespace,
        };
        let found: Vec<&K8sObject> = if value.eq_ignore_ascii_case("true") {
            self.instrumentations().filter(in_pod_ns).collect()
        } else {
            match value.split_once('/') {
                Some((ns, name)) => self
                    .instrumentations()
                    .filter(|o| {
                        o.name.as_deref() == Some(name) && o.namespace.as_deref() == Some(ns)
                    })
                    .collect(),
                None => self
                    .instrumentations()
                    .filter(in_pod_ns)
                    .filter(|o| o.name.as_deref() == Some(value))
                    .collect(),
            }
        };
        match found.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Whether some pod or Namespace of the workspace asks for Python injection with a value
    /// that resolves to `inst`.
    pub fn is_python_target(&self, inst: &K8sObject) -> bool {
        self.injectors().any(|o| {
            let ns = o.pod_namespace();
            self.effective_annotation(o.pod_annotation(INJECT_PYTHON), ns, INJECT_PYTHON)
                .and_then(|v| self.resolve(v, ns))
                .is_some_and(|found| found == inst)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(name: &str, ns: Option<&str>) -> K8sObject {
        K8sObject {
            api_version: "opentelemetry.io/v1alpha1".into(),
            kind: "Instrumentation".into(),
            name: Some(name.into()),
            namespace: ns.map(Into::into),
            ..Default::default()
        }
    }

    fn ws(insts: Vec<K8sObject>, injectors: Vec<K8sObject>) -> Workspace {
        let mut w = Workspace::new();
        w.update(
            "a.yaml".into(),
            FileSummary {
                instrumentations: insts,
                injectors,
            },
        );
        w
    }

    #[test]
    fn resolution_follows_the_operator() {
        let w = ws(
            vec![
                inst("a", Some("x")),
                inst("b", Some("x")),
                inst("c", Some("y")),
            ],
            vec![],
        );
        assert_eq!(
            w.resolve("true", Some("y")).and_then(|o| o.name.as_deref()),
            Some("c")
        );
        assert!(w.resolve("true", Some("x")).is_none(), "two candidates");
        assert!(w.resolve("True", None).is_none(), "unknown namespace");
        assert_eq!(
            w.resolve("b", Some("x")).and_then(|o| o.name.as_deref()),
            Some("b")
        );
        assert!(w.resolve("c", Some("x")).is_none());
        assert_eq!(
            w.resolve("y/c", None).and_then(|o| o.name.as_deref()),
            Some("c")
        );
        assert!(w.resolve("false", Some("y")).is_none());

        // No explicit namespace anywhere: one namespace.
        let w = ws(vec![inst("a", None)], vec![]);
        assert_eq!(
            w.resolve("true", None).and_then(|o| o.name.as_deref()),
            Some("a")
        );
        assert_eq!(
            w.resolve("a", None).and_then(|o| o.name.as_deref()),
            Some("a")
        );
    }

    #[test]
    fn namespace_annotation_combines_like_the_operator() {
        let ns = K8sObject {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name: Some("app".into()),
            pod_annotations: vec![(INJECT_PYTHON.into(), "inst".into())],
            ..Default::default()
        };
        let w = ws(vec![inst("inst", Some("app"))], vec![ns]);
        let eff = |pod| w.effective_annotation(pod, Some("app"), INJECT_PYTHON);
        assert_eq!(eff(None), Some("inst"));
        assert_eq!(eff(Some("true")), Some("inst"));
        assert_eq!(eff(Some("false")), Some("false"));
        assert_eq!(eff(Some("other")), Some("other"));
        assert!(w.is_python_target(&inst("inst", Some("app"))));
    }
}
