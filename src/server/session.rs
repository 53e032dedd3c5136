//! State shared by the protocol handlers, the linting worker and the workspace indexer.
//!
//! Every lock here is a `std::sync` lock held for a short, synchronous stretch and never
//! across an `.await`. A poisoned lock (a panic while it was held) is simply taken over: the
//! data behind it is plain and stays usable.

use super::convert::Encoding;
use super::document::Document;
use otel_lsp::config::Settings;
use otel_lsp::workspace::{clean, Affected, Workspace};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tower_lsp_server::ls_types::{self as lsp, Uri};

/// Locks a mutex, taking over a poisoned one.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Read-locks an `RwLock`, taking over a poisoned one.
pub fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

/// Write-locks an `RwLock`, taking over a poisoned one.
pub fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// What the client said it can do, and what we agreed on, at `initialize`.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The negotiated position encoding.
    pub encoding: Encoding,
    /// The client pulls diagnostics (`textDocument/diagnostic`): do not push.
    pub pull: bool,
    /// The client accepts `workspace/diagnostic/refresh`.
    pub refresh: bool,
    /// The client accepts `documentChanges` (versioned edits) in a `WorkspaceEdit`.
    pub document_changes: bool,
    /// The client lets us register file watchers.
    pub watch_files: bool,
    /// The client answers `workspace/configuration`.
    pub configuration: bool,
    /// The client shows server-initiated progress (`window.workDoneProgress`).
    pub work_done_progress: bool,
}

/// Work for the linting worker.
#[derive(Debug, Default)]
pub struct Queue {
    /// Documents whose text, settings or workspace changed (or that were closed).
    pub dirty: BTreeSet<Uri>,
    /// Re-check every open document (settings or workspace changed).
    pub all: bool,
    /// Ask pull clients to refresh once this batch is done.
    pub refresh: bool,
    /// A configuration file changed on disk: re-read configurations, re-check everything.
    pub config_changed: bool,
    /// Stop the worker.
    pub stop: bool,
}

/// The workspace roots (multi-root) and their cross-file facts.
#[derive(Debug, Default)]
pub struct Workspaces {
    /// Each root folder with its index.
    pub roots: Vec<(PathBuf, Workspace)>,
    /// Files outside every root.
    pub loose: Workspace,
}

impl Workspaces {
    /// Index of the innermost root containing `path`.
    fn root_of(&self, path: &Path) -> Option<usize> {
        self.roots
            .iter()
            .enumerate()
            .filter(|(_, (r, _))| path.starts_with(r))
            .max_by_key(|(_, (r, _))| r.as_os_str().len())
            .map(|(i, _)| i)
    }

    /// The workspace a file belongs to.
    pub fn for_path(&self, path: Option<&Path>) -> &Workspace {
        match path.and_then(|p| self.root_of(p)) {
            Some(i) => &self.roots[i].1,
            None => &self.loose,
        }
    }

    /// The workspace a file belongs to, for updating.
    pub fn for_path_mut(&mut self, path: &Path) -> &mut Workspace {
        match self.root_of(path) {
            Some(i) => &mut self.roots[i].1,
            None => &mut self.loose,
        }
    }

    /// Adds a root (no-op when present).
    pub fn add_root(&mut self, root: PathBuf) {
        if !self.roots.iter().any(|(r, _)| *r == root) {
            self.roots.push((root, Workspace::new()));
        }
    }

    /// Forgets a root and its index.
    pub fn remove_root(&mut self, root: &Path) {
        self.roots.retain(|(r, _)| r != root);
    }
}

/// Everything the server knows, shared between the handlers and the background threads.
pub struct Shared {
    /// Open documents by URI.
    pub docs: Mutex<HashMap<Uri, Document>>,
    /// Client capabilities and the negotiated encoding.
    pub client: RwLock<ClientInfo>,
    /// Settings from the editor (`initializationOptions`, `didChangeConfiguration`).
    pub editor_settings: RwLock<Settings>,
    /// Workspace roots and their indexes.
    pub workspaces: RwLock<Workspaces>,
    /// The worker's to-do list.
    pub queue: Mutex<Queue>,
    /// Wakes the worker.
    pub wake: Condvar,
    /// Bumped by the worker after each batch; requests wait on it for fresh diagnostics.
    pub linted: tokio::sync::watch::Sender<u64>,
    /// Set once `shutdown` was received: `exit` then ends with status 0.
    pub shut_down: AtomicBool,
    next_open_id: AtomicU64,
    /// Distinguishes this server's pull-diagnostic result ids from an earlier run's.
    pub session_id: u64,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    /// Empty state.
    pub fn new() -> Self {
        let session_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Shared {
            docs: Mutex::new(HashMap::new()),
            client: RwLock::new(ClientInfo::default()),
            editor_settings: RwLock::new(Settings::default()),
            workspaces: RwLock::new(Workspaces::default()),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            linted: tokio::sync::watch::channel(0).0,
            shut_down: AtomicBool::new(false),
            next_open_id: AtomicU64::new(1),
            session_id,
        }
    }

    /// A fresh id for a newly opened document.
    pub fn open_id(&self) -> u64 {
        self.next_open_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The negotiated position encoding.
    pub fn encoding(&self) -> Encoding {
        read(&self.client).encoding
    }

    /// Queues a document for the worker.
    pub fn mark_dirty(&self, uri: Uri) {
        lock(&self.queue).dirty.insert(uri);
        self.wake.notify_one();
    }

    /// Queues every open document for the worker (settings or workspace changed); with
    /// `refresh`, pull clients are asked to re-pull afterwards.
    pub fn mark_all_dirty(&self, refresh: bool) {
        {
            let mut q = lock(&self.queue);
            q.all = true;
            q.refresh |= refresh;
        }
        self.wake.notify_one();
    }

    /// Queues the open documents whose diagnostics a workspace change may have changed (see
    /// [`Workspace::apply`]). Pull clients are asked to refresh if their diagnostics did
    /// change (the worker compares them).
    pub fn mark_affected(&self, affected: Affected) {
        let paths = match affected {
            Affected::Nothing => return,
            Affected::All => return self.mark_all_dirty(false),
            Affected::Files(paths) => paths,
        };
        if paths.is_empty() {
            return;
        }
        let wanted: Vec<PathBuf> = paths.iter().map(|p| clean(p)).collect();
        let uris: Vec<Uri> = lock(&self.docs)
            .iter()
            .filter(|(_, d)| {
                d.path
                    .as_deref()
                    .is_some_and(|p| wanted.contains(&clean(p)))
            })
            .map(|(u, _)| u.clone())
            .collect();
        if uris.is_empty() {
            return;
        }
        lock(&self.queue).dirty.extend(uris);
        self.wake.notify_one();
    }

    /// A configuration file changed: the worker re-reads configuration and re-checks all.
    pub fn config_changed(&self) {
        {
            let mut q = lock(&self.queue);
            q.config_changed = true;
            q.refresh = true;
        }
        self.wake.notify_one();
    }

    /// Stops the worker after its current batch.
    pub fn stop_worker(&self) {
        lock(&self.queue).stop = true;
        self.wake.notify_all();
    }
}

/// The file path of a `file:` URI.
pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    if !uri.scheme().as_str().eq_ignore_ascii_case("file") {
        return None;
    }
    uri.to_file_path().map(|p| p.into_owned())
}

/// The `file:` URI of a path.
pub fn uri_of(path: &Path) -> Option<Uri> {
    Uri::from_file_path(path)
}

/// The roots named by `initialize`: its workspace folders, else its root URI.
pub fn initial_roots(params: &lsp::InitializeParams) -> Vec<PathBuf> {
    if let Some(folders) = &params.workspace_folders {
        return folders.iter().filter_map(|f| path_of(&f.uri)).collect();
    }
    #[allow(deprecated)]
    let root = params.root_uri.as_ref();
    root.and_then(path_of).into_iter().collect()
}
