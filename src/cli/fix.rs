//! `check --fix`: apply fixes through the engine's one fix applier, verify, write safely.
//!
//! The engine already refuses a fix whose result no longer parses; before writing, the CLI
//! parses the final text once more and refuses the whole file if it broke (a file that did
//! not parse before is not held to that). Files are written atomically: a temporary file in
//! the same folder, the original's permissions (and, best effort, owner) copied onto it,
//! then renamed over the original — through symbolic links, so a link stays a link.

use otel_lsp::config::Settings;
use otel_lsp::diagnostic::Diagnostic;
use otel_lsp::engine::{self, fix, SourceFile};
use otel_lsp::workspace::Workspace;
use std::io::{self, Write};
use std::path::Path;

/// What fixing one file did.
pub enum Outcome {
    /// Nothing to apply.
    Unchanged,
    /// The file was rewritten.
    Fixed {
        /// The new file, parsed.
        file: Box<SourceFile>,
        /// Fixes applied.
        applied: usize,
    },
}

/// What went wrong or was held back while fixing one file.
#[derive(Debug, Default)]
pub struct Notes {
    /// Fixes refused (the file is still consistent), as warning messages.
    pub warnings: Vec<String>,
    /// Failures to write, as error messages (exit code 2).
    pub errors: Vec<String>,
}

/// Whether `after` has syntax errors that `before` did not.
pub fn breaks(before: &SourceFile, after: &SourceFile) -> bool {
    after.has_syntax_error() && !before.has_syntax_error()
}

/// Applies the eligible fixes of `diags` to `file` and writes the result to `write_to`.
#[allow(clippy::too_many_arguments)]
pub fn fix_and_write(
    file: &SourceFile,
    diags: &[Diagnostic],
    shown: &Path,
    write_to: &Path,
    settings: &Settings,
    workspace: &Workspace,
    unsafe_ok: bool,
    notes: &mut Notes,
) -> Outcome {
    let Some((after, applied)) =
        fix_text(file, diags, shown, settings, workspace, unsafe_ok, notes)
    else {
        return Outcome::Unchanged;
    };
    if let Err(e) = write_atomically(write_to, after.text()) {
        notes
            .errors
            .push(format!("writing {}: {e}", shown.display()));
        return Outcome::Unchanged;
    }
    Outcome::Fixed {
        file: Box::new(after),
        applied,
    }
}

/// Applies the eligible fixes of `diags` to `file` without writing anything: the fixed
/// file, parsed, and how many fixes applied; `None` when nothing changed or the result was
/// refused (with a warning in `notes`).
pub fn fix_text(
    file: &SourceFile,
    diags: &[Diagnostic],
    shown: &Path,
    settings: &Settings,
    workspace: &Workspace,
    unsafe_ok: bool,
    notes: &mut Notes,
) -> Option<(SourceFile, usize)> {
    if fix::eligible(diags, unsafe_ok).is_empty() {
        return None;
    }
    let lang = file.language();
    let out = fix::fix_file(
        lang,
        file.text(),
        Some(shown),
        settings,
        workspace,
        unsafe_ok,
    );
    for code in &out.refused {
        notes.warnings.push(format!(
            "{}: not applying the {code} fix: the result would not parse",
            shown.display()
        ));
    }
    if out.applied == 0 || out.text == file.text() {
        return None;
    }
    let after = engine::parse(lang, out.text);
    if breaks(file, &after) {
        notes.warnings.push(format!(
            "{}: not writing fixes: the result would not parse",
            shown.display()
        ));
        return None;
    }
    Some((after, out.applied))
}

/// Replaces the contents of `path` atomically, keeping its permissions.
pub fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&target)?;
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".otel-lsp-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    std::fs::set_permissions(tmp.path(), meta.permissions())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Only root can give a file away; for others this is a no-op or fails harmlessly.
        let _ = std::os::unix::fs::chown(tmp.path(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use otel_lsp::language::Language;

    #[test]
    fn a_result_that_does_not_parse_is_refused() {
        let good = otel_lsp::engine::parse(Language::Python, "app.run(debug=True)\n".into());
        let bad = otel_lsp::engine::parse(Language::Python, "app.run(debug=True,, )\n".into());
        assert!(breaks(&good, &bad));
        assert!(
            !breaks(&bad, &bad),
            "an already broken file is not held to it"
        );
        assert!(!breaks(&good, &good));
        let yaml_good = otel_lsp::engine::parse(Language::Yaml, "a: [1, 2]\n".into());
        let yaml_bad = otel_lsp::engine::parse(Language::Yaml, "a: [1, 2\n".into());
        assert!(breaks(&yaml_good, &yaml_bad));
    }

    #[cfg(unix)]
    #[test]
    fn writes_atomically_keeping_mode_and_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.py");
        std::fs::write(&real, "old\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o751)).unwrap();
        let link = dir.path().join("link.py");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new\n");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o751);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file left behind");
    }
}
