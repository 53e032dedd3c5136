//! Project configuration as the server sees it: the same files as the CLI (`otel-lsp.toml`,
//! `pyproject.toml` `[tool.otel-lsp]`, nearest ancestor wins), cached per folder, with the
//! editor's settings layered on top. A broken file never stops linting: it is reported once
//! and the defaults apply until it is fixed.

use otel_lsp::config::{self, Config, ConfigError, Exclude, Settings};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A parsed configuration file with its exclude patterns compiled.
#[derive(Debug)]
pub struct Project {
    /// The file's contents.
    pub config: Config,
    exclude: Option<Exclude>,
}

impl Project {
    fn new(config: Config) -> Result<Self, ConfigError> {
        let exclude = Exclude::new(&config)?;
        Ok(Project { config, exclude })
    }

    /// Whether the file (absolute) is excluded by the configuration's `exclude` patterns:
    /// the CLI's matcher ([`Exclude`]), so a file the CLI skips is skipped here too.
    pub fn excludes(&self, path: &Path) -> bool {
        self.exclude.as_ref().is_some_and(|e| e.excludes(path))
    }
}

/// The discovered configuration of each folder asked about.
#[derive(Debug, Default)]
pub struct Projects {
    by_dir: HashMap<PathBuf, Result<Option<Arc<Project>>, ConfigError>>,
}

impl Projects {
    /// The configuration governing files in `dir` (read from disk once, then cached).
    pub fn for_dir(&mut self, dir: &Path) -> &Result<Option<Arc<Project>>, ConfigError> {
        self.by_dir
            .entry(dir.to_path_buf())
            .or_insert_with(|| match config::discover(dir) {
                Ok(Some(c)) => Project::new(c).map(|p| Some(Arc::new(p))),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            })
    }

    /// Forgets everything (a configuration file changed on disk).
    pub fn clear(&mut self) {
        self.by_dir.clear();
    }

    /// The configuration errors currently in effect, one per file.
    pub fn errors(&self) -> HashMap<PathBuf, String> {
        self.by_dir
            .values()
            .filter_map(|r| r.as_ref().err())
            .map(|e| (e.path.clone(), e.message.clone()))
            .collect()
    }
}

/// What the engine gets for one file: the settings, or `None` when the file is excluded.
pub fn settings_for(
    projects: &mut Projects,
    path: Option<&Path>,
    fallback_dir: Option<&Path>,
    editor: &Settings,
) -> Option<Settings> {
    let dir = path.and_then(Path::parent).or(fallback_dir);
    let project = dir.and_then(|d| projects.for_dir(d).as_ref().ok().cloned().flatten());
    let mut settings = Settings::default();
    if let Some(p) = &project {
        if path.is_some_and(|path| p.excludes(path)) {
            return None;
        }
        settings = p.config.settings.clone();
    }
    settings.overlay(editor);
    Some(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_config_excludes_and_editor_overlay() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.otel-lsp]\nignore = ['OTEL002']\nexclude = ['vendor/**', '*.gen.py']\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("vendor/x")).unwrap();
        let mut projects = Projects::default();
        let editor = Settings {
            ignore: vec!["OTEL003".into()],
            ..Settings::default()
        };
        let app = root.join("app.py");
        let s = settings_for(&mut projects, Some(&app), None, &editor).unwrap();
        assert!(!s.is_enabled("OTEL002", ""));
        assert!(!s.is_enabled("OTEL003", ""));
        assert!(s.is_enabled("OTEL001", ""));
        let vendored = root.join("vendor/x/lib.py");
        assert_eq!(
            settings_for(&mut projects, Some(&vendored), None, &editor),
            None
        );
        // A pattern without `/` matches a name at any depth, as in the CLI.
        let generated = root.join("pkg/api.gen.py");
        assert_eq!(
            settings_for(&mut projects, Some(&generated), None, &editor),
            None
        );

        std::fs::write(root.join("otel-lsp.toml"), "select = [").unwrap();
        projects.clear();
        let s = settings_for(&mut projects, Some(&app), None, &editor).unwrap();
        assert!(
            s.is_enabled("OTEL002", ""),
            "a broken file falls back to defaults"
        );
        let errors = projects.errors();
        assert_eq!(errors.len(), 1);
        assert!(errors.contains_key(&root.join("otel-lsp.toml")));
    }
}
