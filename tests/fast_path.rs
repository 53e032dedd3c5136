//! The fast path reports exactly what the full path reports.
//!
//! `otel-lsp check` decides from bytes, paths and workspace facts which files and chunks a
//! rule can look at, and parses only those (`rules::Pre`, `engine::check_wanted`). The hidden
//! `--full` flag takes the full path instead: every file summarised and checked with every
//! chunk parsed and every enabled rule run. These tests run the real binary both ways, on the
//! fixtures, `examples/`, `tests/corpus/`, a generated manifest stream and generated Python
//! (real standard-library modules, with and without OpenTelemetry context, some of them
//! started by launchers, some with `# noqa` comments OTEL100 judges), and compare the JSON
//! reports.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The JSON report of `otel-lsp check` on `dir` (from `cwd`), with `--full` or not.
fn report(cwd: &Path, dir: &Path, full: bool, extra: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otel-lsp"));
    cmd.current_dir(cwd)
        .args(["check", "--exit-zero", "--format", "json"])
        .args(extra)
        .arg(dir);
    if full {
        cmd.arg("--full");
    }
    let out = cmd.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "check {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 report")
}

/// Asserts both paths agree on `dir`, and returns how many diagnostics they report.
fn same(cwd: &Path, dir: &Path, extra: &[&str]) -> usize {
    same_report(cwd, dir, extra).as_array().map_or(0, Vec::len)
}

/// Asserts both paths agree on `dir`, and returns the report.
fn same_report(cwd: &Path, dir: &Path, extra: &[&str]) -> serde_json::Value {
    let fast = report(cwd, dir, false, extra);
    let full = report(cwd, dir, true, extra);
    let parsed: serde_json::Value = serde_json::from_str(&fast).expect("JSON");
    if fast != full {
        let lines = |s: &str| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|d| format!("{}:{}:{} {}", d["path"], d["line"], d["column"], d["code"]))
                .collect()
        };
        let (a, b) = (lines(&fast), lines(&full));
        let only_fast: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
        let only_full: Vec<_> = b.iter().filter(|x| !a.contains(x)).collect();
        panic!(
            "{}: the fast path differs from the full path\nonly fast: {only_fast:#?}\nonly full: {only_full:#?}",
            dir.display()
        );
    }
    parsed
}

#[test]
fn fixtures_examples_and_corpus() {
    let r = root();
    let mut found = 0;
    for dir in ["tests/fixtures", "examples", "tests/corpus"] {
        found += same(&r, Path::new(dir), &[]);
    }
    // Each multi-file fixture is its own workspace too (cross-file facts stay inside it).
    let ws = r.join("tests/fixtures/workspaces");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&ws)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        found += same(&d, Path::new("."), &[]);
    }
    assert!(found > 100, "the inputs exercise the rules: {found}");
    // A rule switched off changes which chunks are parsed, never what the others report.
    same(
        &r,
        Path::new("tests/fixtures"),
        &["--ignore", "OTEL001,OTEL020"],
    );
    same(&r, Path::new("examples"), &["--select", "OTEL02"]);
    // The real manifests of the shared bench data, where this checkout has them (CI's
    // clone does not; `tests/corpus/k8s-real` above is its sample of them).
    let real = r.join("../shared/bench-data/k8s-real");
    if real.is_dir() {
        same(&r, &real, &[]);
    }
}

#[test]
fn generated_manifest_stream() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(root().join("bench/gen_k8s_yaml.py"))
        .args([
            "--out",
            dir.path().to_str().unwrap(),
            "-n",
            "300",
            "--seed",
            "11",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs the generator");
    assert!(status.success());
    let found = same(dir.path(), Path::new("."), &[]);
    assert!(found > 20, "the generated stream has pitfalls: {found}");

    // Each stream is parsed once for its check: the speculative pass's answer stands, also for
    // OTEL034, which reads the order of a stream's Instrumentations from its summary instead
    // of parsing them again (once that was a fifth of the streams, checked twice).
    let out = Command::new(env!("CARGO_BIN_EXE_otel-lsp"))
        .current_dir(dir.path())
        .args(["check", "--exit-zero", "--stats", "--format", "json", "."])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("checked early"))
        .unwrap_or_else(|| panic!("no stats line in {stderr}"));
    // "…; N checked early, M of them again"
    let tail = line.rsplit("; ").next().unwrap();
    let numbers: Vec<usize> = tail
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let [early, again] = numbers[..] else {
        panic!("unexpected stats line: {line}");
    };
    assert!(early > 200, "most streams are checked early: {line}");
    assert!(again * 50 <= early, "streams checked twice: {line}");
}

/// Python modules of the standard library that use the rules' needles as ordinary words
/// (`debug`, `workers`, `bind`, `reload`, `endpoint`, `fork`), in OpenTelemetry context or not,
/// with a few OpenTelemetry pitfalls and launchers that start some of them.
#[test]
fn generated_python() {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 runs");
    let stdlib = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let mut modules: Vec<PathBuf> = Vec::new();
    for sub in [
        "logging",
        "concurrent/futures",
        "multiprocessing",
        "http",
        "xmlrpc",
        "wsgiref",
    ] {
        let Ok(entries) = fs::read_dir(stdlib.join(sub)) else {
            continue;
        };
        let mut v: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .collect();
        v.sort();
        modules.extend(v);
    }
    for name in ["socketserver.py", "subprocess.py", "threading.py", "pdb.py"] {
        modules.push(stdlib.join(name));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (i, m) in modules.iter().enumerate() {
        let Ok(text) = fs::read_to_string(m) else {
            continue;
        };
        let name = format!("m{i}_{}", m.file_name().unwrap().to_string_lossy());
        let extra = match i % 4 {
            0 => "\nimport opentelemetry\n".to_string(),
            1 => "\nfrom opentelemetry import trace\nfrom flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n".to_string(),
            2 => String::new(),
            _ => "\nimport uvicorn\nfrom opentelemetry import trace\nuvicorn.run('x:app', reload=True, workers=4)\n".to_string(),
        };
        // Suppression comments (OTEL100 judges them), most of them in chunks the fast path
        // does not parse: at the top of the module, and after its first third.
        let text = if i % 3 == 0 {
            let third = (0..=text.len() / 3)
                .rev()
                .find(|&k| text.is_char_boundary(k))
                .unwrap_or(0);
            let cut = text[..third].rfind("\n\n").map_or(0, |n| n + 2);
            format!(
                "import os  # noqa: OTEL001, E501\n{}x_noqa = 1  # noqa: OTEL021, OTEL999\n{}",
                &text[..cut],
                &text[cut..]
            )
        } else {
            text
        };
        fs::write(dir.path().join(&name), format!("{text}{extra}")).unwrap();
        if i % 5 == 0 {
            let stem = name.trim_end_matches(".py");
            fs::write(
                dir.path().join(format!("{stem}.sh")),
                format!("opentelemetry-instrument gunicorn -w 4 -c {name} {stem}:app\nopentelemetry-instrument python {name}\n"),
            )
            .unwrap();
        }
        n += 1;
    }
    assert!(n > 20, "enough standard-library modules: {n}");
    fs::write(
        dir.path().join("gunicorn.conf.py"),
        "bind = '0.0.0.0:8000'\nworkers = 4\nfrom opentelemetry.instrumentation.auto_instrumentation import initialize\ninitialize()\ndef postfork(server, worker):\n    pass\n",
    )
    .unwrap();
    let report = same_report(dir.path(), Path::new("."), &[]);
    let found = report.as_array().map_or(0, Vec::len);
    assert!(found > 5, "the generated modules have pitfalls: {found}");
    let unused = |code: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] == "OTEL100" && d["message"].as_str().unwrap().contains(code))
            .count()
    };
    assert!(
        unused("OTEL001") > 0 && unused("OTEL999") > 0,
        "unused noqa comments are reported: {report:#}"
    );
}
