//! The language server, spoken to over stdio by the real binary.

mod lsp_support;

use lsp_support::{apply_edits, file_uri, range, Client};
use serde_json::{json, Value};
use std::time::Duration;

/// OTEL001 on the last line, with non-ASCII text before it on the same line and above.
const APP: &str = "# café ☕ 日本語 🎉\nfrom flask import Flask\nfrom opentelemetry import trace\n\napp = Flask(__name__)\n\nif __name__ == \"__main__\":\n    x = \"🎉\"; app.run(port=8082, debug=True)\n";
/// The line of the finding and its column in UTF-16 and UTF-8 units.
const LINE: u32 = 7;
const COL16: u32 = 14;
const COL8: u32 = 16;

fn push_caps() -> Value {
    json!({"workspace": {"workspaceEdit": {"documentChanges": true}}})
}

fn pull_caps() -> Value {
    json!({
        "textDocument": {"diagnostic": {"dynamicRegistration": false}},
        "workspace": {"diagnostics": {"refreshSupport": true}, "configuration": true}
    })
}

fn utf8_caps() -> Value {
    json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}})
}

fn started(caps: Value) -> Client {
    let mut c = Client::spawn();
    c.initialize(caps, Value::Null, None);
    c
}

#[test]
fn push_diagnostics_follow_open_change_and_close() {
    let mut c = Client::spawn();
    let init = c.initialize(push_caps(), Value::Null, None);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(init["capabilities"]["textDocumentSync"]["change"], 2);
    assert!(init["capabilities"].get("diagnosticProvider").is_none());
    let uri = "file:///tmp/otel-lsp-test/app.py";
    c.open(uri, "python", 1, APP);
    let d = c.diagnostics(uri, 1);
    assert_eq!(d.len(), 1, "{d:?}");
    let d = &d[0];
    assert_eq!(d["code"], "OTEL001");
    assert_eq!(d["source"], "otel-lsp");
    assert_eq!(d["severity"], 2);
    assert_eq!(d["range"], range(LINE, COL16, LINE, COL16 + 7));
    assert!(d["codeDescription"]["href"]
        .as_str()
        .unwrap()
        .starts_with("https://"));

    // `debug=True` → `debug=False`: the finding goes away (UTF-16 columns).
    let debug_true = COL16 + "app.run(port=8082, debug=".len() as u32;
    c.change(
        uri,
        2,
        range(LINE, debug_true, LINE, debug_true + 4),
        "False",
    );
    assert_eq!(c.diagnostics(uri, 2), Vec::<Value>::new());
    // A stale version is dropped: nothing is published for it.
    c.change(
        uri,
        2,
        range(LINE, debug_true, LINE, debug_true + 5),
        "True",
    );
    c.change(
        uri,
        3,
        range(LINE, debug_true, LINE, debug_true + 5),
        "True",
    );
    assert_eq!(c.diagnostics(uri, 3).len(), 1);
    assert!(c.stderr().contains("stale"), "{}", c.stderr());

    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == uri && p["diagnostics"] == json!([])
    });
    assert!(p["version"].is_null());
    assert!(c.shutdown().success());
}

#[test]
fn utf8_session_reports_byte_columns() {
    let mut c = started(utf8_caps());
    let uri = "file:///tmp/otel-lsp-test/utf8.py";
    c.open(uri, "python", 1, APP);
    let d = c.diagnostics(uri, 1);
    assert_eq!(d[0]["range"], range(LINE, COL8, LINE, COL8 + 7));
    // An edit in byte columns: insert before the finding on the same line.
    c.change(uri, 2, range(LINE, 4, LINE, 4), "é");
    let d = c.diagnostics(uri, 2);
    assert_eq!(
        d[0]["range"]["start"],
        json!({"line": LINE, "character": COL8 + 2})
    );
    assert!(c.shutdown().success());
}

#[test]
fn language_from_extension_and_unknown_languages_ignored() {
    let mut c = started(push_caps());
    let py = "file:///tmp/otel-lsp-test/by_extension.py";
    c.open(py, "plaintext", 1, APP);
    assert_eq!(c.diagnostics(py, 1).len(), 1);
    let md = "file:///tmp/otel-lsp-test/README.md";
    c.open(md, "markdown", 1, APP);
    c.change(md, 2, range(0, 0, 0, 0), "x");
    let yaml = "file:///tmp/otel-lsp-test/deploy.yaml";
    c.open(
        yaml,
        "yaml",
        1,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ü\n",
    );
    assert_eq!(c.diagnostics(yaml, 1), Vec::<Value>::new());
    assert!(c
        .try_wait_for(
            "textDocument/publishDiagnostics",
            Duration::from_millis(300),
            |p| p["uri"] == md
        )
        .is_none());
    assert!(c.shutdown().success());
}

#[test]
fn shutdown_then_exit_is_0_and_exit_alone_is_1() {
    let c = started(push_caps());
    assert_eq!(c.shutdown().code(), Some(0));
    let c = started(push_caps());
    assert_eq!(c.exit().code(), Some(1));
}

#[test]
fn a_burst_of_changes_ends_with_diagnostics_for_the_last_version() {
    let mut c = started(push_caps());
    let uri = "file:///tmp/otel-lsp-test/burst.py";
    c.open(uri, "python", 1, APP);
    c.diagnostics(uri, 1);
    let mut text = APP.to_string();
    for v in 2..=200 {
        // Type at the top of the file, one character at a time.
        c.change(uri, v, range(0, 1, 0, 1), "x");
        text.insert(1, 'x');
    }
    let d = c.diagnostics(uri, 200);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["range"], range(LINE, COL16, LINE, COL16 + 7));
    let _ = text;
    assert!(c.shutdown().success());
}

#[test]
fn applying_a_quick_fix_clears_the_diagnostic() {
    let mut c = started(push_caps());
    let uri = "file:///tmp/otel-lsp-test/fix.py";
    c.open(uri, "python", 1, APP);
    let d = c.diagnostics(uri, 1);
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": d[0]["range"], "context": {"diagnostics": d}}),
    );
    let actions = actions.as_array().unwrap();
    let fix = actions
        .iter()
        .find(|a| a["isPreferred"] == true)
        .unwrap_or_else(|| panic!("{actions:#?}"));
    assert_eq!(fix["kind"], "quickfix");
    let doc_edit = &fix["edit"]["documentChanges"][0];
    assert_eq!(doc_edit["textDocument"]["version"], 1);
    let edits = doc_edit["edits"].as_array().unwrap();
    let fixed = apply_edits(APP, edits, false);
    assert!(fixed.contains("debug=True, use_reloader=False)"), "{fixed}");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    assert_eq!(c.diagnostics(uri, 2), Vec::<Value>::new());
    assert!(c.shutdown().success());
}

#[test]
fn project_files_configure_the_server() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.otel-lsp]\nignore = ['OTEL001']\n",
    )
    .unwrap();
    let mut c = Client::spawn();
    c.initialize(push_caps(), Value::Null, Some(dir.path()));
    let uri = file_uri(&dir.path().join("app.py"));
    c.open(&uri, "python", 1, APP);
    assert_eq!(c.diagnostics(&uri, 1), Vec::<Value>::new());
    assert!(c.shutdown().success());
}

#[test]
fn pull_diagnostics_with_result_ids() {
    let mut c = Client::spawn();
    let init = c.initialize(pull_caps(), Value::Null, None);
    assert_eq!(
        init["capabilities"]["diagnosticProvider"]["identifier"],
        "otel-lsp"
    );
    let uri = "file:///tmp/otel-lsp-test/pull.py";
    c.open(uri, "python", 1, APP);
    let r = c.request(
        "textDocument/diagnostic",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(r["kind"], "full");
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["items"][0]["range"], range(LINE, COL16, LINE, COL16 + 7));
    let id = r["resultId"].as_str().unwrap().to_string();
    let again = c.request(
        "textDocument/diagnostic",
        json!({"textDocument": {"uri": uri}, "previousResultId": id}),
    );
    assert_eq!(again, json!({"kind": "unchanged", "resultId": id}));
    // A change right before the request is taken into account.
    c.change(uri, 2, range(LINE, 0, LINE, 0), "  ");
    let r = c.request(
        "textDocument/diagnostic",
        json!({"textDocument": {"uri": uri}, "previousResultId": id}),
    );
    assert_eq!(r["kind"], "full");
    assert_eq!(r["items"][0]["range"]["start"]["character"], COL16 + 2);
    // Nothing is pushed to a pull client.
    assert!(c
        .try_wait_for(
            "textDocument/publishDiagnostics",
            Duration::from_millis(300),
            |_| true
        )
        .is_none());
    // An unknown document answers an empty report.
    let r = c.request(
        "textDocument/diagnostic",
        json!({"textDocument": {"uri": "file:///nope.py"}}),
    );
    assert_eq!(r["items"], json!([]));
    assert!(c.shutdown().success());
}
