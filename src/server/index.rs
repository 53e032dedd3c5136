//! The workspace index: what every Python and YAML file of the workspace folders contributes
//! to cross-file rules (today: the Operator's `Instrumentation` objects), built on a
//! background thread so that the first diagnostics never wait for it.
//!
//! Open documents are indexed by the worker from their live text; the indexer skips them.

use super::session::{lock, write, Shared};
use otel_lsp::engine::{self, SourceFile};
use otel_lsp::language::Language;
use otel_lsp::workspace::FileSummary;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Files bigger than this are not indexed (generated bundles, data dumps).
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// A file's summary, read from disk. Only files that can contribute are parsed: a summary
/// today holds `Instrumentation` objects, so a file without that word has an empty one.
/// (Widen this filter when `FileSummary` learns more.)
pub fn summary_of(path: &Path) -> Option<FileSummary> {
    // The engine is meant to be infallible; if it is not, skip the file, not the index.
    std::panic::catch_unwind(|| read_summary(path)).unwrap_or_else(|_| {
        tracing::error!(path = %path.display(), "summarizing panicked; file skipped");
        None
    })
}

fn read_summary(path: &Path) -> Option<FileSummary> {
    let lang = Language::from_path(path)?;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    if !text.contains("Instrumentation") {
        return Some(FileSummary::default());
    }
    Some(engine::summarize(&SourceFile::new(lang, text)))
}

fn open_paths(shared: &Shared) -> HashSet<PathBuf> {
    lock(&shared.docs)
        .values()
        .filter_map(|d| d.path.clone())
        .collect()
}

/// Records summaries (or removals, for `None`); re-checks open documents if anything changed.
fn record(shared: &Shared, batch: Vec<(PathBuf, Option<FileSummary>)>) {
    let open = open_paths(shared);
    let mut changed = false;
    {
        let mut ws = write(&shared.workspaces);
        for (path, summary) in batch {
            if open.contains(&path) {
                continue;
            }
            let w = ws.for_path_mut(&path);
            changed |= match summary {
                Some(s) => w.update(path, s),
                None => w.remove(&path),
            };
        }
    }
    if changed {
        shared.mark_all_dirty(true);
    }
}

/// Indexes every Python and YAML file under `roots` (honouring `.gitignore`).
pub fn index_roots(shared: Arc<Shared>, roots: Vec<PathBuf>) {
    let started = Instant::now();
    let mut count = 0usize;
    let mut batch = Vec::new();
    for root in &roots {
        for entry in ignore::WalkBuilder::new(root).build().flatten() {
            if shared.shut_down.load(Ordering::Relaxed) {
                return;
            }
            let path = entry.path();
            if Language::from_path(path).is_none()
                || !entry.file_type().is_some_and(|t| t.is_file())
            {
                continue;
            }
            if let Some(s) = summary_of(path) {
                batch.push((path.to_path_buf(), Some(s)));
                count += 1;
            }
            if batch.len() >= 256 {
                record(&shared, std::mem::take(&mut batch));
            }
        }
    }
    record(&shared, batch);
    tracing::info!("indexed {count} files in {:?}", started.elapsed());
}

/// Re-indexes files that changed on disk (created, changed or deleted).
pub fn index_paths(shared: Arc<Shared>, paths: Vec<PathBuf>) {
    let batch = paths
        .into_iter()
        .filter(|p| Language::from_path(p).is_some())
        .map(|p| {
            let s = summary_of(&p);
            (p, s)
        })
        .collect();
    record(&shared, batch);
}
