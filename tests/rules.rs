//! The fixture harness and registry invariants.
//!
//! Each `tests/fixtures/<lang>/OTELnnn_<name>.<ext>` is the specification of one rule:
//! a trailing `# error: OTEL001` (or `warning`/`info`/`hint`, several codes comma-separated)
//! marks every line a diagnostic must be reported on; every other line must stay silent.
//! Every fix of every diagnostic is applied on its own: the result must still parse and that
//! diagnostic must be gone. The safe-fix result of the whole file is snapshot-tested and a
//! second round of fixing must change nothing.

use otel_lsp::config::Settings;
use otel_lsp::engine::{self, fix, SourceFile};
use otel_lsp::language::Language;
use otel_lsp::rules::{self, ALL};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<(PathBuf, Language)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in ["python", "yaml"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if let Some(lang) = Language::from_path(&p) {
                out.push((p, lang));
            }
        }
    }
    out.sort();
    out
}

/// `(line, severity, code)` expected from the annotations.
fn expected(text: &str) -> BTreeSet<(usize, String, String)> {
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        for sev in ["error", "warning", "info", "hint"] {
            let marker = format!("# {sev}:");
            if let Some(pos) = line.find(&marker) {
                for code in line[pos + marker.len()..].split(',') {
                    let code = code.split_whitespace().next().unwrap_or("");
                    if code.starts_with("OTEL") {
                        out.insert((i + 1, sev.to_string(), code.to_string()));
                    }
                }
            }
        }
    }
    out
}

fn line_of(text: &str, pos: usize) -> usize {
    text[..pos].matches('\n').count() + 1
}

fn actual(lang: Language, text: &str) -> BTreeSet<(usize, String, String)> {
    engine::check_text(lang, text, &Settings::default())
        .into_iter()
        .map(|d| (line_of(text, d.span.start), d.severity.as_str().to_string(), d.code.to_string()))
        .collect()
}

#[test]
fn fixtures_match_their_annotations() {
    let mut failures = Vec::new();
    for (path, lang) in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let want = expected(&text);
        let got = actual(lang, &text);
        if want != got {
            let missing: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            failures.push(format!(
                "{}:\n  missing (annotated, not reported): {missing:?}\n  extra (reported, not annotated): {extra:?}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_fix_parses_and_clears_its_diagnostic() {
    let settings = Settings::default();
    for (path, lang) in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let ws = {
            let mut ws = otel_lsp::workspace::Workspace::new();
            ws.update(path.clone(), engine::summarize(&SourceFile::new(lang, text.clone())));
            ws
        };
        let file = SourceFile::new(lang, text.clone());
        let parsed_before = !file.has_syntax_error();
        let diags = engine::check(&file, Some(&path), &settings, &ws);
        for d in &diags {
            for f in &d.fixes {
                let (fixed, n) = fix::apply(&text, &[f]);
                assert_eq!(n, 1, "{}: fix {:?} of {} did not apply", path.display(), f.title, d.code);
                let after = SourceFile::new(lang, fixed.clone());
                if parsed_before {
                    assert!(
                        !after.has_syntax_error(),
                        "{}: fix {:?} of {} at line {} leaves a file that does not parse:\n{fixed}",
                        path.display(),
                        f.title,
                        d.code,
                        line_of(&text, d.span.start)
                    );
                }
                let before_n = diags.iter().filter(|x| x.code == d.code).count();
                let after_n = engine::check(&after, Some(&path), &settings, &ws)
                    .iter()
                    .filter(|x| x.code == d.code)
                    .count();
                assert!(
                    after_n < before_n,
                    "{}: fix {:?} of {} at line {} does not clear it:\n{fixed}",
                    path.display(),
                    f.title,
                    d.code,
                    line_of(&text, d.span.start)
                );
            }
        }
    }
}

#[test]
fn safe_fixes_snapshot_and_are_idempotent() {
    let settings = Settings::default();
    for (path, lang) in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut ws = otel_lsp::workspace::Workspace::new();
        ws.update(path.clone(), engine::summarize(&SourceFile::new(lang, text.clone())));
        let once = fix::fix_file(lang, &text, Some(&path), &settings, &ws, false);
        assert!(once.refused.is_empty(), "{}: refused {:?}", path.display(), once.refused);
        let twice = fix::fix_file(lang, &once.text, Some(&path), &settings, &ws, false);
        assert_eq!(twice.applied, 0, "{}: a second --fix still changed the file", path.display());
        if once.applied > 0 {
            let name = path.file_name().unwrap().to_string_lossy().replace('.', "_");
            insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(format!("{name}.fixed"), once.text);
            });
        }
    }
}

#[test]
fn registry_is_complete_and_consistent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = fixtures();
    let mut codes = BTreeSet::new();
    let mut names = BTreeSet::new();
    for r in ALL {
        assert!(codes.insert(r.code), "duplicate code {}", r.code);
        assert!(names.insert(r.name), "duplicate name {}", r.name);
        assert!(r.code.len() == 7 && r.code.starts_with("OTEL"), "{}", r.code);
        assert!(
            r.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} is not kebab-case",
            r.name
        );
        for section in ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety", "## Source"] {
            assert!(r.docs.contains(section), "{} docs lack {section}", r.code);
        }
        assert!(r.url.starts_with("https://"), "{} has no source url", r.code);
        assert!(!r.summary.is_empty(), "{} has no summary", r.code);
        let snake = r.name.replace('-', "_");
        let lang = r.language.as_str();
        let scm = root.join(format!("queries/{lang}/{snake}.scm"));
        let scm_text = std::fs::read_to_string(&scm).unwrap_or_else(|_| panic!("{} has no {}", r.code, scm.display()));
        assert_eq!(scm_text, r.query, "{}: query is not the .scm file", r.code);
        assert!(scm_text.starts_with(';'), "{}: the query's first line must be a `;` comment", r.code);
        assert!(root.join(format!("src/rules/{lang}/{snake}.rs")).exists(), "{} has no source file", r.code);
        let fixture = fixtures
            .iter()
            .find(|(p, _)| p.file_stem().is_some_and(|s| s.to_string_lossy() == format!("{}_{snake}", r.code)))
            .unwrap_or_else(|| panic!("{} has no fixture {}_{snake}.*", r.code, r.code));
        let text = std::fs::read_to_string(&fixture.0).unwrap();
        assert!(
            expected(&text).iter().any(|(_, _, c)| c == r.code),
            "{}: its fixture annotates no finding",
            r.code
        );
        assert!(rules::by_code(r.code).is_some());
    }
}
