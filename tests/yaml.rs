//! Behaviour of the Kubernetes rules beyond single fixtures: big multi-document files,
//! Helm templates and broken YAML, and facts that cross files (Instrumentations in one file,
//! the pods that use them in another).

use otel_lsp::config::Settings;
use otel_lsp::diagnostic::Diagnostic;
use otel_lsp::engine::{self, fix, SourceFile};
use otel_lsp::language::Language;
use otel_lsp::workspace::Workspace;
use std::path::Path;

fn line_of(text: &str, pos: usize) -> usize {
    text[..pos].matches('\n').count() + 1
}

/// Checks every file of a workspace: `(file, line, code)` of each diagnostic.
fn check_files(files: &[(&str, &str)]) -> Vec<(String, usize, &'static str)> {
    let parsed: Vec<(&str, SourceFile)> = files
        .iter()
        .map(|(p, t)| (*p, otel_lsp::engine::parse(Language::Yaml, t.to_string())))
        .collect();
    let mut ws = Workspace::new();
    for (p, f) in &parsed {
        ws.update(p.into(), engine::summarize(f));
    }
    let mut out = Vec::new();
    for (p, f) in &parsed {
        for d in engine::check(f, Some(Path::new(p)), &Settings::default(), &ws) {
            out.push((p.to_string(), line_of(f.text(), d.span.start), d.code));
        }
    }
    out
}

fn diagnostics(files: &[(&str, &str)], which: &str) -> (Workspace, Vec<Diagnostic>) {
    let mut ws = Workspace::new();
    for (p, t) in files {
        ws.update(
            p.into(),
            engine::summarize(&otel_lsp::engine::parse(Language::Yaml, t.to_string())),
        );
    }
    let text = files
        .iter()
        .find(|(p, _)| *p == which)
        .map(|(_, t)| *t)
        .unwrap_or("");
    let file = otel_lsp::engine::parse(Language::Yaml, text.to_string());
    let diags = engine::check(&file, Some(Path::new(which)), &Settings::default(), &ws);
    (ws, diags)
}

fn deployment(i: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: shop\n  labels:\n    app: app-{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app-{i}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n      annotations:\n        instrumentation.opentelemetry.io/inject-python: \"true\"\n    spec:\n      containers:\n        - name: app\n          image: example/app-{i}:1.0\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://otel-collector:4318\n          ports:\n            - containerPort: 8080\n"
    )
}

#[test]
fn finding_in_the_last_document_of_a_file_past_tree_sitter_row_limit() {
    // tree-sitter-yaml turns everything past row 32,767 of one parse into ERROR nodes; the
    // engine parses each `---` document on its own, so the last document is still read.
    let mut text = String::new();
    let mut i = 0;
    while text.matches('\n').count() < 40_000 {
        text.push_str("---\n");
        text.push_str(&deployment(i));
        i += 1;
    }
    text.push_str("---\n");
    let last_doc_start = line_of(&text, text.len());
    text.push_str(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: last\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"true\"\nspec:\n  template:\n    metadata:\n      labels:\n        app: last\n    spec:\n      containers:\n        - name: last\n          image: example/last:1.0\n",
    );
    let expected_line = last_doc_start + 5;
    assert!(expected_line > 40_000);
    let file = otel_lsp::engine::parse(Language::Yaml, text.clone());
    assert!(!file.has_syntax_error(), "every document parses on its own");
    let mut ws = Workspace::new();
    ws.update("big.yaml".into(), engine::summarize(&file));
    let diags = engine::check(
        &file,
        Some(Path::new("big.yaml")),
        &Settings::default(),
        &ws,
    );
    let got: Vec<(usize, &str)> = diags
        .iter()
        .map(|d| (line_of(&text, d.span.start), d.code))
        .collect();
    assert_eq!(got, vec![(expected_line, "OTEL003")]);
    assert!(text
        .lines()
        .nth(expected_line - 1)
        .unwrap()
        .contains("inject-python"));

    // The fix works there too: the moved line lands in the last document's pod template.
    let (fixed, n) = fix::apply(&text, &[&diags[0].fixes[0]]);
    assert_eq!(n, 1);
    assert!(fixed.ends_with(
        "      labels:\n        app: last\n      annotations:\n        instrumentation.opentelemetry.io/inject-python: \"true\"\n    spec:\n      containers:\n        - name: last\n          image: example/last:1.0\n"
    ));

    // An edit of that document alone (incremental re-parse) clears the finding.
    let mut edited = file;
    let at = text.rfind("\"true\"").unwrap();
    edited.edit(at, at + 6, "\"false\"");
    assert!(!edited.has_syntax_error());
    assert!(engine::check(&edited, None, &Settings::default(), &ws).is_empty());
}

const HELM_DEPLOYMENT: &str = r#"{{- if .Values.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  annotations:
    {{- toYaml .Values.annotations | nindent 4 }}
    instrumentation.opentelemetry.io/inject-python: {{ .Values.inject | quote }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-python: {{ .Values.inject }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: "http://{{ .Values.collector }}:4317"
{{- end }}
---
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  exporter:
    endpoint: {{ .Values.endpoint | default "http://collector:4317" }}
  python:
    env:
      {{- range .Values.pythonEnv }}
      - name: {{ .name }}
        value: {{ .value | quote }}
      {{- end }}
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    instrumentation.opentelemetry.io/inject-python: "{{ .Values.inject }}"
    instrumentation.opentelemetry.io/inject-java: {{ .Values.injectJava }}
spec:
  containers:
    - name: p
      image: example/p:1.0
"#;

const BROKEN: &[&str] = &[
    "",
    "---",
    "--- \n---\n...\n",
    "\u{feff}apiVersion: v1\nkind: Pod\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"true\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n\tannotations:\n\t\tinstrumentation.opentelemetry.io/inject-python: true\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: [\n  annotations: {instrumentation.opentelemetry.io/inject-python: true\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: true\n  - x\nspec:\n",
    "kind: Instrumentation\napiVersion: opentelemetry.io/v1alpha1\nspec:\n  exporter:\n    endpoint: http://c:4317\n  python: {\n",
    "&a apiVersion: *a\nkind: *b\nmetadata: !!map {annotations: !!str}\n",
    "key: \"\\xff\\u12\"\n: : :\n- - -\n? ? ?\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: 'unterminated\n---\napiVersion: v1\n",
];

#[test]
fn helm_templates_and_broken_yaml_say_nothing_and_never_panic() {
    assert_eq!(
        check_files(&[("templates/deployment.yaml", HELM_DEPLOYMENT)]),
        vec![]
    );
    for (i, text) in BROKEN.iter().enumerate() {
        let got = check_files(&[("broken.yaml", text)]);
        assert!(got.is_empty(), "case {i}: {got:?}");
    }
    // Deeply nested flow collections.
    let deep = format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    assert!(check_files(&[("deep.yaml", &deep)]).is_empty());
}

#[test]
fn a_helm_template_that_parses_as_yaml_is_judged_on_its_literal_keys() {
    // `{{ … }}` in value position parses as a flow mapping: the document is YAML, and the
    // literal misplaced key is a real mistake in every rendering.
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"true\"\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    metadata:\n      labels:\n        app: x\n";
    assert_eq!(
        check_files(&[("t.yaml", text)]),
        vec![("t.yaml".to_string(), 6, "OTEL003")]
    );
}

const JAVA_INSTRUMENTATION: &str = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: shared\n  namespace: observability\nspec:\n  exporter:\n    endpoint: http://otel-collector.observability:4317\n  java:\n    env:\n      - name: OTEL_SERVICE_NAME\n        value: java\n";

const PYTHON_POD: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-python: \"observability/shared\"\n    spec:\n      containers:\n        - name: web\n          image: example/web:1.0\n";

#[test]
fn an_inject_python_pod_in_another_file_makes_an_instrumentation_python_relevant() {
    let files = [
        ("otel/instrumentation.yaml", JAVA_INSTRUMENTATION),
        ("app/deploy.yaml", PYTHON_POD),
    ];
    assert_eq!(
        check_files(&files),
        vec![("otel/instrumentation.yaml".to_string(), 8, "OTEL005")]
    );
    // The CR serves Java too: the fix overrides the endpoint for Python only.
    let (ws, diags) = diagnostics(&files, "otel/instrumentation.yaml");
    let (fixed, n) = fix::apply(JAVA_INSTRUMENTATION, &[&diags[0].fixes[0]]);
    assert_eq!(n, 1);
    assert!(fixed.ends_with(
        "  python:\n    env:\n      - name: OTEL_EXPORTER_OTLP_ENDPOINT\n        value: http://otel-collector.observability:4318\n"
    ));
    assert!(fixed.contains("endpoint: http://otel-collector.observability:4317\n"));
    let after = otel_lsp::engine::parse(Language::Yaml, fixed);
    assert!(engine::check(&after, None, &Settings::default(), &ws).is_empty());

    // Without the pod (or with an inject-java pod) the Java-only CR is none of our business.
    assert!(check_files(&[("otel/instrumentation.yaml", JAVA_INSTRUMENTATION)]).is_empty());
    let java_pod = PYTHON_POD.replace("inject-python", "inject-java");
    assert!(check_files(&[
        ("otel/instrumentation.yaml", JAVA_INSTRUMENTATION),
        ("app/deploy.yaml", &java_pod)
    ])
    .is_empty());
}

#[test]
fn a_namespace_annotation_injects_python_into_pods_of_that_namespace() {
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"true\"\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n    - name: web\n      image: example/web:1.0\n      env:\n        - name: OTEL_EXPORTER_OTLP_ENDPOINT\n          value: http://otel-collector:4317\n";
    assert_eq!(
        check_files(&[("ns.yaml", ns), ("pod.yaml", pod)]),
        vec![("pod.yaml".to_string(), 12, "OTEL005")]
    );
    // Another namespace, or no namespace on the pod: not injected as far as the files say.
    let elsewhere = pod.replace("namespace: shop", "namespace: billing");
    assert!(check_files(&[("ns.yaml", ns), ("pod.yaml", &elsewhere)]).is_empty());
    let unknown = pod.replace("  namespace: shop\n", "");
    assert!(check_files(&[("ns.yaml", ns), ("pod.yaml", &unknown)]).is_empty());
}

#[test]
fn the_resolved_instrumentation_decides_the_protocol_of_an_injected_container() {
    let inst = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: py\n  namespace: shop\nspec:\n  python:\n    env:\n      - name: OTEL_EXPORTER_OTLP_PROTOCOL\n        value: grpc\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"py\"\nspec:\n  containers:\n    - name: web\n      image: example/web:1.0\n      env:\n        - name: OTEL_EXPORTER_OTLP_ENDPOINT\n          value: http://otel-collector:4317\n";
    // gRPC set in the Instrumentation: OTEL031's business, not a 4317 mistake.
    assert_eq!(
        check_files(&[("inst.yaml", inst), ("pod.yaml", pod)]),
        vec![("inst.yaml".to_string(), 10, "OTEL031")]
    );
    // http/protobuf (the default) makes 4317 wrong.
    let http = inst.replace("grpc", "http/protobuf");
    assert_eq!(
        check_files(&[("inst.yaml", &http), ("pod.yaml", pod)]),
        vec![("pod.yaml".to_string(), 14, "OTEL005")]
    );
}

#[test]
fn unknown_instrumentation_names_are_judged_across_files() {
    let inst = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: python\n  namespace: observability\nspec:\n  exporter:\n    endpoint: http://otel-collector.observability:4318\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"observability/pyhton\"\nspec:\n  containers:\n    - name: web\n      image: example/web:1.0\n";
    assert_eq!(
        check_files(&[("inst.yaml", inst), ("pod.yaml", pod)]),
        vec![("pod.yaml".to_string(), 7, "OTEL004")]
    );
    let (_, diags) = diagnostics(&[("inst.yaml", inst), ("pod.yaml", pod)], "pod.yaml");
    let titles: Vec<&str> = diags[0].fixes.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(titles, ["Use Instrumentation `observability/python`"]);
    // The name exists: silent. The workspace has no Instrumentation: silent.
    let good = pod.replace("pyhton", "python");
    assert!(check_files(&[("inst.yaml", inst), ("pod.yaml", &good)]).is_empty());
    assert!(check_files(&[("pod.yaml", pod)]).is_empty());
}
