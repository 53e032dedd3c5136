//! The rule table and what a rule sees when its query matches.
//!
//! A rule is data: code, name, language, default severity, Markdown docs, a tree-sitter query
//! that finds the shape, literal needles that a chunk must contain for the query to be worth
//! running, an optional gate on file/workspace facts, and a `check` function that decides
//! meaning. The engine stamps code, name and severity on what `check` returns.

use crate::diagnostic::{Finding, Severity, Span};
use crate::engine::{FileFacts, SourceFile};
use crate::language::Language;
use crate::launch::LaunchFacts;
use crate::syntax::python::PyFacts;
use crate::workspace::Workspace;
use std::path::Path;
use tree_sitter::{Node, QueryCapture};

pub mod dockerfile;
pub mod ini;
pub mod python;
pub mod yaml;

/// One lint rule. See the module docs.
pub struct Rule {
    /// Stable code, `OTEL001`: never reused.
    pub code: &'static str,
    /// Kebab-case name of the pitfall, `flask-debug-reloader`.
    pub name: &'static str,
    /// The files it reads; its query is in this language's grammar.
    pub language: Language,
    /// Other file kinds its `scan` also runs on (a rule judged on launchers and environment
    /// settings reads Dockerfiles, scripts, Procfiles and YAML alike). Usually empty.
    pub also: &'static [Language],
    /// Default severity; configuration may override.
    pub severity: Severity,
    /// One line for `otel-lsp rules`.
    pub summary: &'static str,
    /// Markdown: What it does / Why is this bad? / Example / Use instead / Fix safety / Source.
    pub docs: &'static str,
    /// The upstream page the rule comes from (SARIF `helpUri`, LSP `codeDescription`).
    pub url: &'static str,
    /// Which fixes it offers, for the rule table.
    pub fix: FixKind,
    /// tree-sitter query; captures starting with `_` are helpers.
    pub query: &'static str,
    /// Literal byte strings; a chunk containing none of them is not queried. Empty = always.
    pub needles: &'static [&'static str],
    /// Cheap whole-file precondition (e.g. "the file has OpenTelemetry context").
    pub gate: fn(&Context) -> bool,
    /// Decides whether one query match is a finding.
    pub check: fn(&Match) -> Option<Finding>,
    /// For rules judged on whole-file or workspace facts rather than one syntax shape (the
    /// launcher and environment model): called once per file after the gate passes.
    pub scan: Option<fn(&Context) -> Vec<Finding>>,
    /// Whether `scan` judges each YAML document on its own: every launcher and setting with
    /// the scopes of its own document and the workspace, never with another document of the
    /// same stream (a file-wide "does any document…" makes it `false`). The editor then
    /// re-runs it on the edited documents only (`engine::Checker`); `engine::check` runs it
    /// on the whole file, and the tests hold the two equal.
    pub scan_per_document: bool,
}

impl Rule {
    /// Every file kind the rule reads: its own language first, then the `also` kinds.
    pub fn languages(&self) -> Vec<Language> {
        let mut v = vec![self.language];
        v.extend(self.also.iter().copied().filter(|l| *l != self.language));
        v
    }

    /// The file kinds as shown in the rule table: `python,dockerfile,shell`.
    pub fn languages_label(&self) -> String {
        self.languages()
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Which kind of fix a rule offers, shown by `otel-lsp rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    /// No automatic fix.
    None,
    /// A fix `--fix` applies.
    Safe,
    /// Only fixes that need review.
    Unsafe,
    /// Safe in some cases, unsafe in others.
    Sometimes,
}

impl FixKind {
    /// The text shown in the rule table.
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::None => "-",
            FixKind::Safe => "safe",
            FixKind::Unsafe => "unsafe",
            FixKind::Sometimes => "sometimes",
        }
    }
}

/// Gate that always passes.
pub fn always(_: &Context) -> bool {
    true
}

/// What every rule invocation may consult about the file and the workspace.
pub struct Context<'a> {
    /// The whole file's text.
    pub text: &'a str,
    /// The file's path, when it has one.
    pub path: Option<&'a Path>,
    /// The parsed file: its merged facts are read through [`Context::facts`] and
    /// [`Context::launch`], which merge them on first use.
    pub file: &'a SourceFile,
    /// Facts of the workspace the file belongs to.
    pub workspace: &'a Workspace,
    /// One YAML document's launch facts (absolute offsets) when a per-document scan
    /// (`Rule::scan_per_document`) runs on that document alone; [`Context::launch`] then
    /// answers with them.
    pub document: Option<&'a LaunchFacts>,
    /// [`Context::effective`], computed once per check.
    /// (`None` inside: nothing crosses files, the file's own facts are it.)
    pub effective: std::cell::OnceCell<Option<Box<LaunchFacts>>>,
}

impl<'a> Context<'a> {
    /// A context for checking `file`.
    pub fn new(file: &'a SourceFile, path: Option<&'a Path>, workspace: &'a Workspace) -> Self {
        Context {
            text: file.text(),
            path,
            file,
            workspace,
            document: None,
            effective: Default::default(),
        }
    }

    /// A context for scanning one document of `file`, whose launch facts are `document`.
    pub fn for_document(
        file: &'a SourceFile,
        path: Option<&'a Path>,
        workspace: &'a Workspace,
        document: &'a LaunchFacts,
    ) -> Self {
        Context {
            document: Some(document),
            ..Context::new(file, path, workspace)
        }
    }

    /// Facts of the whole file.
    pub fn facts(&self) -> &'a FileFacts {
        self.file.facts()
    }

    /// Launchers and environment settings of the file (of the document, for a
    /// per-document scan).
    pub fn launch(&self) -> &'a LaunchFacts {
        self.document.unwrap_or_else(|| self.file.launch())
    }

    /// The file's launch facts with what other files of the workspace contribute
    /// (`launch::imports::effective`), computed on first use and shared by every rule of
    /// this check.
    pub fn effective(&self) -> &LaunchFacts {
        let own = self.effective.get_or_init(|| {
            match crate::launch::imports::effective(self.launch(), self.path, self.workspace) {
                std::borrow::Cow::Borrowed(_) => None,
                std::borrow::Cow::Owned(f) => Some(Box::new(f)),
            }
        });
        own.as_deref().unwrap_or(self.launch())
    }

    /// The Python facts, when the file is Python.
    pub fn python(&self) -> Option<&PyFacts> {
        if self.file.language() != Language::Python {
            return None;
        }
        match self.facts() {
            FileFacts::Python(p) => Some(p),
            _ => None,
        }
    }

    /// Whether the Python file has OpenTelemetry context (§0.3): it imports `opentelemetry`,
    /// or calls or imports programmatic auto-instrumentation, or a launcher of the workspace
    /// starts it under `opentelemetry-instrument` or Operator injection.
    pub fn has_otel_context(&self) -> bool {
        let Some(py) = self.python() else {
            return false;
        };
        if py.imports_opentelemetry() {
            return true;
        }
        self.path
            .is_some_and(|p| self.workspace.is_auto_instrumented(p))
    }
}

/// One query match: the captured nodes of one chunk's tree plus the file's context.
pub struct Match<'a, 't> {
    /// File and workspace context.
    pub ctx: &'a Context<'a>,
    /// The chunk's text; node byte ranges index into it.
    pub chunk: &'a str,
    /// Byte offset of the chunk in the file.
    pub offset: usize,
    /// The captures of this match.
    pub captures: &'a [QueryCapture<'t>],
    /// Capture names of the query, indexed by capture index.
    pub names: &'a [&'a str],
}

impl<'a, 't> Match<'a, 't> {
    /// The first node captured as `@name`.
    pub fn get(&self, name: &str) -> Option<Node<'t>> {
        self.captures
            .iter()
            .find(|c| self.names.get(c.index as usize) == Some(&name))
            .map(|c| c.node)
    }

    /// Every node captured as `@name`.
    pub fn all(&self, name: &str) -> Vec<Node<'t>> {
        self.captures
            .iter()
            .filter(|c| self.names.get(c.index as usize) == Some(&name))
            .map(|c| c.node)
            .collect()
    }

    /// The text of a node of this chunk.
    pub fn text(&self, node: Node) -> &'a str {
        self.chunk.get(node.byte_range()).unwrap_or("")
    }

    /// The absolute span of a node of this chunk.
    pub fn span(&self, node: Node) -> Span {
        Span::new(
            node.start_byte() + self.offset,
            node.end_byte() + self.offset,
        )
    }

    /// An absolute span for chunk-relative offsets (from a `Scalar`, say).
    pub fn abs(&self, rel: Span) -> Span {
        rel.shift(self.offset)
    }

    /// The whole file's text.
    pub fn file_text(&self) -> &'a str {
        self.ctx.text
    }
}

/// The file kinds that carry launchers and environment settings besides Python: what a
/// rule judged on the environment model lists in `also`.
pub const ENV_KINDS: &[Language] = &[
    Language::Dockerfile,
    Language::Shell,
    Language::Procfile,
    Language::Yaml,
    Language::Ini,
    Language::Makefile,
    Language::DotEnv,
];

/// Every rule, in code order. One line per rule.
pub static ALL: &[&Rule] = &[
    &python::flask_debug_reloader::RULE,
    &python::initialize_after_framework_import::RULE,
    &yaml::inject_annotation_wrong_location::RULE,
    &yaml::inject_annotation_invalid_value::RULE,
    &yaml::python_operator_endpoint_4317::RULE,
    &dockerfile::gunicorn_multiworker_zero_code::RULE,
    &python::uvicorn_reload_under_instrumentation::RULE,
    &python::uvicorn_multiworker_under_instrumentation::RULE,
    &python::gunicorn_post_fork_missing_init::RULE,
    &ini::uwsgi_otel_without_postfork::RULE,
    &python::prometheus_reader_prefork::RULE,
    &python::otlp_port_protocol_mismatch::RULE,
    &python::otlp_http_endpoint_path::RULE,
    &python::otlp_endpoint_scheme::RULE,
    &dockerfile::unknown_otel_component::RULE,
    &dockerfile::bootstrap_under_uv::RULE,
    &dockerfile::bootstrap_before_dependencies::RULE,
    &dockerfile::instrument_without_distro::RULE,
];

/// The rule with this code or name.
pub fn by_code(code: &str) -> Option<&'static Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code)
}

/// The rules that run on files of one language (their own, or listed in `also`).
pub fn for_language(lang: Language) -> impl Iterator<Item = (usize, &'static Rule)> {
    ALL.iter()
        .copied()
        .enumerate()
        .filter(move |(_, r)| r.language == lang || r.also.contains(&lang))
}
