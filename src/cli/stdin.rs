//! `check -`: one document read from standard input.
//!
//! `--stdin-filename NAME` names it: the name decides the file kind and the configuration
//! (the one discovered from the name's folder, as for a real file), and reports show it.
//! Without a name, a stream whose first line that is neither blank nor a comment starts
//! like a Kubernetes manifest (`apiVersion:`, `kind:`, `---`) is YAML; anything else is a
//! usage error. The workspace is the document alone: files beside `NAME` are not read.
//!
//! A rendered Helm stream (`helm template`) carries a `# Source: chart/templates/x.yaml`
//! comment at the head of each document: findings in such a document are reported on that
//! template's path, with lines counted from the line after the comment (line 1 is the
//! template's first rendered line), so they point into the file to edit. `full` output adds
//! the line in the stream as well.
//!
//! With `--fix` the fixed text goes to stdout and the report to stderr; with `--diff` the
//! diff goes to stdout and nothing else is written.

use super::output::{FileReport, Source};
use super::walk::{self, Scopes};
use super::{fix, Checked, EXIT_ERROR};
use crate::CheckArgs;
use anyhow::Context as _;
use otel_lsp::diagnostic::Diagnostic;
use otel_lsp::engine;
use otel_lsp::language::Language;
use otel_lsp::workspace::Workspace;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The name reports use for standard input without `--stdin-filename` (as ruff does).
pub const STDIN: &str = "-";

/// A usage error: the message, for exit code 2.
pub struct Usage(pub String);

/// Whether an unnamed stream reads as a Kubernetes manifest: its first line that is neither
/// blank nor a comment starts with `apiVersion:`, `kind:` or `---`.
pub fn looks_like_manifest(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| {
            l.starts_with("apiVersion:") || l.starts_with("kind:") || l.starts_with("---")
        })
}

/// The documents of a rendered Helm stream that follow a `# Source: PATH` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The template, as the comment gives it.
    pub path: String,
    /// Byte offset of the line after the comment.
    pub body: usize,
    /// Byte offset where the document ends (the next `---` line, or the end of the text).
    pub end: usize,
    /// The comment's 1-based line in the stream: lines of the part are shown relative to it.
    pub line: usize,
}

/// The `# Source:` parts of a YAML stream: a `# Source: PATH` comment among the comments
/// that open a document (before its first content line) names the template the rest of the
/// document was rendered from.
pub fn helm_parts(text: &str) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut open: Option<usize> = None;
    let mut header = true;
    let mut at = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end();
        let next = at + raw.len();
        if line.starts_with("---") && line[3..].trim_start().is_empty_or_comment() {
            if let Some(i) = open.take() {
                parts[i].end = at;
            }
            header = true;
        } else if header {
            let t = line.trim();
            if let Some(path) = t.strip_prefix("# Source:").map(str::trim) {
                if !path.is_empty() && open.is_none() {
                    open = Some(parts.len());
                    parts.push(Part {
                        path: path.to_string(),
                        body: next,
                        end: text.len(),
                        line: n + 1,
                    });
                }
            } else if !t.is_empty() && !t.starts_with('#') {
                header = false;
            }
        }
        at = next;
    }
    parts
}

trait EmptyOrComment {
    fn is_empty_or_comment(&self) -> bool;
}

impl EmptyOrComment for str {
    fn is_empty_or_comment(&self) -> bool {
        self.is_empty() || self.starts_with('#')
    }
}

/// Splits the diagnostics of a stream into reports: the ones in a `# Source:` part on the
/// template's path (lines relative to the part), the others on `shown`. Consecutive
/// diagnostics of one path share a report; order is the stream's.
pub fn reports(text: &str, shown: &str, diags: Vec<Diagnostic>, parts: &[Part]) -> Vec<FileReport> {
    let mut groups: Vec<(Option<usize>, Vec<Diagnostic>)> = Vec::new();
    for d in diags {
        let part = parts
            .iter()
            .position(|p| p.body <= d.span.start && d.span.start < p.end);
        match groups.last_mut() {
            Some((p, list)) if *p == part => list.push(d),
            _ => groups.push((part, vec![d])),
        }
    }
    groups
        .into_iter()
        .map(|(part, diagnostics)| {
            let source = Source::of(text, &diagnostics);
            let (path, source) = match part {
                Some(i) => (parts[i].path.clone(), source.rebased(parts[i].line)),
                None => (shown.to_string(), source),
            };
            FileReport {
                path,
                source,
                diagnostics,
            }
        })
        .collect()
}

/// What `check -` read and found: the checked report and, with `--fix`, the text to print.
pub struct StdinRun {
    /// What to print.
    pub checked: Checked,
    /// The fixed text (`--fix`), or the input unchanged when nothing applied.
    pub output_text: Option<String>,
}

/// Reads standard input and checks it.
pub fn run(
    args: &CheckArgs,
    cwd: &Path,
    scopes: &Scopes,
) -> anyhow::Result<Result<StdinRun, Usage>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading standard input")?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "reading standard input: not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let (lang, path, shown, dir): (Language, PathBuf, String, PathBuf) = match &args.stdin_filename
    {
        Some(name) => {
            let Some(lang) = Language::from_path(name) else {
                return Ok(Err(Usage(format!(
                    "--stdin-filename {}: {}",
                    name.display(),
                    walk::NOT_OURS
                ))));
            };
            let abs = walk::absolute(name, cwd);
            let shown = walk::display_path(name, cwd);
            let dir = abs.parent().unwrap_or(cwd).to_path_buf();
            (
                lang,
                shown.clone(),
                shown.to_string_lossy().into_owned(),
                dir,
            )
        }
        None if looks_like_manifest(&text) => (
            Language::Yaml,
            PathBuf::from(STDIN),
            STDIN.to_string(),
            cwd.to_path_buf(),
        ),
        None => {
            return Ok(Err(Usage(
                "standard input: name its file kind with --stdin-filename (for example \
                 `--stdin-filename app.py`); without it only a Kubernetes manifest \
                 (starting with `apiVersion:`, `kind:` or `---`) is recognised"
                    .to_string(),
            )))
        }
    };
    let scope = scopes
        .for_dir(&dir)
        .map_err(|e| anyhow::anyhow!(walk::config_error(&e, cwd)))?;
    let fixing = (args.fix || args.unsafe_fixes) && !args.diff;
    let excluded = args.force_exclude
        && args.stdin_filename.as_ref().is_some_and(|n| {
            scope.excludes_named(&walk::absolute(n, cwd), &walk::display_path(n, cwd))
        });
    if excluded {
        return Ok(Ok(StdinRun {
            checked: Checked::default(),
            output_text: fixing.then_some(text),
        }));
    }
    let settings = &scope.settings;
    let check = |text: String| {
        let file = engine::parse(lang, text);
        let mut ws = Workspace::new();
        ws.update(path.clone(), engine::summarize(&file));
        let diags = engine::check(&file, Some(&path), settings, &ws);
        (file, ws, diags)
    };
    let (file, ws, diags) = check(text);
    let mut checked = Checked {
        files: 1,
        ..Checked::default()
    };
    let mut output_text = None;
    if args.diff {
        let mut notes = fix::Notes::default();
        let fixed = fix::fix_text(
            &file,
            &diags,
            &path,
            settings,
            &ws,
            args.unsafe_fixes,
            &mut notes,
        );
        checked.warnings = notes.warnings;
        if let Some((after, applied)) = fixed {
            checked.fixed = applied;
            checked
                .diffs
                .push(super::unified_diff(&shown, file.text(), after.text()));
        }
        return Ok(Ok(StdinRun {
            checked,
            output_text,
        }));
    }
    let (file, diags) = if fixing && !diags.is_empty() {
        let mut notes = fix::Notes::default();
        let before = super::code_counts(&diags);
        let fixed = fix::fix_text(
            &file,
            &diags,
            &path,
            settings,
            &ws,
            args.unsafe_fixes,
            &mut notes,
        );
        checked.warnings = notes.warnings;
        match fixed {
            Some((after, applied)) => {
                checked.fixed = applied;
                let (file, _, diags) = check(after.text().to_string());
                checked
                    .fixed_codes
                    .push((shown.clone(), super::fixed_codes(before, &diags)));
                (file, diags)
            }
            None => (file, diags),
        }
    } else {
        (file, diags)
    };
    if fixing {
        output_text = Some(file.text().to_string());
    }
    let parts = if lang == Language::Yaml {
        helm_parts(file.text())
    } else {
        Vec::new()
    };
    checked.reports = reports(file.text(), &shown, diags, &parts);
    Ok(Ok(StdinRun {
        checked,
        output_text,
    }))
}

/// Exit code of a usage error.
pub fn usage(u: Usage) -> std::process::ExitCode {
    eprintln!("error: {}", u.0);
    std::process::ExitCode::from(EXIT_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_recognised_by_their_first_line() {
        assert!(looks_like_manifest("# a comment\n\napiVersion: v1\n"));
        assert!(looks_like_manifest("---\n# Source: x\nkind: Pod\n"));
        assert!(looks_like_manifest("\u{feff}kind: Pod\n"));
        assert!(!looks_like_manifest("import os\n"));
        assert!(!looks_like_manifest("FROM python:3.12\n"));
        assert!(!looks_like_manifest(""));
    }

    #[test]
    fn helm_source_comments_open_parts() {
        let text = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n# Source: not/a/header.yaml\n";
        let parts = helm_parts(text);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[0].path, "c/templates/a.yaml");
        assert_eq!(parts[0].line, 2);
        assert_eq!(
            &text[parts[0].body..parts[0].end],
            "apiVersion: v1\nkind: A\n"
        );
        assert_eq!(parts[1].path, "c/templates/b.yaml");
        assert_eq!(parts[1].line, 6);
        assert_eq!(parts[1].end, text.len());
        assert!(helm_parts("apiVersion: v1\n# Source: x.yaml\n").is_empty());
    }
}
