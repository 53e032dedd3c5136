//! §0.3 normalisation: from a raw command (prefix assignments + words) to a [`Launcher`]
//! whose argv starts at the real program.
//!
//! Stripped, in any order and repeatedly: `exec`, `nohup`, `tini [--]`, `dumb-init`,
//! `env [-i] VAR=value…`, `poetry run`, `pipenv run`, `hatch run`, `pdm run`, `uv run
//! [options]`, `python -m <tool>` (→ `<tool>`), `sh -c "<script>"` (re-parsed, each command
//! its own launcher) and `opentelemetry-instrument [--flag value]…` (flags → `OTEL_*`
//! environment variables of the command's scope). `/venv/bin/` prefixes are handled by
//! [`super::Launcher::program`], which looks at the base name.

use super::shell::{self, Place, RawCommand};
use super::{basename, EnvOrigin, EnvVar, LaunchFacts, LaunchKind, Launcher, ScopeKind, Token};
use crate::diagnostic::Span;

/// Where the command was found and what it inherits.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The kind of place.
    pub kind: LaunchKind,
    /// The enclosing environment scope (stage, service, container, file).
    pub parent_scope: usize,
    /// The service runs under it (not a build step).
    pub runtime: bool,
    /// The working directory, when known.
    pub workdir: Option<String>,
    /// Dockerfile stage.
    pub stage: Option<usize>,
    /// Exec form (JSON array / YAML list): words were not split by a shell, so an option
    /// word like `"-w 4"` is split on spaces (§0.3 counts it as `-w 4`).
    pub exec_form: bool,
    /// The whole statement (Dockerfile instruction) the command belongs to.
    pub stmt: Option<Span>,
}

#[derive(Debug, Clone, Default)]
struct State {
    instrument: Option<Span>,
    instrument_prefix: Option<Span>,
    uv_run: bool,
}

/// Python tools run as `python -m <tool>` that the rules know by name.
const PY_TOOLS: &[&str] = &[
    "gunicorn",
    "uvicorn",
    "flask",
    "hypercorn",
    "celery",
    "pip",
    "daphne",
    "fastapi",
    "uv",
    "granian",
    "waitress",
];

/// `uv run` options that take a value.
const UV_VALUE_OPTS: &[&str] = &[
    "--with",
    "--with-editable",
    "--with-requirements",
    "--python",
    "-p",
    "--project",
    "--directory",
    "--package",
    "--extra",
    "--group",
    "--only-group",
    "--no-group",
    "--env-file",
    "--index",
    "--index-url",
    "--extra-index-url",
    "--find-links",
    "-f",
    "--config-file",
    "--python-preference",
    "--cache-dir",
    "--script",
    "--gui-script",
    "--module",
    "-m",
];

/// Whether `name` is a Python interpreter (`python`, `python3`, `python3.12`, `pypy3`).
pub fn is_python(name: &str) -> bool {
    let rest = name
        .strip_prefix("python")
        .or_else(|| name.strip_prefix("pypy"));
    rest.is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The `OTEL_*` variable an `opentelemetry-instrument` flag sets.
pub fn flag_env_name(flag: &str) -> Option<String> {
    let name = flag.strip_prefix("--")?;
    if name.is_empty() || name == "version" || name == "help" {
        return None;
    }
    let up = name.replace('-', "_").to_ascii_uppercase();
    Some(if up.starts_with("OTEL_") {
        up
    } else {
        format!("OTEL_{up}")
    })
}

/// Adds the launcher(s) of one raw command to `facts`.
pub fn push_command(facts: &mut LaunchFacts, origin: &Origin, cmd: RawCommand) {
    push(facts, origin, cmd, State::default(), 0);
}

fn push(facts: &mut LaunchFacts, origin: &Origin, cmd: RawCommand, state: State, depth: usize) {
    let scope = facts.add_scope(Some(origin.parent_scope), ScopeKind::Command, "");
    for a in &cmd.assigns {
        facts.env.push(EnvVar {
            name: a.name.text.clone(),
            name_span: a.name.span,
            value: a.value.clone(),
            span: a.span,
            scope,
            origin: EnvOrigin::Prefix,
        });
    }
    let mut words: Vec<Token> = if origin.exec_form {
        cmd.words.iter().flat_map(split_exec_word).collect()
    } else {
        cmd.words
    };
    let mut st = state;
    let mut i = 0;
    loop {
        let Some(w) = words.get(i) else {
            return;
        };
        if w.dynamic {
            break;
        }
        let name = basename(&w.text).to_ascii_lowercase();
        let next = words.get(i + 1).map(|t| t.text.as_str());
        match name.as_str() {
            "exec" | "nohup" | "command" => {
                i += 1;
                if name == "exec" && next == Some("-a") {
                    i += 2;
                }
            }
            "tini" | "dumb-init" | "tini-static" => {
                i += 1;
                while words.get(i).is_some_and(|t| t.text.starts_with('-')) {
                    let done = words[i].text == "--";
                    i += 1;
                    if done {
                        break;
                    }
                }
            }
            "gosu" | "su-exec" => i += 2,
            "env" => {
                i += 1;
                while let Some(t) = words.get(i) {
                    if t.text == "-u"
                        || t.text == "--unset"
                        || t.text == "-C"
                        || t.text == "--chdir"
                    {
                        i += 2;
                    } else if t.text.starts_with('-') {
                        i += 1;
                    } else if let Some(eq) = assignment_eq(&t.text) {
                        let name = t.slice(0, eq);
                        let value = t.suffix(eq + 1);
                        facts.env.push(EnvVar {
                            name: name.text.clone(),
                            name_span: name.span,
                            value: Some(value),
                            span: t.span,
                            scope,
                            origin: EnvOrigin::Prefix,
                        });
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            "poetry" | "pipenv" | "hatch" | "pdm" | "rye" if next == Some("run") => {
                i += 2;
                while words.get(i).is_some_and(|t| t.text.starts_with('-')) {
                    i += 1;
                }
            }
            "uv" if next == Some("run") => {
                st.uv_run = true;
                i += 2;
                while let Some(t) = words.get(i) {
                    if t.text == "--" {
                        i += 1;
                        break;
                    }
                    if !t.text.starts_with('-') {
                        break;
                    }
                    let takes_value = UV_VALUE_OPTS.contains(&t.text.as_str());
                    i += if takes_value { 2 } else { 1 };
                }
            }
            "sh" | "bash" | "dash" | "ash" | "zsh"
                if next.is_some_and(|n| {
                    n.starts_with('-') && !n.starts_with("--") && n.contains('c')
                }) =>
            {
                let Some(script) = words.get(i + 2).cloned() else {
                    return;
                };
                if script.dynamic || depth > 4 {
                    return;
                }
                let place = match script.raw {
                    Some(r) => Place::At(r),
                    None => Place::Within(script.span),
                };
                let sub = shell::scan(&script.text, place);
                for e in sub.exports {
                    facts.env.push(EnvVar {
                        name: e.name.text.clone(),
                        name_span: e.name.span,
                        value: e.value,
                        span: e.span,
                        scope,
                        origin: EnvOrigin::Prefix,
                    });
                }
                let inner = Origin {
                    parent_scope: scope,
                    exec_form: false,
                    ..origin.clone()
                };
                for c in sub.commands {
                    push(facts, &inner, c, st.clone(), depth + 1);
                }
                return;
            }
            "opentelemetry-instrument" => {
                let start = w.span.start;
                st.instrument = Some(w.span);
                i += 1;
                while let Some(t) = words.get(i) {
                    if t.text == "--" {
                        i += 1;
                        break;
                    }
                    if !t.text.starts_with('-') {
                        break;
                    }
                    let (flag, value, used) = match t.text.find('=') {
                        Some(eq) => (t.slice(0, eq), Some(t.suffix(eq + 1)), 1),
                        None => (t.clone(), words.get(i + 1).cloned(), 2),
                    };
                    if let Some(env) = flag_env_name(&flag.text) {
                        let end = value
                            .as_ref()
                            .map_or(t.span.end, |v| v.span.end.max(t.span.end));
                        facts.env.push(EnvVar {
                            name: env,
                            name_span: flag.span,
                            value,
                            span: Span::new(t.span.start, end),
                            scope,
                            origin: EnvOrigin::Flag,
                        });
                        i += used;
                    } else {
                        i += 1;
                    }
                }
                let end = words.get(i).map_or(w.span.end, |t| t.span.start);
                st.instrument_prefix = Some(Span::new(start, end.max(start)));
            }
            n if is_python(n) => {
                // Python options, then `-m <module>` or a script.
                let mut j = i + 1;
                let mut module: Option<usize> = None;
                while let Some(t) = words.get(j) {
                    if t.text == "-m" {
                        module = Some(j + 1);
                        break;
                    }
                    if t.text == "-c" || !t.text.starts_with('-') {
                        break;
                    }
                    j += if matches!(t.text.as_str(), "-X" | "-W") {
                        2
                    } else {
                        1
                    };
                }
                match module.and_then(|m| words.get(m).map(|t| (m, t))) {
                    Some((m, t)) if PY_TOOLS.contains(&t.text.as_str()) => i = m,
                    _ => break,
                }
            }
            _ => break,
        }
    }
    let argv = words.split_off(i.min(words.len()));
    if argv.is_empty() {
        return;
    }
    facts.launchers.push(Launcher {
        kind: origin.kind,
        span: cmd.span,
        argv,
        scope,
        instrument: st.instrument,
        instrument_prefix: st.instrument_prefix,
        uv_run: st.uv_run,
        workdir: origin.workdir.clone(),
        context_root: None,
        stage: origin.stage,
        runtime: origin.runtime,
        stmt: origin.stmt.unwrap_or(cmd.span),
        vendor_distro: false,
    });
}

/// `NAME=` position of an environment assignment word, when it is one.
fn assignment_eq(s: &str) -> Option<usize> {
    let eq = s.find('=')?;
    let name = &s[..eq];
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    ok.then_some(eq)
}

/// An exec-form word like `"-w 4"` holds several arguments; split option words on spaces.
fn split_exec_word(t: &Token) -> Vec<Token> {
    if t.dynamic || !t.text.starts_with('-') || !t.text.contains(char::is_whitespace) {
        return vec![t.clone()];
    }
    t.split_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::shell::scan;

    fn launch(src: &str) -> LaunchFacts {
        let mut f = LaunchFacts::default();
        let root = f.add_scope(None, ScopeKind::File, "");
        let origin = Origin {
            kind: LaunchKind::Shell,
            parent_scope: root,
            runtime: true,
            workdir: None,
            stage: None,
            exec_form: false,
            stmt: None,
        };
        for c in scan(src, Place::At(0)).commands {
            push_command(&mut f, &origin, c);
        }
        f
    }

    fn argv(l: &Launcher) -> Vec<&str> {
        l.argv.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn strips_wrappers_and_maps_flags() {
        let src = "exec env FOO=1 uv run --with x opentelemetry-instrument --traces_exporter console --service_name=api python -m gunicorn -w 4 app:app\n";
        let f = launch(src);
        assert_eq!(f.launchers.len(), 1);
        let l = &f.launchers[0];
        assert_eq!(argv(l), ["gunicorn", "-w", "4", "app:app"]);
        assert!(l.uv_run && l.instrumented());
        let pre = l.instrument_prefix.unwrap();
        assert_eq!(
            &src[pre.start..pre.end],
            "opentelemetry-instrument --traces_exporter console --service_name=api "
        );
        let names: Vec<(&str, &str)> = f
            .env
            .iter()
            .map(|e| (e.name.as_str(), e.known().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                ("FOO", "1"),
                ("OTEL_TRACES_EXPORTER", "console"),
                ("OTEL_SERVICE_NAME", "api")
            ]
        );
        let sn = f.env[2].value.as_ref().unwrap().value_span().unwrap();
        assert_eq!(&src[sn.start..sn.end], "api");
    }

    #[test]
    fn sh_c_is_reparsed_with_exact_spans() {
        let src = "sh -c 'cd /app && OTEL_X=1 opentelemetry-instrument uvicorn main:app --reload'";
        let f = launch(src);
        let progs: Vec<String> = f.launchers.iter().filter_map(|l| l.program()).collect();
        assert_eq!(progs, ["cd", "uvicorn"]);
        let l = &f.launchers[1];
        assert!(l.instrumented());
        let r = l.argv[2].value_span().unwrap();
        assert_eq!(&src[r.start..r.end], "--reload");
        assert_eq!(
            f.lookup(l.scope, "OTEL_X").and_then(|v| v.known()),
            Some("1")
        );
    }
}
