//! What a file's launchers contribute to the workspace index: per launcher, the program,
//! whether it runs under `opentelemetry-instrument`, what Python files/modules it starts
//! (§0.3 launch association) and the gunicorn options other files need; per Python module,
//! its gunicorn config facts and framework.

use super::python::ValueKind;
use super::{args, LaunchFacts, Launcher};
use crate::syntax::python::PyFacts;

/// What a launcher starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A script path (`python app.py`, `fastapi run main.py`, `uwsgi --wsgi-file x.py`).
    Script(String),
    /// A dotted module (`python -m pkg.mod`, `gunicorn pkg.mod:app`, `uvicorn main:app`).
    Module(String),
    /// A gunicorn config file given by `-c/--config` (or the default `gunicorn.conf.py`).
    Config(String),
    /// A uWSGI ini file given by `--ini` (or as the positional config file).
    UwsgiIni(String),
}

impl Target {
    /// Whether it names the app (a script or module), not a config file.
    pub fn is_app(&self) -> bool {
        matches!(self, Target::Script(_) | Target::Module(_))
    }
}

/// A worker count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Count {
    /// A literal.
    N(i64),
    /// `multiprocessing.cpu_count()…`: more than one.
    Many,
}

impl Count {
    /// More than one worker.
    pub fn is_multi(self) -> bool {
        match self {
            Count::N(n) => n > 1,
            Count::Many => true,
        }
    }
}

/// One launcher, as other files see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LaunchRef {
    /// Program base name (`gunicorn`, `python`, `uvicorn`…).
    pub program: String,
    /// Runs under `opentelemetry-instrument`.
    pub instrumented: bool,
    /// The service runs under it (not a build step).
    pub runtime: bool,
    /// Python files or modules it starts, relative to the launcher's working directory.
    pub targets: Vec<Target>,
    /// Working directory (Dockerfile `WORKDIR`…), used to map container paths.
    pub workdir: Option<String>,
    /// Where the Dockerfile copied the build context ([`Launcher::context_root`]).
    pub context_root: Option<String>,
    /// `--chdir` / `--app-dir` (module search root), relative.
    pub chdir: Option<String>,
    /// The effective `OTEL_METRICS_EXPORTER` is `none`.
    pub metrics_disabled: bool,
    /// Worker count given by the command line or its environment (not by a config file).
    pub workers: Option<Count>,
    /// A worker count is given by the command line or environment but unknown (`$W`).
    pub workers_unknown: bool,
    /// The count comes from `WEB_CONCURRENCY` (which a gunicorn config file overrides).
    pub workers_from_env: bool,
    /// Worker class given by the command line or its environment.
    pub worker_class: Option<String>,
    /// `OTEL_METRICS_EXPORTER` is set in the launcher's own file (imports do not count then).
    pub metrics_set: bool,
    /// Other files whose settings (or image) the launcher's service or container reads, lowest
    /// precedence first (see [`super::imports`]).
    pub imports: Vec<super::imports::Source>,
    /// The Kubernetes namespace its ConfigMaps are looked up in.
    pub namespace: Option<String>,
    /// compose: the service sets its own `entrypoint:` (the image's is ignored).
    pub entrypoint_set: bool,
    /// A container of a pod injected by the OpenTelemetry Operator.
    pub operator_injected: bool,
    /// Whether its file installs an OpenTelemetry distro
    /// ([`super::LaunchFacts::distro_installed`]).
    pub distro: Option<bool>,
    /// One of [`super::packaging::AUTO_CONFIG_VARS`] is set in its scope (flags included).
    pub auto_config_env: bool,
    /// uWSGI: the options of the command line (or ini section) and `UWSGI_*` environment,
    /// in order (a later one wins): normalised key and value (`None` for a bare flag).
    pub uwsgi: Vec<(String, Option<String>)>,
    /// `celery … worker` (or `celery multi`): its execution pool, `-P/--pool` lower-cased;
    /// empty when not given (the app's `worker_pool`, default `prefork`), `$` when unknown
    /// (`$POOL`). `None` for other commands.
    pub celery_pool: Option<String>,
}

/// gunicorn facts of a Python config module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GunicornSummary {
    /// `workers = …`, when literal (or cpu_count based).
    pub workers: Option<Count>,
    /// `workers` is assigned but unknown.
    pub workers_unknown: bool,
    /// `worker_class = "…"`.
    pub worker_class: Option<String>,
    /// A `post_fork`/`post_worker_init` hook initialises OpenTelemetry.
    pub post_fork_init: bool,
}

impl GunicornSummary {
    /// The config's worker class is a Uvicorn worker.
    pub fn uvicorn_worker(&self) -> bool {
        self.worker_class
            .as_deref()
            .is_some_and(super::judge::is_uvicorn_worker)
    }
}

/// The web framework family of a Python module, by its imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framework {
    /// FastAPI, Starlette, Quart, Litestar…: UvicornWorker can serve it.
    Asgi,
    /// Flask, Django, Bottle, Pyramid, Falcon: UvicornWorker cannot.
    Wsgi,
}

/// A file's launch facts for the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LaunchSummary {
    /// Launchers of the file.
    pub launchers: Vec<LaunchRef>,
    /// gunicorn config facts (Python modules that assign gunicorn settings or define hooks).
    pub gunicorn: Option<GunicornSummary>,
    /// Framework (Python modules).
    pub framework: Option<Framework>,
    /// The file calls `initialize()` / sets up the SDK itself (programmatic instrumentation).
    pub initializes_otel: bool,
    /// The module imports `opentelemetry` (OTel context of its own).
    pub uses_otel: bool,
    /// The module has a uWSGI `@postfork` function.
    pub uwsgi_postfork: bool,
    /// The module imports `django`.
    pub django: bool,
    /// The module instruments itself in process, at module level or in a function:
    /// `DjangoInstrumentor().instrument()`, or `initialize()` of programmatic
    /// auto-instrumentation (a Django `manage.py` that does so; OTEL009).
    pub instruments_itself: bool,
    /// The settings module it defaults `DJANGO_SETTINGS_MODULE` to (`setdefault`).
    pub django_settings: Option<String>,
    /// The module starts a Flask app's development server with `app.run()` and leaves debug
    /// mode, and so the reloader, to its configuration and `FLASK_DEBUG` (no `debug=`,
    /// `use_reloader=` or `**options`; see `syntax::python::RunCall`).
    pub flask_run_env_debug: bool,
    /// Images of containers injected by the Operator (`inject-python`).
    pub injected_images: Vec<String>,
    /// Of those, the images whose containers run the image's own `ENTRYPOINT`/`CMD`.
    pub injected_as_built: Vec<String>,
    /// The file's launch facts with empty spans, when other files need them: it imports
    /// (compose `env_file:`/`build:`, `envFrom:`) or is imported (a `.env` file, ConfigMaps,
    /// a Dockerfile). See [`super::imports`].
    pub facts: Option<std::sync::Arc<LaunchFacts>>,
}

/// gunicorn options that take a value (for finding the positional app target).
pub const GUNICORN_VALUE_OPTS: &[&str] = &[
    "-w",
    "--workers",
    "-b",
    "--bind",
    "-k",
    "--worker-class",
    "-c",
    "--config",
    "--threads",
    "-t",
    "--timeout",
    "--chdir",
    "--pythonpath",
    "--log-level",
    "--access-logfile",
    "--error-logfile",
    "--log-file",
    "-e",
    "--env",
    "-n",
    "--name",
    "--max-requests",
    "--max-requests-jitter",
    "--graceful-timeout",
    "--keep-alive",
    "--certfile",
    "--keyfile",
    "-u",
    "--user",
    "-g",
    "--group",
    "-p",
    "--pid",
    "--log-config",
    "--worker-connections",
    "--forwarded-allow-ips",
    "--paste",
    "--access-logformat",
    "--worker-tmp-dir",
    "--umask",
    "--backlog",
    "--limit-request-line",
    "--statsd-host",
    "--capture-output",
    "-m",
    "--log-syslog-to",
];

/// uvicorn options that take a value.
pub const UVICORN_VALUE_OPTS: &[&str] = &[
    "--host",
    "--port",
    "--uds",
    "--fd",
    "--reload-dir",
    "--reload-include",
    "--reload-exclude",
    "--reload-delay",
    "--workers",
    "--loop",
    "--http",
    "--ws",
    "--ws-max-size",
    "--ws-max-queue",
    "--ws-ping-interval",
    "--ws-ping-timeout",
    "--lifespan",
    "--interface",
    "--env-file",
    "--log-config",
    "--log-level",
    "--root-path",
    "--limit-concurrency",
    "--backlog",
    "--limit-max-requests",
    "--timeout-keep-alive",
    "--timeout-graceful-shutdown",
    "--ssl-keyfile",
    "--ssl-certfile",
    "--ssl-keyfile-password",
    "--ssl-version",
    "--ssl-cert-reqs",
    "--ssl-ca-certs",
    "--ssl-ciphers",
    "--header",
    "--app-dir",
    "--h11-max-incomplete-event-size",
    "--forwarded-allow-ips",
    "-b",
    "--bind",
    "-w",
    "-k",
    "--worker-class",
    "-c",
    "--config",
];

/// `pkg.mod:app` / `pkg.mod:create_app()` → `pkg.mod`.
pub fn module_of_app_spec(spec: &str) -> Option<String> {
    let m = spec.split(':').next()?.trim();
    let ok = !m.is_empty()
        && m.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !m.starts_with('.');
    ok.then(|| m.to_string())
}

/// Targets of one launcher.
pub fn targets(l: &Launcher, facts: &LaunchFacts) -> (Vec<Target>, Option<String>) {
    let Some(prog) = l.program() else {
        return (vec![], None);
    };
    let a = l.args();
    let mut out = Vec::new();
    let mut chdir = None;
    let module_or_script = |s: &str| -> Option<Target> {
        if s.ends_with(".py") {
            Some(Target::Script(s.to_string()))
        } else {
            module_of_app_spec(s).map(Target::Module)
        }
    };
    match prog.as_str() {
        p if super::normalize::is_python(p) => {
            let mut i = 0;
            while let Some(t) = a.get(i) {
                if t.text == "-m" {
                    if let Some(m) = a.get(i + 1).and_then(|m| m.known()) {
                        out.extend(module_of_app_spec(m).map(Target::Module));
                    }
                    break;
                }
                if t.text == "-c" {
                    break;
                }
                if !t.text.starts_with('-') {
                    if let Some(s) = t.known() {
                        out.push(Target::Script(s.to_string()));
                    }
                    break;
                }
                i += if matches!(t.text.as_str(), "-X" | "-W") {
                    2
                } else {
                    1
                };
            }
        }
        "gunicorn" | "uvicorn" | "hypercorn" | "daphne" | "granian" => {
            let value_opts = if prog == "gunicorn" {
                GUNICORN_VALUE_OPTS
            } else {
                UVICORN_VALUE_OPTS
            };
            if let Some(app) = args::positionals(a, value_opts)
                .last()
                .and_then(|t| t.known())
            {
                out.extend(module_of_app_spec(app).map(Target::Module));
            }
            chdir = args::find(a, &[], &["--chdir", "--app-dir"])
                .and_then(|o| o.value)
                .and_then(|v| v.known().map(str::to_string));
            if prog == "gunicorn" {
                let cfg = args::find(a, &["-c"], &["--config"]).and_then(|o| o.value);
                match cfg.as_ref().and_then(|v| v.known()) {
                    Some(c) if !c.starts_with("python:") => out.push(Target::Config(c.to_string())),
                    Some(_) => {}
                    None if cfg.is_none() => out.push(Target::Config("gunicorn.conf.py".into())),
                    None => {}
                }
            }
        }
        "flask" => {
            let app = args::find(a, &["-A"], &["--app"])
                .and_then(|o| o.value)
                .and_then(|v| v.known().map(str::to_string))
                .or_else(|| {
                    facts
                        .lookup(l.scope, "FLASK_APP")
                        .and_then(|v| v.known().map(str::to_string))
                });
            match app {
                Some(s) => out.extend(module_or_script(&s)),
                None => {
                    out.push(Target::Script("app.py".into()));
                    out.push(Target::Script("wsgi.py".into()));
                }
            }
        }
        "fastapi" => {
            let pos = args::positionals(a.get(1..).unwrap_or(&[]), UVICORN_VALUE_OPTS);
            match pos.first().and_then(|t| t.known()) {
                Some(s) => out.extend(module_or_script(s)),
                None => {
                    out.push(Target::Script("main.py".into()));
                    out.push(Target::Script("app.py".into()));
                }
            }
        }
        "uwsgi" => {
            for (opts, script) in [
                (&["--module", "-w"][..], false),
                (&["--wsgi-file", "--file"][..], true),
            ] {
                if let Some(v) = args::find(a, &[], opts).and_then(|o| o.value) {
                    if let Some(s) = v.known() {
                        out.extend(if script {
                            Some(Target::Script(s.to_string()))
                        } else {
                            module_or_script(s)
                        });
                    }
                }
            }
            chdir = args::find(a, &[], &["--chdir"])
                .and_then(|o| o.value)
                .and_then(|v| v.known().map(str::to_string));
            for o in super::ini::launcher_options(l, facts) {
                let ini = o.key == "ini"
                    || (o.key.is_empty()
                        && o.value.as_ref().is_some_and(|v| v.text.ends_with(".ini")));
                if let Some(v) = o.value.filter(|v| ini && !v.dynamic) {
                    // `file.ini:section` reads another section: not the `[uwsgi]` one we know.
                    if !v.text.contains(':') && !v.text.contains("://") {
                        out.push(Target::UwsgiIni(v.text.clone()));
                    }
                }
            }
        }
        "celery" => {
            if let Some(v) = args::find(a, &["-A"], &["--app"]).and_then(|o| o.value) {
                if let Some(m) = v.known().and_then(module_of_app_spec) {
                    // `-A proj` also finds the app in `proj/celery.py` (Celery's `find_app`).
                    let package = !v.text.contains(':') && !m.ends_with(".celery");
                    out.push(Target::Module(m.clone()));
                    if package {
                        out.push(Target::Module(format!("{m}.celery")));
                    }
                }
            }
        }
        _ => {}
    }
    (out, chdir)
}

/// A launcher as other files see it.
pub fn launch_ref(l: &Launcher, facts: &LaunchFacts) -> Option<LaunchRef> {
    let program = l.program()?;
    let (targets, chdir) = targets(l, facts);
    let w = super::judge::workers(l, facts);
    let uwsgi = if program == "uwsgi" {
        super::ini::launcher_options(l, facts)
            .into_iter()
            .map(|o| (o.key, o.value.map(|v| v.text)))
            .collect()
    } else {
        Vec::new()
    };
    let celery_pool = (program == "celery")
        .then(|| celery_pool(l.args()))
        .flatten();
    let imports: Vec<&super::imports::Import> = facts
        .imports
        .iter()
        .filter(|i| facts.within(l.scope, i.owner))
        .collect();
    Some(LaunchRef {
        program,
        instrumented: l.instrumented(),
        runtime: l.runtime,
        targets,
        workdir: l.workdir.clone(),
        context_root: l.context_root.clone(),
        chdir,
        metrics_disabled: super::judge::metrics_disabled(l, facts),
        workers: w.count.as_ref().and_then(|c| c.count),
        workers_unknown: w.count.as_ref().is_some_and(|c| c.count.is_none()),
        workers_from_env: w
            .count
            .as_ref()
            .is_some_and(|c| c.from == super::judge::CountFrom::WebConcurrency),
        worker_class: w.class.as_ref().and_then(|c| c.known().map(str::to_string)),
        metrics_set: facts.lookup(l.scope, "OTEL_METRICS_EXPORTER").is_some(),
        imports: imports.iter().map(|i| i.source.clone()).collect(),
        namespace: imports.iter().find_map(|i| i.namespace.clone()),
        entrypoint_set: imports.iter().any(|i| i.entrypoint_set),
        operator_injected: facts.operator_injected(l.scope),
        distro: facts.distro_installed(),
        auto_config_env: super::packaging::AUTO_CONFIG_VARS
            .iter()
            .any(|v| facts.lookup(l.scope, v).is_some()),
        uwsgi,
        celery_pool,
    })
}

/// Global `celery` options that take a value (before the subcommand).
const CELERY_VALUE_OPTS: &[&str] = &[
    "-A",
    "--app",
    "-b",
    "--broker",
    "--result-backend",
    "--loader",
    "--config",
    "--workdir",
];

/// The pool of a `celery … worker` / `celery multi …` command line (see
/// [`LaunchRef::celery_pool`]).
pub fn celery_pool(a: &[super::Token]) -> Option<String> {
    let sub = args::positionals(a, CELERY_VALUE_OPTS).first()?.known()?;
    if !matches!(sub, "worker" | "multi") {
        return None;
    }
    Some(
        match args::find(a, &["-P"], &["--pool"]).and_then(|o| o.value) {
            None => String::new(),
            Some(v) => match v.known() {
                Some(p) if !p.trim().is_empty() => p.trim().to_ascii_lowercase(),
                _ => "$".to_string(),
            },
        },
    )
}

/// Whether a `post_fork` / `post_worker_init` hook of the module sets up OpenTelemetry.
pub fn post_fork_inits(g: &super::python::GunicornFacts) -> bool {
    ["post_fork", "post_worker_init"].iter().any(|h| {
        g.function(h)
            .is_some_and(|f| f.calls.iter().any(|c| is_otel_setup_call(c, g)))
    })
}

/// The launch summary of a file.
pub fn summarize(facts: &LaunchFacts, py: Option<&PyFacts>) -> LaunchSummary {
    let launchers = facts
        .launchers
        .iter()
        .filter_map(|l| launch_ref(l, facts))
        .collect();
    let g = &facts.gunicorn;
    let gunicorn = (!g.settings.is_empty() || g.functions.iter().any(|f| f.name == "post_fork"))
        .then(|| {
            let w = g.setting("workers");
            GunicornSummary {
                workers: w.and_then(|s| match s.kind {
                    ValueKind::Int(n) => Some(Count::N(n)),
                    ValueKind::CpuCount => Some(Count::Many),
                    _ => None,
                }),
                workers_unknown: w
                    .is_some_and(|s| matches!(s.kind, ValueKind::Other | ValueKind::Str)),
                worker_class: g
                    .setting("worker_class")
                    .filter(|s| s.kind == ValueKind::Str)
                    .map(|s| s.value.text.clone()),
                post_fork_init: post_fork_inits(g),
            }
        });
    let framework = py.and_then(|p| {
        if ["fastapi", "starlette", "quart", "litestar", "sanic"]
            .iter()
            .any(|m| p.imports_module(m))
        {
            Some(Framework::Asgi)
        } else if ["flask", "django", "bottle", "pyramid", "falcon"]
            .iter()
            .any(|m| p.imports_module(m))
        {
            Some(Framework::Wsgi)
        } else {
            None
        }
    });
    let initializes_otel =
        py.is_some_and(|p| p.calls.iter().any(|c| is_otel_setup_call(&c.callee, g)));
    let uses_otel = py.is_some_and(|p| p.imports_opentelemetry() || p.imports_module("hyperdx"));
    let uwsgi_postfork = g.functions.iter().any(|f| {
        f.decorators
            .iter()
            .any(|d| d.rsplit('.').next() == Some("postfork"))
    });
    let instruments_itself = py.is_some_and(|p| {
        let auto = "opentelemetry.instrumentation.auto_instrumentation";
        let initialize: Vec<&str> = p
            .names_bound_to(auto, "initialize")
            .map(|i| i.bound.as_str())
            .collect();
        let aliases: Vec<String> = p
            .imports
            .iter()
            .filter(|i| {
                !i.type_checking
                    && i.name.is_none()
                    && i.module == auto
                    && i.bound != "opentelemetry"
            })
            .map(|i| format!("{}.initialize", i.bound))
            .collect();
        let hit = |callee: &str| {
            is_django_instrument_call(callee)
                || initialize.contains(&callee)
                || aliases.iter().any(|a| a == callee)
                || callee.strip_suffix(".initialize") == Some(auto)
        };
        p.calls.iter().any(|c| !c.type_checking && hit(&c.callee))
            || g.functions.iter().any(|f| f.calls.iter().any(|c| hit(c)))
    });
    let flask_run_env_debug =
        py.is_some_and(|p| p.runs.iter().any(|r| r.follows_config && p.is_flask_run(r)));
    LaunchSummary {
        launchers,
        gunicorn,
        framework,
        initializes_otel,
        uses_otel,
        uwsgi_postfork,
        django: py.is_some_and(|p| p.imports_module("django")),
        instruments_itself,
        django_settings: py.and_then(|p| p.django_settings.clone()),
        flask_run_env_debug,
        injected_images: facts.injected_images.clone(),
        injected_as_built: facts.injected_as_built.clone(),
        facts: super::imports::shared(facts)
            .then(|| std::sync::Arc::new(super::imports::detached(facts))),
    }
}

/// Whether a callee (white space removed) is `DjangoInstrumentor().instrument`
/// (`<module>.DjangoInstrumentor().instrument` too).
pub fn is_django_instrument_call(callee: &str) -> bool {
    callee
        .strip_suffix("().instrument")
        .is_some_and(|obj| obj == "DjangoInstrumentor" || obj.ends_with(".DjangoInstrumentor"))
}

/// Whether a call sets up OpenTelemetry: `initialize()`, `configure_opentelemetry()`,
/// `set_tracer_provider(…)`, `instrument()`, `setup_tracing()`…, or a local function that
/// does one of those.
pub fn is_otel_setup_call(callee: &str, g: &super::python::GunicornFacts) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    let direct = matches!(
        last,
        "initialize"
            | "configure_opentelemetry"
            | "instrument"
            | "setup_tracing"
            | "init_tracing"
            | "setup_telemetry"
            | "init_telemetry"
            | "setup_otel"
            | "init_otel"
            | "configure_otel"
            | "set_tracer_provider"
            | "set_meter_provider"
            | "set_logger_provider"
            | "configure_azure_monitor"
    ) || (last.starts_with("configure_") && last.contains("otel"))
        || (last.starts_with("setup_")
            && (last.contains("otel") || last.contains("telemetry") || last.contains("tracing")));
    direct
        || (callee == last
            && g.function(last).is_some_and(|f| {
                f.calls.iter().any(|c| {
                    let l = c.rsplit('.').next().unwrap_or(c);
                    l != last && is_otel_setup_call_shallow(l)
                })
            }))
}

fn is_otel_setup_call_shallow(last: &str) -> bool {
    matches!(
        last,
        "initialize"
            | "configure_opentelemetry"
            | "set_tracer_provider"
            | "set_meter_provider"
            | "set_logger_provider"
            | "configure_azure_monitor"
    )
}

#[cfg(test)]
mod tests {
    use crate::language::Language;
    use crate::launch::Target;

    fn summary(lang: Language, text: &str) -> super::LaunchSummary {
        crate::engine::summarize(&crate::engine::parse(lang, text.to_string())).launch
    }

    #[test]
    fn celery_workers_pools_and_app_modules() {
        let s = summary(
            Language::Procfile,
            "a: celery -A proj worker\nb: celery --app=tasks:app worker --pool=Solo\nc: celery -A proj worker -P $POOL\nd: celery -A proj beat\ne: celery worker -A proj -Pthreads\nf: celery -A proj multi start w1\n",
        );
        let pools: Vec<Option<&str>> = s
            .launchers
            .iter()
            .map(|l| l.celery_pool.as_deref())
            .collect();
        assert_eq!(
            pools,
            [
                Some(""),
                Some("solo"),
                Some("$"),
                None,
                Some("threads"),
                Some("")
            ]
        );
        // `-A proj` also names `proj/celery.py`; `module:attr` names the module only.
        assert_eq!(
            s.launchers[0].targets,
            [
                Target::Module("proj".into()),
                Target::Module("proj.celery".into())
            ]
        );
        assert_eq!(s.launchers[1].targets, [Target::Module("tasks".into())]);
        let gunicorn = summary(Language::Shell, "gunicorn -w 2 app:app\n");
        assert_eq!(gunicorn.launchers[0].celery_pool, None);
    }

    #[test]
    fn flask_run_that_follows_flask_debug() {
        let yes = [
            "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run(port=8080)\n",
            "from flask import Flask\ndef main():\n    server = Flask(__name__)\n    server.run()\n",
            "import flask\napp = flask.Flask(__name__)\ndef serve():\n    app.run(host='0.0.0.0')\n",
        ];
        for src in yes {
            assert!(summary(Language::Python, src).flask_run_env_debug, "{src}");
        }
        let no = [
            "from flask import Flask\napp = Flask(__name__)\napp.run(use_reloader=False)\n",
            "from flask import Flask\napp = Flask(__name__)\napp.run(debug=False)\n",
            "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
            "from flask import Flask\napp = Flask(__name__)\napp.run(**options)\n",
            "import uvicorn\napp = object()\nuvicorn.run(app)\n",
            "from quart import Quart\napp = Quart(__name__)\napp.run()\n",
        ];
        for src in no {
            assert!(!summary(Language::Python, src).flask_run_env_debug, "{src}");
        }
    }
}
