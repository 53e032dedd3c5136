//! Configuration: which rules run, at what severity, which paths are skipped.
//!
//! Read from `[tool.otel-lsp]` in `pyproject.toml` or from `otel-lsp.toml` (which wins when
//! both exist in one folder), found in the nearest ancestor folder of each checked file, and
//! from editor settings. Pure parsing lives here; finding the files is the caller's job.

use crate::diagnostic::Severity;
use crate::rules;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Rule selection and severities: what the engine needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Only these codes, code prefixes or names (`None` = all rules).
    pub select: Option<Vec<String>>,
    /// Never these codes, prefixes or names.
    pub ignore: Vec<String>,
    /// Severity overrides by code.
    pub severity: BTreeMap<String, Severity>,
}

fn selector_matches(sel: &str, code: &str, name: &str) -> bool {
    let sel = sel.trim();
    sel.eq_ignore_ascii_case("ALL")
        || sel == name
        || (!sel.is_empty()
            && code.len() >= sel.len()
            && code[..sel.len()].eq_ignore_ascii_case(sel))
}

impl Settings {
    /// Whether the rule runs.
    pub fn is_enabled(&self, code: &str, name: &str) -> bool {
        let selected = self
            .select
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| selector_matches(x, code, name)));
        selected && !self.ignore.iter().any(|x| selector_matches(x, code, name))
    }

    /// The configured severity of a rule, if overridden.
    pub fn severity_of(&self, code: &str) -> Option<Severity> {
        self.severity.get(code).copied()
    }

    /// Layers command-line flags over a configuration file's settings, as ruff does: a
    /// `--select` starts the selection afresh (the file's `select` and `ignore` no longer
    /// apply), `--ignore` adds to the file's, severities stay the file's.
    pub fn overlay_flags(&mut self, flags: &Settings) {
        if flags.select.is_some() {
            self.ignore.clear();
        }
        self.overlay(flags);
    }

    /// Layers `other` (e.g. command-line flags or editor settings) over `self`: a given
    /// `select` replaces, `ignore` and `severity` add up.
    pub fn overlay(&mut self, other: &Settings) {
        if other.select.is_some() {
            self.select = other.select.clone();
        }
        self.ignore.extend(other.ignore.iter().cloned());
        for (k, v) in &other.severity {
            self.severity.insert(k.clone(), *v);
        }
    }
}

/// A project configuration file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Rule settings.
    pub settings: Settings,
    /// Glob patterns (relative to the config file's folder) of paths not to check.
    pub exclude: Vec<String>,
    /// The file it came from.
    pub source: Option<PathBuf>,
}

/// A configuration error that names the file and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file.
    pub path: PathBuf,
    /// What is wrong, naming the key.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    select: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    severity: Option<BTreeMap<String, String>>,
    exclude: Option<Vec<String>>,
}

/// Names of the files that configure a folder, in priority order.
pub const CONFIG_FILES: &[&str] = &["otel-lsp.toml", "pyproject.toml"];

/// Validates raw settings (codes exist, severities parse) into `Settings`.
fn validate(raw: RawConfig, path: &Path, key_prefix: &str) -> Result<Config, ConfigError> {
    let err = |message: String| ConfigError {
        path: path.to_path_buf(),
        message,
    };
    let known = |sel: &str| {
        rules::ALL
            .iter()
            .any(|r| selector_matches(sel, r.code, r.name))
    };
    for (key, list) in [("select", &raw.select), ("ignore", &raw.ignore)] {
        for sel in list.iter().flatten() {
            if !known(sel) {
                return Err(err(format!(
                    "`{key_prefix}{key}`: `{sel}` matches no rule (see `otel-lsp rules`)"
                )));
            }
        }
    }
    let mut severity = BTreeMap::new();
    for (code, sev) in raw.severity.unwrap_or_default() {
        let Some(rule) = rules::by_code(&code) else {
            return Err(err(format!("`{key_prefix}severity.{code}`: no such rule")));
        };
        let Some(s) = Severity::parse(&sev) else {
            return Err(err(format!(
                "`{key_prefix}severity.{code}`: `{sev}` is not one of error, warning, info, hint"
            )));
        };
        severity.insert(rule.code.to_string(), s);
    }
    for g in raw.exclude.iter().flatten() {
        if let Err(e) = globset::Glob::new(g) {
            return Err(err(format!(
                "`{key_prefix}exclude`: `{g}` is not a valid glob: {e}"
            )));
        }
    }
    Ok(Config {
        settings: Settings {
            select: raw.select,
            ignore: raw.ignore.unwrap_or_default(),
            severity,
        },
        exclude: raw.exclude.unwrap_or_default(),
        source: Some(path.to_path_buf()),
    })
}

/// Parses a configuration file's text. `Ok(None)` for a `pyproject.toml` without a
/// `[tool.otel-lsp]` table (it does not configure otel-lsp).
pub fn parse(path: &Path, text: &str) -> Result<Option<Config>, ConfigError> {
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let value: toml::Value = toml::from_str(text).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        message: format!("invalid TOML: {}", e.message()),
    })?;
    let (table, prefix) = if is_pyproject {
        match value.get("tool").and_then(|t| t.get("otel-lsp")) {
            Some(t) => (t.clone(), "tool.otel-lsp."),
            None => return Ok(None),
        }
    } else {
        (value, "")
    };
    let raw: RawConfig = table.try_into().map_err(|e: toml::de::Error| ConfigError {
        path: path.to_path_buf(),
        message: format!("`{prefix}`: {}", e.message()),
    })?;
    validate(raw, path, prefix).map(Some)
}

/// Reads settings given as JSON (LSP `initializationOptions` / `didChangeConfiguration`):
/// `{"select": [...], "ignore": [...], "severity": {"OTEL003": "warning"}}`, optionally
/// nested under `"otel-lsp"`. Unknown codes are reported, not fatal.
pub fn settings_from_json(value: &serde_json::Value) -> (Settings, Vec<String>) {
    let v = value.get("otel-lsp").unwrap_or(value);
    let mut problems = Vec::new();
    let list = |key: &str, problems: &mut Vec<String>| -> Option<Vec<String>> {
        let arr = v.get(key)?.as_array()?;
        let mut out = Vec::new();
        for x in arr {
            match x.as_str() {
                Some(s)
                    if rules::ALL
                        .iter()
                        .any(|r| selector_matches(s, r.code, r.name)) =>
                {
                    out.push(s.to_string())
                }
                Some(s) => problems.push(format!("`{key}`: `{s}` matches no rule")),
                None => problems.push(format!("`{key}`: expected strings")),
            }
        }
        Some(out)
    };
    let select = list("select", &mut problems).filter(|s| !s.is_empty());
    let ignore = list("ignore", &mut problems).unwrap_or_default();
    let mut severity = BTreeMap::new();
    if let Some(map) = v.get("severity").and_then(|s| s.as_object()) {
        for (code, sev) in map {
            match (rules::by_code(code), sev.as_str().and_then(Severity::parse)) {
                (Some(r), Some(s)) => {
                    severity.insert(r.code.to_string(), s);
                }
                (None, _) => problems.push(format!("`severity.{code}`: no such rule")),
                (_, None) => problems.push(format!(
                    "`severity.{code}`: expected error, warning, info or hint"
                )),
            }
        }
    }
    (
        Settings {
            select,
            ignore,
            severity,
        },
        problems,
    )
}

/// Reads the configuration of one folder, without looking at its ancestors: its
/// `otel-lsp.toml`, else its `pyproject.toml` when that has a `[tool.otel-lsp]` table.
/// A missing file is not an error; an unreadable or invalid one is, naming the file.
pub fn load_dir(dir: &Path) -> Result<Option<Config>, ConfigError> {
    for name in CONFIG_FILES {
        let p = dir.join(name);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ConfigError {
                    path: p,
                    message: format!("cannot read: {e}"),
                })
            }
        };
        if let Some(c) = parse(&p, &text)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Reads a configuration file named explicitly (`check --config`). A `pyproject.toml`
/// without `[tool.otel-lsp]` gives the defaults.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    Ok(parse(path, &text)?.unwrap_or_else(|| Config {
        source: Some(path.to_path_buf()),
        ..Config::default()
    }))
}

/// Finds and parses the configuration governing `dir`: the nearest ancestor with an
/// `otel-lsp.toml` or a `pyproject.toml` carrying `[tool.otel-lsp]`. The nearest file
/// applies alone: configurations are not merged.
pub fn discover(dir: &Path) -> Result<Option<Config>, ConfigError> {
    for folder in dir.ancestors() {
        if let Some(c) = load_dir(folder)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Checks rule selectors given outside a file (command-line flags): each must match a rule.
pub fn check_selectors(flag: &str, selectors: &[String]) -> Result<(), String> {
    for sel in selectors {
        if !rules::ALL
            .iter()
            .any(|r| selector_matches(sel, r.code, r.name))
        {
            return Err(format!(
                "{flag}: `{sel}` matches no rule (see `otel-lsp rules`)"
            ));
        }
    }
    Ok(())
}

impl Config {
    /// The folder the configuration file is in: `exclude` patterns are relative to it.
    pub fn root(&self) -> Option<&Path> {
        self.source.as_deref().and_then(Path::parent)
    }
}

/// Compiled `exclude` patterns of one configuration, matched like `.gitignore` lines: a
/// pattern without `/` matches a file or folder name at any depth (`*.gen.py`, `vendor`);
/// a pattern with `/` matches the path relative to the configuration's folder, where `*`
/// stays within one path component and `**` crosses them (`tests/fixtures/**`). A folder
/// that matches excludes everything below it.
#[derive(Debug, Clone)]
pub struct Exclude {
    root: PathBuf,
    names: globset::GlobSet,
    paths: globset::GlobSet,
}

impl Exclude {
    /// Compiles the patterns of `config`; `None` when it has none or no folder.
    pub fn new(config: &Config) -> Result<Option<Exclude>, ConfigError> {
        let Some(root) = config.root() else {
            return Ok(None);
        };
        if config.exclude.is_empty() {
            return Ok(None);
        }
        let mut names = globset::GlobSetBuilder::new();
        let mut paths = globset::GlobSetBuilder::new();
        for pat in &config.exclude {
            let trimmed = pat.trim_start_matches("./").trim_end_matches('/');
            let glob = globset::GlobBuilder::new(trimmed.trim_start_matches('/'))
                .literal_separator(true)
                .build()
                .map_err(|e| ConfigError {
                    path: config.source.clone().unwrap_or_default(),
                    message: format!("`exclude`: `{pat}` is not a valid glob: {e}"),
                })?;
            if trimmed.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: globset::GlobSetBuilder| {
            b.build().map_err(|e| ConfigError {
                path: config.source.clone().unwrap_or_default(),
                message: format!("`exclude`: {e}"),
            })
        };
        Ok(Some(Exclude {
            root: root.to_path_buf(),
            names: build(names)?,
            paths: build(paths)?,
        }))
    }

    /// Whether `path` itself (absolute, normalised) matches a pattern. Paths outside the
    /// configuration's folder never do.
    pub fn matches(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        if rel.as_os_str().is_empty() {
            return false;
        }
        let name_hit = rel.file_name().is_some_and(|n| self.names.is_match(n));
        name_hit || self.paths.is_match(rel)
    }

    /// Whether `path` or one of its folders below the configuration's folder matches.
    pub fn excludes(&self, path: &Path) -> bool {
        path.ancestors()
            .take_while(|a| a.starts_with(&self.root))
            .any(|a| self.matches(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pyproject_and_names_bad_keys() {
        let p = Path::new("pyproject.toml");
        assert_eq!(parse(p, "[project]\nname='x'\n").unwrap(), None);
        let c = parse(
            p,
            "[tool.otel-lsp]\nselect=['OTEL0']\nignore=['OTEL002']\nseverity={OTEL003='warning'}\nexclude=['vendor/**']\n",
        )
        .unwrap()
        .unwrap();
        assert!(c.settings.is_enabled("OTEL001", "flask-debug-reloader"));
        assert!(!c.settings.is_enabled("OTEL002", "x"));
        assert_eq!(c.settings.severity_of("OTEL003"), Some(Severity::Warning));
        let e = parse(p, "[tool.otel-lsp]\nseverity={OTEL003='loud'}\n").unwrap_err();
        assert!(e.message.contains("tool.otel-lsp.severity.OTEL003"), "{e}");
        let e = parse(p, "[tool.otel-lsp]\nselct=['OTEL001']\n").unwrap_err();
        assert!(e.message.contains("selct"), "{e}");
        let e = parse(Path::new("otel-lsp.toml"), "select=['NOPE9']\n").unwrap_err();
        assert!(
            e.message.contains("`select`") && e.message.contains("NOPE9"),
            "{e}"
        );
    }

    #[test]
    fn exclude_patterns_match_like_gitignore() {
        let c = parse(
            Path::new("/p/otel-lsp.toml"),
            "exclude=['vendor', '*.gen.py', 'tests/fixtures/**', './build/']\n",
        )
        .unwrap()
        .unwrap();
        let ex = Exclude::new(&c).unwrap().unwrap();
        assert!(ex.matches(Path::new("/p/vendor")));
        assert!(ex.matches(Path::new("/p/a/vendor")));
        assert!(ex.excludes(Path::new("/p/a/vendor/x.py")));
        assert!(ex.matches(Path::new("/p/a/b.gen.py")));
        assert!(ex.matches(Path::new("/p/tests/fixtures/a/b.py")));
        assert!(!ex.matches(Path::new("/p/x/tests/fixtures/a.py")));
        assert!(ex.excludes(Path::new("/p/build/app.py")));
        assert!(!ex.excludes(Path::new("/p/app.py")));
        assert!(!ex.excludes(Path::new("/elsewhere/vendor/app.py")));
        assert!(!ex.matches(Path::new("/p")));
    }

    #[test]
    fn command_line_select_starts_afresh() {
        let mut file = Settings {
            select: Some(vec!["OTEL00".into()]),
            ignore: vec!["OTEL001".into()],
            ..Settings::default()
        };
        let mut ignored = file.clone();
        ignored.overlay_flags(&Settings {
            ignore: vec!["OTEL002".into()],
            ..Settings::default()
        });
        assert!(!ignored.is_enabled("OTEL001", "flask-debug-reloader"));
        assert!(!ignored.is_enabled("OTEL002", "x"));
        assert!(ignored.is_enabled("OTEL003", "x"));
        file.overlay_flags(&Settings {
            select: Some(vec!["OTEL001".into()]),
            ..Settings::default()
        });
        assert!(file.is_enabled("OTEL001", "flask-debug-reloader"));
        assert!(!file.is_enabled("OTEL003", "x"));
    }

    #[test]
    fn cli_selectors_are_checked() {
        assert!(check_selectors(
            "--select",
            &["OTEL001".into(), "flask-debug-reloader".into()]
        )
        .is_ok());
        let e = check_selectors("--ignore", &["OTEL9".into()]).unwrap_err();
        assert!(e.contains("--ignore") && e.contains("OTEL9"), "{e}");
    }

    #[test]
    fn json_settings() {
        let v = serde_json::json!({"otel-lsp": {"ignore": ["OTEL001", "BOGUS"], "severity": {"OTEL005": "info"}}});
        let (s, problems) = settings_from_json(&v);
        assert!(!s.is_enabled("OTEL001", "flask-debug-reloader"));
        assert_eq!(s.severity_of("OTEL005"), Some(Severity::Info));
        assert_eq!(problems.len(), 1);
    }
}
