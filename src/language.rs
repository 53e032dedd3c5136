//! Which grammar and which rules a file gets, from its path or from an LSP `languageId`.

use std::path::Path;

/// The kinds of file otel-lsp reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Python source, including gunicorn config modules.
    Python,
    /// YAML: Kubernetes manifests, Operator CRs, compose files.
    Yaml,
    /// Dockerfiles and Containerfiles (`CMD`, `ENTRYPOINT`, `RUN`, `ENV`, per build stage).
    Dockerfile,
    /// POSIX/bash shell scripts.
    Shell,
    /// Procfiles: `name: command` lines.
    Procfile,
    /// INI files; otel-lsp reads the `[uwsgi]` section of uWSGI configs.
    Ini,
    /// Makefiles: recipe lines are command lines.
    Makefile,
    /// `.env` files (`KEY=value` lines), read by compose `env_file:` and dotenv loaders.
    DotEnv,
}

impl Language {
    /// Every language, in a stable order.
    pub const ALL: &'static [Language] = &[
        Language::Python,
        Language::Yaml,
        Language::Dockerfile,
        Language::Shell,
        Language::Procfile,
        Language::Ini,
        Language::Makefile,
        Language::DotEnv,
    ];

    /// The language of a file, by name; `None` for files otel-lsp does not read.
    ///
    /// Dockerfiles are `Dockerfile`, `Containerfile`, `Dockerfile.<suffix>` and
    /// `<name>.Dockerfile`; Procfiles are `Procfile` and `Procfile.<suffix>`; INI files are
    /// read only when named like a uWSGI config (`uwsgi*.ini`, `*.uwsgi.ini`, `app.ini`);
    /// Makefiles are `Makefile`, `makefile`, `GNUmakefile` and `*.mk`; `.env` files are
    /// `.env`, `.env.<suffix>` (not `.env.yaml` and other known kinds) and `<name>.env`.
    /// Kustomize's extensionless `Kustomization` file is YAML.
    pub fn from_path(path: &Path) -> Option<Language> {
        let name = path.file_name()?.to_str()?;
        if name == "Kustomization" {
            return Some(Language::Yaml);
        }
        let lower = name.to_ascii_lowercase();
        let doc_like = [".md", ".txt", ".rst", ".adoc", ".html"]
            .iter()
            .any(|e| lower.ends_with(e));
        if lower == "dockerfile"
            || lower == "containerfile"
            || ((lower.starts_with("dockerfile.") || lower.starts_with("containerfile."))
                && !doc_like)
            || lower.ends_with(".dockerfile")
            || lower.ends_with(".containerfile")
        {
            return Some(Language::Dockerfile);
        }
        if lower == "procfile" || lower.starts_with("procfile.") || lower.ends_with(".procfile") {
            return Some(Language::Procfile);
        }
        if lower == "makefile" || lower == "gnumakefile" || lower.ends_with(".mk") {
            return Some(Language::Makefile);
        }
        if lower == ".env" || lower.ends_with(".env") {
            return Some(Language::DotEnv);
        }
        if let Some(suffix) = lower.strip_prefix(".env.") {
            const OTHER_KINDS: &[&str] = &[
                "yaml", "yml", "json", "py", "sh", "md", "txt", "rst", "toml", "ini", "js", "ts",
                "j2", "jinja", "tpl", "tmpl", "html", "xml", "cfg", "conf",
            ];
            let other = suffix
                .rsplit('.')
                .next()
                .is_some_and(|x| OTHER_KINDS.contains(&x));
            if !other && !suffix.is_empty() {
                return Some(Language::DotEnv);
            }
        }
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "py" | "pyi" => Some(Language::Python),
            "yaml" | "yml" => Some(Language::Yaml),
            "sh" | "bash" => Some(Language::Shell),
            "ini" if lower.contains("uwsgi") || lower == "app.ini" => Some(Language::Ini),
            _ => None,
        }
    }

    /// The language for an LSP `languageId`, `None` when otel-lsp has nothing to say.
    pub fn from_language_id(id: &str) -> Option<Language> {
        match id {
            "python" => Some(Language::Python),
            "yaml" | "yaml.docker-compose" | "yaml.kubernetes" | "helm" | "dockercompose" => {
                Some(Language::Yaml)
            }
            "dockerfile" | "containerfile" => Some(Language::Dockerfile),
            "shellscript" | "sh" | "bash" => Some(Language::Shell),
            "procfile" => Some(Language::Procfile),
            "ini" => Some(Language::Ini),
            "makefile" | "make" => Some(Language::Makefile),
            "dotenv" | "env" => Some(Language::DotEnv),
            _ => None,
        }
    }

    /// The lower-case name shown in `otel-lsp rules`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Yaml => "yaml",
            Language::Dockerfile => "dockerfile",
            Language::Shell => "shell",
            Language::Procfile => "procfile",
            Language::Ini => "ini",
            Language::Makefile => "makefile",
            Language::DotEnv => "dotenv",
        }
    }

    /// The comment leader a suppression comment starts with.
    pub fn comment_prefix(self) -> &'static str {
        "#"
    }

    /// Whether the file is read by tree-sitter (Python, YAML, shell). Dockerfiles, Procfiles,
    /// INI files, Makefiles and `.env` files are split into instructions/lines by
    /// `crate::launch`, which hands the command lines it finds to the shell grammar; their
    /// chunk tree is an empty shell tree.
    pub fn has_grammar(self) -> bool {
        matches!(self, Language::Python | Language::Yaml | Language::Shell)
    }

    /// Whether files of this kind start processes: their launchers and environment settings
    /// are workspace facts, so they are always summarized (never skipped by the needle
    /// pre-filter).
    pub fn is_launcher_kind(self) -> bool {
        matches!(
            self,
            Language::Dockerfile
                | Language::Shell
                | Language::Procfile
                | Language::Ini
                | Language::Makefile
                | Language::DotEnv
        )
    }

    /// The tree-sitter grammar (bash for the command-line kinds: their queries and chunk
    /// trees speak shell).
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Yaml => tree_sitter_yaml::LANGUAGE.into(),
            Language::Dockerfile
            | Language::Shell
            | Language::Procfile
            | Language::Ini
            | Language::Makefile
            | Language::DotEnv => tree_sitter_bash::LANGUAGE.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension_and_id() {
        assert_eq!(
            Language::from_path(Path::new("a/app.py")),
            Some(Language::Python)
        );
        assert_eq!(
            Language::from_path(Path::new("k8s/x.YML")),
            Some(Language::Yaml)
        );
        assert_eq!(Language::from_path(Path::new("README.md")), None);
        assert_eq!(Language::from_path(Path::new("Makefile.md")), None);
        assert_eq!(Language::from_language_id("python"), Some(Language::Python));
        assert_eq!(Language::from_language_id("rust"), None);
    }

    #[test]
    fn launcher_kinds_by_name_and_id() {
        for (p, l) in [
            ("Dockerfile", Language::Dockerfile),
            ("svc/Dockerfile.prod", Language::Dockerfile),
            ("api.Dockerfile", Language::Dockerfile),
            ("Containerfile", Language::Dockerfile),
            ("scripts/start.sh", Language::Shell),
            ("Procfile", Language::Procfile),
            ("uwsgi.ini", Language::Ini),
            ("docker-compose.yml", Language::Yaml),
            ("compose.yaml", Language::Yaml),
            ("gunicorn.conf.py", Language::Python),
        ] {
            assert_eq!(Language::from_path(Path::new(p)), Some(l), "{p}");
        }
        assert_eq!(Language::from_path(Path::new("setup.ini")), None);
        assert_eq!(Language::from_path(Path::new("Dockerfile.md")), None);
        assert_eq!(
            Language::from_language_id("dockerfile"),
            Some(Language::Dockerfile)
        );
        assert_eq!(
            Language::from_language_id("shellscript"),
            Some(Language::Shell)
        );
        assert_eq!(Language::from_language_id("ini"), Some(Language::Ini));
    }

    #[test]
    fn makefiles_and_env_files() {
        for (p, l) in [
            ("Makefile", Language::Makefile),
            ("makefile", Language::Makefile),
            ("GNUmakefile", Language::Makefile),
            ("build/rules.mk", Language::Makefile),
            (".env", Language::DotEnv),
            ("deploy/.env.production", Language::DotEnv),
            (".env.local", Language::DotEnv),
            ("config/app.env", Language::DotEnv),
            (".env.yaml", Language::Yaml),
            ("env.py", Language::Python),
        ] {
            assert_eq!(Language::from_path(Path::new(p)), Some(l), "{p}");
        }
        for p in [".envrc", ".env.example.json", "Makefile.md", "environment"] {
            assert_eq!(Language::from_path(Path::new(p)), None, "{p}");
        }
        assert_eq!(
            Language::from_language_id("makefile"),
            Some(Language::Makefile)
        );
        assert_eq!(Language::from_language_id("dotenv"), Some(Language::DotEnv));
    }
}
