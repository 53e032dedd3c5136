//! The launcher model (rules.md §0.3): every command line and environment setting found in
//! Dockerfiles, shell scripts, Procfiles, docker-compose files, Kubernetes containers, uWSGI
//! ini files and gunicorn config modules, normalised so rules see `program args…` with the
//! environment it runs in.
//!
//! Every token keeps its byte span in its file, so diagnostics and fixes land on the exact
//! word. Values built from variables (`$WORKERS`, `${X}`, `valueFrom`) are marked dynamic and
//! never judged.
//!
//! Facts are computed per chunk with chunk-relative offsets (like every other fact) and merged
//! per file with [`LaunchFacts::extend_from`]; what crosses files goes into
//! [`LaunchSummary`] for the workspace index.

pub mod args;
pub mod dockerfile;
pub mod dotenv;
pub mod endpoint;
pub mod imports;
pub mod ini;
pub mod judge;
pub mod kubectl;
pub mod makefile;
pub mod normalize;
pub mod packaging;
pub mod procfile;
pub mod python;
pub mod shell;
pub mod summary;
pub mod yaml;

use crate::diagnostic::Span;
pub use summary::{LaunchRef, LaunchSummary, Target};

/// One word of a command line (or one environment value), after quote removal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Token {
    /// The value, quotes removed.
    pub text: String,
    /// The bytes of the word in its file, quotes included.
    pub span: Span,
    /// File offset where `text` appears verbatim (no escapes were removed), so that any part
    /// of the value has an exact span; `None` when it does not.
    pub raw: Option<usize>,
    /// Contains an expansion (`$X`, `${X}`, `$(…)`, `$(VAR)`): its value is unknown.
    pub dynamic: bool,
}

impl Token {
    /// The white-space separated words of the token, each with its own span (an exec-form
    /// word like `"-w 4"`, an environment value like `--workers 4 -k x`).
    pub fn split_whitespace(&self) -> Vec<Token> {
        let mut out = Vec::new();
        let mut start: Option<usize> = None;
        for (i, c) in self.text.char_indices() {
            if c.is_whitespace() {
                if let Some(s) = start.take() {
                    out.push(self.slice(s, i));
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            out.push(self.suffix(s));
        }
        out
    }

    /// A token whose text is verbatim at `start`.
    pub fn verbatim(text: &str, start: usize) -> Token {
        Token {
            text: text.to_string(),
            span: Span::new(start, start + text.len()),
            raw: Some(start),
            dynamic: text.contains('$'),
        }
    }

    /// The exact span of `text[from..to]`, when the text is verbatim in the file.
    pub fn sub_span(&self, from: usize, to: usize) -> Option<Span> {
        let r = self.raw?;
        (from <= to && to <= self.text.len()).then(|| Span::new(r + from, r + to))
    }

    /// The exact span of the whole value (inside the quotes), when verbatim.
    pub fn value_span(&self) -> Option<Span> {
        self.sub_span(0, self.text.len())
    }

    /// The value span when exact, else the word's span.
    pub fn best_span(&self) -> Span {
        self.value_span().unwrap_or(self.span)
    }

    /// The part `text[from..]` as its own token.
    pub fn suffix(&self, from: usize) -> Token {
        let from = from.min(self.text.len());
        Token {
            text: self.text.get(from..).unwrap_or("").to_string(),
            span: self.sub_span(from, self.text.len()).unwrap_or(self.span),
            raw: self.raw.map(|r| r + from),
            dynamic: self.dynamic,
        }
    }

    /// The part `text[from..to]` as its own token.
    pub fn slice(&self, from: usize, to: usize) -> Token {
        let to = to.min(self.text.len());
        let from = from.min(to);
        Token {
            text: self.text.get(from..to).unwrap_or("").to_string(),
            span: self.sub_span(from, to).unwrap_or(self.span),
            raw: self.raw.map(|r| r + from),
            dynamic: self.dynamic,
        }
    }

    fn shift(&mut self, by: usize) {
        self.span = self.span.shift(by);
        self.raw = self.raw.map(|r| r + by);
    }

    /// The value when it is known (no expansion).
    pub fn known(&self) -> Option<&str> {
        (!self.dynamic).then_some(self.text.as_str())
    }
}

/// Where an environment variable was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvOrigin {
    /// A scope setting: Dockerfile `ENV`, `export`, compose `environment:`, container `env:`.
    Scope,
    /// A `VAR=value` command prefix or an `env VAR=value` wrapper.
    Prefix,
    /// An `opentelemetry-instrument --flag value` option (the value token is the flag's).
    Flag,
    /// A setting of another file of the workspace (a compose `env_file:`, a ConfigMap read
    /// by `envFrom:`, the `ENV` of the image a compose service builds, or the context of a
    /// launcher that reads this file): it counts in lookups but is judged in its own file,
    /// never here. Its spans are empty.
    Imported,
}

/// One environment variable setting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvVar {
    /// Variable name (`OTEL_EXPORTER_OTLP_ENDPOINT`; for a flag the mapped name).
    pub name: String,
    /// The bytes of the name (for a flag: the flag word).
    pub name_span: Span,
    /// The value; `None` when unknown (`valueFrom`, `ENV X` without value).
    pub value: Option<Token>,
    /// The whole setting.
    pub span: Span,
    /// The scope it belongs to (index into [`LaunchFacts::scopes`]).
    pub scope: usize,
    /// How it was set.
    pub origin: EnvOrigin,
}

impl EnvVar {
    /// The value if known and not built from variables.
    pub fn known(&self) -> Option<&str> {
        self.value.as_ref().and_then(|v| v.known())
    }

    fn shift(&mut self, by: usize, scopes: usize) {
        self.name_span = self.name_span.shift(by);
        self.span = self.span.shift(by);
        self.scope += scopes;
        if let Some(v) = &mut self.value {
            v.shift(by);
        }
    }
}

/// What kind of place an environment scope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    /// The whole file (shell exports, Procfile).
    File,
    /// A Dockerfile build stage.
    Stage,
    /// A docker-compose service.
    Service,
    /// A Kubernetes container.
    Container,
    /// One command line: its `VAR=value` prefixes and opentelemetry-instrument flags.
    Command,
    /// Settings taken from another file: one compose `env_file:` entry, one `envFrom:`
    /// source, or the image a compose service builds (see [`imports`]).
    Imported,
}

/// An environment scope. A variable visible in a scope is the last setting of that name in
/// the scope or, failing that, in its parent chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The enclosing scope.
    pub parent: Option<usize>,
    /// What it is.
    pub kind: ScopeKind,
    /// Stage, service or container name, when it has one.
    pub label: String,
    /// A Kubernetes container of a pod injected by the OpenTelemetry Operator
    /// (truthy `instrumentation.opentelemetry.io/inject-python`).
    pub operator_injected: bool,
}

/// Where a launcher was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaunchKind {
    /// Dockerfile `CMD`.
    Cmd,
    /// Dockerfile `ENTRYPOINT` (combined with `CMD` when both are exec form).
    Entrypoint,
    /// Dockerfile `RUN`: a build step, not the running service.
    Run,
    /// A command of a shell script.
    Shell,
    /// A Procfile process line.
    Procfile,
    /// A docker-compose service's `entrypoint`/`command`.
    Compose,
    /// A Kubernetes container's `command`/`args`.
    Kubernetes,
    /// A uWSGI ini file (the `[uwsgi]` section is the command line).
    Uwsgi,
    /// A Makefile recipe line.
    Make,
    /// A CI step (`run:` of GitHub Actions, `script:` of GitLab CI): a build step.
    Ci,
    /// A launcher of another file, shown here as context (the image's `CMD` under a compose
    /// service, the services that read this `.env` file): its words have empty spans and it
    /// is judged in its own file, never here.
    Imported,
}

/// One normalised command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Launcher {
    /// Where it was found.
    pub kind: LaunchKind,
    /// The bytes of the whole command.
    pub span: Span,
    /// The normalised argv, program first: wrappers (`exec`, `env`, `VAR=…`, `poetry run`,
    /// `uv run`, `python -m <tool>`, `sh -c`, `opentelemetry-instrument [flags]`) removed.
    pub argv: Vec<Token>,
    /// The command's own scope (prefix assignments and instrument flags).
    pub scope: usize,
    /// The `opentelemetry-instrument` word, when the command runs under it.
    pub instrument: Option<Span>,
    /// From the `opentelemetry-instrument` word through its flags up to the program: what a
    /// fix deletes to remove the wrapper.
    pub instrument_prefix: Option<Span>,
    /// Run through `uv run`.
    pub uv_run: bool,
    /// The working directory (Dockerfile `WORKDIR`, compose `working_dir`, container
    /// `workingDir`), when known.
    pub workdir: Option<String>,
    /// Dockerfile: the absolute folder the build context was copied to (`COPY . /app`, or
    /// `COPY . .` under `WORKDIR /app`), so that paths in the container map to the workspace.
    pub context_root: Option<String>,
    /// Dockerfile build stage index.
    pub stage: Option<usize>,
    /// Whether the command is where the service runs (not a build step).
    pub runtime: bool,
    /// The whole statement it belongs to (a Dockerfile instruction, heredoc included; else
    /// the command itself).
    pub stmt: Span,
    /// The `opentelemetry-instrument` wrapper comes from a file that also installs a vendor
    /// distro, whose default OTLP protocol may not be opentelemetry-distro's `grpc`.
    pub vendor_distro: bool,
}

impl Launcher {
    /// Whether it is another file's launcher, shown as context (see [`LaunchKind::Imported`]).
    pub fn is_imported(&self) -> bool {
        self.kind == LaunchKind::Imported
    }

    /// The program's base name (`/venv/bin/gunicorn` → `gunicorn`), lower-case.
    pub fn program(&self) -> Option<String> {
        let t = self.argv.first()?;
        if t.dynamic {
            return None;
        }
        Some(basename(&t.text).to_ascii_lowercase())
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[Token] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// Whether it runs under `opentelemetry-instrument`.
    pub fn instrumented(&self) -> bool {
        self.instrument.is_some()
    }

    fn shift(&mut self, by: usize, scopes: usize) {
        self.span = self.span.shift(by);
        for t in &mut self.argv {
            t.shift(by);
        }
        self.scope += scopes;
        self.instrument = self.instrument.map(|s| s.shift(by));
        self.instrument_prefix = self.instrument_prefix.map(|s| s.shift(by));
        self.stmt = self.stmt.shift(by);
    }
}

/// The last path component of a command word.
pub fn basename(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// A Dockerfile `COPY`/`ADD` source list, for packaging rules (`uv.lock` copied in).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Copy {
    /// The build stage.
    pub stage: usize,
    /// The words after the instruction (flags included).
    pub words: Vec<Token>,
    /// The instruction's bytes.
    pub span: Span,
}

/// Launchers and environment settings of a file or chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LaunchFacts {
    /// Normalised command lines, in source order.
    pub launchers: Vec<Launcher>,
    /// Environment scopes; variables and launchers point into it.
    pub scopes: Vec<Scope>,
    /// Every environment setting, in source order.
    pub env: Vec<EnvVar>,
    /// Dockerfile `COPY`/`ADD` instructions.
    pub copies: Vec<Copy>,
    /// Dockerfile `FROM` lines: (stage index, start byte of the instruction).
    pub stages: Vec<(usize, Span)>,
    /// gunicorn settings and hooks of a Python config module.
    pub gunicorn: python::GunicornFacts,
    /// uWSGI options of an ini file.
    pub uwsgi: Option<ini::UwsgiConfig>,
    /// The YAML document is a docker-compose file.
    pub compose: bool,
    /// Image names (last path component, no tag) of containers in pods injected by the
    /// OpenTelemetry Operator (`inject-python`): their Dockerfiles' apps get OTel context.
    pub injected_images: Vec<String>,
    /// Of those, the images of injected containers that set neither `command:` nor `args:`:
    /// they run the image's own `ENTRYPOINT`/`CMD`.
    pub injected_as_built: Vec<String>,
    /// References to environment or images defined in other files (compose `env_file:` and
    /// `build:`, Kubernetes `envFrom:`), resolved by [`imports::effective`].
    pub imports: Vec<imports::Import>,
    /// ConfigMaps of a YAML file, their `data:` as settings (not an environment until a
    /// container reads them with `envFrom:`).
    pub config_maps: Vec<imports::ConfigMap>,
    /// Dockerfile build stages as images other files can run (compose `build:`).
    pub images: Vec<imports::Image>,
    /// The file is a `.env` file: its settings are the environment of whoever reads it.
    pub dotenv: bool,
    /// The file mentions a vendor OpenTelemetry distro (its default OTLP protocol may not be
    /// `grpc`).
    pub vendor_distro: bool,
    /// Scopes (CI jobs) that set up uv without a uv command (a step
    /// `uses: astral-sh/setup-uv`).
    pub uv_setup: Vec<usize>,
    /// Look-up index over `env` and `scopes`, built on first use; not part of the facts.
    pub index: EnvIndex,
}

/// A lazily built index for [`LaunchFacts::lookup`] and [`LaunchFacts::contexts_of`], which
/// are called for every setting of every container: without it they are linear each, and a
/// 5 MB manifest stream becomes quadratic. Invisible to `Eq`, `Hash` and `Debug` (it is a
/// cache, not a fact), rebuilt when `env` or `scopes` have grown since it was built, and
/// empty in a clone.
#[derive(Default)]
pub struct EnvIndex(std::sync::Mutex<Option<std::sync::Arc<IndexData>>>);

/// What [`EnvIndex`] holds.
struct IndexData {
    env_len: usize,
    scopes_len: usize,
    launchers_len: usize,
    /// `(scope, name)` → index in `env` of the last such setting.
    last: std::collections::HashMap<(usize, String), usize>,
    /// scope → the scopes nested in it (itself included), ascending.
    nested: Vec<Vec<usize>>,
    /// [`packaging::distro_installed`] of these facts, on first use.
    distro: std::sync::OnceLock<Option<bool>>,
}

impl Clone for EnvIndex {
    fn clone(&self) -> Self {
        EnvIndex::default()
    }
}

impl PartialEq for EnvIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for EnvIndex {}

impl std::hash::Hash for EnvIndex {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for EnvIndex {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

impl LaunchFacts {
    /// Whether these commands install an OpenTelemetry distro
    /// ([`packaging::distro_installed`]), computed once: every launcher's summary asks, and a
    /// script of a thousand commands made that quadratic (a 9 KB input took 20 s in the
    /// incremental_edits fuzzer).
    pub fn distro_installed(&self) -> Option<bool> {
        *self
            .index()
            .distro
            .get_or_init(|| packaging::distro_installed(self))
    }

    fn index(&self) -> std::sync::Arc<IndexData> {
        let mut slot = self.index.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = slot.as_ref() {
            if d.env_len == self.env.len()
                && d.scopes_len == self.scopes.len()
                && d.launchers_len == self.launchers.len()
            {
                return d.clone();
            }
        }
        let mut last = std::collections::HashMap::with_capacity(self.env.len());
        for (i, v) in self.env.iter().enumerate() {
            last.insert((v.scope, v.name.clone()), i);
        }
        let mut nested = vec![Vec::new(); self.scopes.len()];
        for s in 0..self.scopes.len() {
            let mut cur = Some(s);
            let mut guard = 0;
            while let Some(a) = cur {
                if let Some(list) = nested.get_mut(a) {
                    list.push(s);
                }
                cur = self.scopes.get(a).and_then(|x| x.parent);
                guard += 1;
                if guard > 64 {
                    break;
                }
            }
        }
        let d = std::sync::Arc::new(IndexData {
            env_len: self.env.len(),
            scopes_len: self.scopes.len(),
            launchers_len: self.launchers.len(),
            last,
            nested,
            distro: std::sync::OnceLock::new(),
        });
        *slot = Some(d.clone());
        d
    }

    /// Appends the facts of the next chunk, which starts at byte `offset`.
    pub fn extend_from(&mut self, other: &LaunchFacts, offset: usize) {
        let base = self.scopes.len();
        self.scopes.extend(other.scopes.iter().map(|s| Scope {
            parent: s.parent.map(|p| p + base),
            ..s.clone()
        }));
        self.env.extend(other.env.iter().map(|e| {
            let mut e = e.clone();
            e.shift(offset, base);
            e
        }));
        self.launchers.extend(other.launchers.iter().map(|l| {
            let mut l = l.clone();
            l.shift(offset, base);
            l
        }));
        self.copies.extend(other.copies.iter().map(|c| {
            let mut c = c.clone();
            c.span = c.span.shift(offset);
            for w in &mut c.words {
                w.shift(offset);
            }
            c
        }));
        self.stages
            .extend(other.stages.iter().map(|(i, s)| (*i, s.shift(offset))));
        self.gunicorn.extend_from(&other.gunicorn, offset);
        if let Some(u) = &other.uwsgi {
            let mut u = u.clone();
            u.shift(offset);
            self.uwsgi = Some(u);
        }
        self.compose |= other.compose;
        self.injected_images
            .extend(other.injected_images.iter().cloned());
        self.injected_as_built
            .extend(other.injected_as_built.iter().cloned());
        self.imports.extend(other.imports.iter().map(|i| {
            let mut i = i.clone();
            i.shift(offset, base);
            i
        }));
        self.config_maps.extend(other.config_maps.iter().map(|c| {
            let mut c = c.clone();
            for v in &mut c.data {
                v.shift(offset, 0);
            }
            c
        }));
        self.images.extend(other.images.iter().map(|i| {
            let mut i = i.clone();
            i.shift(offset, base);
            i
        }));
        self.dotenv |= other.dotenv;
        self.vendor_distro |= other.vendor_distro;
        self.uv_setup
            .extend(other.uv_setup.iter().map(|s| s + base));
    }

    /// The settings made in this file (not [`EnvOrigin::Imported`]): what rules judge.
    pub fn own_env(&self) -> impl Iterator<Item = &EnvVar> {
        self.env.iter().filter(|v| v.origin != EnvOrigin::Imported)
    }

    /// The launchers of this file (not [`LaunchKind::Imported`]): what rules judge.
    pub fn own_launchers(&self) -> impl Iterator<Item = &Launcher> {
        self.launchers.iter().filter(|l| !l.is_imported())
    }

    /// Adds a scope and returns its index.
    pub fn add_scope(&mut self, parent: Option<usize>, kind: ScopeKind, label: &str) -> usize {
        let injected =
            parent.is_some_and(|p| self.scopes.get(p).is_some_and(|s| s.operator_injected));
        self.scopes.push(Scope {
            parent,
            kind,
            label: label.to_string(),
            operator_injected: injected,
        });
        self.scopes.len() - 1
    }

    /// The setting of `name` visible from `scope`: the last one in the scope, else in its
    /// parent chain.
    pub fn lookup(&self, scope: usize, name: &str) -> Option<&EnvVar> {
        let index = self.index();
        let mut cur = Some(scope);
        let mut guard = 0;
        while let Some(s) = cur {
            if let Some(&i) = index.last.get(&(s, name.to_string())) {
                return self.env.get(i);
            }
            cur = self.scopes.get(s).and_then(|x| x.parent);
            guard += 1;
            if guard > 64 {
                break;
            }
        }
        None
    }

    /// Whether `inner` is `outer` or nested in it.
    pub fn within(&self, inner: usize, outer: usize) -> bool {
        let mut cur = Some(inner);
        let mut guard = 0;
        while let Some(s) = cur {
            if s == outer {
                return true;
            }
            cur = self.scopes.get(s).and_then(|x| x.parent);
            guard += 1;
            if guard > 64 {
                break;
            }
        }
        false
    }

    /// The scopes from which a setting in `scope` is seen: the scope itself and every scope
    /// nested in it (a setting is judged in each context it reaches).
    pub fn contexts_of(&self, scope: usize) -> Vec<usize> {
        self.index().nested.get(scope).cloned().unwrap_or_default()
    }

    /// Whether the scope belongs to an Operator-injected container.
    pub fn operator_injected(&self, scope: usize) -> bool {
        self.scopes.get(scope).is_some_and(|s| s.operator_injected)
    }

    /// The launchers whose scope is nested in `scope` (or is it).
    pub fn launchers_in(&self, scope: usize) -> impl Iterator<Item = &Launcher> {
        self.launchers
            .iter()
            .filter(move |l| self.within(l.scope, scope))
    }
}

#[cfg(test)]
mod tests {
    use crate::language::Language;

    /// Editing a file gives the same launch facts as parsing the edited text afresh.
    #[test]
    fn edits_keep_launch_facts_fresh() {
        let cases = [
            (Language::Dockerfile, "FROM x\nCMD [\"opentelemetry-instrument\", \"gunicorn\", \"-w\", \"4\", \"app:app\"]\n", "-w", "--workers"),
            (Language::Shell, "#!/bin/sh\nexport A=1\nopentelemetry-instrument uvicorn main:app --reload\n", "--reload", "--workers 2"),
            (Language::Procfile, "web: gunicorn -w 4 app:app\n", "gunicorn", "opentelemetry-instrument gunicorn"),
            (Language::Ini, "[uwsgi]\nprocesses = 4\n", "4", "8"),
            (Language::Yaml, "services:\n  a:\n    image: x\n    command: gunicorn -w 4 app:app\n---\nservices:\n  b:\n    image: y\n    command: [\"uvicorn\", \"m:app\"]\n", "uvicorn", "opentelemetry-instrument\", \"uvicorn"),
            (Language::Python, "import os\nworkers = 4\n\n\ndef post_fork(server, worker):\n    pass\n", "pass", "initialize()"),
            (Language::Makefile, "run:\n\t@opentelemetry-instrument gunicorn -w 4 app:app\n", "4", "$(W)"),
            (Language::DotEnv, "A=1\nOTEL_TRACES_EXPORTER=oltp\n", "oltp", "\"otlp"),
        ];
        for (lang, text, from, to) in cases {
            let mut f = crate::engine::parse(lang, text.to_string());
            let at = text.find(from).unwrap();
            f.edit(at, at + from.len(), to);
            let fresh = crate::engine::parse(lang, f.text().to_string());
            assert_eq!(f.launch(), fresh.launch(), "{lang:?}");
        }
    }

    /// The cached distro answer follows the launchers: facts that gain a `pip install` of a
    /// distro after the first question answer anew.
    #[test]
    fn distro_answer_follows_added_launchers() {
        let facts = |text: &str| {
            crate::engine::parse(Language::Shell, text.to_string())
                .launch()
                .clone()
        };
        let mut f = facts("pip install flask\nopentelemetry-instrument flask run\n");
        assert_eq!(f.distro_installed(), Some(false));
        let more = facts("pip install opentelemetry-distro\n");
        f.launchers.extend(more.launchers);
        assert_eq!(f.distro_installed(), Some(true));
        assert_eq!(f.distro_installed(), super::packaging::distro_installed(&f));
    }
}
