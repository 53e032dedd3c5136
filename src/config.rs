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

/// Finds and parses the configuration governing `dir`: the nearest ancestor with an
/// `otel-lsp.toml` or a `pyproject.toml` carrying `[tool.otel-lsp]`. This is the only
/// function here that reads files.
pub fn discover(dir: &Path) -> Result<Option<Config>, ConfigError> {
    for folder in dir.ancestors() {
        for name in CONFIG_FILES {
            let p = folder.join(name);
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            if let Some(c) = parse(&p, &text)? {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
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
    fn json_settings() {
        let v = serde_json::json!({"otel-lsp": {"ignore": ["OTEL001", "BOGUS"], "severity": {"OTEL005": "info"}}});
        let (s, problems) = settings_from_json(&v);
        assert!(!s.is_enabled("OTEL001", "flask-debug-reloader"));
        assert_eq!(s.severity_of("OTEL005"), Some(Severity::Info));
        assert_eq!(problems.len(), 1);
    }
}
