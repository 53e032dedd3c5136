//! Which grammar and which rules a file gets, from its path or from an LSP `languageId`.

use std::path::Path;

/// The kinds of file otel-lsp reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Python source, including gunicorn config modules.
    Python,
    /// YAML: Kubernetes manifests, Operator CRs, compose files.
    Yaml,
}

impl Language {
    /// Every language, in a stable order.
    pub const ALL: &'static [Language] = &[Language::Python, Language::Yaml];

    /// The language of a file, by name; `None` for files otel-lsp does not read.
    pub fn from_path(path: &Path) -> Option<Language> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "py" | "pyi" => Some(Language::Python),
            "yaml" | "yml" => Some(Language::Yaml),
            _ => None,
        }
    }

    /// The language for an LSP `languageId`, `None` when otel-lsp has nothing to say.
    pub fn from_language_id(id: &str) -> Option<Language> {
        match id {
            "python" => Some(Language::Python),
            "yaml" | "yaml.docker-compose" | "yaml.kubernetes" | "helm" => Some(Language::Yaml),
            _ => None,
        }
    }

    /// The lower-case name shown in `otel-lsp rules`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Yaml => "yaml",
        }
    }

    /// The comment leader a suppression comment starts with.
    pub fn comment_prefix(self) -> &'static str {
        "#"
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Yaml => tree_sitter_yaml::LANGUAGE.into(),
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
        assert_eq!(Language::from_path(Path::new("Makefile")), None);
        assert_eq!(Language::from_language_id("python"), Some(Language::Python));
        assert_eq!(Language::from_language_id("rust"), None);
    }
}
