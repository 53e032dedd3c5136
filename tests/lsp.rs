//! The language server, spoken to over stdio by the real binary.

mod lsp_support;

use lsp_support::{apply_edits, file_uri, folder, range, Client};
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
    c.stderr_with("stale or reordered change dropped");

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
    // Type 199 characters before the finding, each right after the previous one, without
    // waiting: a change applied out of order or twice would move the finding elsewhere.
    for v in 2..=200u32 {
        let col = 4 + (v - 2);
        c.change(uri, v as i64, range(LINE, col, LINE, col), "y");
    }
    let d = c.diagnostics(uri, 200);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["range"], range(LINE, COL16 + 199, LINE, COL16 + 206));
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
    let dir = folder(&[("pyproject.toml", "[tool.otel-lsp]\nignore = ['OTEL001']\n")]);
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

fn code_actions(c: &mut Client, uri: &str, range: Value, only: Option<Value>) -> Vec<Value> {
    let mut context = json!({"diagnostics": []});
    if let Some(only) = only {
        context["only"] = only;
    }
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": range, "context": context}),
    );
    r.as_array().cloned().unwrap_or_default()
}

/// The text edits of a code action (either `changes` or `documentChanges` form).
fn edits_of(action: &Value) -> Vec<Value> {
    let edit = &action["edit"];
    if let Some(dc) = edit["documentChanges"].as_array() {
        return dc[0]["edits"].as_array().unwrap().clone();
    }
    let changes = edit["changes"].as_object().unwrap();
    changes.values().next().unwrap().as_array().unwrap().clone()
}

fn replace_all(c: &mut Client, uri: &str, version: i64, text: &str) {
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
    );
}

#[test]
fn disable_for_this_line_adds_or_extends_noqa() {
    let mut c = started(json!({}));
    let uri = "file:///tmp/otel-lsp-test/noqa.py";
    c.open(uri, "python", 1, APP);
    let d = c.diagnostics(uri, 1);
    let actions = code_actions(&mut c, uri, d[0]["range"].clone(), None);
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Add `use_reloader=False` (OTEL001)",
            "Disable OTEL001 for this line",
            "Fix all auto-fixable otel-lsp problems"
        ]
    );
    // Without documentChanges support, edits come as `changes`.
    assert!(actions[1]["edit"]["changes"].is_object());
    let text = apply_edits(APP, &edits_of(&actions[1]), false);
    assert!(text.contains("debug=True)  # noqa: OTEL001\n"), "{text}");
    replace_all(&mut c, uri, 2, &text);
    assert_eq!(c.diagnostics(uri, 2), Vec::<Value>::new());

    // An existing `# noqa: OTHER` is extended.
    let other = APP.replace("debug=True)\n", "debug=True)  # noqa: E501\n");
    replace_all(&mut c, uri, 3, &other);
    let d = c.diagnostics(uri, 3);
    assert_eq!(d.len(), 1);
    let actions = code_actions(
        &mut c,
        uri,
        d[0]["range"].clone(),
        Some(json!(["quickfix"])),
    );
    assert_eq!(actions.len(), 2, "{actions:#?}");
    let text = apply_edits(&other, &edits_of(&actions[1]), false);
    assert!(text.contains("# noqa: E501, OTEL001\n"), "{text}");
    replace_all(&mut c, uri, 4, &text);
    assert_eq!(c.diagnostics(uri, 4), Vec::<Value>::new());
    assert!(c.shutdown().success());
}

#[test]
fn fix_all_applies_every_safe_fix_and_is_idempotent() {
    let mut c = started(push_caps());
    let uri = "file:///tmp/otel-lsp-test/fixall.py";
    let two = format!("{APP}    app.run(debug=True)\n");
    c.open(uri, "python", 1, &two);
    assert_eq!(c.diagnostics(uri, 1).len(), 2);
    // Asked for on save: only source.fixAll, the cursor anywhere.
    let actions = code_actions(
        &mut c,
        uri,
        range(0, 0, 0, 0),
        Some(json!(["source.fixAll"])),
    );
    assert_eq!(actions.len(), 1, "{actions:#?}");
    assert_eq!(actions[0]["kind"], "source.fixAll.otel-lsp");
    let fixed = apply_edits(&two, &edits_of(&actions[0]), false);
    assert_eq!(
        fixed.matches("debug=True, use_reloader=False)").count(),
        2,
        "{fixed}"
    );
    replace_all(&mut c, uri, 2, &fixed);
    assert_eq!(c.diagnostics(uri, 2), Vec::<Value>::new());
    let again = code_actions(
        &mut c,
        uri,
        range(0, 0, 0, 0),
        Some(json!(["source.fixAll.otel-lsp"])),
    );
    assert_eq!(again, Vec::<Value>::new());
    // `only: quickfix` never returns the source action.
    replace_all(&mut c, uri, 3, &two);
    let d = c.diagnostics(uri, 3);
    let quick = code_actions(
        &mut c,
        uri,
        d[0]["range"].clone(),
        Some(json!(["quickfix"])),
    );
    assert!(quick.iter().all(|a| a["kind"] == "quickfix"));
    assert!(c.shutdown().success());
}

/// OTEL100: a `# noqa` that silences nothing is a diagnostic (info) with a quick fix, which
/// fix-all applies with the others' (Python and YAML alike).
#[test]
fn unused_noqa_is_reported_with_a_quick_fix_and_in_fix_all() {
    let mut c = started(push_caps());
    let uri = "file:///tmp/otel-lsp-test/unused_noqa.py";
    let text = format!("{APP}x = 1  # noqa: E501, OTEL001\ny = 2  # noqa: OTEL001\n");
    c.open(uri, "python", 1, &text);
    let d = c.diagnostics(uri, 1);
    assert_eq!(codes(&d), ["OTEL001", "OTEL100", "OTEL100"], "{d:#?}");
    assert_eq!(d[1]["severity"], 3);
    let col = "x = 1  # noqa: E501, ".len() as u32;
    assert_eq!(d[1]["range"], range(LINE + 1, col, LINE + 1, col + 7));
    assert!(d[1]["message"]
        .as_str()
        .unwrap()
        .contains("OTEL001 reports nothing"));
    let actions = code_actions(
        &mut c,
        uri,
        d[1]["range"].clone(),
        Some(json!(["quickfix"])),
    );
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Remove OTEL001 from the `noqa` directive (OTEL100)",
            "Disable OTEL100 for this line"
        ]
    );
    assert_eq!(actions[0]["isPreferred"], true);
    let fixed = apply_edits(&text, &edits_of(&actions[0]), false);
    assert!(
        fixed.ends_with("x = 1  # noqa: E501\ny = 2  # noqa: OTEL001\n"),
        "{fixed}"
    );
    let silenced = apply_edits(&text, &edits_of(&actions[1]), false);
    assert!(
        silenced.contains("# noqa: E501, OTEL001, OTEL100\n"),
        "{silenced}"
    );
    replace_all(&mut c, uri, 2, &silenced);
    assert_eq!(codes(&c.diagnostics(uri, 2)), ["OTEL001", "OTEL100"]);
    // Fix-all: the Flask fix and both directives.
    replace_all(&mut c, uri, 3, &text);
    assert_eq!(c.diagnostics(uri, 3).len(), 3);
    let all = code_actions(
        &mut c,
        uri,
        range(0, 0, 0, 0),
        Some(json!(["source.fixAll"])),
    );
    assert_eq!(all.len(), 1, "{all:#?}");
    let fixed = apply_edits(&text, &edits_of(&all[0]), false);
    assert!(
        fixed.contains("debug=True, use_reloader=False)\n"),
        "{fixed}"
    );
    assert!(fixed.ends_with("x = 1  # noqa: E501\ny = 2\n"), "{fixed}");
    replace_all(&mut c, uri, 4, &fixed);
    assert_eq!(c.diagnostics(uri, 4), Vec::<Value>::new());

    let yaml = "file:///tmp/otel-lsp-test/service.yaml";
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web  # noqa: OTEL003\n  labels:  # noqa: E501\n    app: web\n";
    c.open(yaml, "yaml", 1, text);
    let d = c.diagnostics(yaml, 1);
    assert_eq!(codes(&d), ["OTEL100"], "{d:#?}");
    assert_eq!(d[0]["range"], range(3, 21, 3, 28));
    let all = code_actions(
        &mut c,
        yaml,
        range(0, 0, 0, 0),
        Some(json!(["source.fixAll"])),
    );
    let fixed = apply_edits(text, &edits_of(&all[0]), false);
    assert_eq!(
        fixed,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:  # noqa: E501\n    app: web\n"
    );
    replace_all(&mut c, yaml, 2, &fixed);
    assert_eq!(c.diagnostics(yaml, 2), Vec::<Value>::new());
    assert!(c.shutdown().success());
}

#[test]
fn hover_shows_rule_docs_on_findings_and_noqa_codes() {
    let mut c = started(utf8_caps());
    let uri = "file:///tmp/otel-lsp-test/hover.py";
    let text = format!("{APP}x = 1  # noqa: E501, otel001\n");
    c.open(uri, "python", 1, &text);
    c.diagnostics(uri, 1);
    let hover = |c: &mut Client, line: u32, character: u32| {
        c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    };
    let h = hover(&mut c, LINE, COL8 + 2);
    assert_eq!(h["contents"]["kind"], "markdown");
    let md = h["contents"]["value"].as_str().unwrap();
    assert!(
        md.contains("**OTEL001**") && md.contains("## What it does"),
        "{md}"
    );
    assert_eq!(h["range"], range(LINE, COL8, LINE, COL8 + 7));
    // On the code in a noqa comment (case-insensitive), with the code's range; OTEL100
    // underlines it (OTEL001 reports nothing there), so its docs come first.
    let col = "x = 1  # noqa: E501, otel0".len() as u32;
    let h = hover(&mut c, LINE + 1, col);
    let md = h["contents"]["value"].as_str().unwrap();
    let (unused, rule) = (md.find("`unused-noqa`"), md.find("`flask-debug-reloader`"));
    assert!(unused.is_some() && unused < rule, "{md}");
    assert_eq!(h["range"], range(LINE + 1, col - 5, LINE + 1, col + 2));
    // Not on a rule: nothing.
    assert_eq!(hover(&mut c, LINE + 1, col - 8), Value::Null);
    assert_eq!(hover(&mut c, 0, 0), Value::Null);
    assert_eq!(hover(&mut c, 9999, 9999), Value::Null);
    assert!(c.shutdown().success());
}

#[test]
fn editor_settings_from_init_options_and_configuration_changes() {
    let mut c = Client::spawn();
    c.initialize(
        push_caps(),
        json!({"otel-lsp": {"ignore": ["OTEL001"]}}),
        None,
    );
    let uri = "file:///tmp/otel-lsp-test/settings.py";
    c.open(uri, "python", 1, APP);
    assert_eq!(c.diagnostics(uri, 1), Vec::<Value>::new());
    // A change re-checks open documents.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"otel-lsp": {"severity": {"OTEL001": "error"}}}}),
    );
    let d = c.diagnostics(uri, 1);
    assert_eq!(d[0]["severity"], 1);
    // Unknown codes are reported, not fatal.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"otel-lsp": {"ignore": ["NOPE1"]}}}),
    );
    let m = c.wait_for("window/showMessage", |_| true);
    assert!(m["message"].as_str().unwrap().contains("NOPE1"), "{m}");
    assert_eq!(c.diagnostics(uri, 1)[0]["severity"], 2);
    assert!(c.shutdown().success());
}

#[test]
fn pull_clients_are_asked_to_refresh_and_settings_are_fetched() {
    let mut c = Client::spawn();
    c.initialize(pull_caps(), Value::Null, None);
    let uri = "file:///tmp/otel-lsp-test/pull-settings.py";
    c.open(uri, "python", 1, APP);
    let r = c.request(
        "textDocument/diagnostic",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    // A client that sends no settings is asked for them (workspace/configuration).
    c.configuration = json!({"ignore": ["OTEL001"]});
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": null}),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !c
        .server_requests
        .iter()
        .any(|(m, _)| m == "workspace/diagnostic/refresh")
    {
        assert!(std::time::Instant::now() < deadline, "no refresh request");
        c.try_wait_for("$/never", Duration::from_millis(50), |_| false);
    }
    assert!(c
        .server_requests
        .iter()
        .any(|(m, p)| m == "workspace/configuration" && p["items"][0]["section"] == "otel-lsp"));
    let r = c.request(
        "textDocument/diagnostic",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(r["items"], json!([]));
    assert!(c.shutdown().success());
}

#[test]
fn a_broken_config_file_is_reported_and_linting_goes_on() {
    let dir = folder(&[("otel-lsp.toml", "# settings\nselect = [\"NOPE9\"]\n")]);
    let cfg = dir.path().join("otel-lsp.toml");
    let mut c = Client::spawn();
    c.initialize(
        json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}}),
        Value::Null,
        Some(dir.path()),
    );
    let uri = file_uri(&dir.path().join("app.py"));
    c.open(&uri, "python", 1, APP);
    // The defaults apply meanwhile.
    assert_eq!(c.diagnostics(&uri, 1).len(), 1);
    let cfg_uri = file_uri(&cfg);
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == cfg_uri.as_str()
    });
    let d = &p["diagnostics"][0];
    assert!(d["message"].as_str().unwrap().contains("NOPE9"), "{d}");
    assert_eq!(d["range"]["start"]["line"], 1);
    let m = c.wait_for("window/showMessage", |_| true);
    assert!(
        m["message"].as_str().unwrap().contains("otel-lsp.toml"),
        "{m}"
    );
    // The server asked to watch configuration files.
    assert!(c
        .server_requests
        .iter()
        .any(|(m, _)| m == "client/registerCapability"));
    // Fixed on disk: the error goes away and the new settings apply.
    std::fs::write(&cfg, "ignore = [\"OTEL001\"]\n").unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": cfg_uri, "type": 2}]}),
    );
    assert_eq!(c.diagnostics(&uri, 1), Vec::<Value>::new());
    c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == cfg_uri.as_str() && p["diagnostics"] == json!([])
    });
    assert!(c.shutdown().success());
}

#[test]
fn malformed_messages_and_bad_positions_do_not_stop_the_server() {
    let mut c = started(push_caps());
    // Not JSON at all, a header without a length, then a request that is not JSON-RPC.
    c.write_raw(b"Content-Length: 5\r\n\r\n{oops");
    c.write_raw(b"Content-Type: text/plain\r\n\r\n");
    c.send(&json!({"jsonrpc": "2.0", "id": 99, "method": 42}));
    assert_eq!(c.response(99)["error"]["code"], -32600);
    // Params of the wrong shape.
    let id = c.send_request("textDocument/hover", json!({"foo": 1}));
    assert_eq!(c.response(id)["error"]["code"], -32602);
    // An unknown method.
    let id = c.send_request("otel/nope", json!({}));
    assert_eq!(c.response(id)["error"]["code"], -32601);
    // Requests about documents that are not open.
    let nope = "file:///tmp/otel-lsp-test/not-open.py";
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": nope}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(h, Value::Null);
    let a = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": nope}, "range": range(0, 0, 0, 0), "context": {"diagnostics": []}}),
    );
    assert_eq!(a, Value::Null);
    c.change(nope, 2, range(0, 0, 0, 0), "x");
    // Positions past the end of a line or of the file are clamped.
    let uri = "file:///tmp/otel-lsp-test/clamp.py";
    c.open(uri, "python", 1, "x = 1\n");
    c.diagnostics(uri, 1);
    c.change(uri, 2, range(0, 99, 0, 120), "  # end of line 0");
    c.change(uri, 3, range(99, 0, 120, 5), &APP[..APP.len() - 1]);
    let d = c.diagnostics(uri, 3);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["range"]["start"]["line"], LINE + 1);
    let a = code_actions(&mut c, uri, range(500, 0, 400, 9), None);
    assert!(a.iter().all(|a| a["kind"] != "quickfix"));
    // Still answering.
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": LINE + 1, "character": COL16}}),
    );
    assert!(r["contents"]["value"].as_str().unwrap().contains("OTEL001"));
    c.stderr_with("dropped a malformed message");
    assert!(c.shutdown().success());
}

#[test]
fn a_5_mb_file_opens_and_edits_without_blocking_other_documents() {
    let mut c = started(push_caps());
    let mut big = String::from("from opentelemetry import trace\nfrom flask import Flask\n\n");
    let mut i = 0;
    while big.len() < 5_000_000 {
        big.push_str(&format!(
            "def handler_{i}(request):\n    value = request.args.get('q{i}')\n    return {{'n': {i}, 'v': value}}\n\n"
        ));
        i += 1;
    }
    big.push_str("app = Flask(__name__)\napp.run(debug=True)\n");
    let lines = big.matches('\n').count() as u32;
    let uri = "file:///tmp/otel-lsp-test/big.py";
    c.open(uri, "python", 1, &big);
    // A small document opened right after is answered too.
    let small = "file:///tmp/otel-lsp-test/small.py";
    c.open(small, "python", 1, APP);
    assert_eq!(c.diagnostics(small, 1).len(), 1);
    let d = c.diagnostics(uri, 1);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["range"]["start"]["line"], lines - 1);
    c.change(uri, 2, range(lines / 2, 4, lines / 2, 4), "x");
    assert_eq!(c.diagnostics(uri, 2).len(), 1);
    assert!(c.shutdown().success());
}

#[test]
fn log_level_flag_and_environment() {
    let mut c = Client::spawn_with(&["--log-level", "debug"], &[]);
    c.initialize(json!({}), Value::Null, None);
    let uri = "file:///tmp/otel-lsp-test/log.py";
    c.open(uri, "python", 1, APP);
    c.diagnostics(uri, 1);
    let err = c.stderr_with("checked in");
    assert!(err.contains("DEBUG"), "{err}");
    assert!(c.shutdown().success());
    let mut c = Client::spawn_with(&[], &[("OTEL_LSP_LOG", "error")]);
    c.initialize(json!({}), Value::Null, None);
    let stderr = c.stderr.clone();
    assert!(c.shutdown().success());
    // The process has ended; give the thread reading its stderr a moment to finish.
    std::thread::sleep(Duration::from_millis(200));
    let err = stderr.lock().unwrap().clone();
    assert!(!err.contains("INFO"), "{err}");
}

#[test]
fn workspace_folders_are_indexed_in_the_background() {
    let dir = folder(&[
        (
            "k8s/instrumentation.yaml",
            "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: python\n",
        ),
        ("main.py", "print('hi')\n"),
    ]);
    let other = folder(&[("lib.py", "x = 1\n")]);
    let mut c = Client::spawn();
    c.initialize(
        json!({"workspace": {"workspaceFolders": true}}),
        Value::Null,
        Some(dir.path()),
    );
    let uri = file_uri(&dir.path().join("app.py"));
    c.open(&uri, "python", 1, APP);
    assert_eq!(c.diagnostics(&uri, 1).len(), 1);
    c.notify(
        "workspace/didChangeWorkspaceFolders",
        json!({"event": {"added": [{"uri": file_uri(other.path()), "name": "other"}], "removed": []}}),
    );
    // Re-checked after the folder change, still correct (and, unchanged, not re-sent).
    let a = code_actions(&mut c, &uri, range(LINE, COL16, LINE, COL16), None);
    assert_eq!(a.len(), 3, "{a:#?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // Both folders are indexed, in whatever order the threads finish.
    while !(c.stderr().contains("indexed 1 files") && c.stderr().contains("indexed 2 files")) {
        assert!(std::time::Instant::now() < deadline, "{}", c.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(c.shutdown().success());
}

/// A folder of three files the indexer reads (and one it does not).
fn three_files() -> tempfile::TempDir {
    folder(&[
        ("a.py", "x = 1\n"),
        ("b.py", "y = 2\n"),
        ("Dockerfile", DOCKERFILE),
        ("notes.txt", "not ours\n"),
    ])
}

fn progress_caps() -> Value {
    json!({"window": {"workDoneProgress": true}, "workspace": {"workspaceFolders": true}})
}

/// The `$/progress` notifications for `token`, in order (consumed).
fn progress_of(c: &mut Client, token: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(p) = c.try_wait_for("$/progress", Duration::ZERO, |p| p["token"] == *token) {
        out.push(p["value"].clone());
    }
    out
}

/// Waits for the `end` of one indexing run; returns its token.
fn wait_for_progress_end(c: &mut Client) -> Value {
    let end = c.wait_for("$/progress", |p| p["value"]["kind"] == "end");
    let token = end["token"].clone();
    // Put back, after the rest of its run.
    c.notifications
        .push_back(json!({"method": "$/progress", "params": end}));
    token
}

#[test]
fn indexing_reports_progress_to_clients_that_show_it() {
    let dir = three_files();
    let mut c = Client::spawn();
    c.initialize(progress_caps(), Value::Null, Some(dir.path()));
    let token = wait_for_progress_end(&mut c);
    // The token was asked for, with a request, before any progress was sent on it.
    let created: Vec<&Value> = c
        .server_requests
        .iter()
        .filter(|(m, _)| m == "window/workDoneProgress/create")
        .map(|(_, p)| &p["token"])
        .collect();
    assert_eq!(created, [&token], "{:?}", c.server_requests);
    let first_create = c
        .seen
        .iter()
        .position(|m| m == "window/workDoneProgress/create");
    let first_progress = c.seen.iter().position(|m| m == "$/progress");
    assert!(first_create < first_progress, "{:?}", c.seen);
    let values = progress_of(&mut c, &token);
    assert!(values.len() >= 2, "{values:#?}");
    let (begin, end) = (&values[0], values.last().unwrap());
    assert_eq!(begin["kind"], "begin", "{values:#?}");
    assert_eq!(begin["title"], "Indexing");
    assert_eq!(begin["message"], "Indexing 3 files");
    assert!(values[1..values.len() - 1]
        .iter()
        .all(|v| v["kind"] == "report"));
    assert_eq!(end["kind"], "end");
    let msg = end["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Indexed 3 files in ") && msg.ends_with(" s"),
        "{msg}"
    );
    // The log says how long it took.
    let err = c.stderr_with("indexed 3 files in ");
    assert!(err.contains("INFO"), "{err}");

    // A folder added later is indexed under a token of its own.
    let other = folder(&[("lib.py", "z = 3\n")]);
    c.notify(
        "workspace/didChangeWorkspaceFolders",
        json!({"event": {"added": [{"uri": file_uri(other.path()), "name": "other"}], "removed": []}}),
    );
    let second = wait_for_progress_end(&mut c);
    assert_ne!(second, token);
    let values = progress_of(&mut c, &second);
    assert_eq!(values[0]["kind"], "begin", "{values:#?}");
    assert_eq!(values[0]["message"], "Indexing 1 file");
    assert!(values.last().unwrap()["message"]
        .as_str()
        .unwrap()
        .starts_with("Indexed 1 file in "));
    assert!(c.shutdown().success());
}

#[test]
fn a_refused_progress_token_sends_nothing_and_the_server_goes_on() {
    let dir = three_files();
    let mut c = Client::spawn();
    c.refuse = vec!["window/workDoneProgress/create".into()];
    c.initialize(progress_caps(), Value::Null, Some(dir.path()));
    c.serve_until_stderr("window/workDoneProgress/create failed");
    c.serve_until_stderr("indexed 3 files in ");
    // Still serving (this round trip also flushes anything sent before it).
    let uri = file_uri(&dir.path().join("app.py"));
    c.open(&uri, "python", 1, APP);
    assert_eq!(c.diagnostics(&uri, 1).len(), 1);
    assert!(
        c.server_requests
            .iter()
            .any(|(m, _)| m == "window/workDoneProgress/create"),
        "{:?}",
        c.server_requests
    );
    let late = c.try_wait_for("$/progress", Duration::from_millis(500), |_| true);
    assert!(late.is_none(), "{late:?}");
    assert!(!c.seen.iter().any(|m| m == "$/progress"), "{:?}", c.seen);
    assert!(c.shutdown().success());
}

#[test]
fn clients_without_work_done_progress_get_no_progress() {
    let dir = three_files();
    let mut c = Client::spawn();
    c.initialize(
        json!({"window": {"workDoneProgress": false}}),
        Value::Null,
        Some(dir.path()),
    );
    c.stderr_with("indexed 3 files in ");
    let uri = file_uri(&dir.path().join("app.py"));
    c.open(&uri, "python", 1, APP);
    assert_eq!(c.diagnostics(&uri, 1).len(), 1);
    let late = c.try_wait_for("$/progress", Duration::from_millis(500), |_| true);
    assert!(late.is_none(), "{late:?}");
    assert!(
        !c.seen
            .iter()
            .any(|m| m == "$/progress" || m == "window/workDoneProgress/create"),
        "{:?}",
        c.seen
    );
    assert!(c.shutdown().success());
}

/// The first diagnostics of a document already count the document's own contribution to the
/// workspace (here: its Instrumentation), exactly as `otel-lsp check` does — no flicker from
/// a first answer computed without it.
#[test]
fn first_diagnostics_count_the_documents_own_workspace_facts() {
    let text = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: python-inst\n  namespace: shop\nspec:\n  exporter:\n    endpoint: http://collector.observability:4318\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: api\n  namespace: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"pyhton-inst\"\nspec:\n  containers:\n    - name: api\n      image: example/api:1\n";
    let dir = folder(&[("pods.yaml", text)]);
    let path = dir.path().join("pods.yaml");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_otel-lsp"))
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let cli: Vec<Value> = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(cli.len(), 1, "{cli:#?}");
    assert_eq!(cli[0]["code"], "OTEL004");

    let mut c = started(push_caps());
    let uri = lsp_support::file_uri(&path);
    c.open(&uri, "yaml", 1, text);
    let d = c.diagnostics(&uri, 1);
    let codes: Vec<&str> = d.iter().map(|x| x["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["OTEL004"], "{d:#?}");
    assert_eq!(d[0]["range"]["start"]["line"], 15);
    assert!(c.shutdown().success());
}

// --- Launchers: Dockerfiles, shell scripts, compose files; cross-file re-checks. ---

/// A Flask app that does not import OpenTelemetry: only a launcher makes `debug=True` a
/// problem. OTEL001 is on line 5, `debug=True` at column 27.
const FLASK_APP: &str = "from flask import Flask\n\napp = Flask(__name__)\n\nif __name__ == \"__main__\":\n    app.run(host=\"0.0.0.0\", debug=True)\n";
/// Runs app.py under opentelemetry-instrument; the exec-form `CMD` is line 4.
const DOCKERFILE: &str = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install flask opentelemetry-distro\nCMD [\"opentelemetry-instrument\", \"python\", \"app.py\"]\n";
/// `"opentelemetry-instrument", ` in the `CMD` line.
const INSTRUMENT_ARG: (u32, u32) = (5, 5 + 28);

fn codes(diags: &[Value]) -> Vec<&str> {
    diags.iter().filter_map(|d| d["code"].as_str()).collect()
}

fn has_otel001(p: &Value) -> bool {
    p["diagnostics"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["code"] == "OTEL001"))
}

/// A workspace folder with app.py and a Dockerfile that runs it, on disk.
fn flask_and_dockerfile() -> tempfile::TempDir {
    folder(&[("app.py", FLASK_APP), ("Dockerfile", DOCKERFILE)])
}

#[test]
fn a_dockerfile_on_disk_makes_flask_debug_a_finding_and_edits_to_it_recheck_the_app() {
    let dir = flask_and_dockerfile();
    let mut c = Client::spawn();
    c.initialize(push_caps(), Value::Null, Some(dir.path()));
    let app = file_uri(&dir.path().join("app.py"));
    c.open(&app, "python", 1, FLASK_APP);
    // The Dockerfile is not open: the background index brings it in (the first check may
    // come before it, without the finding).
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == app.as_str() && has_otel001(p)
    });
    assert_eq!(p["version"], 1);
    // Forget an earlier publish (before the index), so that each wait below sees the next.
    c.notifications
        .retain(|n| n["params"]["uri"] != app.as_str());
    let d = p["diagnostics"].as_array().unwrap();
    assert_eq!(codes(d), ["OTEL001"], "{d:#?}");
    assert_eq!(d[0]["range"], range(5, 4, 5, 11), "on `app.run`");

    // Open the Dockerfile and drop `opentelemetry-instrument` from its CMD: the app's
    // diagnostics are published again, without OTEL001 (its own version did not change).
    let docker = file_uri(&dir.path().join("Dockerfile"));
    c.open(&docker, "dockerfile", 1, DOCKERFILE);
    assert_eq!(c.diagnostics(&docker, 1), Vec::<Value>::new());
    let (s, e) = INSTRUMENT_ARG;
    c.change(&docker, 2, range(4, s, 4, e), "");
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == app.as_str()
    });
    assert_eq!(p["version"], 1);
    assert_eq!(p["diagnostics"], json!([]));
    // And back: OTEL001 returns.
    c.change(
        &docker,
        3,
        range(4, s, 4, s),
        "\"opentelemetry-instrument\", ",
    );
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == app.as_str()
    });
    assert!(has_otel001(&p), "{p:#?}");

    // Closed, the Dockerfile on disk (which has the launcher) speaks again; edited on disk
    // to drop it, a watched-file change re-checks the app.
    c.change(&docker, 4, range(4, s, 4, e), "");
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == app.as_str()
    });
    assert_eq!(p["diagnostics"], json!([]));
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": docker}}),
    );
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == app.as_str()
    });
    assert!(
        has_otel001(&p),
        "the file on disk runs the app instrumented"
    );
    std::fs::write(
        dir.path().join("Dockerfile"),
        DOCKERFILE.replace("\"opentelemetry-instrument\", ", ""),
    )
    .unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": docker, "type": 2}]}),
    );
    let p = c.wait_for("textDocument/publishDiagnostics", |p| {
        p["uri"] == app.as_str()
    });
    assert_eq!(p["diagnostics"], json!([]));
    // Deleted: still nothing (and no crash).
    std::fs::remove_file(dir.path().join("Dockerfile")).unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": docker, "type": 3}]}),
    );
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": app}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(r, Value::Null);
    assert!(c.shutdown().success());
}

#[test]
fn pull_clients_are_asked_to_refresh_when_a_launcher_changes() {
    let dir = flask_and_dockerfile();
    let mut c = Client::spawn();
    c.initialize(pull_caps(), Value::Null, Some(dir.path()));
    let docker = file_uri(&dir.path().join("Dockerfile"));
    let app = file_uri(&dir.path().join("app.py"));
    // The Dockerfile is opened first, so the app sees it whatever the indexer does.
    c.open(&docker, "dockerfile", 1, DOCKERFILE);
    c.open(&app, "python", 1, FLASK_APP);
    let pull = |c: &mut Client| {
        c.request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": app}}),
        )
    };
    let r = pull(&mut c);
    assert_eq!(codes(r["items"].as_array().unwrap()), ["OTEL001"]);
    let refreshes = |c: &Client| {
        c.server_requests
            .iter()
            .filter(|(m, _)| m == "workspace/diagnostic/refresh")
            .count()
    };
    let before = refreshes(&c);
    let (s, e) = INSTRUMENT_ARG;
    c.change(&docker, 2, range(4, s, 4, e), "");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while refreshes(&c) == before {
        assert!(std::time::Instant::now() < deadline, "no refresh request");
        c.try_wait_for("$/never", Duration::from_millis(50), |_| false);
    }
    assert_eq!(pull(&mut c)["items"], json!([]));
    assert!(c.shutdown().success());
}

/// gunicorn with 4 workers under opentelemetry-instrument; a non-ASCII `--name` before the
/// `4` makes UTF-16 and UTF-8 columns differ.
const GUNICORN_DOCKERFILE: &str = "FROM python:3.12-slim\nCMD [\"opentelemetry-instrument\", \"gunicorn\", \"--name\", \"café-☕\", \"-w\", \"4\", \"app:app\"]\n";
/// The `4`: column in UTF-16 units and in bytes.
const FOUR16: u32 = 72;
const FOUR8: u32 = 75;

#[test]
fn a_dockerfile_gets_otel020_on_the_worker_count_with_unsafe_fixes() {
    for (caps, col, utf8) in [(push_caps(), FOUR16, false), (utf8_caps(), FOUR8, true)] {
        let mut c = started(caps);
        let uri = "file:///tmp/otel-lsp-test/gunicorn/Dockerfile";
        c.open(uri, "dockerfile", 1, GUNICORN_DOCKERFILE);
        let d = c.diagnostics(uri, 1);
        assert_eq!(codes(&d), ["OTEL020"], "{d:#?}");
        assert_eq!(d[0]["range"], range(1, col, 1, col + 1), "utf8: {utf8}");
        let actions = code_actions(
            &mut c,
            uri,
            d[0]["range"].clone(),
            Some(json!(["quickfix"])),
        );
        let fixes: Vec<&Value> = actions
            .iter()
            .filter(|a| !a["title"].as_str().unwrap().starts_with("Disable"))
            .collect();
        assert!(fixes.len() >= 2, "{actions:#?}");
        assert!(
            actions.iter().all(|a| a["isPreferred"] != true),
            "unsafe fixes are never preferred: {actions:#?}"
        );
        let single = fixes
            .iter()
            .find(|a| a["title"] == "Run a single gunicorn worker (OTEL020)")
            .unwrap_or_else(|| panic!("{actions:#?}"));
        let fixed = apply_edits(GUNICORN_DOCKERFILE, &edits_of(single), utf8);
        assert!(fixed.contains("\"-w\", \"1\", \"app:app\""), "{fixed}");
        // Unsafe fixes stay out of fix-all.
        let all = code_actions(
            &mut c,
            uri,
            range(0, 0, 0, 0),
            Some(json!(["source.fixAll"])),
        );
        assert_eq!(all, Vec::<Value>::new());
        replace_all(&mut c, uri, 2, &fixed);
        assert_eq!(c.diagnostics(uri, 2), Vec::<Value>::new());
        assert!(c.shutdown().success());
    }
}

#[test]
fn shell_scripts_compose_files_and_procfiles_get_their_launcher_findings() {
    let dir = folder(&[("app.py", "from flask import Flask\napp = Flask(__name__)\n")]);
    let mut c = Client::spawn();
    c.initialize(push_caps(), Value::Null, Some(dir.path()));
    let run = "opentelemetry-instrument gunicorn -w 4 app:app";
    let four = run.find('4').unwrap() as u32;
    // (file name, languageId, text, line and column of the `4`)
    let cases = [
        (
            "start.sh",
            "shellscript",
            format!("#!/bin/sh\nexec {run}\n"),
            1,
            5 + four,
        ),
        (
            "docker-compose.yml",
            "yaml",
            format!("services:\n  web:\n    image: x\n    command: {run}\n"),
            3,
            13 + four,
        ),
        // No VS Code languageId for Procfiles: the file name decides.
        (
            "Procfile",
            "plaintext",
            format!("web: {run}\n"),
            0,
            5 + four,
        ),
    ];
    for (name, id, text, line, col) in &cases {
        let uri = file_uri(&dir.path().join(name));
        c.open(&uri, id, 1, text);
        let d = c.diagnostics(&uri, 1);
        assert_eq!(codes(&d), ["OTEL020"], "{name}: {d:#?}");
        assert_eq!(d[0]["range"], range(*line, *col, *line, col + 1), "{name}");
    }
    // Near misses: one worker, or no opentelemetry-instrument.
    for (i, (name, _, text, _, _)) in cases.iter().enumerate() {
        let uri = file_uri(&dir.path().join(name));
        let v = 2 + i as i64;
        replace_all(&mut c, &uri, v, &text.replace("-w 4", "-w 1"));
        assert_eq!(c.diagnostics(&uri, v), Vec::<Value>::new(), "{name} -w 1");
        replace_all(
            &mut c,
            &uri,
            v + 10,
            &text.replace("opentelemetry-instrument ", ""),
        );
        assert_eq!(c.diagnostics(&uri, v + 10), Vec::<Value>::new(), "{name}");
    }
    assert!(c.shutdown().success());
}

// --- Hover: the Operator's effective injection. ---

const HOVER_INSTRUMENTATION: &str = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: python\n  namespace: shop\nspec:\n  exporter:\n    endpoint: http://otel-collector.observability:4318\n  env:\n    - name: OTEL_EXPORTER_OTLP_PROTOCOL\n      value: http/protobuf\n  python:\n    env:\n      - name: OTEL_LOGS_EXPORTER\n        value: otlp\n";

/// Line 9 (0-based 8) is the inject annotation.
const HOVER_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-python: \"true\"\n    spec:\n      containers:\n        - name: web\n          image: example/web:1\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://otel-collector.observability:4318\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: lost\n  namespace: billing\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"python\"\nspec:\n  containers:\n    - name: lost\n      image: example/lost:1\n";

#[test]
fn hover_shows_the_effective_injection_and_the_users_of_an_instrumentation() {
    let dir = folder(&[
        ("otel/instrumentation.yaml", HOVER_INSTRUMENTATION),
        ("app/deploy.yaml", HOVER_DEPLOYMENT),
    ]);
    let inst = dir.path().join("otel/instrumentation.yaml");
    let deploy = dir.path().join("app/deploy.yaml");
    let mut c = Client::spawn();
    c.initialize(utf8_caps(), Value::Null, Some(dir.path()));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !c.stderr().contains("indexed 2 files") {
        assert!(std::time::Instant::now() < deadline, "{}", c.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    let hover = |c: &mut Client, uri: &str, line: u32, character: u32| {
        c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    };
    let d = file_uri(&deploy);
    c.open(&d, "yaml", 1, HOVER_DEPLOYMENT);
    c.diagnostics(&d, 1);
    // On the annotation: the Instrumentation, where it is, the winning settings and their
    // sources, and what the Operator adds.
    let h = hover(&mut c, &d, 9, 12);
    let md = h["contents"]["value"].as_str().unwrap();
    assert_eq!(h["contents"]["kind"], "markdown");
    for want in [
        "Instrumentation **`shop/python`**",
        "`otel/instrumentation.yaml:2`",
        "container `web`",
        "| `OTEL_EXPORTER_OTLP_ENDPOINT` | `http://otel-collector.observability:4318` | container env |",
        "| `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` | `spec.env` |",
        "| `OTEL_LOGS_EXPORTER` | `otlp` | `spec.python.env` |",
        "| `OTEL_TRACES_EXPORTER` | `otlp` | Operator default |",
        "`PYTHONPATH`",
    ] {
        assert!(md.contains(want), "{want}\n---\n{md}");
    }
    assert_eq!(h["range"]["start"]["line"], 9);
    // A pod in another namespace: resolves to none, and says where the name exists.
    let md = hover(&mut c, &d, 24, 6)["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        md.contains("Resolves to **none** in namespace `billing`"),
        "{md}"
    );
    assert!(md.contains("`shop/python`"), "{md}");
    // Elsewhere in the document: no injection hover.
    assert_eq!(hover(&mut c, &d, 13, 12), Value::Null);

    // On the Instrumentation's kind line: the workloads that select it.
    let i = file_uri(&inst);
    c.open(&i, "yaml", 1, HOVER_INSTRUMENTATION);
    c.diagnostics(&i, 1);
    let md = hover(&mut c, &i, 1, 3)["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(md.contains("Selected by 1 workload(s)"), "{md}");
    assert!(md.contains("Deployment `shop/web`"), "{md}");
    assert!(md.contains("`app/deploy.yaml:10`"), "{md}");
    assert!(c.shutdown().success());
}
