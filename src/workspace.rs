//! Facts that span files: the Instrumentation objects of the workspace and (later) its
//! launchers. Built from per-file summaries, so a changed file updates only its own part.

use crate::syntax::yaml::K8sObject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one file contributes to the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FileSummary {
    /// OpenTelemetry Operator `Instrumentation` objects defined in the file.
    pub instrumentations: Vec<K8sObject>,
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
