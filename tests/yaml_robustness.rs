//! The YAML rules never panic, whatever the document looks like.
//!
//! The engine catches a panicking rule (and logs it), so a panic would not fail an ordinary
//! test: this binary installs a panic hook that counts them. It runs every document of the
//! YAML fixtures through mutations — cut at every line and mid-line, each line deleted, each
//! line indented one more space — checks each result, and applies every fix offered.

use otel_lsp::config::Settings;
use otel_lsp::engine::{self, fix};
use otel_lsp::language::Language;
use otel_lsp::workspace::Workspace;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn check_all_fixes(text: &str, ws: &Workspace) -> usize {
    let file = otel_lsp::engine::parse(Language::Yaml, text.to_string());
    let diags = engine::check(&file, None, &Settings::default(), ws);
    for d in &diags {
        for f in &d.fixes {
            let (fixed, _) = fix::apply(text, &[f]);
            let after = otel_lsp::engine::parse(Language::Yaml, fixed);
            let _ = engine::check(&after, None, &Settings::default(), ws);
        }
    }
    diags.len()
}

fn mutations(doc: &str) -> Vec<String> {
    let lines: Vec<&str> = doc.split_inclusive('\n').collect();
    let mut out = Vec::new();
    let mut at = 0;
    for (i, line) in lines.iter().enumerate() {
        // Cut mid-line and at the end of the line.
        let mid = line
            .char_indices()
            .nth(line.chars().count() / 2)
            .map_or(0, |(b, _)| b);
        out.push(doc[..at + mid].to_string());
        out.push(doc[..at + line.len()].to_string());
        // Delete the line; indent it by one more space.
        let mut deleted = String::new();
        let mut indented = String::new();
        for (j, l) in lines.iter().enumerate() {
            if j == i {
                indented.push(' ');
            } else {
                deleted.push_str(l);
            }
            indented.push_str(l);
        }
        out.push(deleted);
        out.push(indented);
        at += line.len();
    }
    out
}

#[test]
fn mutated_fixtures_never_panic() {
    std::panic::set_hook(Box::new(|info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        eprintln!("panic: {info}");
    }));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yaml");
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        // The whole file stays the workspace, so cross-document facts are exercised too.
        let mut ws = Workspace::new();
        ws.update(
            path.clone(),
            engine::summarize(&otel_lsp::engine::parse(Language::Yaml, text.clone())),
        );
        for doc in text.split("\n---") {
            for m in mutations(doc) {
                check_all_fixes(&m, &ws);
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "a rule panicked (see stderr)"
    );
}
