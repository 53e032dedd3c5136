//! OTEL061 `missing-service-name`: an `opentelemetry-instrument` launcher whose environment,
//! as far as the workspace shows all of it, names no service; or a `Resource({...})` built
//! without `service.name` and handed to a provider — the data arrives as `unknown_service`.

use super::{from_opentelemetry, imports_test_framework, non_production};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::imports::{pick_image, resolve_config_map, resolve_path, Source};
use crate::launch::{judge, LaunchFacts, Launcher, ScopeKind, Token};
use crate::rules::{
    always, anywhere, in_otel_context, Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule,
    Topic,
};
use tree_sitter::Node;

/// The launcher kinds it reads besides Python.
const LAUNCH_KINDS: &[Language] = &[
    Language::Yaml,
    Language::Shell,
    Language::Procfile,
    Language::Makefile,
];

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL061",
    name: "missing-service-name",
    topic: Topic::Advisory,
    language: Language::Python,
    also: LAUNCH_KINDS,
    severity: Severity::Info,
    summary: "No service name: `opentelemetry-instrument` without `OTEL_SERVICE_NAME`, or a `Resource` without `service.name`",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/configuration/",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("missing_service_name.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            // The constructor call as written (`Resource(` — a space before the parenthesis
            // is not seen); `ResourceWarning`, `resource` and friends are not it.
            needles: &["Resource("],
            facts: Facts::Needles(&["opentelemetry", "pytest", "unittest"]),
            // Every way to reach the class names its module, `opentelemetry.sdk.resources`.
            file: &["resources"],
            relevant: otel_resources,
        },
        Pre {
            langs: LAUNCH_KINDS,
            needles: &["opentelemetry-instrument"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// A Python file in OpenTelemetry context that names the SDK's `resources` module.
fn otel_resources(b: &Bytes) -> bool {
    in_otel_context(b) && b.has("resources")
}

// ---------------------------------------------------------------------------------------
// Launchers.

/// Whether a setting names the service: `OTEL_SERVICE_NAME` (any value but a known empty
/// one), or `service.name=` in `OTEL_RESOURCE_ATTRIBUTES`. `None`: cannot tell (a resource
/// attribute list built from variables or read from a Secret).
fn names_service(f: &LaunchFacts, scope: usize) -> Option<bool> {
    if let Some(v) = f.lookup(scope, "OTEL_SERVICE_NAME") {
        match v.known() {
            Some(t) if t.trim().is_empty() => {}
            _ => return Some(true),
        }
    }
    if let Some(v) = f.lookup(scope, "OTEL_RESOURCE_ATTRIBUTES") {
        let t = v.known()?;
        let named = t.split(',').any(|kv| {
            kv.split_once('=')
                .is_some_and(|(k, v)| k.trim() == "service.name" && !v.trim().is_empty())
        });
        if named {
            return Some(true);
        }
    }
    Some(false)
}

/// Whether every file the launcher's scopes read settings from is in the workspace (its
/// `env_file:` entries, `envFrom:` ConfigMaps, the image a compose service builds).
fn imports_resolve(ctx: &Context, f: &LaunchFacts, l: &Launcher) -> bool {
    let Some(path) = ctx.path else {
        return !f.imports.iter().any(|i| f.within(l.scope, i.scope));
    };
    f.imports
        .iter()
        .filter(|i| f.within(l.scope, i.scope))
        .all(|i| match &i.source {
            Source::EnvFile(rel) => ctx
                .workspace
                .launch_facts(&resolve_path(path, rel))
                .is_some_and(|x| x.dotenv),
            Source::ConfigMap { name, .. } => {
                resolve_config_map(ctx.workspace, name, i.namespace.as_deref()).is_some()
            }
            Source::Image { dockerfile, target } => ctx
                .workspace
                .launch_facts(&resolve_path(path, dockerfile))
                .is_some_and(|df| pick_image(df, target.as_deref()).is_some()),
        })
}

/// The byte range of the chunk (YAML document) holding `pos`.
fn chunk_range(ctx: &Context, pos: usize) -> (usize, usize) {
    ctx.file
        .chunks()
        .iter()
        .find(|c| c.start <= pos && pos < c.start + c.len.max(1))
        .map(|c| (c.start, (c.start + c.len).min(ctx.text.len())))
        .unwrap_or((0, ctx.text.len()))
}

/// Whether the launcher's file (its document) may set the environment in ways the launcher
/// model does not follow: Secrets (`secretRef`, `secretKeyRef` are unknown values anyway),
/// Helm templates, shell `source`/`.`/`set -a`/`eval`/`export $(…)`, Makefile `include`s —
/// or mentions the service name while the model found no setting of it in the file.
fn opaque(f: &LaunchFacts, lang: Language, full: &str, (start, end): (usize, usize)) -> bool {
    let text = full.get(start..end).unwrap_or(full);
    let recorded = f.env.iter().any(|v| {
        matches!(
            v.name.as_str(),
            "OTEL_SERVICE_NAME" | "OTEL_RESOURCE_ATTRIBUTES"
        ) && v.name_span.start >= start
            && v.name_span.end <= end
            && v.name_span.start < v.name_span.end
    });
    if !recorded
        && ["OTEL_SERVICE_NAME", "service.name", "service_name"]
            .iter()
            .any(|s| text.contains(s))
    {
        return true;
    }
    match lang {
        Language::Yaml => text.contains("secretRef") || text.contains("{{"),
        Language::Shell | Language::Makefile | Language::Procfile => text.lines().any(|line| {
            let t = line.trim_start().trim_start_matches(['@', '-', '\t', ' ']);
            t.starts_with("source ")
                || t.starts_with(". ")
                || t.starts_with("set -a")
                || t.starts_with("set -o allexport")
                || t.starts_with("eval ")
                || t.starts_with("include ")
                || t.contains("export $(")
                || t.contains("export `")
                || t.contains("env-file")
                || t.contains("dotenv")
        }),
        _ => false,
    }
}

/// Whether OpenTelemetry is configured in the launcher's own environment: an `OTEL_*`
/// setting visible from its command (its flags included) — the evidence that a service
/// name, too, would be set here rather than in an image or a caller's environment.
fn configured_here(f: &LaunchFacts, l: &Launcher) -> bool {
    f.env.iter().any(|v| {
        v.name.starts_with("OTEL_")
            && f.within(l.scope, v.scope)
            && f.lookup(l.scope, &v.name) == Some(v)
    })
}

/// The label of the container or compose service the launcher runs in.
fn service_label(f: &LaunchFacts, scope: usize) -> Option<&str> {
    let mut cur = Some(scope);
    let mut guard = 0;
    while let Some(s) = cur {
        let sc = f.scopes.get(s)?;
        if matches!(sc.kind, ScopeKind::Container | ScopeKind::Service) {
            return Some(sc.label.as_str()).filter(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        }
        cur = sc.parent;
        guard += 1;
        if guard > 64 {
            break;
        }
    }
    None
}

const LAUNCH_MESSAGE: &str = "`opentelemetry-instrument` runs without a service name (no `OTEL_SERVICE_NAME`, `--service_name` or `service.name` in `OTEL_RESOURCE_ATTRIBUTES` in its environment): its telemetry arrives as `unknown_service`. Set `OTEL_SERVICE_NAME`.";

/// Whether a launcher of the workspace runs this script (`CMD ["./start.sh"]`,
/// `sh start.sh`): it then inherits that launcher's environment, which may name the service.
fn script_run_by_others(ctx: &Context) -> bool {
    let Some(name) = ctx
        .path
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
    else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    ctx.workspace.launchers().any(|(_, l)| {
        l.program == name
            || l.targets.iter().any(|t| match t {
                crate::launch::Target::Script(s) => {
                    crate::launch::basename(s).eq_ignore_ascii_case(&name)
                }
                _ => false,
            })
    })
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return Vec::new();
    }
    if ctx.file.language() == Language::Shell && script_run_by_others(ctx) {
        return Vec::new();
    }
    let f = ctx.effective();
    let lang = ctx.file.language();
    let mut out = Vec::new();
    for l in f.own_launchers() {
        let Some(word) = l.instrument.filter(|s| s.start < s.end) else {
            continue;
        };
        if !l.runtime || f.operator_injected(l.scope) {
            continue;
        }
        if names_service(f, l.scope) != Some(false)
            || !configured_here(f, l)
            || !imports_resolve(ctx, f, l)
            || opaque(f, lang, ctx.text, chunk_range(ctx, word.start))
        {
            continue;
        }
        let mut finding = Finding::new(anchor(ctx.text, l, word), LAUNCH_MESSAGE);
        if let Some(label) = service_label(f, l.scope) {
            let tok = Token {
                text: ctx.text[word.start..word.end].to_string(),
                span: word,
                raw: None,
                dynamic: false,
            };
            finding = finding.with_fix(Fix::unsafe_(
                format!("Name the service `{label}` (`--service_name {label}`)"),
                vec![judge::insert_words_after(
                    ctx.text,
                    &tok,
                    &["--service_name", label],
                )],
            ));
        }
        out.push(finding);
    }
    out
}

/// The launcher's first line: the `opentelemetry-instrument` word when it is on it, else the
/// line's part of the command.
fn anchor(text: &str, l: &Launcher, word: Span) -> Span {
    let start = l.span.start.min(text.len());
    let line_end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    if word.start >= start && word.end <= line_end {
        return word;
    }
    Span::new(start, l.span.end.min(line_end).max(start))
}

// ---------------------------------------------------------------------------------------
// Python: `Resource({...})`.

/// What a resource dict says about `service.name`: `Some(true)` it sets it, `Some(false)` it
/// certainly does not, `None` cannot tell (a splat, a key from a variable).
fn dict_names_service(m: &Match, dict: Node) -> Option<bool> {
    let mut c = dict.walk();
    let mut named = false;
    for item in dict.named_children(&mut c) {
        match item.kind() {
            "comment" => {}
            "pair" => {
                let key = item.child_by_field_name("key")?;
                match key.kind() {
                    "string" => {
                        let t = m.text(key);
                        if t.starts_with('f') || t.starts_with('F') {
                            return None;
                        }
                        if t.trim_matches(['"', '\'']) == "service.name" {
                            named = true;
                        }
                    }
                    "identifier" | "attribute" => {
                        let t = m.text(key);
                        let last = t.rsplit('.').next().unwrap_or(t).trim();
                        if last == "SERVICE_NAME" {
                            named = true;
                        } else if !last
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                        {
                            // A variable: its value is unknown.
                            return None;
                        }
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    Some(named)
}

/// The attributes argument: the first positional, or `attributes=`.
fn attributes_arg<'t>(m: &Match<'_, 't>, args: Node<'t>) -> Option<Node<'t>> {
    let mut c = args.walk();
    let kids: Vec<Node> = args
        .named_children(&mut c)
        .filter(|n| n.kind() != "comment")
        .collect();
    for k in &kids {
        if k.kind() == "keyword_argument"
            && k.child_by_field_name("name").map(|n| m.text(n)) == Some("attributes")
        {
            return k.child_by_field_name("value");
        }
    }
    kids.first().copied().filter(|k| {
        !matches!(
            k.kind(),
            "keyword_argument" | "list_splat" | "dictionary_splat"
        )
    })
}

/// Whether `node` is the `resource=` argument of a `…Provider(...)` call.
fn is_provider_resource(m: &Match, node: Node) -> bool {
    let Some(kw) = node.parent().filter(|p| p.kind() == "keyword_argument") else {
        return false;
    };
    if kw.child_by_field_name("name").map(|n| m.text(n)) != Some("resource") {
        return false;
    }
    kw.parent()
        .and_then(|a| a.parent())
        .filter(|c| c.kind() == "call")
        .and_then(|c| c.child_by_field_name("function"))
        .is_some_and(|f| m.text(f).trim_end().ends_with("Provider"))
}

/// Whether the name bound to the resource is handed to a provider as `resource=` within
/// `scope` (the enclosing function, or the chunk), and never merged with another resource.
fn bound_to_provider(m: &Match, scope: Node, name: &str) -> bool {
    let mut provided = false;
    let mut stack = vec![scope];
    while let Some(n) = stack.pop() {
        if n.kind() == "identifier" && m.text(n) == name {
            if is_provider_resource(m, n) {
                provided = true;
            }
            // `name.merge(...)`, `x.merge(name)`: the service name may come from the other.
            let merged = n.parent().is_some_and(|p| {
                (p.kind() == "attribute"
                    && p.child_by_field_name("attribute")
                        .is_some_and(|a| m.text(a) == "merge"))
                    || (p.kind() == "argument_list"
                        && p.parent()
                            .and_then(|c| c.child_by_field_name("function"))
                            .is_some_and(|f| m.text(f).trim_end().ends_with("merge")))
            });
            if merged {
                return false;
            }
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    provided
}

const RESOURCE_MESSAGE: &str = "This `Resource` has no `service.name`, and `Resource(...)` does not read `OTEL_SERVICE_NAME`: the provider's data arrives as `unknown_service`. Add `service.name`, or build it with `Resource.create(...)`.";

fn check(m: &Match) -> Option<Finding> {
    let py = m.ctx.python()?;
    if non_production(m.ctx.path) || imports_test_framework(py) {
        return None;
    }
    let call = m.get("call")?;
    let func = m.get("func")?;
    let args = m.get("args")?;
    if call.has_error() {
        return None;
    }
    let callee = m.text(func).replace(char::is_whitespace, "");
    let is_resource = py
        .class_refs("opentelemetry.sdk.resources", "Resource")
        .iter()
        .any(|(r, _)| *r == callee)
        || (callee == "Resource" && from_opentelemetry(py, "Resource"));
    if !is_resource {
        return None;
    }
    let attrs = attributes_arg(m, args)?;
    if attrs.kind() != "dictionary" || dict_names_service(m, attrs)? {
        return None;
    }
    let provided = is_provider_resource(m, call)
        || call
            .parent()
            .filter(|p| p.kind() == "assignment")
            .and_then(|p| {
                let left = p.child_by_field_name("left")?;
                (left.kind() == "identifier"
                    && p.child_by_field_name("right").map(|r| r.id()) == Some(call.id()))
                .then(|| m.text(left).to_string())
            })
            .is_some_and(|name| {
                let mut scope = call;
                while let Some(p) = scope.parent() {
                    scope = p;
                    if p.kind() == "function_definition" {
                        break;
                    }
                }
                bound_to_provider(m, scope, &name)
            });
    if !provided {
        return None;
    }
    Some(Finding::new(m.span(call), RESOURCE_MESSAGE).with_fix(Fix::unsafe_(
        "Build it with `Resource.create(...)` (reads `OTEL_SERVICE_NAME`, defaults the SDK attributes)",
        vec![Edit::insert(m.span(func).end, ".create")],
    )))
}

const DOCS: &str = r#"## What it does
Flags telemetry that will carry no service name:

- a runtime `opentelemetry-instrument` launcher (Kubernetes container, docker-compose service,
  shell script, Procfile, Makefile) whose effective environment — its own settings, flags,
  and what it reads from `env_file:` files, `envFrom:` ConfigMaps and the image a compose
  service builds — has no `OTEL_SERVICE_NAME`, no `--service_name` and no `service.name=` in
  `OTEL_RESOURCE_ATTRIBUTES`;
- a `Resource({...})` / `Resource(attributes={...})` (the constructor, from
  `opentelemetry.sdk.resources`) with a literal dict without `service.name` (as a string or
  a `SERVICE_NAME` constant), handed to a `…Provider(resource=...)` directly or through a name.

Because the name may come from where the workspace cannot look, it reports only when it can
see the whole environment and evidence that OpenTelemetry is configured right there:

- the launcher's environment sets some other `OTEL_*` variable or flag (the endpoint, the
  exporters…): otherwise the configuration, service name included, likely lives in the image
  or the caller's environment;
- every `env_file:`, `envFrom:` ConfigMap and built image it reads is in the workspace; the
  document uses no `secretRef` and no Helm template; a script does not `source`, `set -a`,
  `eval` or `export $(…)` its environment, a Makefile does not `include` one; and the file does
  not mention `OTEL_SERVICE_NAME`, `service.name` or `service_name` while the model found no
  setting of them in it (a way of setting them it does not follow);
- a shell script that another launcher of the workspace runs (`CMD ["./start.sh"]`) inherits
  that launcher's environment: it is not judged;
- never for Operator-injected containers (the Operator sets `OTEL_SERVICE_NAME`), never for
  Dockerfiles (whoever runs the image — `docker run -e`, compose, Kubernetes — sets its
  runtime environment), never for build steps;
- a `Resource.create({...})` is never flagged: it merges `OTEL_SERVICE_NAME` and
  `OTEL_RESOURCE_ATTRIBUTES` from the process environment, which a Python file cannot see. A
  resource that is merged (`.merge(...)`), returned (resource detectors) or passed anywhere
  but a provider is not flagged either, nor test and example code (as for OTEL060).

## Why is this bad?
The service name is how every backend groups telemetry. Without one the SDK reports
`service.name=unknown_service` (a bare `Resource(...)` has no name at all), and the services
of a system become indistinguishable. The data is still exported, so this is a hint.

## Example
```yaml
command: ["opentelemetry-instrument", "python", "app.py"]
env:
  - name: OTEL_EXPORTER_OTLP_ENDPOINT
    value: http://otel-collector:4318
```
```python
provider = TracerProvider(resource=Resource({"deployment.environment": "prod"}))
```

## Use instead
```yaml
command: ["opentelemetry-instrument", "--service_name", "api", "python", "app.py"]
```
```python
provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "api", "deployment.environment": "prod"}))
```

## Fix safety
Unsafe. For a launcher in a Kubernetes container or compose service the fix adds
`--service_name <container or service name>` after `opentelemetry-instrument`: a guess at
the name you want. For a `Resource(...)` it calls `Resource.create(...)` instead, which reads
`OTEL_SERVICE_NAME` and adds the SDK's default attributes (the name is still
`unknown_service` unless the environment sets it).

## Source
- ClickStack Python guide: `OTEL_SERVICE_NAME` identifies the service
- Mackerel tracing guide for Python (a Resource with `SERVICE_NAME`):
  <https://mackerel.io/ja/docs/entry/tracing/installations/python>
- <https://opentelemetry.io/docs/zero-code/python/configuration/>
- opentelemetry-python SDK `resources` (`Resource.create`, `OTELResourceDetector`)
"#;
