//! The editor's incremental checker against the full check on a generated Kubernetes stream
//! (`bench/gen_k8s_yaml.py`, the benchmark's corpus generator, at 300 KB): ConfigMaps read by
//! containers of other documents, Operator injection, launchers and endpoint settings, with
//! findings of most YAML rules. The per-document scans (`Rule::scan_per_document`) must give
//! exactly what the whole-file ones give, and the editor's cached summary what a fresh one
//! gives, before and after edits that change what a document means.

use otel_lsp::config::Settings;
use otel_lsp::engine::{self, Checker};
use otel_lsp::language::Language;
use otel_lsp::workspace::Workspace;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn stream() -> String {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("incremental-stream.yaml");
    let status = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gen_k8s_yaml.py"))
        .args(["--single-file", out.to_str().unwrap()])
        .args(["--bytes", "300000", "--seed", "7", "--pitfall-rate", "0.3"])
        .status()
        .expect("python3 runs the corpus generator");
    assert!(status.success());
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn incremental_equals_full_on_a_generated_stream() {
    let settings = Settings::default();
    let path = Path::new("deploy/all.yaml");
    let mut file = otel_lsp::engine::parse(Language::Yaml, stream());
    assert!(file.chunks().len() > 100, "a stream of many documents");
    let mut ws = Workspace::new();
    ws.update(path.into(), engine::summarize(&file));
    let mut checker = Checker::new();
    let got = checker.check(&file, Some(path), &settings, &ws);
    assert_eq!(got, engine::check(&file, Some(path), &settings, &ws));
    let codes: BTreeSet<&str> = got.iter().map(|d| d.code).collect();
    assert!(
        codes.len() >= 4,
        "the stream exercises several rules: {codes:?}"
    );

    // Edits that change meaning in documents spread over the file: a setting's value, a
    // ConfigMap entry, a command word, an annotation; each undone afterwards.
    let needles = [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "kind: ConfigMap",
        "opentelemetry-instrument",
        "inject-python",
        "secretKeyRef",
        "--workers",
        "gunicorn",
    ];
    for needle in needles {
        let hits: Vec<usize> = file.text().match_indices(needle).map(|(i, _)| i).collect();
        for &at in hits.iter().step_by(hits.len().div_ceil(4).max(1)) {
            let end = at + needle.len();
            for (s, e, t) in [(end, end, "X"), (end, end + 1, "")] {
                file.edit(s, e, t);
                let summary = engine::summarize(&file);
                assert_eq!(
                    checker.summarize(&file),
                    summary,
                    "per-document summary after editing {needle} at {at}"
                );
                // A document's launchers are summarised with its own scopes only: the same
                // as with the whole file's.
                let whole = otel_lsp::launch::summary::summarize(file.launch(), None);
                assert_eq!(summary.launch.launchers, whole.launchers);
                assert_eq!(summary.launch.injected_images, whole.injected_images);
                ws.update(path.into(), summary);
                let want = engine::check(&file, Some(path), &settings, &ws);
                let got = checker.check(&file, Some(path), &settings, &ws);
                assert_eq!(got, want, "after editing {needle} at {at}");
            }
        }
    }
}

/// Typing a new document character by character into a stream that also holds a Helm
/// template and a broken document: every intermediate text is half-typed YAML. The editor's
/// per-document path must neither panic (a rule's panic is caught by the engine, so the
/// hook counts them) nor disagree with a full check.
#[test]
fn typing_into_a_stream_with_templates_and_broken_documents() {
    use std::cell::Cell;
    thread_local!(static PANICS: Cell<usize> = const { Cell::new(0) });
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| PANICS.with(|p| p.set(p.get() + 1))));
    let settings = Settings::default();
    let path = Path::new("chart/all.yaml");
    let head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: otel\ndata:\n  OTEL_EXPORTER_OTLP_PROTOCOL: grpc\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {{ .Chart.Name }}\n          {{- include \"env\" . | nindent 10 }}\n---\nkind: [unclosed\n  - : :\n---\n";
    let typed = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          command: [\"opentelemetry-instrument\", \"gunicorn\", \"-w\", \"4\", \"app:app\"]\n          envFrom:\n            - configMapRef:\n                name: otel\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: \"http://collector:4318\"\n";
    let mut file = otel_lsp::engine::parse(Language::Yaml, head.to_string());
    let mut ws = Workspace::new();
    let mut checker = Checker::new();
    for (i, ch) in typed.char_indices() {
        let at = head.len() + i;
        file.edit(at, at, ch.encode_utf8(&mut [0; 4]));
        ws.update(path.into(), checker.summarize(&file));
        let got = checker.check(&file, Some(path), &settings, &ws);
        assert_eq!(
            got,
            engine::check(&file, Some(path), &settings, &ws),
            "after {:?}",
            &typed[..=i]
        );
    }
    let last = checker.check(&file, Some(path), &settings, &ws);
    std::panic::set_hook(previous);
    assert_eq!(
        PANICS.with(Cell::get),
        0,
        "a rule or the launcher model panicked"
    );
    // The finished document is judged: gunicorn with 4 workers under instrumentation, and
    // the 4318 endpoint with the ConfigMap's grpc protocol.
    let codes: BTreeSet<&str> = last.iter().map(|d| d.code).collect();
    assert!(
        codes.contains("OTEL020") && codes.contains("OTEL041"),
        "{last:?}"
    );
}
