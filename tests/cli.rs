//! Runs the real `otel-lsp` binary on temporary projects: formats (JSON, SARIF, GitLab and
//! JUnit parsed),
//! exit codes, configuration, walking, `--fix`, and the files it must skip with a warning.
//!
//! Only OTEL001 (`flask-debug-reloader`) finds anything today, so the inputs trigger it; the
//! assertions look for OTEL001 (often with `--select OTEL001`) rather than counting every
//! rule, so they keep passing as rules land.

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

/// A Flask app with OpenTelemetry and `app.run(debug=True)` on line 7, column 5.
const FLASK_APP: &str = "from flask import Flask
from opentelemetry import trace

app = Flask(__name__)

if __name__ == \"__main__\":
    app.run(port=8082, debug=True)
";

/// Python and YAML that no rule should ever flag.
const CLEAN_PY: &str = "def add(a, b):\n    return a + b\n";
const CLEAN_YAML: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: plain\n";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otel-lsp"));
    cmd.current_dir(dir).args(args).env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    Out {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn run(dir: &Path, args: &[&str]) -> Out {
    run_env(dir, args, &[])
}

fn write(root: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// `app.py` (one OTEL001), `lib/util.py` and `k8s/config.yaml` (clean).
fn project() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.py", FLASK_APP);
    write(dir.path(), "lib/util.py", CLEAN_PY);
    write(dir.path(), "k8s/config.yaml", CLEAN_YAML);
    dir
}

fn json(out: &Out) -> Vec<Value> {
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out.stdout));
    v.as_array().expect("a JSON array").clone()
}

fn otel001(diags: &[Value]) -> Vec<&Value> {
    diags.iter().filter(|d| d["code"] == "OTEL001").collect()
}

#[test]
fn text_output_sorted_with_summary_and_exit_1() {
    let dir = project();
    write(dir.path(), "b/app.py", FLASK_APP);
    let out = run(
        dir.path(),
        &["check", "--output-format", "concise", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("app.py:7:5: OTEL001 Flask debug mode"),
        "{}",
        out.stdout
    );
    assert!(
        lines[1].starts_with("b/app.py:7:5: OTEL001 "),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines[2], "2 problems (2 fixable with --fix) in 4 files",
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when not a terminal"
    );
}

#[test]
fn clean_tree_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lib/util.py", CLEAN_PY);
    write(dir.path(), "k8s/config.yaml", CLEAN_YAML);
    let out = run(dir.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "No problems in 2 files\n");
    let out = run(dir.path(), &["check", "--format", "json"]);
    assert_eq!((out.code, json(&out).len()), (0, 0));
}

#[test]
fn exit_zero_quiet_and_colour() {
    let dir = project();
    let out = run(dir.path(), &["check", "--select", "OTEL001", "--exit-zero"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("OTEL001"));
    let out = run(
        dir.path(),
        &[
            "check", "--select", "OTEL001", "--quiet", "--format", "concise",
        ],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let out = run(dir.path(), &["check", "--select", "OTEL001", "--quiet"]);
    assert!(!out.stdout.contains("problem"), "{}", out.stdout);
    let out = run(
        dir.path(),
        &["check", "--color", "always", "--select", "OTEL001"],
    );
    assert!(out.stdout.contains("\x1b["), "{}", out.stdout);
    let out = run_env(
        dir.path(),
        &["check", "--select", "OTEL001"],
        &[("NO_COLOR", "1")],
    );
    assert!(!out.stdout.contains('\x1b'));
}

#[test]
fn json_contract() {
    let dir = project();
    let out = run(
        dir.path(),
        &["check", "--format", "json", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let diags = json(&out);
    assert_eq!(diags.len(), 1);
    let d = &diags[0];
    assert_eq!(d["path"], "app.py");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(7), Some(5))
    );
    // The span is the called function, `app.run`.
    assert_eq!(
        (d["end_line"].as_u64(), d["end_column"].as_u64()),
        (Some(7), Some(12))
    );
    assert_eq!(d["name"], "flask-debug-reloader");
    assert_eq!(d["severity"], "warning");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("use_reloader=False"));
    let fix = &d["fixes"][0];
    assert_eq!(fix["applicability"], "safe");
    assert!(fix["title"].as_str().unwrap().contains("use_reloader"));
    let edit = &fix["edits"][0];
    assert_eq!(edit["new_text"], ", use_reloader=False");
    let col = "    app.run(port=8082, debug=True".chars().count() as u64 + 1;
    assert_eq!(edit["line"].as_u64(), Some(7));
    assert_eq!(edit["column"].as_u64(), Some(col));
    assert_eq!(edit["end_column"].as_u64(), Some(col));
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "name",
        "severity",
        "message",
        "fixes",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
}

#[test]
fn paths_are_shown_as_typed_relative_to_the_working_directory() {
    let dir = project();
    write(dir.path(), "sub/app.py", FLASK_APP);
    let abs = dir.path().join("sub");
    for arg in ["./sub/", "sub", abs.to_str().unwrap()] {
        let out = run(
            dir.path(),
            &["check", "--format", "json", "--select", "OTEL001", arg],
        );
        let diags = json(&out);
        assert_eq!(diags[0]["path"], "sub/app.py", "for {arg}");
    }
}

#[test]
fn columns_are_characters_and_crlf_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let text = FLASK_APP
        .replace("    app.run(", "    ü = '😀'; app.run(")
        .replace('\n', "\r\n");
    write(dir.path(), "app.py", text);
    let out = run(
        dir.path(),
        &["check", "--format", "json", "--select", "OTEL001"],
    );
    let d = &json(&out)[0];
    let col = "    ü = '😀'; ".chars().count() as u64 + 1;
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(7), Some(col))
    );
    assert_eq!(d["end_column"].as_u64(), Some(col + "app.run".len() as u64));
    let out = run(dir.path(), &["check", "--select", "OTEL001"]);
    assert!(
        out.stdout.starts_with(&format!("app.py:7:{col}: OTEL001")),
        "{}",
        out.stdout
    );
}

#[test]
fn sarif_is_2_1_0_with_rules_and_regions() {
    let dir = project();
    let out = run(
        dir.path(),
        &["check", "--format", "sarif", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let log: Value = serde_json::from_str(&out.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &log["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "otel-lsp");
    let rules = driver["rules"].as_array().unwrap();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "OTEL001")
        .expect("OTEL001 listed");
    assert_eq!(rule["name"], "flask-debug-reloader");
    assert!(rule["helpUri"].as_str().unwrap().starts_with("https://"));
    assert!(rule["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("## Why is this bad?"));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["ruleId"], "OTEL001");
    assert_eq!(r["level"], "warning");
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], "OTEL001");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "app.py");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    let region = &loc["region"];
    assert_eq!(region["startLine"], 7);
    assert_eq!(region["startColumn"], 5);
    assert_eq!(region["endLine"], 7);
    assert_eq!(region["endColumn"], 12);
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("file:///"));
}

#[test]
fn github_annotations() {
    let dir = project();
    let out = run(
        dir.path(),
        &["check", "--format", "github", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 1);
    assert!(
        out.stdout.starts_with(
            "::warning file=app.py,line=7,col=5,endLine=7,endColumn=12,title=OTEL001 (flask-debug-reloader)::Flask debug mode"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn select_and_ignore_flags() {
    let dir = project();
    let out = run(
        dir.path(),
        &["check", "--ignore", "OTEL001", "--format", "json"],
    );
    assert!(otel001(&json(&out)).is_empty());
    let out = run(
        dir.path(),
        &["check", "--select", "OTEL002,OTEL003", "--format", "json"],
    );
    assert!(otel001(&json(&out)).is_empty());
    let out = run(
        dir.path(),
        &[
            "check",
            "--select",
            "flask-debug-reloader",
            "--format",
            "json",
        ],
    );
    assert_eq!(otel001(&json(&out)).len(), 1);
    let out = run(dir.path(), &["check", "--select", "BOGUS1"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--select") && out.stderr.contains("BOGUS1"),
        "{}",
        out.stderr
    );
}

#[test]
fn config_in_a_parent_folder_applies() {
    for (name, text) in [
        (
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.otel-lsp]\nignore = [\"OTEL001\"]\n",
        ),
        ("otel-lsp.toml", "ignore = [\"OTEL001\"]\n"),
    ] {
        let dir = project();
        write(dir.path(), name, text);
        write(dir.path(), "svc/api/app.py", FLASK_APP);
        let out = run(&dir.path().join("svc"), &["check", "--format", "json"]);
        assert_eq!(out.code, 0, "{name}: {}{}", out.stdout, out.stderr);
        assert!(otel001(&json(&out)).is_empty(), "{name}");
        // Command-line selection replaces the file's.
        let out = run(&dir.path().join("svc"), &["check", "--select", "OTEL001"]);
        assert_eq!(out.code, 1, "{name}");
    }
}

#[test]
fn nearest_config_wins_and_severity_is_overridden() {
    let dir = project();
    write(dir.path(), "otel-lsp.toml", "ignore = [\"OTEL001\"]\n");
    write(
        dir.path(),
        "svc/pyproject.toml",
        "[tool.otel-lsp]\nseverity = { OTEL001 = \"error\" }\n",
    );
    write(dir.path(), "svc/app.py", FLASK_APP);
    let out = run(dir.path(), &["check", "--format", "json"]);
    let diags = json(&out);
    let found = otel001(&diags);
    assert_eq!(found.len(), 1, "only svc/app.py: {}", out.stdout);
    assert_eq!(found[0]["path"], "svc/app.py");
    assert_eq!(found[0]["severity"], "error");
    // `--config` replaces discovery.
    write(dir.path(), "other.toml", "select = [\"OTEL001\"]\n");
    let out = run(
        dir.path(),
        &["check", "--format", "json", "--config", "other.toml"],
    );
    let diags = json(&out);
    assert_eq!(otel001(&diags).len(), 2);
    assert!(otel001(&diags).iter().all(|d| d["severity"] == "warning"));
}

#[test]
fn bad_config_exits_2_naming_file_and_key() {
    let cases = [
        (
            "otel-lsp.toml",
            "severity = { OTEL001 = \"loud\" }\n",
            "severity.OTEL001",
        ),
        ("otel-lsp.toml", "selct = [\"OTEL001\"]\n", "selct"),
        (
            "pyproject.toml",
            "[tool.otel-lsp]\nexclude = [\"a[\"]\n",
            "exclude",
        ),
        ("otel-lsp.toml", "select = [\n", "invalid TOML"),
    ];
    for (name, text, key) in cases {
        let dir = project();
        write(dir.path(), name, text);
        let out = run(dir.path(), &["check"]);
        assert_eq!(out.code, 2, "{name}: {text}");
        assert!(out.stderr.contains(name), "{}", out.stderr);
        assert!(out.stderr.contains(key), "{key}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let dir = project();
    let out = run(dir.path(), &["check", "--config", "missing.toml"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing.toml"), "{}", out.stderr);
}

/// The paths OTEL001 is reported on when checking `dir`, as JSON says them.
fn reported_paths(dir: &Path) -> Vec<String> {
    let out = run(dir, &["check", "--select", "OTEL001", "--format", "json"]);
    json(&out)
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn exclude_globs_and_explicit_paths() {
    let dir = project();
    write(
        dir.path(),
        "otel-lsp.toml",
        "exclude = [\"vendor\", \"gen/**\", \"*_generated.py\"]\n",
    );
    for p in [
        "vendor/a/app.py",
        "gen/app.py",
        "svc/app_generated.py",
        "svc/app.py",
    ] {
        write(dir.path(), p, FLASK_APP);
    }
    let paths = reported_paths(dir.path());
    assert_eq!(paths, ["app.py", "svc/app.py"]);
    // A file named on the command line is checked even when excluded …
    let out = run(dir.path(), &["check", "--select", "OTEL001", "gen/app.py"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    // … unless --force-exclude.
    let out = run(
        dir.path(),
        &[
            "check",
            "--select",
            "OTEL001",
            "--force-exclude",
            "gen/app.py",
            "vendor/a/app.py",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("in 0 files"), "{}", out.stdout);
}

#[test]
fn gitignore_hidden_and_default_excludes_are_honoured() {
    let dir = project();
    write(dir.path(), ".gitignore", "ignored/\nbuild_*.py\n");
    for p in [
        "ignored/app.py",
        "build_x.py",
        ".hidden/app.py",
        "node_modules/pkg/app.py",
        "venv/lib/app.py",
    ] {
        write(dir.path(), p, FLASK_APP);
    }
    let paths = reported_paths(dir.path());
    assert_eq!(paths, ["app.py"]);
    // Named explicitly, an ignored file is checked, unless --force-exclude.
    let out = run(
        dir.path(),
        &["check", "--select", "OTEL001", "ignored/app.py"],
    );
    assert_eq!(out.code, 1);
    let args = ["check", "--select", "OTEL001", "--force-exclude"];
    let out = run(
        dir.path(),
        &[&args[..], &["node_modules/pkg/app.py"]].concat(),
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = run(
        &dir.path().join("venv"),
        &[&args[..], &["lib/app.py"]].concat(),
    );
    assert_eq!(out.code, 1, "only names below the working directory count");
}

#[test]
fn fix_rewrites_atomically_keeping_the_mode() {
    let dir = project();
    let app = dir.path().join("app.py");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&app, fs::Permissions::from_mode(0o640)).unwrap();
    }
    let out = run(dir.path(), &["check", "--fix", "--select", "OTEL001"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "No problems remaining (1 fixed) in 3 files\n");
    let text = fs::read_to_string(&app).unwrap();
    assert!(
        text.contains("app.run(port=8082, debug=True, use_reloader=False)"),
        "{text}"
    );
    assert_eq!(
        text,
        FLASK_APP.replace("debug=True)", "debug=True, use_reloader=False)")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&app).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    let again = run(dir.path(), &["check", "--select", "OTEL001"]);
    assert_eq!(again.code, 0);
    assert_eq!(again.stdout, "No problems in 3 files\n");
    // Unfixed files are untouched; --unsafe-fixes is accepted and implies --fix.
    assert_eq!(
        fs::read_to_string(dir.path().join("lib/util.py")).unwrap(),
        CLEAN_PY
    );
    let out = run(
        dir.path(),
        &["check", "--unsafe-fixes", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 0);
}

#[test]
fn fix_reports_what_remains_in_json() {
    let dir = project();
    let out = run(
        dir.path(),
        &["check", "--fix", "--format", "json", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 0);
    assert!(json(&out).is_empty());
}

/// A file the process cannot read. Under root `chmod 000` does not stop reading, so there
/// a symbolic link to `/proc/self/mem` (which fails to read at offset 0 with EIO) stands in.
fn make_unreadable(root: &Path, rel: &str) {
    let p = root.join(rel);
    write(root, rel, FLASK_APP);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(&p).is_ok() {
            fs::remove_file(&p).unwrap();
            std::os::unix::fs::symlink("/proc/self/mem", &p).unwrap();
        }
    }
}

#[cfg(unix)]
#[test]
fn unreadable_file_warns_and_the_rest_is_checked() {
    let dir = project();
    make_unreadable(dir.path(), "locked/app.py");
    let out = run(dir.path(), &["check", "--select", "OTEL001"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: skipping locked/app.py"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.starts_with("app.py:7:5: OTEL001"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("locked/"));
}

#[test]
fn non_utf8_file_warns_and_the_rest_is_checked() {
    let dir = project();
    let mut bytes = FLASK_APP.as_bytes().to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    write(dir.path(), "latin1.py", bytes);
    let out = run(dir.path(), &["check", "--select", "OTEL001"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("warning: skipping latin1.py: not valid UTF-8 (byte 0xe9 on line 8)"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.starts_with("app.py:7:5: OTEL001"));
    assert!(out.stdout.contains("in 3 files"), "{}", out.stdout);
}

#[cfg(unix)]
#[test]
fn broken_symlink_and_special_files_warn_and_the_rest_is_checked() {
    let dir = project();
    std::os::unix::fs::symlink(dir.path().join("gone.py"), dir.path().join("dangling.py")).unwrap();
    // A working link to a file is followed.
    std::os::unix::fs::symlink(dir.path().join("app.py"), dir.path().join("linked.py")).unwrap();
    // A socket (like a FIFO) is not a file: reading it would block or fail.
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock.py")).unwrap();
    let out = run(
        dir.path(),
        &["check", "--select", "OTEL001", "--format", "concise"],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("warning: skipping sock.py: not a regular file"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("warning: skipping dangling.py: broken symbolic link"),
        "{}",
        out.stderr
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("app.py:7:5:"), "{}", out.stdout);
    assert!(lines[1].starts_with("linked.py:7:5:"), "{}", out.stdout);
}

#[test]
fn missing_path_exits_2_naming_it() {
    let dir = project();
    let out = run(dir.path(), &["check", "app.py", "no/such/dir"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no/such/dir"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn explicit_file_of_another_language_is_skipped_with_a_warning() {
    let dir = project();
    write(dir.path(), "notes.md", "# Notes\n");
    let out = run(
        dir.path(),
        &["check", "notes.md", "app.py", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("skipping notes.md"), "{}", out.stderr);
}

#[test]
fn rules_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["rules"]);
    assert_eq!(out.code, 0);
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["CODE", "NAME", "TOPIC", "SEVERITY", "LANGUAGE", "FIX"]
    );
    let row: Vec<&str> = lines
        .find(|l| l.starts_with("OTEL001"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        [
            "OTEL001",
            "flask-debug-reloader",
            "flask",
            "warning",
            "python",
            "safe"
        ]
    );
    let out = run(dir.path(), &["rules", "--format", "json"]);
    let list: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let r = list.iter().find(|r| r["code"] == "OTEL001").unwrap();
    assert_eq!(r["name"], "flask-debug-reloader");
    assert_eq!(r["topic"], "flask");
    assert!(r["url"].as_str().unwrap().starts_with("https://"));
}

#[test]
fn explain_shows_the_docs_and_rejects_unknown_codes() {
    let dir = tempfile::tempdir().unwrap();
    for code in ["OTEL001", "otel001", "flask-debug-reloader"] {
        let out = run(dir.path(), &["explain", code]);
        assert_eq!(out.code, 0, "{code}");
        assert!(out.stdout.starts_with("# OTEL001 (flask-debug-reloader)"));
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "## Fix safety",
            "## Source",
            "https://opentelemetry.io/",
        ] {
            assert!(out.stdout.contains(section), "{section}");
        }
    }
    let out = run(dir.path(), &["explain", "OTEL999"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("OTEL999"));
}

#[test]
fn hidden_launcher_files_are_walked_and_other_hidden_files_are_not() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: astral-sh/setup-uv@v5\n      - run: uv sync && opentelemetry-bootstrap -a install\n",
    );
    write(dir.path(), ".github/ISSUE_TEMPLATE/bug.yml", "name: Bug\n");
    write(dir.path(), ".venv/lib/app.py", "import opentelemetry\n");
    let out = run(
        dir.path(),
        &["check", "--format", "json", "--select", "OTEL050"],
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let paths: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [".github/workflows/ci.yml"], "{}", out.stdout);
    let quiet = run(dir.path(), &["check", "--select", "OTEL050"]);
    assert!(quiet.stdout.contains("in 1 file"), "{}", quiet.stdout);
}

fn run_stdin(dir: &Path, args: &[&str], input: &str) -> Out {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_otel-lsp"))
        .current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().unwrap();
    // A usage error exits before reading standard input: the pipe may close under us.
    if let Err(e) = stdin.write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// What `helm template shop` prints: a document with no `# Source:` comment (hand-written
/// extra), then each template's documents after their `# Source:` comment. The Deployment's
/// inject annotation sits on its own metadata (OTEL003) on stream line 20, which is line 6 of
/// `shop/templates/deployment.yaml` as rendered.
const HELM_STREAM: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: loose
  annotations:
    instrumentation.opentelemetry.io/inject-python: \"true\"
spec:
  template:
    spec:
      containers:
        - name: loose
          image: example/loose:1.0
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    instrumentation.opentelemetry.io/inject-python: \"true\"
spec:
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: example/web:1.0
---
# Source: shop/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80
";

#[test]
fn stdin_helm_stream_reports_template_paths() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_stdin(
        dir.path(),
        &["check", "-", "--select", "OTEL003", "--format", "json"],
        HELM_STREAM,
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let diags = json(&out);
    let at: Vec<(&str, u64, u64)> = diags
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    // Outside any `# Source:` document: standard input (`-`), lines of the stream; inside:
    // the template, lines counted from the line after its comment.
    assert_eq!(
        at,
        [("-", 6, 5), ("shop/templates/deployment.yaml", 6, 5)],
        "{}",
        out.stdout
    );
    let edit = &diags[1]["fixes"][0]["edits"][0];
    assert!(edit["line"].as_u64().unwrap() <= 16, "{edit}");
    let out = run_stdin(
        dir.path(),
        &["check", "-", "--select", "OTEL003", "--format", "concise"],
        HELM_STREAM,
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("-:6:5: OTEL003 "), "{}", out.stdout);
    assert!(
        lines[1].starts_with("shop/templates/deployment.yaml:6:5: OTEL003 "),
        "{}",
        out.stdout
    );
    assert!(lines[2].ends_with("in 1 file"), "{}", out.stdout);
}

#[test]
fn stdin_fix_prints_the_fixed_stream_and_reports_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_stdin(
        dir.path(),
        &["check", "-", "--fix", "--select", "OTEL003"],
        HELM_STREAM,
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("No problems remaining (2 fixed) in 1 file"),
        "{}",
        out.stderr
    );
    // The fixed stream: the annotation now on the pod template, nothing else changed.
    assert!(
        out.stdout.starts_with("apiVersion: apps/v1\n"),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("# Source: shop/templates/deployment.yaml\n"));
    assert!(out.stdout.ends_with("    - port: 80\n"), "{}", out.stdout);
    let again = run_stdin(
        dir.path(),
        &["check", "-", "--select", "OTEL003"],
        &out.stdout,
    );
    assert_eq!(again.code, 0, "{}", again.stdout);
    // Nothing to fix: the input comes back unchanged.
    let clean = run_stdin(dir.path(), &["check", "-", "--fix"], CLEAN_YAML);
    assert_eq!((clean.code, clean.stdout.as_str()), (0, CLEAN_YAML));
}

#[test]
fn stdin_filename_decides_the_kind_and_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc/otel-lsp.toml", "ignore = [\"OTEL001\"]\n");
    let args = |name| {
        [
            "check",
            "--stdin-filename",
            name,
            "--select",
            "OTEL001",
            "-",
        ]
    };
    let out = run_stdin(dir.path(), &args("other/app.py"), FLASK_APP);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("other/app.py:7:5: OTEL001 "),
        "{}",
        out.stdout
    );
    // The configuration found from the name's folder applies (`--select` replaces its
    // `ignore`, so ask without it).
    let out = run_stdin(
        dir.path(),
        &["check", "--stdin-filename", "svc/app.py", "-"],
        FLASK_APP,
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Without `-`, a name alone also reads standard input.
    let out = run_stdin(
        dir.path(),
        &["check", "--stdin-filename", "app.py", "--format", "json"],
        FLASK_APP,
    );
    assert_eq!(json(&out)[0]["path"], "app.py");
    // --fix writes the fixed module to stdout, nothing to disk.
    let out = run_stdin(
        dir.path(),
        &["check", "--stdin-filename", "other/app.py", "--fix", "-"],
        FLASK_APP,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        FLASK_APP.replace("debug=True)", "debug=True, use_reloader=False)")
    );
    assert!(!dir.path().join("other").exists());
}

#[test]
fn stdin_without_a_kind_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_stdin(dir.path(), &["check", "-"], FLASK_APP);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--stdin-filename"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let out = run_stdin(dir.path(), &["check", "-", "app.py"], FLASK_APP);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("standard input"), "{}", out.stderr);
    let out = run_stdin(
        dir.path(),
        &["check", "--stdin-filename", "notes.md", "-"],
        "# hi\n",
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("notes.md"), "{}", out.stderr);
}

#[test]
fn full_output_shows_the_line_a_caret_underline_the_fix_and_the_link() {
    let dir = project();
    let out = run(dir.path(), &["check", "--select", "OTEL001"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("app.py:7:5: OTEL001 Flask debug mode"),
        "{}",
        out.stdout
    );
    assert_eq!(lines[1], "  |");
    assert_eq!(lines[2], "7 |     app.run(port=8082, debug=True)");
    // `app.run` is columns 5 to 11.
    assert_eq!(lines[3], "  |     ^^^^^^^ OTEL001");
    assert_eq!(lines[4], "  |");
    assert_eq!(
        lines[5],
        "  = help: Add `use_reloader=False` (safe fix: --fix)"
    );
    assert!(lines[6].starts_with("  = see: https://"), "{}", out.stdout);
    assert!(
        lines[6].ends_with("otel-lsp explain OTEL001"),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines.last().unwrap(),
        &"1 problem (1 fixable with --fix) in 3 files"
    );
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when not a terminal"
    );
    // The same default for `--format full` and in colour only when asked.
    let same = run(
        dir.path(),
        &["check", "--select", "OTEL001", "--format", "full"],
    );
    assert_eq!(same.stdout, out.stdout);
    let coloured = run(
        dir.path(),
        &["check", "--select", "OTEL001", "--color", "always"],
    );
    assert!(coloured.stdout.contains("\x1b["), "{}", coloured.stdout);
    // Tabs before the span keep the caret under it.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app.py",
        FLASK_APP.replace("    app.run(", "\tapp.run("),
    );
    let out = run(dir.path(), &["check", "--select", "OTEL001"]);
    assert!(
        out.stdout.contains("\n  | \t^^^^^^^ OTEL001\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn full_output_of_a_helm_stream_names_the_line_in_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_stdin(
        dir.path(),
        &["check", "-", "--select", "OTEL003"],
        HELM_STREAM,
    );
    let text = &out.stdout;
    let at = text
        .find("shop/templates/deployment.yaml:6:5: OTEL003")
        .unwrap_or_else(|| panic!("{text}"));
    let block = &text[at..];
    assert!(
        block.contains("6 |     instrumentation.opentelemetry.io/inject-python: \"true\""),
        "{block}"
    );
    assert!(
        block.contains("= rendered: line 20 of the piped stream"),
        "{block}"
    );
}

#[test]
fn json_lines_hold_the_json_objects() {
    let dir = project();
    write(dir.path(), "b/app.py", FLASK_APP);
    let args = ["check", "--select", "OTEL001", "--output-format"];
    let whole = json(&run(dir.path(), &[&args[..], &["json"]].concat()));
    let out = run(dir.path(), &[&args[..], &["json-lines"]].concat());
    assert_eq!(out.code, 1);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines, whole);
    assert_eq!(lines.len(), 2);
    let clean = run(
        dir.path(),
        &["check", "--select", "OTEL002", "--format", "json-lines"],
    );
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""));
}

/// The properties SARIF 2.1.0's schema requires of the objects otel-lsp writes.
fn assert_sarif_required(log: &Value) {
    let has = |v: &Value, keys: &[&str], what: &str| {
        for k in keys {
            assert!(v.get(k).is_some(), "{what} lacks required `{k}`: {v}");
        }
    };
    has(log, &["version", "runs"], "sarifLog");
    assert_eq!(log["version"], "2.1.0");
    for run in log["runs"].as_array().expect("runs is an array") {
        has(run, &["tool"], "run");
        has(&run["tool"], &["driver"], "tool");
        has(&run["tool"]["driver"], &["name"], "toolComponent");
        for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
            has(rule, &["id"], "reportingDescriptor");
            for m in ["shortDescription", "fullDescription", "help"] {
                if let Some(msg) = rule.get(m) {
                    has(msg, &["text"], "multiformatMessageString");
                }
            }
        }
        for r in run["results"].as_array().expect("results is an array") {
            has(r, &["message"], "result");
            assert!(r["message"].get("text").is_some() || r["message"].get("id").is_some());
            for loc in r["locations"].as_array().unwrap() {
                let region = &loc["physicalLocation"]["region"];
                assert!(region["startLine"].as_u64().unwrap() >= 1);
            }
            for fix in r
                .get("fixes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                has(fix, &["artifactChanges"], "fix");
                for change in fix["artifactChanges"].as_array().unwrap() {
                    has(
                        change,
                        &["artifactLocation", "replacements"],
                        "artifactChange",
                    );
                    for rep in change["replacements"].as_array().unwrap() {
                        has(rep, &["deletedRegion"], "replacement");
                    }
                }
            }
        }
    }
}

#[test]
fn sarif_has_every_required_property() {
    let dir = project();
    let out = run(dir.path(), &["check", "--output-format", "sarif"]);
    let log: Value = serde_json::from_str(&out.stdout).expect("SARIF is JSON");
    assert_sarif_required(&log);
    assert!(!log["runs"][0]["results"].as_array().unwrap().is_empty());
    let clean = tempfile::tempdir().unwrap();
    let out = run(clean.path(), &["check", "--output-format", "sarif"]);
    assert_sarif_required(&serde_json::from_str(&out.stdout).unwrap());
}

#[test]
fn gitlab_code_quality_report() {
    let dir = project();
    write(dir.path(), "b/app.py", FLASK_APP);
    let out = run(
        dir.path(),
        &["check", "--select", "OTEL001", "--output-format", "gitlab"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let issues = json(&out);
    assert_eq!(issues.len(), 2);
    for i in &issues {
        assert!(i["description"]
            .as_str()
            .unwrap()
            .contains("Flask debug mode"));
        assert_eq!(i["check_name"], "OTEL001");
        assert_eq!(i["severity"], "major");
        assert_eq!(i["location"]["lines"]["begin"], 7);
        let fp = i["fingerprint"].as_str().unwrap();
        assert!(
            fp.len() >= 16 && fp.chars().all(|c| c.is_ascii_hexdigit()),
            "{fp}"
        );
    }
    assert_eq!(issues[0]["location"]["path"], "app.py");
    assert_eq!(issues[1]["location"]["path"], "b/app.py");
    assert_ne!(issues[0]["fingerprint"], issues[1]["fingerprint"]);
    // Stable across runs; paths relative to GitLab's project folder when it is set.
    let again = run_env(
        &dir.path().join("b"),
        &["check", "--select", "OTEL001", "--output-format", "gitlab"],
        &[("CI_PROJECT_DIR", dir.path().to_str().unwrap())],
    );
    let issues_b = json(&again);
    assert_eq!(issues_b[0]["location"]["path"], "b/app.py");
    assert_eq!(issues_b[0]["fingerprint"], issues[1]["fingerprint"]);
}

#[test]
fn junit_xml_parses_with_a_failure_per_finding() {
    let dir = project();
    write(dir.path(), "b/a&b.py", FLASK_APP);
    let out = run(
        dir.path(),
        &["check", "--select", "OTEL001", "--output-format", "junit"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = roxmltree::Document::parse(&out.stdout)
        .unwrap_or_else(|e| panic!("not XML ({e}):\n{}", out.stdout));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("2"));
    assert_eq!(root.attribute("failures"), Some("2"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<_> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["app.py", "b/a&b.py"]);
    let case = suites[0]
        .children()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    assert_eq!(
        case.attribute("name"),
        Some("OTEL001 (flask-debug-reloader)")
    );
    assert_eq!(case.attribute("line"), Some("7"));
    let failure = case.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure
        .attribute("message")
        .unwrap()
        .contains("use_reloader=False"));
    assert!(failure.text().unwrap().starts_with("app.py:7:5: OTEL001"));
    // No findings: one passing case, still valid XML.
    let clean = run(
        dir.path(),
        &["check", "--select", "OTEL002", "--output-format", "junit"],
    );
    assert_eq!(clean.code, 0);
    let doc = roxmltree::Document::parse(&clean.stdout).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
}

#[test]
fn diff_prints_the_fixes_and_writes_nothing() {
    let dir = project();
    write(dir.path(), "b/app.py", FLASK_APP);
    let out = run(dir.path(), &["check", "--diff", "--select", "OTEL001"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let expected = "--- app.py\n+++ app.py\n@@ -4,4 +4,4 @@\n app = Flask(__name__)\n \n if __name__ == \"__main__\":\n-    app.run(port=8082, debug=True)\n+    app.run(port=8082, debug=True, use_reloader=False)\n";
    assert!(out.stdout.starts_with(expected), "{}", out.stdout);
    assert!(
        out.stdout.contains("--- b/app.py\n+++ b/app.py\n"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("OTEL001"),
        "no findings, only the diff"
    );
    assert!(
        out.stderr.contains("Would fix 2 problems in 2 files"),
        "{}",
        out.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("app.py")).unwrap(),
        FLASK_APP
    );
    // Nothing to fix: no diff, exit 0 (--exit-zero also silences a diff's exit 1).
    let clean = run(dir.path(), &["check", "--diff", "--select", "OTEL002"]);
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""));
    let zero = run(dir.path(), &["check", "--diff", "--exit-zero"]);
    assert_eq!(zero.code, 0);
    // Standard input: the diff on stdout, not the fixed text.
    let out = run_stdin(
        dir.path(),
        &["check", "--diff", "--stdin-filename", "svc/app.py", "-"],
        FLASK_APP,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("--- svc/app.py\n+++ svc/app.py\n@@"),
        "{}",
        out.stdout
    );
}

#[test]
fn statistics_count_findings_per_rule() {
    let dir = project();
    write(dir.path(), "b/app.py", FLASK_APP);
    write(
        dir.path(),
        "c/app.py",
        FLASK_APP.replace("debug=True)", "debug=True)  # noqa: OTEL001"),
    );
    let out = run(
        dir.path(),
        &["check", "--statistics", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "2  OTEL001  flask-debug-reloader  2 fixable\n");
    let out = run(
        dir.path(),
        &[
            "check",
            "--statistics",
            "--select",
            "OTEL001",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    assert_eq!(v.len(), 1);
    assert_eq!(
        (
            &v[0]["code"],
            &v[0]["count"],
            &v[0]["fixable"],
            &v[0]["unsafe_fixable"]
        ),
        (
            &Value::from("OTEL001"),
            &Value::from(2),
            &Value::from(2),
            &Value::from(0)
        )
    );
    let clean = run(
        dir.path(),
        &["check", "--statistics", "--select", "OTEL002"],
    );
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""));
}

#[test]
fn show_fixes_previews_and_enumerates_the_fixes() {
    let dir = project();
    let out = run(
        dir.path(),
        &["check", "--show-fixes", "--select", "OTEL001"],
    );
    assert!(
        out.stdout.contains(
            "7 | -    app.run(port=8082, debug=True)\n  | +    app.run(port=8082, debug=True, use_reloader=False)\n"
        ),
        "{}",
        out.stdout
    );
    let plain = run(dir.path(), &["check", "--select", "OTEL001"]);
    assert!(!plain.stdout.contains("| +"), "{}", plain.stdout);
    let out = run(
        dir.path(),
        &["check", "--fix", "--show-fixes", "--select", "OTEL001"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Fixed 1 problem:\n- app.py:\n    1 × OTEL001 (flask-debug-reloader)\n\nNo problems remaining (1 fixed) in 3 files\n"
    );
}

#[test]
fn output_file_takes_the_report() {
    let dir = project();
    let out = run(
        dir.path(),
        &[
            "check",
            "--select",
            "OTEL001",
            "--format",
            "json",
            "--output-file",
            "reports/otel.json",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let text = fs::read_to_string(dir.path().join("reports/otel.json")).unwrap();
    let v: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["path"], "app.py");
    // Text in a file is never coloured unless asked; an unwritable file is exit 2.
    let out = run(dir.path(), &["check", "--output-file", "r.txt"]);
    assert_eq!(out.code, 1);
    let text = fs::read_to_string(dir.path().join("r.txt")).unwrap();
    assert!(
        text.starts_with("app.py:7:5: OTEL001") && !text.contains('\x1b'),
        "{text}"
    );
    let out = run(dir.path(), &["check", "--output-file", "app.py/r.txt"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("app.py/r.txt"), "{}", out.stderr);
}

#[test]
fn exit_non_zero_on_fix() {
    let dir = project();
    let args = [
        "check",
        "--fix",
        "--select",
        "OTEL001",
        "--exit-non-zero-on-fix",
    ];
    let out = run(dir.path(), &args);
    assert_eq!(
        out.code, 1,
        "fixed, nothing remains: still 1 {}",
        out.stdout
    );
    assert!(out.stdout.contains("(1 fixed)"), "{}", out.stdout);
    // Nothing left to fix: 0.
    let out = run(dir.path(), &args);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let dir = project();
    let out = run(dir.path(), &[&args[..], &["--exit-zero"]].concat());
    assert_eq!(out.code, 0, "--exit-zero wins");
    let dir = project();
    let out = run(dir.path(), &args[..4]);
    assert_eq!(out.code, 0, "without the flag a clean result exits 0");
}

/// OTEL100 `unused-noqa` through the real binary: reported in Python, YAML and Dockerfiles
/// (JSON has its code, name, severity and safe fix), `--diff` shows the removal, `--fix` makes
/// it, and the codes of switched-off rules are never judged.
#[test]
fn unused_noqa_is_reported_diffed_and_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let app = FLASK_APP.replace("debug=True)\n", "debug=True)  # noqa: OTEL001\n")
        + "x = 1  # noqa: E501, OTEL001\ny = 2  # noqa: OTEL001 it was a Flask app once\nz = 3  # noqa: OTEL003\n";
    write(dir.path(), "app.py", &app);
    let yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web  # noqa: OTEL003\n";
    write(dir.path(), "k8s/service.yaml", yaml);
    let docker = "FROM python:3.12-slim\n# noqa: OTEL050\nRUN pip install flask  # noqa: OTEL050\n";
    write(dir.path(), "Dockerfile", docker);

    let out = run(dir.path(), &["check", "--output-format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let diags = json(&out);
    let found: Vec<(String, u64, String)> = diags
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, u64, String)> = [
        ("Dockerfile", 2),
        ("Dockerfile", 3),
        ("app.py", 8),
        ("app.py", 9),
        ("k8s/service.yaml", 4),
    ]
    .iter()
    .map(|(p, l)| (p.to_string(), *l, "OTEL100".to_string()))
    .collect();
    assert_eq!(found, want, "{}", out.stdout);
    let d = &diags[2];
    assert_eq!(d["name"], "unused-noqa");
    assert_eq!(d["severity"], "info");
    assert_eq!(
        (d["column"].as_u64(), d["end_column"].as_u64()),
        (Some(22), Some(29))
    );
    assert_eq!(d["fixes"][0]["applicability"], "safe");

    let diff = run(dir.path(), &["check", "--diff"]);
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    for line in [
        "-x = 1  # noqa: E501, OTEL001\n",
        "+x = 1  # noqa: E501\n",
        "-y = 2  # noqa: OTEL001 it was a Flask app once\n",
        "+y = 2\n",
        "-  name: web  # noqa: OTEL003\n",
        "+  name: web\n",
        "-# noqa: OTEL050\n",
        "+RUN pip install flask\n",
    ] {
        assert!(diff.stdout.contains(line), "{line:?} in\n{}", diff.stdout);
    }
    assert_eq!(fs::read_to_string(dir.path().join("app.py")).unwrap(), app);

    // A switched-off rule's code is not judged: OTEL001's here, OTEL050's in the Dockerfile.
    let out = run(
        dir.path(),
        &[
            "check",
            "--output-format",
            "json",
            "--ignore",
            "OTEL001,OTEL050",
        ],
    );
    let diags = json(&out);
    let lines: Vec<(&str, u64)> = diags
        .iter()
        .map(|d| (d["path"].as_str().unwrap(), d["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(lines, [("k8s/service.yaml", 4)], "{}", out.stdout);
    write(dir.path(), "otel-lsp.toml", "ignore = [\"unused-noqa\"]\n");
    let out = run(dir.path(), &["check", "--output-format", "json"]);
    assert_eq!((out.code, json(&out).len()), (0, 0), "{}", out.stdout);
    fs::remove_file(dir.path().join("otel-lsp.toml")).unwrap();

    let fixed = run(dir.path(), &["check", "--fix"]);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    assert!(
        fixed.stdout.contains("No problems remaining (5 fixed)"),
        "{}",
        fixed.stdout
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("app.py")).unwrap(),
        FLASK_APP.replace("debug=True)\n", "debug=True)  # noqa: OTEL001\n")
            + "x = 1  # noqa: E501\ny = 2\nz = 3  # noqa: OTEL003\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("k8s/service.yaml")).unwrap(),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        "FROM python:3.12-slim\nRUN pip install flask\n"
    );
}
