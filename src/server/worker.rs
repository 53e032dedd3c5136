//! The linting worker: one thread that owns the parsed documents and does all tree-sitter and
//! rule work, so the protocol loop only ever does rope edits.
//!
//! Handlers queue a document as dirty; the worker takes the whole queue at once, applies each
//! dirty document's pending edits to its `SourceFile` (an incremental reparse of the touched
//! chunk), runs the engine, and publishes through an ordered channel. A burst of changes is
//! thereby coalesced into one check of the latest version, without any timer: a single
//! keystroke is checked at once. Results are stored only if the document has not changed
//! meanwhile (else the newer version is already queued), so what is cached and published is
//! always correct for the version it names.

use super::convert;
use super::diagnostics::{self, noqa_allowed};
use super::document::{Linted, Pending};
use super::project::{self, Projects};
use super::session::{lock, read, uri_of, write, Shared};
use otel_lsp::engine::{self, Checker, SourceFile};
use otel_lsp::language::Language;
use otel_lsp::source::Wanted;
use otel_lsp::workspace::Affected;
use otel_lsp::workspace::FileSummary;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;
use tower_lsp_server::ls_types::{self as lsp, MessageType, Uri};

/// What the worker asks the async side to send to the client, in order.
#[derive(Debug)]
pub enum Outgoing {
    /// `textDocument/publishDiagnostics`.
    Publish {
        /// The document.
        uri: Uri,
        /// Its diagnostics (empty clears them).
        diagnostics: Vec<lsp::Diagnostic>,
        /// The version they belong to.
        version: Option<i32>,
    },
    /// `window/showMessage`.
    Show(MessageType, String),
    /// `workspace/diagnostic/refresh`.
    Refresh,
}

/// The worker's parsed copy of one open document.
struct Parsed {
    open_id: u64,
    lang: Language,
    file: SourceFile,
    /// Per-chunk results, so a keystroke re-runs the rules on the edited chunk only.
    checker: Checker,
    /// The file's semantic revision, whether settings applied and whether a launcher starts
    /// it (a Python module's summary is only asked for then) when its summary was last put
    /// into the workspace: an edit that only moves offsets changes no summary (summaries
    /// hold no offsets), so it is not computed again.
    summarized: Option<(u64, bool, bool)>,
}

/// The worker's own state.
pub struct Worker {
    shared: Arc<Shared>,
    out: UnboundedSender<Outgoing>,
    parsed: HashMap<Uri, Parsed>,
    projects: Projects,
    /// Configuration errors already reported, by file.
    reported: HashMap<PathBuf, String>,
}

impl Worker {
    /// A worker sending to `out`.
    pub fn new(shared: Arc<Shared>, out: UnboundedSender<Outgoing>) -> Self {
        Worker {
            shared,
            out,
            parsed: HashMap::new(),
            projects: Projects::default(),
            reported: HashMap::new(),
        }
    }

    /// Runs until the queue says stop.
    pub fn run(mut self) {
        loop {
            let (dirty, all, refresh, clear_config) = {
                let mut q = lock(&self.shared.queue);
                while q.dirty.is_empty() && !q.all && !q.stop && !q.config_changed {
                    q = self.shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                if q.stop {
                    return;
                }
                let clear = std::mem::take(&mut q.config_changed);
                (
                    std::mem::take(&mut q.dirty),
                    std::mem::take(&mut q.all),
                    std::mem::take(&mut q.refresh),
                    clear,
                )
            };
            if clear_config {
                self.projects.clear();
            }
            let mut uris: Vec<Uri> = dirty.into_iter().collect();
            if all || clear_config {
                let open: Vec<Uri> = lock(&self.shared.docs).keys().cloned().collect();
                for u in open {
                    if !uris.contains(&u) {
                        uris.push(u);
                    }
                }
            }
            // Whether a document's diagnostics changed without an edit of its own (another
            // file, the settings): pull clients only learn that from a refresh.
            let mut changed_unprompted = false;
            for uri in uris {
                let ran = catch_unwind(AssertUnwindSafe(|| self.lint(&uri)));
                changed_unprompted |= ran.as_ref().is_ok_and(|c| *c);
                if ran.is_err() {
                    // A bug outside the rules (they are guarded in the engine): start this
                    // document over from its text next time rather than die.
                    tracing::error!(
                        uri = uri.as_str(),
                        "linting panicked; the document will be re-parsed"
                    );
                    self.parsed.remove(&uri);
                    self.give_up(&uri);
                }
            }
            self.report_config_errors();
            let client = read(&self.shared.client).clone();
            if (refresh || (changed_unprompted && client.pull)) && client.refresh {
                let _ = self.out.send(Outgoing::Refresh);
            }
            self.shared.linted.send_modify(|n| *n += 1);
        }
    }

    /// Brings one document's parse up to date, records what it tells the workspace, checks
    /// it, caches and publishes the result. Returns whether the diagnostics of an unchanged
    /// version changed (a pull client must be asked to refresh).
    fn lint(&mut self, uri: &Uri) -> bool {
        // Take the pending edits (and everything else needed) under the lock, briefly.
        let taken = {
            let mut docs = lock(&self.shared.docs);
            docs.get_mut(uri).map(|d| {
                let fallback = self.parsed.get(uri).is_none_or(|p| p.open_id != d.open_id)
                    && !matches!(d.pending.first(), Some(Pending::Reset(_)));
                let pending = if fallback {
                    vec![Pending::Reset(d.rope.to_string())]
                } else {
                    std::mem::take(&mut d.pending)
                };
                d.pending.clear();
                (pending, d.version, d.lang, d.path.clone(), d.open_id)
            })
        };
        let Some((pending, version, lang, path, open_id)) = taken else {
            // Closed: forget it and clear what the client shows.
            self.parsed.remove(uri);
            let _ = self.out.send(Outgoing::Publish {
                uri: uri.clone(),
                diagnostics: Vec::new(),
                version: None,
            });
            return false;
        };

        let started = Instant::now();
        for p in pending {
            match p {
                Pending::Reset(text) => {
                    self.parsed.insert(
                        uri.clone(),
                        Parsed {
                            open_id,
                            lang,
                            // Chunks and needles only: what is parsed is decided below.
                            file: engine::read(lang, text, Wanted::Bits(0)),
                            checker: Checker::new(),
                            summarized: None,
                        },
                    );
                }
                Pending::Edit { start, end, text } => {
                    if let Some(p) = self.parsed.get_mut(uri) {
                        p.file.edit(start, end, &text);
                    }
                }
            }
        }
        let Some(parsed) = self.parsed.get_mut(uri) else {
            return false;
        };
        debug_assert_eq!(parsed.lang, lang);
        let parsed_in = started.elapsed();

        let editor = read(&self.shared.editor_settings).clone();
        let fallback_dir = read(&self.shared.workspaces)
            .roots
            .first()
            .map(|r| r.0.clone());
        let settings = project::settings_for(
            &mut self.projects,
            path.as_deref(),
            fallback_dir.as_deref(),
            &editor,
        );
        let Parsed {
            file,
            checker,
            summarized,
            ..
        } = parsed;
        // Parse what the summary and the relevant rules look at (chunks parsed once stay
        // parsed; a keystroke re-parses only the chunk it touched).
        let launched = lang == Language::Python
            && path.as_deref().is_some_and(|p| {
                !read(&self.shared.workspaces)
                    .for_path(Some(p))
                    .launched_by(p)
                    .is_empty()
            });
        let bits = file.needle_bits();
        let summary_wanted = match lang {
            // A module's summary is read only through a launcher that starts it.
            Language::Python if !launched => None,
            _ => engine::summary_wanted_for(lang, bits, path.as_deref()),
        };
        let check_wanted = settings.as_ref().and_then(|settings| {
            let ws = read(&self.shared.workspaces);
            engine::check_wanted(
                lang,
                file.text(),
                bits,
                path.as_deref(),
                settings,
                ws.for_path(path.as_deref()),
            )
        });
        let wanted = [summary_wanted, check_wanted]
            .into_iter()
            .flatten()
            .fold(Wanted::Bits(0), Wanted::or);
        if wanted != file.wanted() {
            file.want(wanted);
        }
        if let (Some(settings), Some(_)) = (&settings, check_wanted) {
            let ws = read(&self.shared.workspaces);
            engine::prepare(
                file,
                path.as_deref(),
                settings,
                ws.for_path(path.as_deref()),
            );
        }
        let file = &*file;
        let summary_key = (file.semantic_revision(), settings.is_some(), launched);
        let summarize_now = *summarized != Some(summary_key);
        *summarized = Some(summary_key);

        // What this file tells the rest of the workspace, recorded before checking it (the
        // check may read it) — as the CLI does: an excluded file is not in the workspace,
        // and one that cannot contribute is there with an empty summary. The open documents
        // among its dependents, before and after, are checked again.
        if let (Some(p), true) = (&path, summarize_now) {
            let summary = settings.is_some().then(|| match summary_wanted {
                Some(_) => checker.summarize(file),
                None => FileSummary::default(),
            });
            let affected = write(&self.shared.workspaces)
                .for_path_mut(p)
                .apply(p.clone(), summary);
            if affected != Affected::Nothing {
                tracing::debug!(uri = uri.as_str(), ?affected, "workspace changed");
            }
            self.shared.mark_affected(affected);
        }

        let found = match &settings {
            None => Vec::new(),
            Some(_) if check_wanted.is_none() => Vec::new(),
            Some(settings) => {
                let ws = read(&self.shared.workspaces);
                checker.check(
                    file,
                    path.as_deref(),
                    settings,
                    ws.for_path(path.as_deref()),
                )
            }
        };
        tracing::debug!(
            uri = uri.as_str(),
            version,
            reused = checker.reused(),
            findings = found.len(),
            "checked in {:?} (parse {parsed_in:?})",
            started.elapsed()
        );
        let noqa_ok: Vec<bool> = found
            .iter()
            .map(|d| noqa_allowed(file, d.span.start))
            .collect();

        // Store and publish, unless the document moved on meanwhile.
        let enc = self.shared.encoding();
        let pull = read(&self.shared.client).pull;
        let changed_unprompted;
        let publish = {
            let mut docs = lock(&self.shared.docs);
            let Some(doc) = docs.get_mut(uri) else {
                return false;
            };
            if doc.version != version || doc.open_id != open_id || !doc.pending.is_empty() {
                return false;
            }
            debug_assert_eq!(doc.rope.len_bytes(), file.text().len());
            let mut at = convert::Positions::new(file.text());
            let lsp: Vec<lsp::Diagnostic> = found
                .iter()
                .map(|d| diagnostics::to_lsp(d, &mut at, enc))
                .collect();
            let result_id = diagnostics::result_id(self.shared.session_id, &lsp);
            let same_version = doc.linted.as_ref().filter(|l| l.version == version);
            let unchanged = same_version.is_some_and(|l| l.result_id == result_id);
            changed_unprompted = same_version.is_some_and(|l| l.result_id != result_id);
            doc.linted = Some(Arc::new(Linted {
                version,
                diagnostics: found,
                lsp: lsp.clone(),
                noqa_ok,
                result_id,
            }));
            (!pull && !unchanged).then_some(lsp)
        };
        tracing::debug!(
            uri = uri.as_str(),
            version,
            "converted in {:?}",
            started.elapsed()
        );
        if let Some(diagnostics) = publish {
            let _ = self.out.send(Outgoing::Publish {
                uri: uri.clone(),
                diagnostics,
                version: Some(version),
            });
        }
        changed_unprompted
    }

    /// After a failed check: answer this version with no diagnostics (so that requests
    /// waiting for it do not hang) unless a newer change is already on its way.
    fn give_up(&mut self, uri: &Uri) {
        let version = {
            let mut docs = lock(&self.shared.docs);
            let Some(doc) = docs.get_mut(uri) else {
                return;
            };
            if !doc.pending.is_empty() {
                return;
            }
            doc.linted = Some(Arc::new(Linted {
                version: doc.version,
                diagnostics: Vec::new(),
                lsp: Vec::new(),
                noqa_ok: Vec::new(),
                result_id: diagnostics::result_id(self.shared.session_id, &[]),
            }));
            doc.version
        };
        if !read(&self.shared.client).pull {
            let _ = self.out.send(Outgoing::Publish {
                uri: uri.clone(),
                diagnostics: Vec::new(),
                version: Some(version),
            });
        }
    }

    /// Reports each broken configuration file once: a diagnostic on the file and a message;
    /// clears the diagnostic once the file is fixed.
    fn report_config_errors(&mut self) {
        let now = self.projects.errors();
        let fixed: Vec<PathBuf> = self
            .reported
            .keys()
            .filter(|p| !now.contains_key(*p))
            .cloned()
            .collect();
        for p in fixed {
            self.reported.remove(&p);
            if let Some(uri) = uri_of(&p) {
                let _ = self.out.send(Outgoing::Publish {
                    uri,
                    diagnostics: Vec::new(),
                    version: None,
                });
            }
        }
        let enc = self.shared.encoding();
        let mut shown: HashSet<String> = HashSet::new();
        for (path, message) in now {
            if self.reported.get(&path) == Some(&message) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let range = config_error_range(&text, &message, enc);
            if let Some(uri) = uri_of(&path) {
                let _ = self.out.send(Outgoing::Publish {
                    uri,
                    diagnostics: vec![lsp::Diagnostic {
                        range,
                        severity: Some(lsp::DiagnosticSeverity::ERROR),
                        source: Some(diagnostics::SOURCE.into()),
                        message: format!("otel-lsp configuration: {message}"),
                        ..Default::default()
                    }],
                    version: None,
                });
            }
            let full = format!(
                "otel-lsp: {}: {message} (using the default settings)",
                path.display()
            );
            if shown.insert(full.clone()) {
                tracing::warn!("{full}");
                let _ = self.out.send(Outgoing::Show(MessageType::WARNING, full));
            }
            self.reported.insert(path, message);
        }
    }
}

/// Where to put a configuration error: the first line mentioning a value or key the message
/// quotes (`…`), trying the last quoted one first; else the top of the file.
fn config_error_range(text: &str, message: &str, enc: super::convert::Encoding) -> lsp::Range {
    let rope = ropey::Rope::from_str(text);
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    for q in quoted.iter().rev() {
        let needle = q.rsplit('.').next().unwrap_or(q).trim_end_matches(':');
        if needle.is_empty() {
            continue;
        }
        if let Some(at) = text.find(needle) {
            let span = otel_lsp::diagnostic::Span::new(at, at + needle.len());
            return super::convert::range(&rope, span, enc);
        }
    }
    lsp::Range::default()
}
