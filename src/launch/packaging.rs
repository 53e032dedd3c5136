//! Packaging facts of a file's commands: `opentelemetry-bootstrap` runs, dependency
//! installs, explicit `pip install` package lists, uv-managed environments.

use super::{LaunchFacts, LaunchKind, Launcher, ScopeKind, Token};

/// Whether the launcher is `opentelemetry-bootstrap -a install` (also `--action=install`,
/// `--action install`).
pub fn is_bootstrap_install(l: &Launcher) -> bool {
    if l.program().as_deref() != Some("opentelemetry-bootstrap") {
        return false;
    }
    super::args::find(l.args(), &["-a"], &["--action"])
        .and_then(|o| o.value)
        .is_some_and(|v| v.text == "install")
}

/// The words after `install` of a pip-like install (`pip install`, `pip3 install`,
/// `uv pip install`, `python -m pip install` is normalised to `pip`).
pub fn pip_install_args(l: &Launcher) -> Option<&[Token]> {
    let prog = l.program()?;
    let a = l.args();
    match prog.as_str() {
        "pip" | "pip3" => (a.first()?.text == "install").then(|| &a[1..]),
        "uv" if a.first()?.text == "pip" => (a.get(1)?.text == "install").then(|| &a[2..]),
        _ => None,
    }
}

/// Whether a command installs the application's dependencies from a requirements file, a
/// lock file or the project itself (`pip install -r`, `pip install .`, `-e .`,
/// `poetry install`, `uv sync`, `pipenv install`, `pdm install`).
pub fn installs_dependencies(l: &Launcher) -> bool {
    let Some(prog) = l.program() else {
        return false;
    };
    let a = l.args();
    let first = a.first().map(|t| t.text.as_str());
    match prog.as_str() {
        "poetry" | "pipenv" | "pdm" => first == Some("install") || first == Some("sync"),
        "uv" if first == Some("sync") => true,
        // `… | uv pip install --requirement -` installs what the bootstrap printed: not the app.
        _ => pip_install_args(l).is_some_and(|rest| {
            !rest
                .iter()
                .any(|t| t.text == "-" || t.text == "--requirement=-")
                && rest.iter().any(is_project_or_requirements)
        }),
    }
}

/// `-r`, `--requirement`, `-e`, `.`, paths, requirement/lock files, `-c` constraints.
pub fn is_project_or_requirements(t: &Token) -> bool {
    let s = t.text.as_str();
    s == "-r"
        || s.starts_with("--requirement")
        || s.starts_with("-r") && !s.starts_with("--")
        || s == "-e"
        || s == "--editable"
        || s == "."
        || s.starts_with("./")
        || s.starts_with('/')
        || s.ends_with(".txt")
        || s.ends_with(".whl")
        || s.ends_with(".toml")
        || s.ends_with(".lock")
        || s.starts_with(".[")
        || t.dynamic
}

/// Whether the file's commands install an OpenTelemetry distro: `Some(true)` when some
/// `pip install` list names one; `Some(false)` when every Python package is installed by
/// explicit `pip install <pkg…>` lists and none is a distro (no requirements, lock files,
/// project installs or other package managers: OTEL052's case); `None` when it cannot tell
/// (nothing installed here, or packages come from files whose contents are not seen).
///
/// Walks every launcher: ask [`LaunchFacts::distro_installed`], which answers once per file.
pub(super) fn distro_installed(facts: &LaunchFacts) -> Option<bool> {
    let installs: Vec<&[Token]> = facts
        .launchers
        .iter()
        .filter_map(pip_install_args)
        .collect();
    let named = installs.iter().any(|a| {
        a.iter()
            .any(|t| !t.text.starts_with('-') && is_distro(&t.text))
    });
    if named {
        return Some(true);
    }
    let other = facts.launchers.iter().any(installs_dependencies)
        || facts.launchers.iter().any(|l| {
            l.program()
                .as_deref()
                .is_some_and(|p| matches!(p, "poetry" | "pipenv" | "pdm" | "conda" | "mamba"))
        });
    (!installs.is_empty() && !other).then_some(false)
}

/// Settings that make `opentelemetry-instrument` (or `initialize()`) configure the SDK, or
/// show that a configurator is expected: the exporters, the configurator and the distro.
pub const AUTO_CONFIG_VARS: &[&str] = &[
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_PYTHON_CONFIGURATOR",
    "OTEL_PYTHON_DISTRO",
];

/// Distribution packages that provide an OpenTelemetry configurator ("distro").
pub fn is_distro(pkg: &str) -> bool {
    let name = pkg
        .split(['[', '=', '<', '>', '~', '!', ';', ' ', '@'])
        .next()
        .unwrap_or("")
        .trim_matches(['"', '\''])
        .to_ascii_lowercase()
        .replace('_', "-");
    matches!(
        name.as_str(),
        "opentelemetry-distro"
            | "aws-opentelemetry-distro"
            | "splunk-opentelemetry"
            | "elastic-opentelemetry"
            | "hyperdx-opentelemetry"
            | "azure-monitor-opentelemetry"
            | "azure-monitor-opentelemetry-distro"
            | "honeycomb-opentelemetry"
            | "lumigo-opentelemetry"
            | "uptrace"
            | "logfire"
            | "sentry-sdk"
    ) || (name.contains("opentelemetry") && name.contains("distro"))
}

/// Whether a command is uv managing Python: `uv sync`/`uv pip`/`uv venv`/`uv add`/`uv run`,
/// or a command run through `uv run`.
pub fn is_uv_command(l: &Launcher) -> bool {
    l.uv_run
        || (l.program().as_deref() == Some("uv")
            && l.args().first().is_some_and(|a| {
                matches!(
                    a.text.as_str(),
                    "sync" | "pip" | "venv" | "add" | "run" | "lock"
                )
            }))
}

/// Whether the environment a command runs in is managed by uv: for a CI step, its job uses
/// uv (a uv command, or a step `uses: astral-sh/setup-uv`); otherwise the whole file does.
pub fn uv_managed_for(facts: &LaunchFacts, l: &Launcher) -> bool {
    if l.kind != LaunchKind::Ci {
        return uv_managed(facts);
    }
    let mut cur = Some(l.scope);
    let mut guard = 0;
    while let Some(s) = cur {
        let Some(sc) = facts.scopes.get(s) else {
            break;
        };
        if sc.kind == ScopeKind::Service {
            return facts.uv_setup.contains(&s) || facts.launchers_in(s).any(is_uv_command);
        }
        cur = sc.parent;
        guard += 1;
        if guard > 64 {
            break;
        }
    }
    false
}

/// Whether the file manages Python with uv: `uv sync`/`uv pip`/`uv venv`/`uv add`/`uv run`,
/// a command run through `uv run`, or a copied `uv.lock` / uv binary.
pub fn uv_managed(facts: &LaunchFacts) -> bool {
    facts.launchers.iter().any(is_uv_command)
        || facts.copies.iter().any(|c| {
            c.words
                .iter()
                .any(|w| w.text.contains("uv.lock") || w.text.contains("astral-sh/uv"))
        })
}

/// Whether a text mentions a vendor OpenTelemetry distro whose configurator may default to
/// another OTLP protocol than opentelemetry-distro's `grpc`. Asked of every file and
/// document read: the searchers are built once.
pub fn mentions_vendor_distro(text: &str) -> bool {
    static FINDERS: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::OnceLock::new();
    FINDERS
        .get_or_init(|| {
            [
                "aws-opentelemetry-distro",
                "hyperdx",
                "splunk-opentelemetry",
                "elastic-opentelemetry",
                "azure-monitor-opentelemetry",
                "honeycomb",
                "lumigo",
                "uptrace",
                "logfire",
            ]
            .iter()
            .map(|d| memchr::memmem::Finder::new(d.as_bytes()))
            .collect()
        })
        .iter()
        .any(|f| f.find(text.as_bytes()).is_some())
}
