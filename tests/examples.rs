//! The README's first command, `otel-lsp check examples`, must keep showing what it promises:
//! every core rule (OTEL001–OTEL005) and the launcher rules on the broken projects, nothing
//! on their clean counterparts, and `--fix` must leave only findings without a safe fix.

use std::path::Path;
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_otel-lsp")
}

fn codes(dir: &Path, args: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let out = Command::new(bin())
        .current_dir(dir)
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .expect("run otel-lsp");
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON output");
    (out.status.code().unwrap_or(-1), v)
}

fn code_set(v: &[serde_json::Value]) -> std::collections::BTreeSet<String> {
    v.iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn examples_show_every_core_rule_and_the_launcher_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, found) = codes(root, &["examples"]);
    assert_eq!(code, 1);
    let got = code_set(&found);
    for want in [
        "OTEL001", "OTEL002", "OTEL003", "OTEL004", "OTEL005", "OTEL007", "OTEL008", "OTEL009",
        "OTEL010", "OTEL011", "OTEL020", "OTEL021", "OTEL022", "OTEL041", "OTEL043", "OTEL044",
        "OTEL051",
    ] {
        assert!(
            got.contains(want),
            "{want} missing from `check examples`: {got:?}"
        );
    }
    let (code, found) = codes(root, &["examples/shop-clean", "examples/launch-right"]);
    assert_eq!(
        (code, found.len()),
        (0, 0),
        "clean examples report {found:#?}"
    );
}

#[test]
fn fix_then_check_leaves_only_findings_without_a_safe_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    copy_dir(&src, &tmp.path().join("examples"));
    let (_, before) = codes(tmp.path(), &["examples"]);
    let _ = codes(tmp.path(), &["examples", "--fix"]);
    let (code, after) = codes(tmp.path(), &["examples"]);
    assert_eq!(code, 1);
    assert!(after.len() < before.len(), "--fix fixed nothing");
    for d in &after {
        let safe = d["fixes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["applicability"] == "safe");
        assert!(!safe, "a safe fix was left unapplied: {d:#}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
