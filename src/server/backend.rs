//! The protocol handlers. Each one destructures its params, takes a lock for a few
//! microseconds of rope or map work, releases it, and only then awaits the client. Parsing and
//! linting happen on the worker thread; requests that need diagnostics wait (asynchronously,
//! holding nothing) until the worker has checked the document's current version.

use super::actions::{self, Snapshot, FIX_ALL};
use super::convert::Encoding;
use super::document::Document;
use super::index;
use super::session::{self, lock, read, write, ClientInfo, Shared};
use otel_lsp::config::{self, CONFIG_FILES};
use otel_lsp::language::Language;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{self as lsp, *};
use tower_lsp_server::{Client, LanguageServer};

/// How long a request waits for the worker before answering with what it has.
const WAIT: Duration = Duration::from_secs(10);

/// How long a handler waits for the client to answer one of our requests: a client that never
/// answers must not hold one of the transport's few concurrent request slots forever.
const CLIENT_WAIT: Duration = Duration::from_secs(5);

/// The language server.
pub struct Backend {
    client: Client,
    shared: Arc<Shared>,
    /// Problems in `initializationOptions`, shown once the client is ready for messages.
    init_problems: Mutex<Vec<String>>,
}

impl Backend {
    /// A backend talking to `client`.
    pub fn new(client: Client, shared: Arc<Shared>) -> Self {
        Backend {
            client,
            shared,
            init_problems: Mutex::new(Vec::new()),
        }
    }

    /// Waits until the worker has checked the document's current version, then returns a
    /// consistent snapshot; `None` for unknown documents (or a worker that is far behind).
    async fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        let mut rx = self.shared.linted.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            {
                let docs = lock(&self.shared.docs);
                let doc = docs.get(uri)?;
                if let Some(linted) = doc.current() {
                    let client = read(&self.shared.client);
                    return Some(Snapshot {
                        uri: uri.clone(),
                        version: doc.version,
                        rope: doc.rope.clone(),
                        linted,
                        enc: client.encoding,
                        document_changes: client.document_changes,
                    });
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => {
                    tracing::warn!(
                        uri = uri.as_str(),
                        "no diagnostics for the current version yet"
                    );
                    return None;
                }
            }
        }
    }

    /// Applies editor settings (JSON); reports problems in them once.
    async fn apply_settings(&self, value: &serde_json::Value) {
        let (settings, problems) = config::settings_from_json(value);
        *write(&self.shared.editor_settings) = settings;
        for p in problems {
            self.client
                .show_message(MessageType::WARNING, format!("otel-lsp settings: {p}"))
                .await;
        }
    }

    /// Answers a request that `transport` found malformed.
    pub async fn invalid_request(&self) -> Result<()> {
        Err(tower_lsp_server::jsonrpc::Error::invalid_request())
    }

    async fn register_watchers(&self) {
        let watchers = WATCHED
            .iter()
            .map(|g| FileSystemWatcher {
                glob_pattern: GlobPattern::String(g.to_string()),
                kind: None,
            })
            .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let registration = Registration {
            id: "otel-lsp-watched-files".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(options).ok(),
        };
        let asked = self.client.register_capability(vec![registration]);
        match tokio::time::timeout(CLIENT_WAIT, asked).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("could not register file watchers: {e}"),
            Err(_) => tracing::warn!("the client did not answer client/registerCapability"),
        }
    }
}

/// The files whose changes on disk matter: configuration files and every kind
/// `Language::from_path` reads (launchers included). Glob case sensitivity is the client's;
/// both spellings of the usual names are listed. Changes are filtered by `from_path` again.
const WATCHED: &[&str] = &[
    "**/otel-lsp.toml",
    "**/pyproject.toml",
    "**/*.{py,pyi,yaml,yml,sh,bash,mk,ini,env}",
    "**/{Dockerfile,Containerfile,dockerfile,containerfile}",
    "**/{Dockerfile,Containerfile,dockerfile,containerfile}.*",
    "**/*.{Dockerfile,Containerfile,dockerfile,containerfile}",
    "**/{Procfile,procfile}",
    "**/{Procfile,procfile}.*",
    "**/*.procfile",
    "**/{Makefile,makefile,GNUmakefile}",
    "**/.env.*",
];

/// The language of an opened document: by its file name when `Language::from_path` knows
/// it (the CLI's choice: a `Procfile` opened as `plaintext`, a `.env` file opened as
/// `properties`), else by its `languageId` (an untitled buffer, `config.ini` as `ini`, a
/// shell script without extension as `shellscript`).
fn document_language(path: Option<&std::path::Path>, language_id: &str) -> Option<Language> {
    path.and_then(Language::from_path)
        .or_else(|| Language::from_language_id(language_id))
}

/// Whether a `didChangeConfiguration` payload carries our settings (else we ask for them).
fn carries_settings(v: &serde_json::Value) -> bool {
    v.as_object().is_some_and(|o| {
        ["otel-lsp", "select", "ignore", "severity"]
            .iter()
            .any(|k| o.contains_key(*k))
    })
}

/// Indexes `roots` on a thread of its own; a client that shows server-initiated progress is
/// told how far it is (see `report_progress`).
fn spawn_index(shared: &Arc<Shared>, client: &Client, roots: Vec<PathBuf>) {
    if roots.is_empty() {
        return;
    }
    let progress = if read(&shared.client).work_done_progress {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(report_progress(client.clone(), shared.clone(), rx));
        Some(tx)
    } else {
        None
    };
    let shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("otel-lsp-index".into())
        .spawn(move || index::index_roots(shared, roots, progress));
    if let Err(e) = spawned {
        tracing::error!("could not start the indexer: {e}");
    }
}

/// Tokens of our progress reports, one per indexing run.
static PROGRESS_TOKENS: AtomicU64 = AtomicU64::new(1);

/// Turns the indexer's progress into `$/progress`: once the files are counted, asks the
/// client for a token (`window/workDoneProgress/create`), then sends `begin`, the `report`s
/// and `end`, in order. A client that refuses the token or does not answer within
/// `CLIENT_WAIT` sees nothing of this run; the indexing goes on regardless. An indexer
/// that stops early (the server shut down) ends the report if the session still runs.
async fn report_progress(
    client: Client,
    shared: Arc<Shared>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<index::Progress>,
) {
    let Some(index::Progress::Begin { files }) = rx.recv().await else {
        return;
    };
    let token = ProgressToken::String(format!(
        "otel-lsp/index/{}",
        PROGRESS_TOKENS.fetch_add(1, Ordering::Relaxed)
    ));
    match tokio::time::timeout(CLIENT_WAIT, client.create_work_done_progress(token.clone())).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!("window/workDoneProgress/create failed: {e}; no indexing progress");
            return;
        }
        Err(_) => {
            tracing::warn!("the client did not answer window/workDoneProgress/create");
            return;
        }
    }
    let send = |value: WorkDoneProgress| {
        client.send_notification::<notification::Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        })
    };
    send(WorkDoneProgress::Begin(WorkDoneProgressBegin {
        title: "Indexing".into(),
        cancellable: Some(false),
        message: Some(format!("Indexing {files} {}", files_word(files))),
        percentage: Some(0),
    }))
    .await;
    while let Some(p) = rx.recv().await {
        match p {
            index::Progress::Begin { .. } => {}
            index::Progress::Report { done, files } => {
                send(WorkDoneProgress::Report(WorkDoneProgressReport {
                    cancellable: Some(false),
                    message: Some(format!("{done}/{files} files")),
                    percentage: Some(percent(done, files)),
                }))
                .await;
            }
            index::Progress::End { files, elapsed } => {
                send(WorkDoneProgress::End(WorkDoneProgressEnd {
                    message: Some(format!(
                        "Indexed {files} {} in {:.1} s",
                        files_word(files),
                        elapsed.as_secs_f64()
                    )),
                }))
                .await;
                return;
            }
        }
    }
    if !shared.shut_down.load(Ordering::SeqCst) {
        send(WorkDoneProgress::End(WorkDoneProgressEnd {
            message: Some("Indexing stopped".into()),
        }))
        .await;
    }
}

fn files_word(n: usize) -> &'static str {
    if n == 1 {
        "file"
    } else {
        "files"
    }
}

/// `done` of `total` in percent, 0 to 100.
fn percent(done: usize, total: usize) -> u32 {
    (done.min(total) * 100).checked_div(total).unwrap_or(100) as u32
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let caps = &params.capabilities;
        let ws = caps.workspace.as_ref();
        let info = ClientInfo {
            encoding: Encoding::negotiate(
                caps.general
                    .as_ref()
                    .and_then(|g| g.position_encodings.as_deref()),
            ),
            pull: caps
                .text_document
                .as_ref()
                .is_some_and(|t| t.diagnostic.is_some()),
            refresh: ws
                .and_then(|w| w.diagnostics.as_ref())
                .and_then(|d| d.refresh_support)
                .unwrap_or(false),
            document_changes: ws
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false),
            watch_files: ws
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            configuration: ws.and_then(|w| w.configuration).unwrap_or(false),
            work_done_progress: caps
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false),
        };
        let (encoding, pull) = (info.encoding, info.pull);
        *write(&self.shared.client) = info;
        {
            let mut w = write(&self.shared.workspaces);
            for root in session::initial_roots(&params) {
                w.add_root(root);
            }
        }
        if let Some(opts) = &params.initialization_options {
            let (settings, problems) = config::settings_from_json(opts);
            *write(&self.shared.editor_settings) = settings;
            *lock(&self.init_problems) = problems;
        }
        tracing::info!(?encoding, pull, "initialized");

        let capabilities = ServerCapabilities {
            position_encoding: Some(encoding.kind()),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    ..Default::default()
                },
            )),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![
                    CodeActionKind::QUICKFIX,
                    CodeActionKind::new(FIX_ALL),
                ]),
                ..Default::default()
            })),
            diagnostic_provider: pull.then(|| {
                DiagnosticServerCapabilities::Options(DiagnosticOptions {
                    identifier: Some("otel-lsp".into()),
                    inter_file_dependencies: true,
                    workspace_diagnostics: false,
                    ..Default::default()
                })
            }),
            workspace: Some(WorkspaceServerCapabilities {
                workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                    supported: Some(true),
                    change_notifications: Some(OneOf::Left(true)),
                }),
                file_operations: None,
            }),
            ..Default::default()
        };
        Ok(InitializeResult {
            capabilities,
            server_info: Some(ServerInfo {
                name: "otel-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let problems = std::mem::take(&mut *lock(&self.init_problems));
        for p in problems {
            self.client
                .show_message(
                    MessageType::WARNING,
                    format!("otel-lsp initializationOptions: {p}"),
                )
                .await;
        }
        let roots: Vec<PathBuf> = read(&self.shared.workspaces)
            .roots
            .iter()
            .map(|r| r.0.clone())
            .collect();
        spawn_index(&self.shared, &self.client, roots);
        if read(&self.shared.client).watch_files {
            self.register_watchers().await;
        }
    }

    async fn shutdown(&self) -> Result<()> {
        self.shared.shut_down.store(true, Ordering::SeqCst);
        self.shared.stop_worker();
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let TextDocumentItem {
            uri,
            language_id,
            version,
            text,
        } = params.text_document;
        let path = session::path_of(&uri);
        let lang = document_language(path.as_deref(), &language_id);
        let Some(lang) = lang else {
            tracing::debug!(
                uri = uri.as_str(),
                language_id,
                "not a language otel-lsp reads"
            );
            return;
        };
        let doc = Document::new(lang, path, version, text, self.shared.open_id());
        lock(&self.shared.docs).insert(uri.clone(), doc);
        self.shared.mark_dirty(uri);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let VersionedTextDocumentIdentifier { uri, version } = params.text_document;
        let enc = self.shared.encoding();
        let accepted = {
            let mut docs = lock(&self.shared.docs);
            match docs.get_mut(&uri) {
                None => {
                    tracing::debug!(uri = uri.as_str(), "change of a document that is not open");
                    false
                }
                Some(doc) if version <= doc.version => {
                    tracing::warn!(
                        uri = uri.as_str(),
                        version,
                        current = doc.version,
                        "stale or reordered change dropped"
                    );
                    false
                }
                Some(doc) => {
                    doc.apply(version, params.content_changes, enc);
                    true
                }
            }
        };
        if accepted {
            self.shared.mark_dirty(uri);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let removed = lock(&self.shared.docs).remove(&uri);
        if let Some(doc) = removed {
            // The worker clears the client's diagnostics, after anything it already sent.
            self.shared.mark_dirty(uri);
            // The file on disk speaks for the workspace again.
            // (A document read by its languageId only leaves the workspace.)
            if let Some(path) = doc.path {
                let shared = self.shared.clone();
                tokio::task::spawn_blocking(move || index::index_paths(shared, vec![path]));
            }
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let mut value = Some(params.settings);
        if !value.as_ref().is_some_and(carries_settings) && read(&self.shared.client).configuration
        {
            // The settings did not come along: ask for them; keep the current ones if the
            // client cannot say.
            let item = ConfigurationItem {
                scope_uri: None,
                section: Some("otel-lsp".into()),
            };
            value = match tokio::time::timeout(CLIENT_WAIT, self.client.configuration(vec![item]))
                .await
            {
                Ok(Ok(mut v)) if !v.is_empty() => Some(v.swap_remove(0)),
                Ok(Ok(_)) => None,
                Ok(Err(e)) => {
                    tracing::warn!("workspace/configuration failed: {e}");
                    None
                }
                Err(_) => {
                    tracing::warn!("the client did not answer workspace/configuration");
                    None
                }
            };
        }
        if let Some(value) = value {
            self.apply_settings(&value).await;
            self.shared.mark_all_dirty(true);
        }
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let mut config_changed = false;
        let mut files = Vec::new();
        for change in params.changes {
            let Some(path) = session::path_of(&change.uri) else {
                continue;
            };
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if CONFIG_FILES.contains(&name) {
                config_changed = true;
            } else if Language::from_path(&path).is_some() {
                files.push(path);
            }
        }
        if config_changed {
            self.shared.config_changed();
        }
        if !files.is_empty() {
            let shared = self.shared.clone();
            tokio::task::spawn_blocking(move || index::index_paths(shared, files));
        }
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let added: Vec<PathBuf> = params
            .event
            .added
            .iter()
            .filter_map(|f| session::path_of(&f.uri))
            .collect();
        {
            let mut w = write(&self.shared.workspaces);
            for f in &params.event.removed {
                if let Some(p) = session::path_of(&f.uri) {
                    w.remove_root(&p);
                }
            }
            for p in &added {
                w.add_root(p.clone());
            }
        }
        spawn_index(&self.shared, &self.client, added);
        self.shared.mark_all_dirty(true);
    }

    async fn diagnostic(
        &self,
        params: DocumentDiagnosticParams,
    ) -> Result<DocumentDiagnosticReportResult> {
        let report = match self.snapshot(&params.text_document.uri).await {
            Some(snap)
                if params.previous_result_id.as_deref() == Some(snap.linted.result_id.as_str()) =>
            {
                DocumentDiagnosticReport::Unchanged(RelatedUnchangedDocumentDiagnosticReport {
                    related_documents: None,
                    unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport {
                        result_id: snap.linted.result_id.clone(),
                    },
                })
            }
            Some(snap) => DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: FullDocumentDiagnosticReport {
                    result_id: Some(snap.linted.result_id.clone()),
                    items: snap.linted.lsp.clone(),
                },
            }),
            None => DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport::default()),
        };
        Ok(DocumentDiagnosticReportResult::Report(report))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let Some(snap) = self.snapshot(&params.text_document.uri).await else {
            return Ok(None);
        };
        let only = params.context.only.as_deref();
        Ok(Some(actions::code_actions(&snap, params.range, only)))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<lsp::Hover>> {
        let p = params.text_document_position_params;
        let Some(snap) = self.snapshot(&p.text_document.uri).await else {
            return Ok(None);
        };
        let rules = actions::hover_at(&snap, p.position);
        let shared = self.shared.clone();
        let (uri, pos) = (p.text_document.uri.clone(), p.position);
        let insight = tokio::task::spawn_blocking(move || insight_at(&shared, &uri, &snap, pos))
            .await
            .ok()
            .flatten();
        Ok(match (insight, rules) {
            (Some(mut i), Some(r)) => {
                if let (lsp::HoverContents::Markup(a), lsp::HoverContents::Markup(b)) =
                    (&mut i.contents, r.contents)
                {
                    a.value.push_str("\n\n---\n\n");
                    a.value.push_str(&b.value);
                }
                Some(i)
            }
            (i, r) => i.or(r),
        })
    }
}

/// The Operator's view of the place under the cursor of a YAML document (see
/// `otel_lsp::insight`): which Instrumentation an inject annotation selects and what the
/// injected container gets, or which workloads select an Instrumentation.
fn insight_at(
    shared: &Shared,
    uri: &lsp::Uri,
    snap: &actions::Snapshot,
    pos: lsp::Position,
) -> Option<lsp::Hover> {
    // Open documents speak for their files; copied first, so that no lock is taken while
    // the workspace is read.
    let (path, open): (Option<PathBuf>, Vec<(PathBuf, String)>) = {
        let docs = lock(&shared.docs);
        let doc = docs.get(uri)?;
        if doc.lang != Language::Yaml {
            return None;
        }
        let open = docs
            .values()
            .filter(|d| d.lang == Language::Yaml)
            .filter_map(|d| Some((d.path.clone()?, d.rope.to_string())))
            .collect();
        (doc.path.clone(), open)
    };
    let text = snap.rope.to_string();
    let at = super::convert::offset(&snap.rope, pos, snap.enc);
    let read_file = |p: &std::path::Path| {
        open.iter()
            .find(|(q, _)| q == p)
            .map(|(_, t)| t.clone())
            .or_else(|| std::fs::read_to_string(p).ok())
    };
    let ws = read(&shared.workspaces);
    let base = path.as_deref().and_then(|p| {
        ws.roots
            .iter()
            .map(|(r, _)| r.as_path())
            .filter(|r| p.starts_with(r))
            .max_by_key(|r| r.as_os_str().len())
    });
    let (span, md) = otel_lsp::insight::at(
        &text,
        at,
        path.as_deref(),
        base,
        ws.for_path(path.as_deref()),
        &read_file,
    )?;
    Some(lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: md,
        }),
        range: Some(super::convert::range(&snap.rope, span, snap.enc)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn progress_percentages_stay_within_0_to_100() {
        assert_eq!(percent(0, 3), 0);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(3, 3), 100);
        assert_eq!(percent(5, 3), 100);
        assert_eq!(percent(0, 0), 100);
        assert_eq!(files_word(1), "file");
        assert_eq!(files_word(2), "files");
    }

    #[test]
    fn documents_take_their_language_from_the_name_then_the_id() {
        let lang = |p: &str, id: &str| document_language(Some(Path::new(p)), id);
        assert_eq!(lang("/p/Procfile", "plaintext"), Some(Language::Procfile));
        assert_eq!(lang("/p/.env", "properties"), Some(Language::DotEnv));
        assert_eq!(
            lang("/p/Dockerfile", "dockerfile"),
            Some(Language::Dockerfile)
        );
        assert_eq!(lang("/p/run", "shellscript"), Some(Language::Shell));
        assert_eq!(lang("/p/config.ini", "ini"), Some(Language::Ini));
        assert_eq!(lang("/p/GNUmakefile", "makefile"), Some(Language::Makefile));
        assert_eq!(lang("/p/notes.txt", "plaintext"), None);
        assert_eq!(document_language(None, "dotenv"), Some(Language::DotEnv));
    }

    #[test]
    fn watched_globs_cover_every_file_kind() {
        let set = {
            let mut b = globset::GlobSetBuilder::new();
            for g in WATCHED {
                b.add(globset::Glob::new(g).unwrap());
            }
            b.build().unwrap()
        };
        for p in [
            "a/app.py",
            "k8s/x.yml",
            "Dockerfile",
            "svc/Dockerfile.prod",
            "api.Dockerfile",
            "Containerfile",
            "run.sh",
            "Procfile",
            "Procfile.dev",
            "uwsgi.ini",
            "Makefile",
            "GNUmakefile",
            "rules.mk",
            ".env",
            "deploy/.env.production",
            "config/app.env",
            "otel-lsp.toml",
        ] {
            assert!(set.is_match(p), "{p} is not watched");
            let name = Path::new(p).file_name().unwrap().to_str().unwrap();
            assert!(
                Language::from_path(Path::new(p)).is_some() || CONFIG_FILES.contains(&name),
                "{p}"
            );
        }
    }
}
