//! The command-line face: `check`, `rules` and `explain`.
//!
//! `check` runs in phases, each parallel over files with rayon:
//!
//! 1. walk the named paths ([`walk`]) and find each file's configuration;
//! 2. read each file; skip (with a warning) unreadable and non-UTF-8 files; parse only the
//!    files that contain a needle of one of their language's rules
//!    ([`needles::worth_parsing`]) — most files are never parsed — and summarise them into
//!    the workspace (cross-file facts such as Instrumentation objects);
//! 3. check each parsed file against the finished workspace, reusing its parse;
//! 4. with `--fix`, fix and rewrite the files that have eligible fixes ([`fix`]) and re-check
//!    them, so what is reported is what remains;
//! 5. print ([`output`]) and choose the exit code: 0 nothing found, 1 problems found, 2 a
//!    usage, configuration or I/O error.

mod fix;
mod output;
pub(crate) mod walk;

use crate::{CheckArgs, Color, Format, RulesFormat};
use anyhow::Context as _;
use otel_lsp::config::{self, Settings};
use otel_lsp::diagnostic::{Applicability, Diagnostic};
use otel_lsp::engine::{self, needles, SourceFile};
use otel_lsp::rules;
use otel_lsp::workspace::Workspace;
use output::{FileReport, Summary};
use rayon::prelude::*;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use walk::{Scopes, Target};

/// Exit code for usage, configuration and I/O errors.
const EXIT_ERROR: u8 = 2;

/// `otel-lsp check`.
pub fn check(args: CheckArgs) -> ExitCode {
    match run_check(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// A file after reading: skipped by the needle filter, or parsed.
type Loaded = Option<SourceFile>;

/// Reads one file. `Err` is a warning: the file is skipped, the rest is still checked.
fn load(t: &Target) -> Result<Loaded, String> {
    let bytes = std::fs::read(&t.abs).map_err(|e| format!("skipping {}: {e}", t.path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
        format!(
            "skipping {}: not valid UTF-8 (byte 0x{:02x} on line {line})",
            t.path.display(),
            bytes[at]
        )
    })?;
    if !needles::worth_parsing(t.lang, &text) {
        return Ok(None);
    }
    Ok(Some(SourceFile::new(t.lang, text)))
}

fn use_colour(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    }
}

fn run_check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    config::check_selectors("--select", &args.select).map_err(anyhow::Error::msg)?;
    config::check_selectors("--ignore", &args.ignore).map_err(anyhow::Error::msg)?;
    let cli = Settings {
        select: (!args.select.is_empty()).then(|| args.select.clone()),
        ignore: args.ignore.clone(),
        ..Settings::default()
    };
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let shown = |e: config::ConfigError| anyhow::anyhow!(walk::config_error(&e, &cwd));
    let forced = match &args.config {
        Some(p) => Some(config::load_file(&walk::absolute(p, &cwd)).map_err(shown)?),
        None => None,
    };
    let scopes = Scopes::new(cli, forced).map_err(shown)?;
    let found = walk::collect(&args.paths, &cwd, &scopes, args.force_exclude);
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    if !found.errors.is_empty() {
        for e in &found.errors {
            eprintln!("error: {e}");
        }
        return Ok(ExitCode::from(EXIT_ERROR));
    }

    // Phase 2: read, filter by needles, parse, summarise.
    let read: Vec<(Target, Result<Loaded, String>)> = found
        .targets
        .into_par_iter()
        .map(|t| {
            let l = load(&t);
            (t, l)
        })
        .collect();
    let mut loaded = Vec::with_capacity(read.len());
    for (t, l) in read {
        match l {
            Ok(l) => loaded.push((t, l)),
            Err(w) => eprintln!("warning: {w}"),
        }
    }
    let files_read = loaded.len();
    let mut workspace = Workspace::new();
    let summaries: Vec<_> = loaded
        .par_iter()
        .filter_map(|(t, f)| f.as_ref().map(|f| (t.path.clone(), engine::summarize(f))))
        .collect();
    for (path, summary) in summaries {
        workspace.update(path, summary);
    }

    // Phase 3: check against the whole workspace.
    let checked: Vec<(Target, SourceFile, Vec<Diagnostic>)> = loaded
        .into_par_iter()
        .filter_map(|(t, f)| {
            let f = f?;
            let diags = engine::check(&f, Some(&t.path), &t.scope.settings, &workspace);
            Some((t, f, diags))
        })
        .collect();

    // Phase 4: fix.
    let unsafe_ok = args.unsafe_fixes;
    let fixing = args.fix || args.unsafe_fixes;
    let results: Vec<(FileReport, usize, fix::Notes)> = checked
        .into_par_iter()
        .filter(|(_, _, d)| !d.is_empty())
        .map(|(t, file, diags)| {
            let mut notes = fix::Notes::default();
            let (file, diags, applied) = if fixing {
                let settings = &t.scope.settings;
                match fix::fix_and_write(
                    &file, &diags, &t.path, &t.abs, settings, &workspace, unsafe_ok, &mut notes,
                ) {
                    fix::Outcome::Unchanged => (file, diags, 0),
                    fix::Outcome::Fixed { file, applied } => {
                        let diags = engine::check(&file, Some(&t.path), settings, &workspace);
                        (*file, diags, applied)
                    }
                }
            } else {
                (file, diags, 0)
            };
            let report = FileReport {
                path: t.path.to_string_lossy().into_owned(),
                text: file.text().to_string(),
                diagnostics: diags,
            };
            (report, applied, notes)
        })
        .collect();

    let mut reports = Vec::new();
    let mut fixed = 0;
    let mut write_errors = 0;
    for (report, applied, notes) in results {
        for w in notes.warnings {
            eprintln!("warning: {w}");
        }
        for e in &notes.errors {
            eprintln!("error: {e}");
        }
        write_errors += notes.errors.len();
        fixed += applied;
        if !report.diagnostics.is_empty() {
            reports.push(report);
        }
    }

    let all = || reports.iter().flat_map(|r| r.diagnostics.iter());
    let has_unsafe = |d: &Diagnostic| {
        d.fixes
            .iter()
            .any(|f| f.applicability == Applicability::Unsafe)
    };
    let summary = Summary {
        files: files_read,
        problems: all().count(),
        fixable: all().filter(|d| d.has_safe_fix()).count(),
        unsafe_fixable: if unsafe_ok {
            0
        } else {
            all().filter(|d| !d.has_safe_fix() && has_unsafe(d)).count()
        },
        fixed: fixing.then_some(fixed),
    };

    let printed = emit(|out| match args.format {
        Format::Text => {
            let summary = (!args.quiet).then_some(&summary);
            output::text(out, &reports, summary, use_colour(args.color))
        }
        Format::Json => output::json(out, &reports),
        Format::Sarif => output::sarif(out, &reports, &cwd),
        Format::Github => output::github(out, &reports),
    });
    if printed.is_err() || write_errors > 0 {
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    Ok(if summary.problems > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes to stdout through a buffer. A closed pipe (`| head`) is not an error; any other
/// write failure is reported.
fn emit(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), ()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            Err(())
        }
    }
}

fn exit_of(printed: Result<(), ()>) -> ExitCode {
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(()) => ExitCode::from(EXIT_ERROR),
    }
}

/// `otel-lsp rules`: the rule table.
pub fn rules(format: RulesFormat) -> ExitCode {
    exit_of(emit(|out| match format {
        RulesFormat::Text => rules_table(out),
        RulesFormat::Json => {
            let list: Vec<_> = rules::ALL
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "code": r.code,
                        "name": r.name,
                        "severity": r.severity,
                        "language": r.language.as_str(),
                        "languages": r.languages().iter().map(|l| l.as_str()).collect::<Vec<_>>(),
                        "fix": r.fix.as_str(),
                        "summary": r.summary,
                        "url": r.url,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &list)?;
            writeln!(out)
        }
    }))
}

fn rules_table(out: &mut dyn Write) -> io::Result<()> {
    let header = ["CODE", "NAME", "SEVERITY", "LANGUAGE", "FIX"];
    let labels: Vec<String> = rules::ALL.iter().map(|r| r.languages_label()).collect();
    let rows: Vec<[&str; 5]> = rules::ALL
        .iter()
        .zip(&labels)
        .map(|(r, langs)| {
            [
                r.code,
                r.name,
                r.severity.as_str(),
                langs.as_str(),
                r.fix.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// `otel-lsp explain CODE`: one rule's documentation.
pub fn explain(code: &str) -> ExitCode {
    let Some(rule) = rules::by_code(code.trim()) else {
        eprintln!("error: unknown rule `{code}` (see `otel-lsp rules`)");
        return ExitCode::from(EXIT_ERROR);
    };
    exit_of(emit(|out| {
        writeln!(out, "# {} ({})", rule.code, rule.name)?;
        writeln!(out)?;
        writeln!(
            out,
            "Severity: {} · Files: {} · Fix: {}",
            rule.severity.as_str(),
            rule.languages_label(),
            rule.fix.as_str()
        )?;
        writeln!(out)?;
        if rule.docs.is_empty() {
            if !rule.summary.is_empty() {
                writeln!(out, "{}", rule.summary)?;
                writeln!(out)?;
            }
            writeln!(out, "No documentation yet.")?;
        } else {
            writeln!(out, "{}", rule.docs.trim_end())?;
        }
        if !rule.url.is_empty() && !rule.docs.contains(rule.url) {
            writeln!(out)?;
            writeln!(out, "Source: <{}>", rule.url)?;
        }
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn rules_table_is_aligned_and_complete() {
        let mut out = Vec::new();
        rules_table(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), rules::ALL.len() + 1);
        assert!(lines[0].starts_with("CODE"));
        let name_col = lines[0].find("NAME").unwrap();
        for (line, r) in lines[1..].iter().zip(rules::ALL) {
            assert_eq!(&line[name_col..name_col + r.name.len()], r.name);
        }
    }

    #[test]
    fn loading_skips_non_utf8_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.py");
        std::fs::write(&p, b"a = 1\nb = '\xff'\n").unwrap();
        let scopes = Scopes::new(Settings::default(), None).unwrap();
        let t = Target {
            path: Path::new("bad.py").to_path_buf(),
            abs: p,
            lang: otel_lsp::language::Language::Python,
            scope: scopes.for_dir(dir.path()).unwrap(),
        };
        let w = load(&t).err().unwrap();
        assert!(
            w.contains("bad.py") && w.contains("UTF-8") && w.contains("line 2"),
            "{w}"
        );
    }
}
