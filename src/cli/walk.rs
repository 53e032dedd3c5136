//! Which files `check` reads, and under which configuration.
//!
//! Folders are walked in parallel with the `ignore` crate: `.gitignore` (also outside a Git
//! repository), `.ignore` and Git's global excludes are honoured, hidden files and folders
//! are skipped (but for `.env*`, `.gitlab-ci.yml` and `.github/workflows/`, which hold
//! launchers and their environment), and so are a few folders that never hold the user's own code
//! ([`DEFAULT_EXCLUDES`]). Each file is governed by the configuration of its nearest ancestor
//! folder that has one (looked up once per folder and cached); that configuration's `exclude`
//! patterns prune the walk.
//!
//! A path named on the command line is always checked, even when excluded or ignored — unless
//! `--force-exclude` is given, which is what pre-commit hooks want. Symbolic links to files
//! are followed; symbolic links to folders are not (no cycles, no escaping the tree).

use ignore::{WalkBuilder, WalkState};
use otel_lsp::config::{self, Config, ConfigError, Exclude, Settings};
use otel_lsp::language::Language;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Folder names never descended into: virtual environments, vendored packages and caches.
/// Hidden folders (`.venv`, `.git`, `.tox`) are skipped anyway.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    "node_modules",
    "venv",
    "site-packages",
    "__pycache__",
    "__pypackages__",
];

/// The configuration governing a folder, ready for use.
#[derive(Debug)]
pub struct Scope {
    /// The file's rule settings with the command-line flags laid over them.
    pub settings: Settings,
    /// The file's compiled `exclude` patterns.
    exclude: Option<Exclude>,
}

impl Scope {
    fn new(config: Config, cli: &Settings) -> Result<Scope, ConfigError> {
        let exclude = Exclude::new(&config)?;
        let mut settings = config.settings;
        settings.overlay_flags(cli);
        Ok(Scope { settings, exclude })
    }

    /// Whether the file or folder `abs` (absolute, normalised) is excluded by name or by a
    /// pattern; its ancestors are not consulted (the walk has pruned them already).
    fn excludes_entry(&self, abs: &Path) -> bool {
        let by_name = abs
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| DEFAULT_EXCLUDES.contains(&n));
        by_name || self.exclude.as_ref().is_some_and(|e| e.matches(abs))
    }

    /// Whether a named path or a folder above it is excluded (for `--force-exclude`). Folder
    /// names are looked for only in the path as shown (below the working directory), so a
    /// project that itself lives under some `venv/` is not excluded wholesale.
    pub fn excludes_named(&self, abs: &Path, shown: &Path) -> bool {
        let by_name = shown.components().any(|c| match c {
            Component::Normal(n) => n.to_str().is_some_and(|n| DEFAULT_EXCLUDES.contains(&n)),
            _ => false,
        });
        by_name || self.exclude.as_ref().is_some_and(|e| e.excludes(abs))
    }
}

/// Finds and caches the [`Scope`] of each folder.
pub struct Scopes {
    cli: Settings,
    forced: Option<Arc<Scope>>,
    default: Arc<Scope>,
    cache: Mutex<HashMap<PathBuf, Arc<Scope>>>,
}

impl Scopes {
    /// Scopes from discovered files, or from `forced` (`--config`) for every file.
    pub fn new(cli: Settings, forced: Option<Config>) -> Result<Scopes, ConfigError> {
        let forced = match forced {
            Some(c) => Some(Arc::new(Scope::new(c, &cli)?)),
            None => None,
        };
        let default = Arc::new(Scope::new(Config::default(), &cli)?);
        Ok(Scopes {
            cli,
            forced,
            default,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<PathBuf, Arc<Scope>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scope of the absolute folder `dir`: its nearest configured ancestor's.
    pub fn for_dir(&self, dir: &Path) -> Result<Arc<Scope>, ConfigError> {
        if let Some(f) = &self.forced {
            return Ok(f.clone());
        }
        let mut missed = Vec::new();
        let mut found = None;
        for d in dir.ancestors() {
            if let Some(s) = self.cache().get(d) {
                found = Some(s.clone());
                break;
            }
            missed.push(d);
            if let Some(c) = config::load_dir(d)? {
                found = Some(Arc::new(Scope::new(c, &self.cli)?));
                break;
            }
        }
        let scope = found.unwrap_or_else(|| self.default.clone());
        let mut cache = self.cache();
        for d in missed {
            cache.insert(d.to_path_buf(), scope.clone());
        }
        Ok(scope)
    }
}

/// A file to check.
#[derive(Debug, Clone)]
pub struct Target {
    /// The path as shown to the user (relative to the working directory when inside it).
    pub path: PathBuf,
    /// The absolute, lexically normalised path.
    pub abs: PathBuf,
    /// Its language, from the extension.
    pub lang: Language,
    /// The configuration governing it.
    pub scope: Arc<Scope>,
}

/// What the walk found.
#[derive(Default)]
pub struct Found {
    /// The files to check, sorted by path, each once.
    pub targets: Vec<Target>,
    /// Files skipped with a reason (broken symbolic links, unreadable folders, …).
    pub warnings: Vec<String>,
    /// Fatal problems: a named path that does not exist, a bad configuration file.
    pub errors: Vec<String>,
}

/// Removes `.` components and resolves `..` against the preceding component, without
/// touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// The path as the user would type it: relative to `cwd` when inside it, else as given.
pub fn display_path(path: &Path, cwd: &Path) -> PathBuf {
    let p = if path.is_absolute() {
        let n = normalize(path);
        match n.strip_prefix(cwd) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => n,
        }
    } else {
        normalize(path)
    };
    if p.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        p
    }
}

/// The absolute, normalised form of `path`.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    normalize(&cwd.join(path))
}

/// A configuration error, its file shown as the user would type it.
pub fn config_error(e: &ConfigError, cwd: &Path) -> String {
    format!("{}: {}", display_path(&e.path, cwd).display(), e.message)
}

pub const NOT_OURS: &str =
    "not a file kind otel-lsp reads (Python, YAML, Dockerfile, shell, Procfile, uWSGI ini, Makefile, .env)";

/// Shared state of one walk.
struct Collector<'a> {
    cwd: &'a Path,
    scopes: &'a Scopes,
    targets: Mutex<Vec<Target>>,
    warnings: Mutex<Vec<String>>,
    errors: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Collector<'_> {
    fn warn(&self, msg: String) {
        lock(&self.warnings).push(msg);
    }

    fn scope_of(&self, abs: &Path) -> Option<Arc<Scope>> {
        let dir = abs.parent().unwrap_or(abs);
        match self.scopes.for_dir(dir) {
            Ok(s) => Some(s),
            Err(e) => {
                let mut errors = lock(&self.errors);
                let msg = config_error(&e, self.cwd);
                if !errors.contains(&msg) {
                    errors.push(msg);
                }
                None
            }
        }
    }

    fn push(&self, path: &Path, abs: PathBuf, lang: Language, scope: Arc<Scope>) {
        lock(&self.targets).push(Target {
            path: display_path(path, self.cwd),
            abs,
            lang,
            scope,
        });
    }

    /// A regular file, or a symbolic link to one, found by the walk or named by the user.
    fn file(&self, path: &Path, abs: PathBuf, lang: Language, scope: Arc<Scope>) {
        match std::fs::metadata(path) {
            Ok(md) if md.is_file() => self.push(path, abs, lang, scope),
            Ok(md) if md.is_dir() => {}
            Ok(_) => self.warn(format!(
                "skipping {}: not a regular file",
                display_path(path, self.cwd).display()
            )),
            Err(e) => {
                let shown = display_path(path, self.cwd);
                let broken = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
                if broken {
                    self.warn(format!(
                        "skipping {}: broken symbolic link ({e})",
                        shown.display()
                    ));
                } else {
                    self.warn(format!("skipping {}: {e}", shown.display()));
                }
            }
        }
    }

    /// One entry of the walk below a named folder. Returns whether to descend into it.
    fn entry(&self, entry: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                self.warn(format!("skipping {e}"));
                return WalkState::Continue;
            }
        };
        if entry.depth() == 0 {
            // A folder named on the command line: already vetted.
            return WalkState::Continue;
        }
        let Some(ft) = entry.file_type() else {
            return WalkState::Continue;
        };
        let path = entry.path();
        let abs = absolute(path, self.cwd);
        if ft.is_dir() {
            let Some(scope) = self.scope_of(&abs) else {
                return WalkState::Quit;
            };
            return if scope.excludes_entry(&abs) {
                WalkState::Skip
            } else {
                WalkState::Continue
            };
        }
        let Some(lang) = Language::from_path(path) else {
            return WalkState::Continue;
        };
        let Some(scope) = self.scope_of(&abs) else {
            return WalkState::Quit;
        };
        if scope.excludes_entry(&abs) {
            return WalkState::Continue;
        }
        if ft.is_file() || ft.is_symlink() {
            self.file(path, abs, lang, scope);
        } else {
            self.warn(format!(
                "skipping {}: not a regular file",
                display_path(path, self.cwd).display()
            ));
        }
        WalkState::Continue
    }
}

/// Expands the command-line paths into the files to check.
pub fn collect(paths: &[PathBuf], cwd: &Path, scopes: &Scopes, force_exclude: bool) -> Found {
    let c = Collector {
        cwd,
        scopes,
        targets: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
    };
    let mut dirs = Vec::new();
    for p in paths {
        let abs = absolute(p, cwd);
        if std::fs::symlink_metadata(p).is_err() {
            let e = std::fs::metadata(p).err();
            let why = e.map_or_else(|| "cannot be read".to_string(), |e| e.to_string());
            lock(&c.errors).push(format!("{}: {why}", p.display()));
            continue;
        }
        let Some(scope) = c.scope_of(&abs) else {
            continue;
        };
        if force_exclude && scope.excludes_named(&abs, &display_path(p, cwd)) {
            continue;
        }
        if std::fs::metadata(p).is_ok_and(|m| m.is_dir()) {
            dirs.push(p.clone());
            continue;
        }
        match Language::from_path(p) {
            Some(lang) => c.file(p, abs, lang, scope),
            None => c.warn(format!(
                "skipping {}: {NOT_OURS}",
                display_path(p, cwd).display()
            )),
        }
    }
    if lock(&c.errors).is_empty() {
        if let Some((first, rest)) = dirs.split_first() {
            let mut builder = WalkBuilder::new(first);
            for d in rest {
                builder.add(d);
            }
            builder
                .hidden(false)
                .filter_entry(visible)
                .git_ignore(true)
                .git_global(true)
                .git_exclude(true)
                .ignore(true)
                .parents(true)
                .require_git(false)
                .follow_links(false);
            builder
                .build_parallel()
                .run(|| Box::new(|entry| c.entry(entry)));
        }
    }
    let mut targets = c.targets.into_inner().unwrap_or_else(|e| e.into_inner());
    targets.sort_by(|a, b| a.path.cmp(&b.path));
    let mut seen = HashSet::new();
    targets.retain(|t| seen.insert(t.abs.clone()));
    let mut warnings = c.warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    warnings.sort();
    warnings.dedup();
    Found {
        targets,
        warnings,
        errors: c.errors.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}

/// Hidden files and folders are skipped, except the ones that hold launchers or their
/// environment: `.env` / `.env.*` files, `.gitlab-ci.yml`, and `.github/workflows/`.
pub(crate) fn visible(entry: &ignore::DirEntry) -> bool {
    if entry.depth() == 0 {
        return true;
    }
    let name = entry.file_name().to_string_lossy();
    let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
    let in_github = entry
        .path()
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == ".github");
    if is_dir && in_github {
        return name == "workflows";
    }
    if !name.starts_with('.') {
        return true;
    }
    if is_dir {
        return name == ".github";
    }
    name == ".env"
        || name.starts_with(".env.")
        || name == ".gitlab-ci.yml"
        || name == ".gitlab-ci.yaml"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_shown_relative() {
        let cwd = Path::new("/work/p");
        assert_eq!(normalize(Path::new("./a/./b/../c.py")), Path::new("a/c.py"));
        assert_eq!(normalize(Path::new("../x/../../y")), Path::new("../../y"));
        assert_eq!(normalize(Path::new("/../a")), Path::new("/a"));
        assert_eq!(
            display_path(Path::new("./src/app.py"), cwd),
            Path::new("src/app.py")
        );
        assert_eq!(
            display_path(Path::new("/work/p/src/app.py"), cwd),
            Path::new("src/app.py")
        );
        assert_eq!(
            display_path(Path::new("/elsewhere/app.py"), cwd),
            Path::new("/elsewhere/app.py")
        );
        assert_eq!(display_path(Path::new("."), cwd), Path::new("."));
        assert_eq!(
            absolute(Path::new("../q/a.py"), cwd),
            Path::new("/work/q/a.py")
        );
    }
}
