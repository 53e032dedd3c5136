//! Keystroke latency of the real `otel-lsp server`: the time from writing a one-character
//! `textDocument/didChange` in the middle of a big file to reading the
//! `textDocument/publishDiagnostics` for that version, over stdio.
//!
//! Run by hand (not in CI): `cargo bench --bench lsp_latency`. Cases: a 100 KB and a 5 MB
//! Python file (real code: the Python standard library concatenated by
//! `bench/make_big_py.py`, with an OpenTelemetry + Flask header so that the rules do run)
//! and a 5 MB Kubernetes YAML stream (`bench/gen_k8s_yaml.py`). The corpus is generated once
//! into Cargo's target tmp dir. `OTEL_LSP_BENCH_PY_SRC` names another Python source tree;
//! `OTEL_LSP_BENCH_EDITS` sets the number of measured edits per case (default 200);
//! `OTEL_LSP_BENCH_LOG=F` runs the server at debug level and writes each case's stderr to
//! `F.<case>` (the server's timing of every check).

#[path = "../tests/lsp_support/mod.rs"]
mod lsp_support;

use lsp_support::Client;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Prepended to the Python corpus: OpenTelemetry context and one OTEL001 finding.
const PY_HEADER: &str = "from flask import Flask\nfrom opentelemetry import trace\n\napp = Flask(__name__)\napp.run(debug=True)\n\n";

fn corpus_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-corpus");
    std::fs::create_dir_all(&d).expect("create the corpus folder");
    d
}

fn python_stdlib() -> String {
    if let Ok(src) = std::env::var("OTEL_LSP_BENCH_PY_SRC") {
        return src;
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('stdlib'))",
        ])
        .output()
        .expect("python3 is needed to generate the corpus");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn generate(name: &str, args: &[&str]) -> String {
    let path = corpus_dir().join(name);
    if !path.exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("bench")
            .join(args[0]);
        let mut cmd = Command::new("python3");
        cmd.arg(script);
        for a in &args[1..] {
            cmd.arg(a.replace("{out}", path.to_str().unwrap()));
        }
        let status = cmd.status().expect("run the corpus generator");
        assert!(status.success(), "generating {name} failed");
    }
    std::fs::read_to_string(&path).expect("read the corpus")
}

fn python(bytes: usize) -> String {
    let src = python_stdlib();
    let n = bytes.to_string();
    let body = generate(
        &format!("stdlib-{bytes}.py"),
        &["make_big_py.py", &src, "{out}", "--bytes", &n],
    );
    format!("{PY_HEADER}{body}")
}

fn yaml(bytes: usize) -> String {
    let n = bytes.to_string();
    generate(
        &format!("k8s-{bytes}.yaml"),
        &[
            "gen_k8s_yaml.py",
            "--single-file",
            "{out}",
            "--bytes",
            &n,
            "--seed",
            "42",
        ],
    )
}

/// The line and UTF-16 column of a byte offset (the corpus may hold non-ASCII text).
fn position(text: &str, at: usize) -> (u32, u32) {
    let before = &text[..at];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |n| n + 1);
    let col: usize = text[start..at].chars().map(char::len_utf16).sum();
    (line as u32, col as u32)
}

/// A spot in the middle of the file where inserting a letter keeps the file valid and its
/// module-level facts unchanged: inside the target of an assignment in a function body
/// (Python), or inside a plain mapping value that is not an object's identity (YAML).
/// A spot inside the value of a `app.kubernetes.io/part-of` label past the middle: editing
/// it changes no fact any rule reads, only byte offsets.
fn label_spot(text: &str) -> usize {
    let key = "app.kubernetes.io/part-of: ";
    text[text.len() / 2..]
        .find(key)
        .map(|i| text.len() / 2 + i + key.len() + 1)
        .expect("a part-of label")
}

fn middle_spot(text: &str, yaml: bool) -> usize {
    let mut at = text.len() / 2;
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    loop {
        let line_start = text[at..].find('\n').map(|n| at + n + 1).expect("a line");
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |n| line_start + n);
        let line = &text[line_start..line_end];
        let b = line.as_bytes();
        if yaml {
            let key = line.trim_start().split(':').next().unwrap_or("");
            // Identities change objects, and env values are judged (OTEL044): edit elsewhere.
            let identity =
                ["apiVersion", "kind", "name", "namespace", "- name", "value"].contains(&key);
            if let Some(k) = line.find(": ") {
                let v = k + 2;
                if !identity
                    && !key.contains(['#', '"', '\''])
                    && b.len() > v + 2
                    && b[v].is_ascii_lowercase()
                    && b[v..].iter().all(|&c| ident(c))
                {
                    return line_start + v + 1;
                }
            }
        } else if line.starts_with("        ")
            && b.len() > 10
            && b[8].is_ascii_lowercase()
            && ident(b[9])
        {
            let word_end = 8 + b[8..].iter().take_while(|&&c| ident(c)).count();
            if line[word_end..].starts_with(" = ") {
                return line_start + 9;
            }
        }
        at = line_start;
    }
}

struct Stats {
    name: String,
    bytes: usize,
    open: Duration,
    samples: Vec<Duration>,
}

impl Stats {
    fn pct(&self, p: f64) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        s[((s.len() - 1) as f64 * p).round() as usize]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn run_case(name: &str, language: &str, ext: &str, text: &str, edits: usize) -> Stats {
    let log = std::env::var("OTEL_LSP_BENCH_LOG").ok();
    let mut c = match log {
        Some(_) => Client::spawn_with(&["--log-level", "otel_lsp=debug"], &[]),
        None => Client::spawn(),
    };
    c.initialize(json!({}), Value::Null, None);
    let uri = format!("file:///bench/{name}.{ext}");
    let t = Instant::now();
    c.open(&uri, language, 1, text);
    let first = c.diagnostics(&uri, 1);
    let open = t.elapsed();
    let spot = if name.ends_with("-label") {
        label_spot(text)
    } else {
        middle_spot(text, language == "yaml")
    };
    let (line, col) = position(text, spot);
    let warmup = 10;
    let mut samples = Vec::with_capacity(edits);
    for i in 0..warmup + edits {
        let version = i as i64 + 2;
        let insert = i % 2 == 0;
        let range = if insert {
            lsp_support::range(line, col, line, col)
        } else {
            lsp_support::range(line, col, line, col + 1)
        };
        let t = Instant::now();
        c.change(&uri, version, range, if insert { "x" } else { "" });
        let d = c.diagnostics(&uri, version);
        let took = t.elapsed();
        assert_eq!(
            d.len(),
            first.len(),
            "an edit inside an identifier changed the findings"
        );
        if i >= warmup {
            samples.push(took);
        }
    }
    if let Some(log) = log {
        // The server's own timing of each check (it logs at debug level).
        std::fs::write(format!("{log}.{name}"), c.stderr()).expect("write the server log");
    }
    assert!(c.shutdown().success());
    Stats {
        name: name.to_string(),
        bytes: text.len(),
        open,
        samples,
    }
}

/// Name, LSP language id, file extension, corpus generator.
type Case = (&'static str, &'static str, &'static str, fn() -> String);

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects cases by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let edits: usize = std::env::var("OTEL_LSP_BENCH_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let cases: Vec<Case> = vec![
        ("python-100k", "python", "py", || python(100_000)),
        ("python-5m", "python", "py", || python(5_000_000)),
        ("yaml-5m", "yaml", "yaml", || yaml(5_000_000)),
        ("yaml-5m-label", "yaml", "yaml", || yaml(5_000_000)),
    ];
    println!(
        "didChange → publishDiagnostics, one-character edits in the middle ({edits} per case)"
    );
    println!(
        "{:<12} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "case", "bytes", "open", "median", "p90", "p99", "max"
    );
    for &(name, language, ext, make) in &cases {
        // A case's whole name selects it alone; a part of a name, every case that has it.
        let exact = filter
            .as_deref()
            .is_some_and(|f| cases.iter().any(|c| c.0 == f));
        if filter
            .as_deref()
            .is_some_and(|f| if exact { name != f } else { !name.contains(f) })
        {
            continue;
        }
        let text = make();
        let s = run_case(name, language, ext, &text, edits);
        println!(
            "{:<12} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10}",
            s.name,
            s.bytes,
            ms(s.open),
            ms(s.pct(0.5)),
            ms(s.pct(0.9)),
            ms(s.pct(0.99)),
            ms(s.pct(1.0))
        );
    }
}
