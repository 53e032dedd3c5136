//! The fuzz targets' regression corpus, replayed on stable: every file of
//! `fuzz/regressions/<target>/` (a few seeds per target and every input a fuzz run found a
//! crash, hang or broken property with) goes through the same properties as the fuzzer's
//! (`fuzz/harness.rs`), so CI catches a regression without nightly. The harness's own checks
//! are tested on inputs built to break them, and the fuzz dictionary on the needle table.

#[allow(dead_code)]
#[path = "../fuzz/harness.rs"]
mod harness;

use otel_lsp::diagnostic::{Diagnostic, Edit, Fix, Severity, Span};
use otel_lsp::language::Language;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The inputs of `target`: `fuzz/regressions/<target>/`, or `$OTEL_FUZZ_REPLAY/<target>/`
/// when that is set (`OTEL_FUZZ_REPLAY=fuzz/corpus cargo test --test fuzz_replay` replays a
/// whole fuzz corpus on stable).
fn inputs(target: &str) -> Vec<PathBuf> {
    let base = std::env::var_os("OTEL_FUZZ_REPLAY")
        .map(|d| root().join(d))
        .unwrap_or_else(|| root().join("fuzz/regressions"));
    let dir = base.join(target);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Every regression input of `target` holds its properties; the folder is not empty.
fn replay(target: &str) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "fuzz/regressions/{target}/ holds no input"
    );
    let mut failures = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let out = std::panic::catch_unwind(|| harness::run(target, &data));
        match out {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{}: {e}", f.display())),
            Err(_) => failures.push(format!("{}: panicked", f.display())),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_target_has_a_regression_folder_and_a_fuzz_target() {
    for t in harness::TARGETS {
        assert!(
            root().join(format!("fuzz/fuzz_targets/{t}.rs")).is_file(),
            "{t} has no fuzz target"
        );
        assert!(!inputs(t).is_empty(), "{t} has no regression input");
    }
    let targets: Vec<String> = std::fs::read_dir(root().join("fuzz/fuzz_targets"))
        .unwrap()
        .flatten()
        .map(|e| e.path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for t in &targets {
        assert!(
            harness::TARGETS.contains(&t.as_str()),
            "fuzz/fuzz_targets/{t}.rs is not in harness::TARGETS"
        );
    }
}

#[test]
fn check_python_regressions() {
    replay("check_python");
}

#[test]
fn check_yaml_regressions() {
    replay("check_yaml");
}

#[test]
fn check_dockerfile_regressions() {
    replay("check_dockerfile");
}

#[test]
fn check_shell_regressions() {
    replay("check_shell");
}

#[test]
fn check_ini_regressions() {
    replay("check_ini");
}

#[test]
fn check_other_regressions() {
    replay("check_other");
}

#[test]
fn incremental_edits_regressions() {
    replay("incremental_edits");
}

#[test]
fn fix_regressions() {
    replay("fix");
}

#[test]
fn light_yaml_regressions() {
    replay("light_yaml");
}

#[test]
fn transport_regressions() {
    replay("transport");
}

fn diag(span: Span, fixes: Vec<Fix>) -> Diagnostic {
    Diagnostic {
        code: "OTEL001",
        name: "flask-debug-reloader",
        severity: Severity::Error,
        span,
        message: "m".into(),
        fixes,
    }
}

/// The span check rejects what it must: a span past the end, inside a character, reversed;
/// a fix with overlapping edits or none.
#[test]
fn the_span_check_catches_broken_spans_and_fixes() {
    let text = "é = 1\n";
    assert!(harness::spans_fit(text, &[diag(Span::new(0, 2), vec![])]).is_ok());
    for bad in [Span::new(0, 1), Span::new(3, 2), Span::new(0, 99)] {
        assert!(
            harness::spans_fit(text, &[diag(bad, vec![])]).is_err(),
            "{bad:?}"
        );
    }
    let overlapping = Fix::safe(
        "f",
        vec![
            Edit::replace(Span::new(0, 4), "x"),
            Edit::replace(Span::new(3, 5), "y"),
        ],
    );
    assert!(harness::spans_fit(text, &[diag(Span::new(0, 2), vec![overlapping])]).is_err());
    let empty = Fix::safe("f", vec![]);
    assert!(harness::spans_fit(text, &[diag(Span::new(0, 2), vec![empty])]).is_err());
    let inside = Fix::safe("f", vec![Edit::insert(1, "x")]);
    assert!(harness::spans_fit(text, &[diag(Span::new(0, 2), vec![inside])]).is_err());
}

/// The fix property tells a finding that came back from one that moved with the text or a
/// neighbour of the same rule.
#[test]
fn the_fix_check_tells_a_finding_come_back() {
    let before = "a\nbad\nbad\n";
    let d = diag(Span::new(2, 5), vec![]);
    let e = diag(Span::new(6, 9), vec![]);
    // A fix that inserts a line above it and leaves it: it came back (moved down a line).
    let insert = Edit::insert(2, "x\n");
    let after = "a\nx\nbad\nbad\n";
    let again = [
        diag(Span::new(4, 7), vec![]),
        diag(Span::new(8, 11), vec![]),
    ];
    let both = [d.clone(), e.clone()];
    assert_eq!(
        harness::come_back(&d, &both, before, &[&insert], after, &again).len(),
        1
    );
    // A fix that deletes its line: the neighbour moved up onto that line, not a come-back.
    let delete = Edit::delete(Span::new(2, 6));
    let after = "a\nbad\n";
    let left = [diag(Span::new(2, 5), vec![])];
    assert!(harness::come_back(&d, &both, before, &[&delete], after, &left).is_empty());
    // Another message of the rule on the same line is another finding.
    let mut other = diag(Span::new(2, 5), vec![]);
    other.message = "another".into();
    assert!(
        harness::come_back(&d, std::slice::from_ref(&d), before, &[], before, &[other]).is_empty()
    );
}

/// The session check counts answers per request.
#[test]
fn the_session_check_finds_an_unanswered_request() {
    use tower_lsp_server::jsonrpc::Id;
    let frames: Vec<Vec<u8>> = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
        r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":"two","method":"shutdown"}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":null}"#,
        r#"{"jsonrpc":"2.0","method":"exit"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#,
    ]
    .iter()
    .map(|b| format!("Content-Length: {}\r\n\r\n{b}", b.len()).into_bytes())
    .collect();
    let expected = harness::expected_answers(&frames);
    assert_eq!(expected, vec![Id::Number(1), Id::String("two".into())]);
    assert_eq!(
        harness::unanswered(&expected, &[Id::Number(1)]),
        vec![Id::String("two".into())]
    );
    assert!(harness::unanswered(&expected, &[Id::String("two".into()), Id::Number(1)]).is_empty());
    // And the real server answers both.
    assert_eq!(harness::session(&frames), Ok(()));
}

/// The framing check holds the filter to the same frames however the input is split.
#[test]
fn the_framing_check_passes_good_frames_whole_and_split() {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
    let mut stream = format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes();
    stream.extend_from_slice(b"garbage\r\n\r\nContent-Length: 2\r\n\r\n{}");
    for chunk in [1, 3, 7, 1000] {
        let frames = harness::framing_holds(&stream, chunk).unwrap();
        assert_eq!(frames.len(), 1, "chunk {chunk}");
    }
}

/// `fuzz/otel.dict` holds every needle of every file kind (the rules' `Pre` strings and the
/// summary's), so the fuzzer can reach every rule. `OTEL_FUZZ_DICT=write cargo test --test
/// fuzz_replay dictionary` writes the needles' part of it again.
#[test]
fn the_dictionary_holds_every_needle() {
    const START: &str = "# needles:start";
    const END: &str = "# needles:end";
    let mut needles: Vec<&str> = Language::ALL
        .iter()
        .flat_map(|&l| otel_lsp::engine::needles::patterns(l).iter().copied())
        .collect();
    needles.sort();
    needles.dedup();
    let mut part =
        format!("{START} (generated from the needle table by tests/fuzz_replay.rs; do not edit)\n");
    for n in &needles {
        part.push_str(&format!("\"{}\"\n", dict_escape(n)));
    }
    part.push_str(END);
    let path = root().join("fuzz/otel.dict");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let current = match (text.find(START), text.find(END)) {
        (Some(a), Some(b)) if a < b => &text[a..b + END.len()],
        _ => "",
    };
    if current == part {
        return;
    }
    if std::env::var("OTEL_FUZZ_DICT").as_deref() == Ok("write") {
        let new = if current.is_empty() {
            format!("{text}{part}\n")
        } else {
            text.replacen(current, &part, 1)
        };
        std::fs::write(&path, new).unwrap();
        return;
    }
    panic!(
        "fuzz/otel.dict does not hold the needle table; run `OTEL_FUZZ_DICT=write cargo test --test fuzz_replay dictionary`"
    );
}

/// A libFuzzer dictionary string: printable ASCII as is but `"` and `\`, other bytes `\xNN`.
fn dict_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'"' | b'\\' => out.push_str(&format!("\\{}", b as char)),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}
