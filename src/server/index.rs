//! The workspace index: what every file of the workspace folders contributes to cross-file
//! rules (Operator `Instrumentation` objects and annotated pods, launchers — Dockerfiles,
//! shell scripts, Procfiles, compose files, uWSGI ini files, Makefiles, `.env` files — and
//! the gunicorn/framework facts of Python modules), built on a background thread so that the
//! first diagnostics never wait for it.
//!
//! The files are those `otel-lsp check` reads in the same folder: every kind
//! `Language::from_path` accepts, the same hidden-file and default-folder rules, the
//! configuration's `exclude` patterns, and the same needle pre-filter (a file that could not
//! contribute is not in the workspace, as in the CLI). Open documents are indexed by the
//! worker from their live text; the indexer skips them.

use super::project::Projects;
use super::session::{lock, write, Shared};
use crate::cli::walk;
use otel_lsp::engine::{self, needles, SourceFile};
use otel_lsp::language::Language;
use otel_lsp::workspace::{Affected, FileSummary};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Files bigger than this are not indexed (generated bundles, data dumps).
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// A file's summary, read from disk; `None` when the file is gone, not ours, excluded, or
/// could not contribute (the CLI's pre-filter).
pub fn summary_of(path: &Path, projects: &mut Projects) -> Option<FileSummary> {
    // The engine is meant to be infallible; if it is not, skip the file, not the index.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_summary(path, projects)
    }))
    .unwrap_or_else(|_| {
        tracing::error!(path = %path.display(), "summarizing panicked; file skipped");
        None
    })
}

fn read_summary(path: &Path, projects: &mut Projects) -> Option<FileSummary> {
    let lang = Language::from_path(path)?;
    if excluded(path, projects) {
        return None;
    }
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    if !needles::worth_parsing(lang, &text) {
        return None;
    }
    Some(engine::summarize(&SourceFile::new(lang, text)))
}

/// Whether the project configuration governing `path` excludes it (a broken configuration
/// excludes nothing).
fn excluded(path: &Path, projects: &mut Projects) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    match projects.for_dir(dir) {
        Ok(Some(p)) => p.excludes(path),
        _ => false,
    }
}

fn open_paths(shared: &Shared) -> HashSet<PathBuf> {
    lock(&shared.docs)
        .values()
        .filter_map(|d| d.path.clone())
        .collect()
}

/// Combines what several updates affect.
pub fn merge(a: Affected, b: Affected) -> Affected {
    match (a, b) {
        (Affected::All, _) | (_, Affected::All) => Affected::All,
        (Affected::Nothing, x) | (x, Affected::Nothing) => x,
        (Affected::Files(mut x), Affected::Files(y)) => {
            for p in y {
                if !x.contains(&p) {
                    x.push(p);
                }
            }
            Affected::Files(x)
        }
    }
}

/// Records summaries (or removals, for `None`) of files that are not open; re-checks the
/// open documents whose diagnostics that may change.
fn record(shared: &Shared, batch: Vec<(PathBuf, Option<FileSummary>)>) {
    let open = open_paths(shared);
    let mut affected = Affected::Nothing;
    {
        let mut ws = write(&shared.workspaces);
        for (path, summary) in batch {
            if open.contains(&path) {
                continue;
            }
            let a = ws.for_path_mut(&path).apply(path, summary);
            affected = merge(affected, a);
        }
    }
    shared.mark_affected(affected);
}

/// Indexes every file `otel-lsp check` would read under `roots`.
pub fn index_roots(shared: Arc<Shared>, roots: Vec<PathBuf>) {
    let started = Instant::now();
    let mut projects = Projects::default();
    let mut count = 0usize;
    let mut batch = Vec::new();
    for root in &roots {
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .filter_entry(|e| {
                walk::visible(e)
                    && !(e.depth() > 0
                        && e.file_type().is_some_and(|t| t.is_dir())
                        && e.file_name()
                            .to_str()
                            .is_some_and(|n| walk::DEFAULT_EXCLUDES.contains(&n)))
            })
            .require_git(false)
            .follow_links(false)
            .build();
        for entry in walker.flatten() {
            if shared.shut_down.load(Ordering::Relaxed) {
                return;
            }
            let path = entry.path();
            if Language::from_path(path).is_none()
                || !entry.file_type().is_some_and(|t| t.is_file())
            {
                continue;
            }
            count += 1;
            if let Some(s) = summary_of(path, &mut projects) {
                batch.push((path.to_path_buf(), Some(s)));
            }
            if batch.len() >= 256 {
                record(&shared, std::mem::take(&mut batch));
            }
        }
    }
    record(&shared, batch);
    tracing::info!("indexed {count} files in {:?}", started.elapsed());
}

/// Re-indexes files that changed on disk (created, changed or deleted), or whose document
/// was closed (the file on disk speaks for the workspace again).
pub fn index_paths(shared: Arc<Shared>, paths: Vec<PathBuf>) {
    let mut projects = Projects::default();
    // Not filtered by name: a document opened under a languageId (`config.ini` as `ini`) was
    // in the workspace while open, and must leave it when closed.
    let batch = paths
        .into_iter()
        .map(|p| {
            let s = summary_of(&p, &mut projects);
            (p, s)
        })
        .collect();
    record(&shared, batch);
}
