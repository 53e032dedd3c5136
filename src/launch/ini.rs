//! uWSGI ini files: the `[uwsgi]` section's options, with spans. The section is also a
//! launcher (`uwsgi --key value …`), so the generic launch association finds its module.

use super::normalize::{push_command, Origin};
use super::shell::RawCommand;
use super::{EnvOrigin, EnvVar, LaunchFacts, LaunchKind, Launcher, ScopeKind, Token};
use super::{LaunchRef, Target};
use crate::diagnostic::Span;
use crate::workspace::Workspace;
use std::path::Path;

/// One `key = value` option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IniOption {
    /// The key as written (`processes`).
    pub key: Token,
    /// The value (may be empty).
    pub value: Token,
    /// The whole line.
    pub span: Span,
}

/// The `[uwsgi]` section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UwsgiConfig {
    /// The section header.
    pub header: Span,
    /// Where a new option line can be inserted (after the last option).
    pub insert_at: usize,
    /// Options in order.
    pub options: Vec<IniOption>,
}

impl UwsgiConfig {
    /// The last option named `key` (`-` and `_` equivalent).
    pub fn get(&self, key: &str) -> Option<&IniOption> {
        let norm = |s: &str| s.replace('_', "-").to_ascii_lowercase();
        self.options
            .iter()
            .rev()
            .find(|o| norm(&o.key.text) == norm(key))
    }

    /// Whether a boolean option is on (`true`, `1`, `yes`, `on`, or present without value).
    pub fn is_on(&self, key: &str) -> bool {
        self.get(key).is_some_and(|o| {
            let v = o.value.text.trim().to_ascii_lowercase();
            v.is_empty() || matches!(v.as_str(), "true" | "1" | "yes" | "on")
        })
    }

    pub(crate) fn shift(&mut self, by: usize) {
        self.header = self.header.shift(by);
        self.insert_at += by;
        for o in &mut self.options {
            o.key.span = o.key.span.shift(by);
            o.key.raw = o.key.raw.map(|r| r + by);
            o.value.span = o.value.span.shift(by);
            o.value.raw = o.value.raw.map(|r| r + by);
            o.span = o.span.shift(by);
        }
    }
}

/// Launch facts of an ini file.
pub fn facts(text: &str) -> LaunchFacts {
    let mut f = LaunchFacts::default();
    let file = f.add_scope(None, ScopeKind::File, "");
    let mut section = String::new();
    let mut cfg: Option<UwsgiConfig> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let full = line.trim_end_matches(['\n', '\r']);
        // Inline comments (` #…`, ` ;…`) are not part of a header or a value.
        let l = match [" #", "\t#", " ;", "\t;"]
            .iter()
            .filter_map(|m| full.find(m))
            .min()
        {
            Some(c) => &full[..c],
            None => full,
        };
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            section = t[1..t.len() - 1].trim().to_ascii_lowercase();
            if section == "uwsgi" && cfg.is_none() {
                let s = start + (l.len() - l.trim_start().len());
                cfg = Some(UwsgiConfig {
                    header: Span::new(s, s + t.len()),
                    insert_at: start + full.len(),
                    options: vec![],
                });
            }
            continue;
        }
        if section != "uwsgi" {
            continue;
        }
        let Some(c) = cfg.as_mut() else {
            continue;
        };
        let (k, v) = match l.find('=') {
            Some(eq) => (&l[..eq], &l[eq + 1..]),
            None => (l, ""),
        };
        let ks = start + (k.len() - k.trim_start().len());
        let key = Token::verbatim(k.trim(), ks);
        let vt = v.trim();
        let vs = start + l.len() - v.len() + (v.len() - v.trim_start().len());
        let value = Token::verbatim(vt, vs);
        c.insert_at = start + line.trim_end_matches(['\n', '\r']).len();
        c.options.push(IniOption {
            key,
            value,
            span: Span::new(start, start + l.len()),
        });
    }
    if let Some(c) = &cfg {
        let scope = f.add_scope(Some(file), ScopeKind::Service, "uwsgi");
        let mut words = vec![Token {
            text: "uwsgi".into(),
            span: c.header,
            raw: None,
            dynamic: false,
        }];
        for o in &c.options {
            let key = o.key.text.to_ascii_lowercase();
            if key == "env" {
                if let Some(eq) = o.value.text.find('=') {
                    f.env.push(EnvVar {
                        name: o.value.text[..eq].to_string(),
                        name_span: o.value.sub_span(0, eq).unwrap_or(o.value.span),
                        value: Some(o.value.suffix(eq + 1)),
                        span: o.span,
                        scope,
                        origin: EnvOrigin::Scope,
                    });
                }
                continue;
            }
            words.push(Token {
                text: format!("--{key}"),
                span: o.key.span,
                raw: None,
                dynamic: false,
            });
            words.push(o.value.clone());
        }
        let origin = Origin {
            kind: LaunchKind::Uwsgi,
            parent_scope: scope,
            runtime: true,
            workdir: None,
            stage: None,
            exec_form: true,
            stmt: None,
        };
        push_command(
            &mut f,
            &origin,
            RawCommand {
                assigns: vec![],
                words,
                span: c.header,
            },
        );
    }
    f.uwsgi = cfg;
    f
}

/// One uWSGI option of a launcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UwsgiOpt {
    /// Normalised key: lower case, `_` → `-`, short aliases expanded (`-M` → `master`,
    /// `-p` → `processes`, `-T` → `enable-threads`, `-w` → `module`); empty for a
    /// positional argument (a config file).
    pub key: String,
    /// The value; `None` for a bare flag.
    pub value: Option<Token>,
    /// The option word (the `--key` word, the ini key, the variable name).
    pub flag: Token,
}

/// Normalises an option name.
pub fn norm_key(k: &str) -> String {
    let k = k.trim_start_matches('-');
    match k {
        "M" => "master".into(),
        "p" => "processes".into(),
        "T" => "enable-threads".into(),
        "w" => "module".into(),
        "L" => "disable-logging".into(),
        _ => k.to_ascii_lowercase().replace('_', "-"),
    }
}

/// Short options that take no value.
const SHORT_FLAGS: &[&str] = &["-M", "-T", "-L"];

/// The options of a uWSGI launcher, in order (a later one wins): `UWSGI_*` variables of its
/// environment, then its command line (an ini section is read as its command line).
pub fn launcher_options(l: &Launcher, facts: &LaunchFacts) -> Vec<UwsgiOpt> {
    let mut out = Vec::new();
    // The UWSGI_* environment visible from the launcher.
    let mut names: Vec<&str> = Vec::new();
    for v in &facts.env {
        if v.name.starts_with("UWSGI_")
            && facts.within(l.scope, v.scope)
            && !names.contains(&v.name.as_str())
        {
            names.push(&v.name);
        }
    }
    for n in names {
        if let Some(v) = facts.lookup(l.scope, n) {
            out.push(UwsgiOpt {
                key: norm_key(&n["UWSGI_".len()..]),
                value: v.value.clone(),
                flag: Token {
                    text: v.name.clone(),
                    span: v.name_span,
                    raw: None,
                    dynamic: false,
                },
            });
        }
    }
    let a = l.args();
    let mut i = 0;
    while let Some(t) = a.get(i) {
        let s = t.text.as_str();
        let next_is_value = |j: usize| {
            a.get(j)
                .is_some_and(|n| !n.text.starts_with('-') || n.text.is_empty())
        };
        if let Some(long) = s.strip_prefix("--") {
            if let Some(eq) = long.find('=') {
                out.push(UwsgiOpt {
                    key: norm_key(&long[..eq]),
                    value: Some(t.suffix(eq + 3)),
                    flag: t.slice(0, eq + 2),
                });
                i += 1;
            } else if next_is_value(i + 1) {
                out.push(UwsgiOpt {
                    key: norm_key(long),
                    value: a.get(i + 1).cloned(),
                    flag: t.clone(),
                });
                i += 2;
            } else {
                out.push(UwsgiOpt {
                    key: norm_key(long),
                    value: None,
                    flag: t.clone(),
                });
                i += 1;
            }
        } else if s.len() == 2 && s.starts_with('-') {
            if SHORT_FLAGS.contains(&s) || !next_is_value(i + 1) {
                out.push(UwsgiOpt {
                    key: norm_key(s),
                    value: None,
                    flag: t.clone(),
                });
                i += 1;
            } else {
                out.push(UwsgiOpt {
                    key: norm_key(s),
                    value: a.get(i + 1).cloned(),
                    flag: t.clone(),
                });
                i += 2;
            }
        } else {
            out.push(UwsgiOpt {
                key: String::new(),
                value: Some(t.clone()),
                flag: t.clone(),
            });
            i += 1;
        }
    }
    out
}

/// Whether a boolean option value is on (`true`, `1`, `yes`, `on`, or a bare flag).
pub fn truthy(v: Option<&str>) -> bool {
    match v {
        None => true,
        Some(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "" | "true" | "1" | "yes" | "on"
        ),
    }
}

/// uWSGI options gathered from several places (ini file, `UWSGI_*` environment, command
/// line); a later entry wins. The token is there when the option is written in this file.
#[derive(Debug, Clone, Default)]
pub struct UwsgiOptions(Vec<(String, Option<String>, Option<Token>)>);

impl UwsgiOptions {
    /// Options of a launcher of this file.
    pub fn local(opts: Vec<UwsgiOpt>) -> UwsgiOptions {
        UwsgiOptions(
            opts.into_iter()
                .map(|o| {
                    let anchor = o
                        .value
                        .clone()
                        .filter(super::judge::is_here)
                        .or_else(|| Some(o.flag.clone()).filter(super::judge::is_here));
                    (o.key, o.value.map(|v| v.text), anchor)
                })
                .collect(),
        )
    }

    /// Options of another file's launcher.
    pub fn remote(opts: &[(String, Option<String>)]) -> UwsgiOptions {
        UwsgiOptions(
            opts.iter()
                .map(|(k, v)| (k.clone(), v.clone(), None))
                .collect(),
        )
    }

    /// `self`, overridden by `top`.
    pub fn under(mut self, top: &UwsgiOptions) -> UwsgiOptions {
        self.0.extend(top.0.iter().cloned());
        self
    }

    /// The last setting of any of `keys`: (key, value, token when written in this file).
    pub fn last(&self, keys: &[&str]) -> Option<&(String, Option<String>, Option<Token>)> {
        self.0
            .iter()
            .rev()
            .find(|(k, _, _)| keys.contains(&k.as_str()))
    }

    /// Whether a boolean option is on.
    pub fn on(&self, keys: &[&str]) -> bool {
        self.last(keys)
            .is_some_and(|(_, v, _)| truthy(v.as_deref()))
    }

    /// An integer option, with its token when written in this file.
    pub fn int(&self, keys: &[&str]) -> Option<(i64, Option<Token>)> {
        let (_, v, t) = self.last(keys)?;
        let n = v.as_deref()?.trim().parse().ok()?;
        Some((n, t.clone()))
    }

    /// The worker count (`processes`/`workers`).
    pub fn processes(&self) -> Option<(i64, Option<Token>)> {
        self.int(&["processes", "workers"])
    }

    /// Master with more than one worker, the app loaded once before fork.
    pub fn preforks(&self) -> Option<(i64, Option<Token>)> {
        let (n, t) = self.processes()?;
        (n > 1 && self.on(&["master"]) && !self.on(&["lazy-apps", "lazy"])).then_some((n, t))
    }

    /// Python threads are enabled (`enable-threads`, or `threads` > 0).
    pub fn threads(&self) -> bool {
        self.on(&["enable-threads"]) || self.int(&["threads"]).is_some_and(|(n, _)| n > 0)
    }
}

/// The option sets a uWSGI launcher of the workspace runs with: its own options over the
/// ini file it reads (`--ini`); for an ini file's section, under each command line that
/// reads it (or alone when none does).
pub fn uwsgi_contexts(
    ws: &Workspace,
    file: &Path,
    l: &LaunchRef,
    own: UwsgiOptions,
) -> Vec<UwsgiOptions> {
    if let Some((_, ini)) = ws.uwsgi_ini(file, l) {
        return vec![UwsgiOptions::remote(&ini.uwsgi).under(&own)];
    }
    let readers: Vec<UwsgiOptions> = ws
        .launched_by(file)
        .into_iter()
        .filter(|b| matches!(b.target, Target::UwsgiIni(_)) && b.launcher.program == "uwsgi")
        .map(|b| own.clone().under(&UwsgiOptions::remote(&b.launcher.uwsgi)))
        .collect();
    if readers.is_empty() {
        vec![own]
    } else {
        readers
    }
}

/// Where the comments of an INI file start (`crate::syntax::comments`), as [`facts`] reads
/// them: lines starting with `#` or `;`, and inline ones after white space (` #`, ` ;`).
pub fn comments(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let full = line.trim_end_matches(['\n', '\r']);
        let t = full.trim_start();
        if t.starts_with(['#', ';']) {
            out.push(start + full.len() - t.len());
            continue;
        }
        if let Some(c) = [" #", "\t#", " ;", "\t;"]
            .iter()
            .filter_map(|m| full.find(m))
            .min()
        {
            out.push(start + c + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uwsgi_section() {
        let src = "[uwsgi]\nmodule = app:app\nmaster = true\nprocesses = 4\n; lazy-apps = true\nenv = OTEL_SERVICE_NAME=api\n";
        let f = facts(src);
        let c = f.uwsgi.as_ref().unwrap();
        assert_eq!(c.get("processes").unwrap().value.text, "4");
        assert!(c.is_on("master") && !c.is_on("lazy-apps"));
        assert_eq!(f.launchers[0].program().as_deref(), Some("uwsgi"));
        assert_eq!(f.env[0].known(), Some("api"));
    }

    #[test]
    fn comments_of_ini_lines() {
        let src = "; top\n[uwsgi]  # c1\nmodule = app:app ; c2\nsocket = a#b\n";
        assert_eq!(
            crate::syntax::comments::texts(src, &comments(src)),
            ["; top", "# c1", "; c2"]
        );
    }
}
