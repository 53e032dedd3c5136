//! Shared judgements over launchers for the rules: worker counts and classes (gunicorn,
//! uvicorn, fastapi, hypercorn, uWSGI, with their environment), the effective OTLP protocol
//! of a scope, and byte edits that add or remove a word whatever the launcher's syntax
//! (shell words, a JSON/flow list, a YAML block list).

use super::summary::Count;
use super::{args, EnvVar, LaunchFacts, Launcher, Token};
use crate::diagnostic::{Edit, Span};

/// Worker classes that survive fork with OpenTelemetry's background threads.
pub const UVICORN_WORKERS: &[&str] = &[
    "uvicorn.workers.UvicornWorker",
    "uvicorn.workers.UvicornH11Worker",
    "uvicorn_worker.UvicornWorker",
    "uvicorn_worker.UvicornH11Worker",
];

/// Whether a worker class is a Uvicorn worker (also a workspace subclass named like one).
pub fn is_uvicorn_worker(class: &str) -> bool {
    let c = class.trim();
    UVICORN_WORKERS.contains(&c)
        || c.rsplit('.')
            .next()
            .is_some_and(|n| n.ends_with("UvicornWorker") || n.ends_with("UvicornH11Worker"))
}

/// Where a worker count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountFrom {
    /// The command line (`-w 4`).
    Cli,
    /// `GUNICORN_CMD_ARGS="--workers 4"`.
    CmdArgsEnv,
    /// `WEB_CONCURRENCY=4`.
    WebConcurrency,
}

/// A worker count setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountSetting {
    /// The value; `None` when unknown (`$WORKERS`, not an integer).
    pub count: Option<Count>,
    /// The value's token.
    pub token: Token,
    /// Where it comes from.
    pub from: CountFrom,
}

/// Worker count and class of a launcher, from its command line and environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workers {
    /// The worker count setting, if any.
    pub count: Option<CountSetting>,
    /// The worker class value, if given.
    pub class: Option<Token>,
}

fn count_of(t: &Token) -> Option<Count> {
    args::int(t).map(Count::N)
}

/// The worker settings of a launcher (gunicorn precedence: command line, then
/// `GUNICORN_CMD_ARGS`, then — in the config file, judged elsewhere — then `WEB_CONCURRENCY`).
pub fn workers(l: &Launcher, facts: &LaunchFacts) -> Workers {
    let Some(prog) = l.program() else {
        return Workers::default();
    };
    let a = l.args();
    let env_val = |name: &str| facts.lookup(l.scope, name).and_then(|v| v.value.clone());
    let (short, long, class_short, class_long): (&[&str], &[&str], &[&str], &[&str]) =
        match prog.as_str() {
            "gunicorn" => (&["-w"], &["--workers"], &["-k"], &["--worker-class"]),
            "uvicorn" | "fastapi" => (&[], &["--workers"], &[], &[]),
            "hypercorn" => (&["-w"], &["--workers"], &["-k"], &["--worker-class"]),
            "uwsgi" => (&["-p"], &["--processes", "--workers"], &[], &[]),
            _ => return Workers::default(),
        };
    let mut out = Workers::default();
    if let Some(v) = args::find(a, short, long).and_then(|o| o.value) {
        out.count = Some(CountSetting {
            count: count_of(&v),
            token: v,
            from: CountFrom::Cli,
        });
    }
    if !class_long.is_empty() {
        out.class = args::find(a, class_short, class_long).and_then(|o| o.value);
    }
    if prog == "gunicorn" {
        if let Some(cmd_args) = env_val("GUNICORN_CMD_ARGS") {
            let words = cmd_args.split_whitespace();
            if out.count.is_none() {
                if let Some(v) = args::find(&words, &["-w"], &["--workers"]).and_then(|o| o.value) {
                    out.count = Some(CountSetting {
                        count: count_of(&v),
                        token: v,
                        from: CountFrom::CmdArgsEnv,
                    });
                } else if cmd_args.dynamic {
                    out.count = Some(CountSetting {
                        count: None,
                        token: cmd_args.clone(),
                        from: CountFrom::CmdArgsEnv,
                    });
                }
            }
            if out.class.is_none() {
                out.class = args::find(&words, &["-k"], &["--worker-class"]).and_then(|o| o.value);
            }
        }
    }
    if out.count.is_none() && matches!(prog.as_str(), "gunicorn" | "uvicorn" | "fastapi") {
        if let Some(v) = env_val("WEB_CONCURRENCY") {
            out.count = Some(CountSetting {
                count: count_of(&v),
                token: v,
                from: CountFrom::WebConcurrency,
            });
        }
    }
    out
}

/// Whether the effective `OTEL_METRICS_EXPORTER` of a launcher is `none` (its flags included).
pub fn metrics_disabled(l: &Launcher, facts: &LaunchFacts) -> bool {
    facts
        .lookup(l.scope, "OTEL_METRICS_EXPORTER")
        .and_then(|v| v.known())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("none"))
}

/// The effective OTLP protocol visible from `scope` for `signal` (`TRACES`, …) or the
/// generic one: the setting and its lower-cased value.
pub fn protocol<'f>(
    facts: &'f LaunchFacts,
    scope: usize,
    signal: Option<&str>,
) -> Option<&'f EnvVar> {
    signal
        .and_then(|s| facts.lookup(scope, &format!("OTEL_EXPORTER_OTLP_{s}_PROTOCOL")))
        .or_else(|| facts.lookup(scope, "OTEL_EXPORTER_OTLP_PROTOCOL"))
}

/// Which OTLP endpoint variable a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointVar {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the SDK appends `/v1/<signal>`.
    Generic,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` (`TRACES`, `METRICS`, `LOGS`): used verbatim.
    Signal(&'static str),
}

/// The endpoint variable a name is, if any.
pub fn endpoint_var(name: &str) -> Option<EndpointVar> {
    match name {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(EndpointVar::Generic),
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => Some(EndpointVar::Signal("TRACES")),
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" => Some(EndpointVar::Signal("METRICS")),
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT" => Some(EndpointVar::Signal("LOGS")),
        _ => None,
    }
}

/// Whether a word is written in this file (words of another file's launcher, shown as
/// context, have empty spans; see `launch::imports`).
pub fn is_here(t: &Token) -> bool {
    t.span.start < t.span.end
}

/// Whether a launcher whose own scope is `scope` runs under opentelemetry-instrument with
/// opentelemetry-distro's defaults (not a vendor distro's, as far as its file shows).
pub fn instrumented_at(facts: &LaunchFacts, scope: usize) -> bool {
    facts
        .launchers
        .iter()
        .any(|l| l.scope == scope && l.instrumented() && !l.vendor_distro)
}

/// The contexts (scopes) in which a setting is the visible one. The scope of one imported
/// file (a compose `env_file:` entry, an `envFrom:` source) is no context of its own: only
/// the service or container reading it, where everything else is in view, is.
pub fn visible_contexts(facts: &LaunchFacts, v: &EnvVar) -> Vec<usize> {
    facts
        .contexts_of(v.scope)
        .into_iter()
        .filter(|&c| {
            facts
                .scopes
                .get(c)
                .is_some_and(|s| s.kind != super::ScopeKind::Imported)
        })
        .filter(|&c| facts.lookup(c, &v.name).is_some_and(|x| x == v))
        .collect()
}

fn line_prefix(text: &str, pos: usize) -> &str {
    let ls = text[..pos.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    &text[ls..pos.min(text.len())]
}

fn next_non_space(text: &str, pos: usize) -> Option<u8> {
    text.as_bytes()
        .get(pos..)?
        .iter()
        .copied()
        .find(|b| *b != b' ' && *b != b'\t')
}

fn prev_non_space(text: &str, pos: usize) -> Option<(usize, u8)> {
    let b = text.as_bytes();
    let mut i = pos.min(b.len());
    while i > 0 {
        i -= 1;
        if b[i] != b' ' && b[i] != b'\t' {
            return Some((i, b[i]));
        }
    }
    None
}

/// An edit that inserts words after the word `tok` (a whole word of the command), in the
/// word's own syntax: `, "a", "b"` in a JSON/flow list, new `- a` items in a YAML block
/// list, ` a b` in a shell command line.
pub fn insert_words_after(text: &str, tok: &Token, words: &[&str]) -> Edit {
    let end = tok.span.end;
    let first = text.as_bytes().get(tok.span.start).copied();
    if matches!(next_non_space(text, end), Some(b',' | b']')) {
        let quoted = matches!(first, Some(b'"' | b'\''));
        let items: Vec<String> = words
            .iter()
            .map(|w| {
                if quoted {
                    format!("\"{w}\"")
                } else {
                    (*w).to_string()
                }
            })
            .collect();
        return Edit::insert(end, format!(", {}", items.join(", ")));
    }
    let prefix = line_prefix(text, tok.span.start);
    if prefix.trim() == "-" {
        let indent = &prefix[..prefix.len() - prefix.trim_start().len()];
        let items: String = words
            .iter()
            .map(|w| format!("\n{indent}- {}", yaml_item(w)))
            .collect();
        return Edit::insert(end, items);
    }
    Edit::insert(end, format!(" {}", words.join(" ")))
}

fn yaml_item(w: &str) -> String {
    if w.starts_with('-') || w.contains(':') {
        format!("\"{w}\"")
    } else {
        w.to_string()
    }
}

/// An edit that deletes the word `tok` with its separator.
pub fn delete_word(text: &str, tok: &Token) -> Edit {
    let (s, e) = (tok.span.start, tok.span.end);
    if let Some((i, b',')) = prev_non_space(text, s) {
        return Edit::delete(Span::new(i, e));
    }
    if let Some((_, b'[')) = prev_non_space(text, s) {
        // First item: delete it and the following comma.
        let rest = &text.as_bytes()[e.min(text.len())..];
        let mut j = 0;
        while j < rest.len() && (rest[j] == b' ' || rest[j] == b'\t') {
            j += 1;
        }
        if rest.get(j) == Some(&b',') {
            j += 1;
            while j < rest.len() && (rest[j] == b' ' || rest[j] == b'\t') {
                j += 1;
            }
        }
        return Edit::delete(Span::new(s, e + j));
    }
    let prefix = line_prefix(text, s);
    if prefix.trim() == "-" {
        let ls = s - prefix.len();
        let le = text[e..].find('\n').map_or(text.len(), |n| e + n + 1);
        return Edit::delete(Span::new(ls, le));
    }
    let mut ws = s;
    while ws > 0 && matches!(text.as_bytes()[ws - 1], b' ' | b'\t') {
        ws -= 1;
    }
    Edit::delete(Span::new(ws, e))
}

/// Replaces a token's value (inside quotes) when its span is exact.
pub fn replace_value(tok: &Token, new: &str) -> Option<Edit> {
    tok.value_span().map(|s| Edit::replace(s, new))
}

/// The instruction/line a launcher sits on, for whole-line moves.
pub fn line_span(text: &str, span: Span) -> Span {
    let s = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let e = text[span.end.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |n| span.end + n + 1);
    Span::new(s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, word: &str) -> Token {
        let s = text.find(word).unwrap();
        Token {
            text: word.trim_matches('"').into(),
            span: Span::new(s, s + word.len()),
            raw: None,
            dynamic: false,
        }
    }

    fn apply(text: &str, e: Edit) -> String {
        let mut t = text.to_string();
        t.replace_range(e.span.start..e.span.end, &e.new_text);
        t
    }

    #[test]
    fn word_edits_in_each_syntax() {
        let j = "CMD [\"gunicorn\", \"--reload\", \"app:app\"]";
        assert_eq!(
            apply(
                j,
                insert_words_after(j, &tok(j, "\"gunicorn\""), &["-k", "x"])
            ),
            "CMD [\"gunicorn\", \"-k\", \"x\", \"--reload\", \"app:app\"]"
        );
        assert_eq!(
            apply(j, delete_word(j, &tok(j, "\"--reload\""))),
            "CMD [\"gunicorn\", \"app:app\"]"
        );
        let y = "args:\n  - gunicorn\n  - --reload\n  - app:app\n";
        assert_eq!(
            apply(y, insert_words_after(y, &tok(y, "gunicorn"), &["-k", "x"])),
            "args:\n  - gunicorn\n  - \"-k\"\n  - x\n  - --reload\n  - app:app\n"
        );
        assert_eq!(
            apply(y, delete_word(y, &tok(y, "--reload"))),
            "args:\n  - gunicorn\n  - app:app\n"
        );
        let s = "uvicorn main:app --reload --port 80";
        assert_eq!(
            apply(s, delete_word(s, &tok(s, "--reload"))),
            "uvicorn main:app --port 80"
        );
        let f = "[\"--reload\", \"x\"]";
        assert_eq!(apply(f, delete_word(f, &tok(f, "\"--reload\""))), "[\"x\"]");
    }
}
