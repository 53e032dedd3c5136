//! The fixture harness and registry invariants.
//!
//! Each `tests/fixtures/<kind>/OTELnnn_<name>.<ext>` is the specification of one rule
//! (kinds: python, yaml, dockerfile, shell, procfile, ini, makefile, dotenv). Each folder under
//! `tests/fixtures/workspaces/` is a small workspace (a Dockerfile next to the app it starts,
//! say): all its files are summarized into one workspace index and every file is checked
//! against its own annotations, so cross-file facts are specified the same way.
//!
//! a trailing `# error: OTEL001` (or `warning`/`info`/`hint`, several codes comma-separated)
//! marks every line a diagnostic must be reported on; every other line must stay silent.
//! Every fix of every diagnostic is applied on its own: the result must still parse and that
//! diagnostic must be gone. The safe-fix result of the whole file is snapshot-tested and a
//! second round of fixing must change nothing.

use otel_lsp::config::Settings;
use otel_lsp::engine::{self, fix};
use otel_lsp::language::Language;
use otel_lsp::rules::{self, ALL};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<(PathBuf, Language)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in [
        "python",
        "yaml",
        "dockerfile",
        "shell",
        "procfile",
        "ini",
        "makefile",
        "dotenv",
    ] {
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

/// Workspace fixtures: (folder, its files with their languages).
fn workspaces() -> Vec<(PathBuf, Vec<(PathBuf, Language)>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/workspaces");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&root) else {
        return out;
    };
    for e in rd.flatten() {
        let dir = e.path();
        if !dir.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for f in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = f.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Some(lang) = Language::from_path(&p) {
                    files.push((p, lang));
                }
            }
        }
        files.sort();
        out.push((dir, files));
    }
    out.sort();
    out
}

/// Every fixture as a workspace: single files alone, folders with all their files.
fn all_workspaces() -> Vec<Vec<(PathBuf, Language)>> {
    let mut out: Vec<Vec<(PathBuf, Language)>> = fixtures().into_iter().map(|f| vec![f]).collect();
    out.extend(workspaces().into_iter().map(|(_, files)| files));
    out
}

/// The workspace index of a fixture's files.
fn index(files: &[(PathBuf, Language)]) -> otel_lsp::workspace::Workspace {
    let mut ws = otel_lsp::workspace::Workspace::new();
    for (p, lang) in files {
        let text = std::fs::read_to_string(p).unwrap();
        ws.update(
            p.clone(),
            engine::summarize(&otel_lsp::engine::parse(*lang, text)),
        );
    }
    ws
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
        .map(|d| {
            (
                line_of(text, d.span.start),
                d.severity.as_str().to_string(),
                d.code.to_string(),
            )
        })
        .collect()
}

fn actual_in(
    lang: Language,
    text: &str,
    path: &Path,
    ws: &otel_lsp::workspace::Workspace,
) -> BTreeSet<(usize, String, String)> {
    let file = otel_lsp::engine::parse(lang, text.to_string());
    engine::check(&file, Some(path), &Settings::default(), ws)
        .into_iter()
        .map(|d| {
            (
                line_of(text, d.span.start),
                d.severity.as_str().to_string(),
                d.code.to_string(),
            )
        })
        .collect()
}

#[test]
fn fixtures_match_their_annotations() {
    let mut failures = Vec::new();
    for files in all_workspaces() {
        let ws = index(&files);
        for (path, lang) in files.iter().cloned() {
            let text = std::fs::read_to_string(&path).unwrap();
            let want = expected(&text);
            let got = if files.len() == 1 {
                actual(lang, &text)
            } else {
                actual_in(lang, &text, &path, &ws)
            };
            if want != got {
                let missing: Vec<_> = want.difference(&got).collect();
                let extra: Vec<_> = got.difference(&want).collect();
                failures.push(format!(
                "{}:\n  missing (annotated, not reported): {missing:?}\n  extra (reported, not annotated): {extra:?}",
                path.display()
            ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_fix_parses_and_clears_its_diagnostic() {
    let settings = Settings::default();
    for files in all_workspaces() {
        let ws = index(&files);
        for (path, lang) in files.iter().cloned() {
            let text = std::fs::read_to_string(&path).unwrap();
            let file = otel_lsp::engine::parse(lang, text.clone());
            let parsed_before = !file.has_syntax_error();
            let diags = engine::check(&file, Some(&path), &settings, &ws);
            for d in &diags {
                for f in &d.fixes {
                    let (fixed, n) = fix::apply(&text, &[f]);
                    assert_eq!(
                        n,
                        1,
                        "{}: fix {:?} of {} did not apply",
                        path.display(),
                        f.title,
                        d.code
                    );
                    let after = otel_lsp::engine::parse(lang, fixed.clone());
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
}

#[test]
fn safe_fixes_snapshot_and_are_idempotent() {
    let settings = Settings::default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/workspaces");
    for files in all_workspaces() {
        let ws = index(&files);
        for (path, lang) in files.iter().cloned() {
            let text = std::fs::read_to_string(&path).unwrap();
            let once = fix::fix_file(lang, &text, Some(&path), &settings, &ws, false);
            assert!(
                once.refused.is_empty(),
                "{}: refused {:?}",
                path.display(),
                once.refused
            );
            let twice = fix::fix_file(lang, &once.text, Some(&path), &settings, &ws, false);
            assert_eq!(
                twice.applied,
                0,
                "{}: a second --fix still changed the file",
                path.display()
            );
            if once.applied > 0 {
                // Workspace files are named by their path inside tests/fixtures/workspaces.
                let name = match path.strip_prefix(&root) {
                    Ok(rel) => rel.to_string_lossy().replace(['.', '/', '\\'], "_"),
                    Err(_) => path
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .replace('.', "_"),
                };
                insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
                    insta::assert_snapshot!(format!("{name}.fixed"), once.text);
                });
            }
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
        assert!(
            r.code.len() == 7 && r.code.starts_with("OTEL"),
            "{}",
            r.code
        );
        assert!(
            r.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} is not kebab-case",
            r.name
        );
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "## Fix safety",
            "## Source",
        ] {
            assert!(r.docs.contains(section), "{} docs lack {section}", r.code);
        }
        assert!(
            r.url.starts_with("https://"),
            "{} has no source url",
            r.code
        );
        assert!(!r.summary.is_empty(), "{} has no summary", r.code);
        let snake = r.name.replace('-', "_");
        let dir = root.join("src/rules").join(r.topic.as_str());
        assert!(
            dir.join(format!("{snake}.rs")).exists(),
            "{} has no source file src/rules/{}/{snake}.rs",
            r.code,
            r.topic.as_str()
        );
        // A query file beside the source if and only if the rule matches syntax.
        let scm = dir.join(format!("{snake}.scm"));
        match &r.query {
            Some(q) => {
                let scm_text = std::fs::read_to_string(&scm)
                    .unwrap_or_else(|_| panic!("{} has no {}", r.code, scm.display()));
                assert_eq!(scm_text, q.text, "{}: query is not the .scm file", r.code);
                assert!(
                    scm_text.starts_with(';'),
                    "{}: the query's first line must be a `;` comment",
                    r.code
                );
            }
            None => {
                assert!(!scm.exists(), "{}: {} but no query", r.code, scm.display());
                assert!(r.scan.is_some(), "{}: neither query nor scan", r.code);
            }
        }
        // A single-file fixture, or a workspace folder of that name.
        let stem = format!("{}_{snake}", r.code);
        let mut texts: Vec<String> = fixtures
            .iter()
            .filter(|(p, _)| p.file_stem().is_some_and(|s| s.to_string_lossy() == stem))
            .map(|(p, _)| std::fs::read_to_string(p).unwrap())
            .collect();
        for (d, files) in workspaces() {
            if d.file_name().is_some_and(|n| n.to_string_lossy() == stem) {
                texts.extend(
                    files
                        .iter()
                        .map(|(p, _)| std::fs::read_to_string(p).unwrap()),
                );
            }
        }
        assert!(
            !texts.is_empty(),
            "{} has no fixture {stem}.* (file or workspace folder)",
            r.code
        );
        assert!(
            texts
                .iter()
                .any(|t| expected(t).iter().any(|(_, _, c)| c == r.code)),
            "{}: its fixture annotates no finding",
            r.code
        );
        assert!(rules::by_code(r.code).is_some());
        // What it needs before parsing is declared for every kind it reads, once.
        for lang in r.languages() {
            let n = r.pre.iter().filter(|p| p.langs.contains(&lang)).count();
            assert_eq!(n, 1, "{}: {} Pre entries for {}", r.code, n, lang.as_str());
        }
    }
    // Every file under src/rules/<topic>/ is a rule's (or a topic's shared model), and every
    // topic folder is a topic.
    let topics: BTreeSet<&str> = rules::Topic::ALL.iter().map(|t| t.as_str()).collect();
    let owned: BTreeSet<String> = ALL
        .iter()
        .map(|r| format!("{}/{}", r.topic.as_str(), r.name.replace('-', "_")))
        .collect();
    for entry in std::fs::read_dir(root.join("src/rules")).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let topic = entry.file_name().to_string_lossy().into_owned();
        assert!(
            topics.contains(topic.as_str()),
            "src/rules/{topic}/ is not a topic"
        );
        for file in std::fs::read_dir(entry.path()).unwrap() {
            let path = file.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let key = format!("{topic}/{stem}");
            match path.extension().and_then(|e| e.to_str()) {
                Some("scm") => assert!(owned.contains(&key), "{key}.scm belongs to no rule"),
                Some("rs") if stem == "mod" => {}
                Some("rs") => {
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert!(
                        owned.contains(&key) == text.contains("pub static RULE: Rule"),
                        "src/rules/{key}.rs: a rule source not in rules::ALL, or a rule's name not its file's"
                    );
                }
                _ => panic!("unexpected file {}", path.display()),
            }
        }
    }
}

/// The launcher model never panics: every prefix of every launcher fixture (cut at any
/// character) is parsed and checked, in its workspace, without a panic — so is every YAML
/// file of a workspace folder (compose and Kubernetes files import `.env` files,
/// Dockerfiles and ConfigMaps).
#[test]
fn launcher_files_never_panic_on_any_prefix() {
    use std::cell::Cell;
    // The engine catches a rule's panic; count this thread's panics through the hook
    // (other tests run on other threads).
    thread_local!(static PANICS: Cell<usize> = const { Cell::new(0) });
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| PANICS.with(|p| p.set(p.get() + 1))));
    let settings = Settings::default();
    for files in all_workspaces() {
        let ws = index(&files);
        for (path, lang) in &files {
            let workspace_yaml = files.len() > 1 && *lang == Language::Yaml;
            if !lang.is_launcher_kind() && !workspace_yaml {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            for (i, _) in text.char_indices() {
                let file = otel_lsp::engine::parse(*lang, text[..i].to_string());
                let _ = engine::check(&file, Some(path), &settings, &ws);
            }
        }
    }
    std::panic::set_hook(previous);
    assert_eq!(
        PANICS.with(Cell::get),
        0,
        "a rule or the launcher model panicked"
    );
}

/// The editor's path: a file edited in place (incremental re-parse) and re-checked with the
/// per-chunk result cache must report exactly what a fresh parse and a full check report,
/// after every edit, for every fixture.
#[test]
fn incremental_checks_equal_full_checks_through_edits() {
    let settings = Settings::default();
    for files in all_workspaces() {
        let mut ws = index(&files);
        for (path, lang) in files.iter().cloned() {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut file = otel_lsp::engine::parse(lang, text.clone());
            let mut checker = engine::Checker::new();
            let _ = checker.check(&file, Some(&path), &settings, &ws);
            // Line starts spread over the file, deterministic.
            let starts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .filter(|&i| i < text.len())
                .collect();
            let picks: Vec<usize> = (0..6).map(|k| starts[k * starts.len() / 6]).collect();
            for (step, &at) in picks.iter().enumerate() {
                let at = at.min(file.text().len());
                // A blank line, which only moves offsets (cached results are moved along);
                // then a character and a comment marker, then delete both.
                for (s, e, t) in [
                    (at, at, "\n"),
                    (at, at + 1, ""),
                    (at, at, "x"),
                    (at, at, "# "),
                    (at, at + 3, ""),
                ] {
                    if e > file.text().len() || !file.text().is_char_boundary(e) {
                        continue;
                    }
                    file.edit(s, e, t);
                    // As the editor does: the file's new summary goes into the workspace.
                    let summary = engine::summarize(&file);
                    assert_eq!(
                        checker.summarize(&file),
                        summary,
                        "{}: the editor's summary, step {step}",
                        path.display()
                    );
                    ws.update(path.clone(), summary);
                    let fresh = otel_lsp::engine::parse(lang, file.text().to_string());
                    let want = engine::check(&fresh, Some(&path), &settings, &ws);
                    let got = checker.check(&file, Some(&path), &settings, &ws);
                    assert_eq!(
                        got,
                        want,
                        "{}: step {step}, edit {s}..{e} {t:?}",
                        path.display()
                    );
                }
            }
            assert_eq!(file.text(), text, "{}: edits cancel out", path.display());
        }
    }
}

/// The language server's lazy path: a document read without parsing anything, then parsed
/// only where its summary and relevant rules look (`engine::check_wanted`,
/// `engine::summary_wanted`, `engine::prepare`) after every edit, and checked incrementally,
/// reports exactly what the full path reports — every chunk parsed, every rule run
/// (`engine::check_full`) — for every fixture, after every edit.
#[test]
fn lazy_editor_path_equals_the_full_path_through_edits() {
    use otel_lsp::source::Wanted;
    let settings = Settings::default();
    for files in all_workspaces() {
        let mut ws = index(&files);
        for (path, lang) in files.iter().cloned() {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut file = engine::read(lang, text.clone(), Wanted::Bits(0));
            let mut checker = engine::Checker::new();
            let starts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .filter(|&i| i < text.len())
                .collect();
            let picks: Vec<usize> = (0..4).map(|k| starts[k * starts.len() / 4]).collect();
            let mut edits = vec![(0, 0, "")];
            for &at in &picks {
                edits.extend([
                    (at, at, "x"),
                    (at, at + 1, ""),
                    (at, at, "\n"),
                    (at, at + 1, ""),
                ]);
            }
            for (step, (s, e, t)) in edits.into_iter().enumerate() {
                if e > file.text().len() || !file.text().is_char_boundary(e) {
                    continue;
                }
                file.edit(s, e, t);
                let bits = file.needle_bits();
                let launched = lang == Language::Python && !ws.launched_by(&path).is_empty();
                let summary_wanted = match lang {
                    Language::Python if !launched => None,
                    _ => engine::summary_wanted(lang, bits),
                };
                let check_wanted =
                    engine::check_wanted(lang, file.text(), bits, Some(&path), &settings, &ws);
                let wanted = [summary_wanted, check_wanted]
                    .into_iter()
                    .flatten()
                    .fold(Wanted::Bits(0), Wanted::or);
                if wanted != file.wanted() {
                    file.want(wanted);
                }
                if check_wanted.is_some() {
                    engine::prepare(&mut file, Some(&path), &settings, &ws);
                }
                if summary_wanted.is_some() {
                    ws.update(path.clone(), checker.summarize(&file));
                }
                let fresh = engine::parse(lang, file.text().to_string());
                let want = engine::check_full(&fresh, Some(&path), &settings, &ws);
                let got = match check_wanted {
                    Some(_) => checker.check(&file, Some(&path), &settings, &ws),
                    None => Vec::new(),
                };
                assert_eq!(
                    got,
                    want,
                    "{}: step {step}, edit {s}..{e} {t:?}",
                    path.display()
                );
            }
        }
    }
}
