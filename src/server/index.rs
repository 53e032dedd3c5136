//! The workspace index: what every file of the workspace folders contributes to cross-file
//! rules (Operator `Instrumentation` objects and annotated pods, launchers — Dockerfiles,
//! shell scripts, Procfiles, compose files, uWSGI ini files, Makefiles, `.env` files — and
//! the gunicorn/framework facts of Python modules), built on a background thread so that the
//! first diagnostics never wait for it.
//!
//! The files are those `otel-lsp check` reads in the same folder: every kind
//! `Language::from_path` accepts, the same hidden-file and default-folder rules, the
//! configuration's `exclude` patterns, and the same pre-filter: a file is summarised from
//! the chunks its summary is made from, one that cannot contribute is in the workspace with
//! an empty summary, and a Python module is summarised only when a launcher of the
//! workspace starts it (nothing else asks), as in the CLI. Open documents are indexed by the
//! worker from their live text; the indexer skips them.

use super::project::Projects;
use super::session::{lock, write, Shared};
use crate::walk;
use otel_lsp::engine;
use otel_lsp::language::Language;
use otel_lsp::workspace::{Affected, FileSummary};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Files bigger than this are not indexed (generated bundles, data dumps).
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// A file's summary, read from disk; `None` when the file is gone, not ours or excluded.
/// `launched` says whether a launcher of the workspace starts it (a Python module is
/// summarised only then; otherwise it is there with an empty summary).
pub fn summary_of(path: &Path, projects: &mut Projects, launched: bool) -> Option<FileSummary> {
    // The engine is meant to be infallible; if it is not, skip the file, not the index.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_summary(path, projects, launched)
    }))
    .unwrap_or_else(|_| {
        tracing::error!(path = %path.display(), "summarizing panicked; file skipped");
        None
    })
}

fn read_summary(path: &Path, projects: &mut Projects, launched: bool) -> Option<FileSummary> {
    let lang = Language::from_path(path)?;
    if excluded(path, projects) {
        return None;
    }
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    if lang == Language::Python && !launched {
        return Some(FileSummary::default());
    }
    let bits = engine::needle_bits(lang, &text);
    Some(match engine::summary_wanted_for(lang, bits, Some(path)) {
        Some(w) => engine::summarize(&engine::read(lang, text, w)),
        None => FileSummary::default(),
    })
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
/// open documents whose diagnostics that may change. The Python modules that the recorded
/// launchers start, before or after, are summarised again: whether a module is started
/// decides whether it is summarised.
fn record(shared: &Shared, batch: Vec<(PathBuf, Option<FileSummary>)>, projects: &mut Projects) {
    let open = open_paths(shared);
    let mut affected = Affected::Nothing;
    let mut modules: Vec<PathBuf> = Vec::new();
    {
        let mut ws = write(&shared.workspaces);
        for (path, summary) in batch {
            if open.contains(&path) {
                continue;
            }
            let launches = summary
                .as_ref()
                .is_some_and(|s| !s.launch.launchers.is_empty());
            let ws = ws.for_path_mut(&path);
            let before = if launches || ws.summary(&path).is_some() {
                ws.dependents(&path)
            } else {
                Vec::new()
            };
            let python = Language::from_path(&path) == Some(Language::Python);
            let a = ws.apply(path.clone(), summary);
            affected = merge(affected, a);
            let own = python.then(|| path.clone());
            for p in before.into_iter().chain(ws.dependents(&path)).chain(own) {
                if Language::from_path(&p) == Some(Language::Python)
                    && !open.contains(&p)
                    && !modules.contains(&p)
                {
                    modules.push(p);
                }
            }
        }
    }
    // Summarised again now that the batch's launchers are in: a module whose launcher came
    // later in the walk was read as not started.
    let mut again = Vec::new();
    for p in modules {
        let l = launched(shared, &p);
        let had = {
            let ws = super::session::read(&shared.workspaces);
            ws.for_path(Some(&p))
                .summary(&p)
                .is_some_and(|s| *s != FileSummary::default())
        };
        if l || had {
            if let Some(s) = summary_of(&p, projects, l) {
                again.push((p, s));
            }
        }
    }
    {
        let mut ws = write(&shared.workspaces);
        for (path, summary) in again {
            let a = ws.for_path_mut(&path).apply(path, Some(summary));
            affected = merge(affected, a);
        }
    }
    shared.mark_affected(affected);
}

/// Whether a launcher of the workspace (as indexed so far) starts `path`.
fn launched(shared: &Shared, path: &Path) -> bool {
    Language::from_path(path) == Some(Language::Python) && {
        let ws = super::session::read(&shared.workspaces);
        !ws.for_path(Some(path)).launched_by(path).is_empty()
    }
}

/// What the indexer tells the editor (`$/progress`, sent by `backend::report_progress`).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The walk found `files` files to index.
    Begin { files: usize },
    /// `done` of `files` are indexed.
    Report { done: usize, files: usize },
    /// All `files` are indexed, in `elapsed` (walk included).
    End { files: usize, elapsed: Duration },
}

/// Where the indexer sends its progress; `None` when the client does not show it.
pub type ProgressSink = Option<UnboundedSender<Progress>>;

/// How often, at most, the indexer reports how far it is.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// The files `otel-lsp check` would read under `roots`, in walk order; `None` when the
/// server shut down meanwhile.
fn files_under(shared: &Shared, roots: &[PathBuf]) -> Option<Vec<PathBuf>> {
    let mut files = Vec::new();
    for root in roots {
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
                return None;
            }
            let path = entry.path();
            if Language::from_path(path).is_some() && entry.file_type().is_some_and(|t| t.is_file())
            {
                files.push(entry.into_path());
            }
        }
    }
    Some(files)
}

/// Indexes every file `otel-lsp check` would read under `roots`, telling `progress` how
/// far it is: `Begin` once the files are counted, a `Report` at most every
/// `REPORT_EVERY`, `End` when done (nothing more after a shutdown).
pub fn index_roots(shared: Arc<Shared>, roots: Vec<PathBuf>, progress: ProgressSink) {
    let started = Instant::now();
    let send = |p: Progress| {
        if let Some(tx) = &progress {
            // The receiver is gone only when the protocol loop is: nothing to tell.
            let _ = tx.send(p);
        }
    };
    let Some(files) = files_under(&shared, &roots) else {
        return;
    };
    let total = files.len();
    tracing::debug!("indexing {total} files");
    send(Progress::Begin { files: total });
    let mut projects = Projects::default();
    let mut batch = Vec::new();
    let mut reported = Instant::now();
    for (i, path) in files.into_iter().enumerate() {
        if shared.shut_down.load(Ordering::Relaxed) {
            return;
        }
        let l = launched(&shared, &path);
        if let Some(s) = summary_of(&path, &mut projects, l) {
            batch.push((path, Some(s)));
        }
        if batch.len() >= 256 {
            record(&shared, std::mem::take(&mut batch), &mut projects);
        }
        if reported.elapsed() >= REPORT_EVERY {
            reported = Instant::now();
            send(Progress::Report {
                done: i + 1,
                files: total,
            });
        }
    }
    record(&shared, batch, &mut projects);
    let elapsed = started.elapsed();
    tracing::info!("indexed {total} files in {elapsed:.2?}");
    send(Progress::End {
        files: total,
        elapsed,
    });
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
            let l = launched(&shared, &p);
            let s = summary_of(&p, &mut projects, l);
            (p, s)
        })
        .collect();
    record(&shared, batch, &mut projects);
}
