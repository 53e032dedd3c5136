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
        "OTEL010", "OTEL011", "OTEL020", "OTEL021", "OTEL022", "OTEL032", "OTEL038", "OTEL041",
        "OTEL043", "OTEL044", "OTEL051",
    ] {
        assert!(
            got.contains(want),
            "{want} missing from `check examples`: {got:?}"
        );
    }
    let (code, found) = codes(
        root,
        &[
            "examples/shop-clean",
            "examples/launch-right",
            "examples/operator-clean",
        ],
    );
    assert_eq!(
        (code, found.len()),
        (0, 0),
        "clean examples report {found:#?}"
    );
}

/// `examples/operator`: the namespace the inject annotation is looked up in comes from the
/// prod overlay's kustomization; checked without the overlay, the base says nothing of it.
#[test]
fn operator_example_depends_on_the_kustomize_namespace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_, found) = codes(root, &["examples/operator"]);
    let at = |code: &str| {
        found
            .iter()
            .filter(|d| d["code"] == code)
            .map(|d| d["path"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(at("OTEL032").len(), 1, "{found:#?}");
    assert!(at("OTEL032")[0].ends_with("base/api.yaml"), "{found:#?}");
    assert!(at("OTEL038")[0].ends_with("base/worker.yaml"), "{found:#?}");
    let (_, base) = codes(root, &["examples/operator/base"]);
    assert!(
        !base.iter().any(|d| d["code"] == "OTEL032"),
        "without the overlay the pods' namespace is unknown: {base:#?}"
    );
}

/// The summary the README's quick start quotes is the one `check examples` prints.
#[test]
fn readme_quotes_the_examples_summary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(bin())
        .current_dir(root)
        .args(["check", "examples", "--output-format", "concise"])
        .output()
        .expect("run otel-lsp");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().last().unwrap_or("").trim().to_string();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("`{summary}`")),
        "README's quick start should quote `{summary}`"
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
