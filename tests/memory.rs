//! Peak memory of `otel-lsp check` does not grow with the number of files: between its
//! phases it keeps each file's needle bits and workspace summary, never its text or trees,
//! and it checks one file at a time per thread. Checking 4,000 files must stay within a small
//! margin of checking 400 of the same kind (ordinary Python modules, some with OpenTelemetry
//! and a pitfall, a few launchers and manifests).
//!
//! Peak RSS is the child's `ru_maxrss` from `wait4`, so the measurement is exact for that one
//! process whatever else runs.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Writes `n` files modelled on real code: a module of some 4 KB that uses the rules'
/// needles as ordinary words, every tenth with OpenTelemetry and a Flask debug pitfall, every
/// fiftieth a Dockerfile or a manifest.
fn project(dir: &Path, n: usize) {
    let body: String = (0..40)
        .map(|i| {
            format!(
                "def worker_{i}(bind, debug=False, reload=None):\n    \"\"\"Start worker {i}; endpoint and timeout come from the caller.\"\"\"\n    if debug:\n        return bind.reload({i}, workers={i})\n    return None\n\n"
            )
        })
        .collect();
    for i in 0..n {
        let sub = dir.join(format!("pkg{}", i / 100));
        fs::create_dir_all(&sub).unwrap();
        let head = if i % 10 == 0 {
            "from flask import Flask\nfrom opentelemetry import trace\napp = Flask(__name__)\napp.run(debug=True)\n"
        } else {
            "import os\n"
        };
        fs::write(sub.join(format!("m{i}.py")), format!("{head}{body}")).unwrap();
        if i % 50 == 0 {
            fs::write(
                sub.join("Dockerfile"),
                "FROM python:3.12\nRUN pip install opentelemetry-distro\nCMD [\"opentelemetry-instrument\", \"gunicorn\", \"-w\", \"4\", \"m0:app\"]\n",
            )
            .unwrap();
            fs::write(
                sub.join(format!("k8s{i}.yaml")),
                format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"true\"\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: app:{i}\n"),
            )
            .unwrap();
        }
    }
}

/// Peak RSS in KiB of `otel-lsp check` on `dir`, and how many diagnostics it printed.
// The child is reaped by `wait4` below (std cannot give its rusage).
#[allow(clippy::zombie_processes)]
fn peak_rss(dir: &Path) -> (i64, usize) {
    let child = Command::new(env!("CARGO_BIN_EXE_otel-lsp"))
        .args(["check", "--exit-zero", "--format", "json"])
        // mimalloc returns freed pages to the system after a delay, so with its default the
        // peak also counts memory already freed, by how the threads happened to interleave
        // (±8 MiB from run to run); returning them at once makes the peak what was in use.
        .env("MIMALLOC_PURGE_DELAY", "0")
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let mut status = 0;
    // SAFETY: `rusage` is plain data, zeroed is a valid value; `wait4` fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose pid we hold and which nobody else reaps.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4 reaped the child");
    let out = reader.join().unwrap();
    let diags: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    (usage.ru_maxrss, diags.as_array().unwrap().len())
}

#[test]
fn peak_memory_does_not_grow_with_the_number_of_files() {
    let small = tempfile::tempdir().unwrap();
    let big = tempfile::tempdir().unwrap();
    project(small.path(), 400);
    project(big.path(), 4000);
    // The lower of two runs: the machine is shared, and a run can only be inflated by it.
    let (rss_small, found_small) = peak_rss(small.path()).min(peak_rss(small.path()));
    let (rss_big, found_big) = peak_rss(big.path()).min(peak_rss(big.path()));
    eprintln!("peak RSS: {rss_small} KiB for 400 files, {rss_big} KiB for 4,000");
    assert!(
        found_small >= 40 && found_big >= 400,
        "{found_small} / {found_big} findings"
    );
    // The big project has ten times the files and bytes (16 MB); what may grow is the list
    // of paths and the summaries: a few MiB.
    let margin_kib = 12 * 1024;
    assert!(
        rss_big <= rss_small + margin_kib,
        "peak RSS grew with the files: {rss_small} KiB for 400, {rss_big} KiB for 4,000"
    );
}
