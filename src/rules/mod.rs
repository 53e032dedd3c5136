//! The rule table and what a rule sees when its query matches.
//!
//! A rule is data: code, name, language, default severity, Markdown docs, a tree-sitter query
//! that finds the shape, what it needs before any tree exists ([`Pre`]: literal needles, the
//! facts of its own file it reads, and a relevance test on bytes, path and workspace), an
//! optional gate on parsed facts, and a `check` function that decides meaning. The engine
//! stamps code, name and severity on what `check` returns.
//!
//! `Pre` is what makes `check` fast and is a declared property of every rule, so that no rule
//! can silently defeat it: the engine parses a file only when some enabled rule's `Pre` says
//! the rule can report there, and then only the chunks some such rule can look at. A test
//! holds every rule's results equal to a full parse of every chunk (`tests/fast_path.rs`).

use crate::diagnostic::{Diagnostic, Finding, Severity, Span};
use crate::language::Language;
use crate::launch::LaunchFacts;
use crate::source::{FileFacts, SourceFile};
use crate::syntax::python::PyFacts;
use crate::workspace::Workspace;
use std::path::Path;
use tree_sitter::{Node, QueryCapture};

pub mod advisory;
pub mod django;
pub mod exporter;
pub mod flask;
pub mod initialization;
pub mod operator;
pub mod packaging;
pub mod prefork;
pub mod suppression;
#[cfg(test)]
mod tests;

/// One lint rule. See the module docs.
pub struct Rule {
    /// Stable code, `OTEL001`: never reused.
    pub code: &'static str,
    /// Kebab-case name of the pitfall, `flask-debug-reloader`.
    pub name: &'static str,
    /// The catalogue's topic; the rule's source is under `src/rules/<topic>/`.
    pub topic: Topic,
    /// The files it reads; its query, if any, is in this language's grammar.
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
    /// The syntax shape it reports on and the function that judges each match; `None` for a
    /// rule judged on whole-file or workspace facts only ([`scan`](Rule::scan)).
    pub query: Option<Query>,
    /// What the rule needs before any tree exists, per file kind: one entry for each group of
    /// its [`languages`](Rule::languages) (every one of them is covered exactly once).
    pub pre: &'static [Pre],
    /// Whole-file precondition on parsed facts (e.g. "the module imports OpenTelemetry").
    pub gate: fn(&Context) -> bool,
    /// For rules judged on whole-file or workspace facts rather than one syntax shape (the
    /// launcher and environment model): called once per file after the gate passes.
    pub scan: Option<fn(&Context) -> Vec<Finding>>,
    /// Whether `scan` judges each YAML document on its own: every launcher and setting with
    /// the scopes of its own document and the workspace, never with another document of the
    /// same stream (a file-wide "does any document…" makes it `false`). The editor then
    /// re-runs it on the edited documents only (`engine::Checker`); `engine::check` runs it
    /// on the whole file, and the tests hold the two equal.
    pub scan_per_document: bool,
    /// The YAML documents whose trees it reads (its query's matches, its scan's walks), by
    /// the object they hold. A document its needles are in that holds an object of another
    /// class needs only its facts, which the command line reads from the document's lines
    /// where it can (`source::Need::TreeOf`). `Classes::NONE` for a rule that reads the
    /// facts of YAML documents only, or no YAML; `tests/yaml_trees.rs` holds that each rule
    /// reports with only the trees it declares what it reports with every tree.
    pub trees: crate::syntax::yaml::Classes,
}

impl Rule {
    /// Its [`Pre`] for files of `lang`, if it reads them.
    pub fn pre_for(&self, lang: Language) -> Option<&'static Pre> {
        self.pre.iter().find(|p| p.langs.contains(&lang))
    }

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

/// A rule's tree-sitter query (from the `.scm` file beside its source) and its judge.
pub struct Query {
    /// The query; captures starting with `_` are helpers.
    pub text: &'static str,
    /// Decides whether one match is a finding.
    pub check: fn(&Match) -> Option<Finding>,
}

/// The catalogue's topics (`../shared/rules.md`), which group the rules' sources, the rule
/// table and `otel-lsp rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Flask's debug reloader.
    Flask,
    /// Where and in which order the SDK and the instrumentors are set up.
    Initialization,
    /// Django settings, app loading and `runserver`.
    Django,
    /// Pre-fork servers and reloaders: gunicorn, uvicorn, uWSGI, Celery workers.
    Prefork,
    /// The OpenTelemetry Operator's injection on Kubernetes.
    Operator,
    /// Exporter endpoints, protocols and component names.
    Exporter,
    /// Installing the instrumentation: bootstrap, distro, uv.
    Packaging,
    /// Hints (info): console exporters, service names, double agents.
    Advisory,
    /// The suppression comments themselves: `# noqa` directives that silence nothing.
    Suppression,
}

impl Topic {
    /// Every topic, in the catalogue's order.
    pub const ALL: &'static [Topic] = &[
        Topic::Flask,
        Topic::Initialization,
        Topic::Django,
        Topic::Prefork,
        Topic::Operator,
        Topic::Exporter,
        Topic::Packaging,
        Topic::Advisory,
        Topic::Suppression,
    ];

    /// Its name: the folder under `src/rules/`, the rule table's column.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Flask => "flask",
            Topic::Initialization => "initialization",
            Topic::Django => "django",
            Topic::Prefork => "prefork",
            Topic::Operator => "operator",
            Topic::Exporter => "exporter",
            Topic::Packaging => "packaging",
            Topic::Advisory => "advisory",
            Topic::Suppression => "suppression",
        }
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

/// What a rule needs before any tree exists, for the files of some kinds. See the module
/// docs; the engine (`engine::needles`) turns the strings into one needle table per kind.
pub struct Pre {
    /// The file kinds this entry is for.
    pub langs: &'static [Language],
    /// Literal strings (case-sensitive, no line breaks) of which every match the rule reports
    /// on contains one: the query runs on the chunks that hold one of them, and only between
    /// the first and the last there; the scan runs on files that hold one. Empty: every chunk.
    pub needles: &'static [&'static str],
    /// The facts of its own file the rule reads beyond the matched chunk.
    pub facts: Facts,
    /// Other strings [`Pre::relevant`] tests with [`Bytes::has`].
    pub file: &'static [&'static str],
    /// Whether the rule can report in a file, decided from its bytes, path and the workspace
    /// before anything is parsed. Must never say no where the rule could report.
    pub relevant: fn(&Bytes) -> bool,
}

/// Which facts of its own file (imports, module-level calls, definitions, gunicorn settings,
/// launchers) a rule reads besides the chunk a query matched in.
#[derive(Debug, Clone, Copy)]
pub enum Facts {
    /// Only those of chunks containing one of these strings: every fact it reads is about a
    /// name spelled with one of them (`flask`, `uvicorn`, `workers`).
    Needles(&'static [&'static str]),
    /// Those of chunks containing one of these strings, and of chunks mentioning one of the
    /// names the function finds in those facts (the local names a class was imported as, the
    /// functions that build it): what the rule reads is about those names only.
    Named(
        &'static [&'static str],
        fn(&crate::syntax::python::PyFacts) -> Vec<String>,
    ),
    /// Those of every chunk (statement order, assignments to any name): a relevant file is
    /// parsed whole.
    All,
}

impl Facts {
    /// No facts beyond the matched chunk (YAML rules: a document's facts come with it).
    pub const NONE: Facts = Facts::Needles(&[]);
}

/// A [`Pre`] that says yes wherever the needles are.
pub fn anywhere(_: &Bytes) -> bool {
    true
}

/// What [`Pre::relevant`] may consult: the file's bytes (as needle bits, or the text for a
/// string the table lacks), its path and the workspace — no tree.
pub struct Bytes<'a> {
    /// The file kind.
    pub lang: Language,
    /// The file's text.
    pub text: &'a str,
    /// Its needle bits ([`crate::source::SourceFile::needle_bits`]).
    pub bits: u128,
    /// Its path, when it has one.
    pub path: Option<&'a Path>,
    /// The workspace (without the file's own summary in the CLI's summary phase; Python files
    /// have no launchers, so nothing a Python rule asks of it depends on itself).
    pub workspace: &'a Workspace,
    /// The bit of a needle of this kind's table, if the table has it.
    pub bit_of: fn(Language, &str) -> Option<u128>,
}

impl Bytes<'_> {
    /// Whether the file contains `s`: from the needle bits when `s` is a needle of the table,
    /// else by searching the text.
    pub fn has(&self, s: &str) -> bool {
        match (self.bit_of)(self.lang, s) {
            Some(bit) => self.bits & bit != 0,
            None => memchr::memmem::find(self.text.as_bytes(), s.as_bytes()).is_some(),
        }
    }

    /// Whether the file contains one of `any`.
    pub fn has_any(&self, any: &[&str]) -> bool {
        any.iter().any(|s| self.has(s))
    }

    /// Whether a launcher of the workspace runs this file under `opentelemetry-instrument`
    /// or in a pod the Operator injects (§0.3).
    pub fn auto_instrumented(&self) -> bool {
        self.path
            .is_some_and(|p| self.workspace.is_auto_instrumented(p))
    }

    /// Whether some launcher of the workspace starts this file or reads it as configuration.
    pub fn launched(&self) -> bool {
        self.path
            .is_some_and(|p| !self.workspace.launched_by(p).is_empty())
    }

    /// OpenTelemetry context (§0.3) as bytes can tell: the file names `opentelemetry` (every
    /// import of it does), or the workspace starts it under auto-instrumentation.
    pub fn otel_context(&self) -> bool {
        self.has("opentelemetry") || self.auto_instrumented()
    }
}

/// A [`Pre::relevant`] for rules that need OpenTelemetry context (§0.3).
pub fn in_otel_context(b: &Bytes) -> bool {
    b.otel_context()
}

/// A [`Pre::relevant`] for rules judged on how the workspace launches the file.
pub fn launched(b: &Bytes) -> bool {
    b.launched()
}

/// Names of calls that set OpenTelemetry up (`launch::summary::is_otel_setup_call`), as
/// needles: every such name contains one of these.
pub const SETUP_NEEDLES: &[&str] = &[
    "initialize",
    "instrument",
    "configure_",
    "set_tracer_provider",
    "set_meter_provider",
    "set_logger_provider",
    "otel",
    "telemetry",
    "tracing",
];

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
    /// What the other rules reported, for the one rule that judges their findings
    /// ([`is_unused_noqa`]); `None` for every other rule.
    pub reported: Option<&'a Reported<'a>>,
}

/// What OTEL100 `unused-noqa` judges, given by the engine after every other rule of the file
/// ran: their diagnostics, before `# noqa` suppression and after the Helm filter (what they
/// would report), and which rules are enabled for the file.
pub struct Reported<'a> {
    /// The other rules' diagnostics.
    pub diagnostics: &'a [Diagnostic],
    /// Whether a rule is enabled for the file (configuration and command line).
    pub enabled: &'a dyn Fn(&Rule) -> bool,
    /// The rule's needle bits in this file kind: a chunk without one is not looked at.
    pub chunks: u128,
}

/// Whether `rule` is OTEL100 `unused-noqa`, which judges the other rules' findings: the
/// engine runs its scan last, with [`Context::reported`], and parses nothing for it (but the
/// YAML documents holding its needles: their comments come from the tree).
pub fn is_unused_noqa(rule: &Rule) -> bool {
    std::ptr::eq(rule, &suppression::unused_noqa::RULE)
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
            reported: None,
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
    /// The root of the chunk's tree: [`Match::ancestors`] descends from it once, where
    /// climbing `Node::parent` (itself a descent from the root) costs a descent per step.
    pub root: Node<'t>,
}

impl<'a, 't> Match<'a, 't> {
    /// The nodes from the chunk's root down to `node`, both included.
    pub fn ancestors(&self, node: Node<'t>) -> Vec<Node<'t>> {
        crate::syntax::yaml::ancestors(self.root, node)
    }

    /// [`crate::syntax::yaml::key_path`] of `node`, from one descent.
    pub fn key_path(&self, node: Node<'t>) -> Vec<String> {
        crate::syntax::yaml::key_path_of(&self.ancestors(node), self.chunk)
    }

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
    &flask::flask_debug_reloader::RULE,
    &initialization::initialize_after_framework_import::RULE,
    &operator::inject_annotation_wrong_location::RULE,
    &operator::inject_annotation_invalid_value::RULE,
    &operator::python_operator_endpoint_4317::RULE,
    &flask::flask_debug_reloader_config::RULE,
    &initialization::framework_instrumentor_after_app_created::RULE,
    &django::django_instrument_after_app_load::RULE,
    &django::django_runserver_autoreload::RULE,
    &django::django_settings_module_missing::RULE,
    &initialization::double_sdk_initialization::RULE,
    &prefork::celery_instrument_outside_worker_init::RULE,
    &prefork::gunicorn_multiworker_zero_code::RULE,
    &prefork::uvicorn_reload_under_instrumentation::RULE,
    &prefork::uvicorn_multiworker_under_instrumentation::RULE,
    &prefork::gunicorn_post_fork_missing_init::RULE,
    &prefork::uwsgi_otel_without_postfork::RULE,
    &prefork::prometheus_reader_prefork::RULE,
    &operator::instrumentation_missing_endpoint::RULE,
    &operator::python_operator_grpc_protocol::RULE,
    &operator::annotation_namespace_mismatch::RULE,
    &operator::ambiguous_instrumentation_true::RULE,
    &operator::instrumentation_applied_after_workload::RULE,
    &operator::inject_language_mismatch::RULE,
    &operator::pythonpath_conflict::RULE,
    &operator::python_platform_musl::RULE,
    &operator::operator_container_selection::RULE,
    &operator::collector_endpoint_host::RULE,
    &operator::instrumentation_apiversion::RULE,
    &exporter::otlp_port_protocol_mismatch::RULE,
    &exporter::otlp_http_endpoint_path::RULE,
    &exporter::otlp_endpoint_scheme::RULE,
    &exporter::unknown_otel_component::RULE,
    &packaging::bootstrap_under_uv::RULE,
    &packaging::bootstrap_before_dependencies::RULE,
    &packaging::instrument_without_distro::RULE,
    &advisory::console_exporter_in_production::RULE,
    &advisory::missing_service_name::RULE,
    &advisory::otel_logging_handler_notset::RULE,
    &advisory::uninstrumented_stdlib_http_server::RULE,
    &advisory::double_agent::RULE,
    &suppression::unused_noqa::RULE,
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
