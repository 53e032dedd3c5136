//! Dockerfiles: a small instruction splitter feeding shell-form commands to tree-sitter-bash.
//!
//! Why hand-written: no maintained Dockerfile parser fits the stack. The `tree-sitter-dockerfile`
//! crate (0.2.0) is built for tree-sitter 0.20 (ABI 14, and the `tree-sitter` native library
//! cannot be linked twice), and `dockerfile-parser` (pest) has no heredocs, no `# escape=`
//! directive and no byte spans for words. The instruction level of a Dockerfile is simple and
//! fully specified (lines, `\` continuations or the `# escape=` character, comment lines,
//! heredocs, JSON exec form); the hard part — shell words, quotes, expansions — is bash's, so
//! shell-form text goes to the real bash grammar with its file offsets intact.
//!
//! Offsets are kept by *masking*: the arguments of an instruction are copied with the same
//! length, comment lines inside a continuation blanked to spaces and a backtick escape
//! rewritten to `\`, so every byte the shell parser sees sits where it is in the file.

use super::imports::{Entry, Image};
use super::normalize::{push_command, Origin};
use super::shell::{self, Place, RawCommand};
use super::{Copy, EnvOrigin, EnvVar, LaunchFacts, LaunchKind, ScopeKind, Token};
use crate::diagnostic::Span;

/// One instruction.
#[derive(Debug, Clone)]
struct Instr {
    /// Upper-case keyword.
    kw: String,
    /// Start of the instruction (the keyword).
    start: usize,
    /// Start of the arguments.
    args_start: usize,
    /// End of the instruction (before the final newline), heredoc bodies excluded.
    end: usize,
    /// The arguments, same length as `text[args_start..end]`, continuation comments blanked.
    masked: String,
    /// Heredoc bodies: (body start, body end, delimiter).
    heredocs: Vec<(usize, usize)>,
}

/// A CMD or ENTRYPOINT.
#[derive(Debug, Clone)]
enum Form {
    Exec(Vec<Token>),
    Shell(Token),
}

#[derive(Debug, Clone)]
struct Cmd {
    form: Form,
    span: Span,
}

#[derive(Debug, Clone)]
struct Stage {
    scope: usize,
    name: Option<String>,
    workdir: Option<String>,
    /// Where the build context's root was copied (`COPY . <dest>`), absolute.
    context_root: Option<String>,
    entrypoint: Option<Cmd>,
    cmd: Option<Cmd>,
    declares: bool,
    /// The stage it is built `FROM`, when that is a stage of this file.
    parent: Option<usize>,
}

/// Launchers, environment and copies of a Dockerfile.
pub fn facts(text: &str) -> LaunchFacts {
    let mut f = LaunchFacts::default();
    let file_scope = f.add_scope(None, ScopeKind::File, "");
    let escape = escape_char(text);
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions(text, escape) {
        let cur = stages.len().checked_sub(1);
        match ins.kw.as_str() {
            "FROM" => {
                let words = split_words(&ins.masked, ins.args_start);
                let plain: Vec<&Token> =
                    words.iter().filter(|w| !w.text.starts_with("--")).collect();
                let image = plain
                    .first()
                    .map(|w| w.text.to_ascii_lowercase())
                    .unwrap_or_default();
                let name = match (plain.get(1), plain.get(2)) {
                    (Some(a), Some(n)) if a.text.eq_ignore_ascii_case("as") => {
                        Some(n.text.to_ascii_lowercase())
                    }
                    _ => None,
                };
                let parent_idx = stages
                    .iter()
                    .rposition(|s| s.name.as_deref() == Some(image.as_str()));
                let parent = parent_idx.map(|i| stages[i].clone());
                let label = name
                    .clone()
                    .unwrap_or_else(|| format!("stage {}", stages.len()));
                let scope = f.add_scope(
                    Some(parent.as_ref().map_or(file_scope, |p| p.scope)),
                    ScopeKind::Stage,
                    &label,
                );
                f.stages.push((stages.len(), Span::new(ins.start, ins.end)));
                stages.push(Stage {
                    scope,
                    name,
                    workdir: parent.as_ref().and_then(|p| p.workdir.clone()),
                    context_root: parent.as_ref().and_then(|p| p.context_root.clone()),
                    entrypoint: parent.as_ref().and_then(|p| p.entrypoint.clone()),
                    cmd: parent.as_ref().and_then(|p| p.cmd.clone()),
                    declares: false,
                    parent: parent_idx,
                });
            }
            _ if cur.is_none() && ins.kw != "ARG" => {
                // Instructions before the first FROM (other than ARG) are invalid; read them
                // in an implicit stage so nothing is lost.
                let scope = f.add_scope(Some(file_scope), ScopeKind::Stage, "stage 0");
                stages.push(Stage {
                    scope,
                    name: None,
                    workdir: None,
                    context_root: None,
                    entrypoint: None,
                    cmd: None,
                    declares: false,
                    parent: None,
                });
                handle(&mut f, &mut stages, &ins, text);
            }
            _ => handle(&mut f, &mut stages, &ins, text),
        }
    }
    // Each stage as an image other files can run (compose `build:`).
    for (idx, st) in stages.iter().enumerate() {
        let mut launch_stage = None;
        let mut cur = Some(idx);
        let mut guard = 0;
        while let Some(i) = cur {
            let Some(s) = stages.get(i) else {
                break;
            };
            if s.declares {
                launch_stage = Some(i);
                break;
            }
            cur = s.parent.filter(|p| *p < i);
            guard += 1;
            if guard > 64 {
                break;
            }
        }
        f.images.push(Image {
            stage: idx,
            name: st.name.clone(),
            scope: st.scope,
            entrypoint: match &st.entrypoint {
                Some(Cmd {
                    form: Form::Exec(w),
                    ..
                }) => Entry::Exec(w.clone()),
                Some(_) => Entry::Shell,
                None => Entry::None,
            },
            launch_stage,
        });
    }
    f.vendor_distro = super::packaging::mentions_vendor_distro(text);
    // The runtime launchers: each stage's effective ENTRYPOINT + CMD, where it declares one.
    for (idx, st) in stages.iter().enumerate() {
        if !st.declares {
            continue;
        }
        let origin = |kind| Origin {
            kind,
            parent_scope: st.scope,
            runtime: true,
            workdir: st.workdir.clone(),
            stage: Some(idx),
            exec_form: true,
            stmt: None,
        };
        let ep_is_script = matches!(&st.entrypoint, Some(Cmd { form: Form::Exec(w), .. })
            if w.first().is_some_and(|t| t.text.ends_with(".sh")));
        match (&st.entrypoint, &st.cmd) {
            (Some(ep), cmd) if ep_is_script => {
                emit(&mut f, &origin(LaunchKind::Entrypoint), ep, None);
                if let Some(c) = cmd {
                    emit(&mut f, &origin(LaunchKind::Cmd), c, None);
                }
            }
            (
                Some(
                    ep @ Cmd {
                        form: Form::Exec(_),
                        ..
                    },
                ),
                cmd,
            ) => emit(&mut f, &origin(LaunchKind::Entrypoint), ep, cmd.as_ref()),
            (Some(ep), _) => emit(&mut f, &origin(LaunchKind::Entrypoint), ep, None),
            (None, Some(c)) => emit(&mut f, &origin(LaunchKind::Cmd), c, None),
            (None, None) => {}
        }
    }
    // Where each stage copied the build context (its last `COPY . <dest>`; a `RUN` before
    // that copy is rare and given the same).
    for l in &mut f.launchers {
        if let Some(st) = l.stage.and_then(|i| stages.get(i)) {
            l.context_root = st.context_root.clone();
        }
    }
    f
}

fn handle(f: &mut LaunchFacts, stages: &mut [Stage], ins: &Instr, text: &str) {
    let idx = stages.len().saturating_sub(1);
    let Some(st) = stages.last_mut() else {
        return;
    };
    match ins.kw.as_str() {
        "ENV" => env(f, st.scope, ins),
        "WORKDIR" => {
            let w = ins.masked.trim().trim_matches('"').to_string();
            if !w.is_empty() {
                st.workdir = Some(match &st.workdir {
                    Some(prev) if !w.starts_with('/') => {
                        format!("{}/{}", prev.trim_end_matches('/'), w)
                    }
                    _ => w,
                });
            }
        }
        "CMD" | "ENTRYPOINT" => {
            let form = match exec_form(&ins.masked, ins.args_start) {
                Some(words) => Form::Exec(words),
                None => Form::Shell(shell_token(ins)),
            };
            let c = Cmd {
                form,
                span: Span::new(ins.start, ins.end),
            };
            st.declares = true;
            if ins.kw == "CMD" {
                st.cmd = Some(c);
            } else {
                // Setting ENTRYPOINT resets a CMD inherited from the base stage.
                st.entrypoint = Some(c);
                st.cmd = None;
            }
        }
        "RUN" => {
            let origin = Origin {
                kind: LaunchKind::Run,
                parent_scope: st.scope,
                runtime: false,
                workdir: st.workdir.clone(),
                stage: Some(idx),
                exec_form: false,
                stmt: Some(Span::new(
                    ins.start,
                    ins.heredocs.last().map_or(ins.end, |h| h.1.max(ins.end)),
                )),
            };
            if let Some(words) = exec_form(&ins.masked, ins.args_start) {
                let cmd = RawCommand {
                    assigns: vec![],
                    words,
                    span: Span::new(ins.start, ins.end),
                };
                push_command(
                    f,
                    &Origin {
                        exec_form: true,
                        ..origin
                    },
                    cmd,
                );
                return;
            }
            let masked = strip_run_flags(&ins.masked);
            let commands = if masked.trim_start().starts_with("<<") {
                // `RUN <<EOF` runs the heredoc body as the script.
                ins.heredocs
                    .iter()
                    .flat_map(|&(s, e)| shell::scan(&text[s..e], Place::At(s)).commands)
                    .collect()
            } else if let Some(&(_, last_end)) = ins.heredocs.last() {
                // A heredoc feeding a command: let bash see the whole region.
                let mut region = masked.clone();
                region.push_str(&text[ins.end..last_end.min(text.len())]);
                shell::scan(&region, Place::At(ins.args_start)).commands
            } else {
                shell::scan(&masked, Place::At(ins.args_start)).commands
            };
            for c in commands {
                push_command(f, &origin, c);
            }
        }
        "COPY" | "ADD" => {
            let words = split_words(&ins.masked, ins.args_start);
            if let Some(root) = context_copy(&words, st.workdir.as_deref()) {
                st.context_root = Some(root);
            }
            f.copies.push(Copy {
                stage: idx,
                words,
                span: Span::new(ins.start, ins.end),
            })
        }
        _ => {}
    }
}

/// Where `COPY . <dest>` (or `./`, without `--from`) puts the build context's root: `dest`
/// made absolute against the `WORKDIR` in effect, without a trailing slash.
fn context_copy(words: &[Token], workdir: Option<&str>) -> Option<String> {
    let mut rest = Vec::new();
    for w in words {
        let t = w.text.as_str();
        if t.starts_with("--from") {
            return None;
        }
        if !t.starts_with("--") {
            rest.push(t);
        }
    }
    let [src, dest] = rest[..] else {
        return None;
    };
    if !matches!(src, "." | "./") {
        return None;
    }
    let abs = if dest.starts_with('/') {
        dest.to_string()
    } else {
        let base = workdir.filter(|w| w.starts_with('/'))?;
        match dest.trim_start_matches("./") {
            "" | "." => base.to_string(),
            d => format!("{}/{}", base.trim_end_matches('/'), d),
        }
    };
    let abs = abs.trim_end_matches('/');
    Some(if abs.is_empty() {
        "/".into()
    } else {
        abs.into()
    })
}

/// Where the comments of a Dockerfile start (`crate::syntax::comments`): comment lines
/// (also inside a continued instruction, where Docker drops them), but not in heredoc
/// bodies; and the shell comments of `RUN`, `CMD` and `ENTRYPOINT` (a `#` after an exec
/// form's `]` too: Docker then runs the line through the shell). A `#` in the arguments of
/// any other instruction is Docker's text, not a comment.
pub fn comments(text: &str) -> Vec<usize> {
    let ins = instructions(text, escape_char(text));
    let bodies: Vec<(usize, usize)> = ins.iter().flat_map(|i| i.heredocs.clone()).collect();
    let mut out = Vec::new();
    for (s, e, _) in lines(text) {
        let l = &text[s..e];
        let t = l.trim_start();
        if t.starts_with('#') && !bodies.iter().any(|b| b.0 <= s && s < b.1) {
            out.push(s + l.len() - t.len());
        }
    }
    for i in &ins {
        if !matches!(i.kw.as_str(), "RUN" | "CMD" | "ENTRYPOINT") || !i.heredocs.is_empty() {
            continue;
        }
        let masked = strip_run_flags(&i.masked);
        out.extend(
            crate::syntax::comments::bash(&masked)
                .into_iter()
                .map(|c| c + i.args_start),
        );
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `RUN --mount=… --network=…` flags precede the command: blank them (same length).
fn strip_run_flags(masked: &str) -> String {
    let mut out = masked.to_string();
    loop {
        let lead = out.len() - out.trim_start().len();
        let rest = &out[lead..];
        if !rest.starts_with("--") {
            return out;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.replace_range(lead..lead + end, &" ".repeat(end));
    }
}

fn shell_token(ins: &Instr) -> Token {
    Token {
        text: ins.masked.clone(),
        span: Span::new(ins.args_start, ins.end),
        raw: Some(ins.args_start),
        dynamic: false,
    }
}

fn emit(f: &mut LaunchFacts, origin: &Origin, main: &Cmd, cmd: Option<&Cmd>) {
    let mut words = match &main.form {
        Form::Exec(w) => w.clone(),
        Form::Shell(t) => {
            for c in shell::scan(&t.text, Place::At(t.span.start)).commands {
                push_command(
                    f,
                    &Origin {
                        exec_form: false,
                        ..origin.clone()
                    },
                    c,
                );
            }
            return;
        }
    };
    match cmd.map(|c| &c.form) {
        Some(Form::Exec(w)) => words.extend(w.iter().cloned()),
        Some(Form::Shell(t)) => {
            // Docker runs a shell-form CMD as `/bin/sh -c "<cmd>"` after the ENTRYPOINT.
            words.push(Token {
                text: "/bin/sh".into(),
                span: t.span,
                raw: None,
                dynamic: false,
            });
            words.push(Token {
                text: "-c".into(),
                span: t.span,
                raw: None,
                dynamic: false,
            });
            words.push(t.clone());
        }
        None => {}
    }
    push_command(
        f,
        origin,
        RawCommand {
            assigns: vec![],
            words,
            span: main.span,
        },
    );
}

/// `ENV K=V K2="v 2"` or the legacy `ENV K value with spaces`.
fn env(f: &mut LaunchFacts, scope: usize, ins: &Instr) {
    let words = split_words(&ins.masked, ins.args_start);
    let Some(first) = words.first() else {
        return;
    };
    if !first.text.contains('=') {
        // Legacy form: the rest of the line is the value.
        let rest_at = ins
            .masked
            .find(first.text.as_str())
            .map_or(0, |i| i + first.text.len());
        let rest = ins.masked[rest_at..].trim();
        let vstart = ins.args_start
            + rest_at
            + (ins.masked[rest_at..].len() - ins.masked[rest_at..].trim_start().len());
        f.env.push(EnvVar {
            name: first.text.clone(),
            name_span: first.span,
            value: (!rest.is_empty()).then(|| Token::verbatim(rest, vstart)),
            span: Span::new(ins.start, ins.end),
            scope,
            origin: EnvOrigin::Scope,
        });
        return;
    }
    for w in words {
        let Some(eq) = w.text.find('=') else {
            continue;
        };
        // The name is unquoted in practice; its span starts the word.
        let name_span = Span::new(w.span.start, (w.span.start + eq).min(w.span.end));
        f.env.push(EnvVar {
            name: w.text[..eq].to_string(),
            name_span,
            value: Some(w.suffix(eq + 1)),
            span: w.span,
            scope,
            origin: EnvOrigin::Scope,
        });
    }
}

/// The `# escape=` parser directive (default `\`).
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let t = line.trim();
        let Some(d) = t.strip_prefix('#') else {
            break;
        };
        let d = d.trim();
        let Some((k, v)) = d.split_once('=') else {
            break;
        };
        if k.trim().eq_ignore_ascii_case("escape") {
            if v.trim() == "`" {
                return '`';
            }
            return '\\';
        }
        if !k.trim().eq_ignore_ascii_case("syntax") && !k.trim().eq_ignore_ascii_case("check") {
            break;
        }
    }
    '\\'
}

/// Byte ranges of the lines of `text` (without the newline), with the start of the next line.
fn lines(text: &str) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let b = text.as_bytes();
    while pos < b.len() {
        let nl = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |n| pos + n);
        let end = if nl > pos && b[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        out.push((pos, end, (nl + 1).min(b.len())));
        pos = nl + 1;
    }
    out
}

fn instructions(text: &str, escape: char) -> Vec<Instr> {
    let ls = lines(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let (s, e, _) = ls[i];
        let line = &text[s..e];
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let start = s + (line.len() - trimmed.len());
        let kw_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let kw = trimmed[..kw_len].to_ascii_uppercase();
        let args_start = start + kw_len;
        // Continuation lines; comment and empty lines inside are dropped (blanked).
        let mut blank: Vec<(usize, usize)> = Vec::new();
        let mut escapes: Vec<usize> = Vec::new();
        let _ = e;
        let end;
        let mut j = i;
        loop {
            let (ls_, le, _) = ls[j];
            let l = &text[ls_..le];
            let body = l.trim_end();
            let continued =
                body.ends_with(escape) && !(j == i && body.len() <= kw_len + (start - ls_));
            if !continued {
                end = le;
                break;
            }
            escapes.push(ls_ + body.len() - 1);
            // Skip comment / empty lines after a continuation.
            let mut k = j + 1;
            while k < ls.len() {
                let (cs, ce, cn) = ls[k];
                let t = text[cs..ce].trim_start();
                if t.starts_with('#') || t.is_empty() {
                    blank.push((cs, cn));
                    k += 1;
                } else {
                    break;
                }
            }
            if k >= ls.len() {
                end = le;
                j = ls.len() - 1;
                break;
            }
            j = k;
        }
        let args_start = args_start.min(end);
        let mut masked: Vec<u8> = text.as_bytes()[args_start..end].to_vec();
        for (bs, be) in &blank {
            for p in (*bs).max(args_start)..(*be).min(end) {
                masked[p - args_start] = b' ';
            }
        }
        for &p in &escapes {
            if p >= args_start && p < end {
                // Put the escape right before the newline (trailing blanks moved before it).
                let line_end = text[p..end].find('\n').map_or(end, |n| p + n);
                let mut q = line_end;
                if q > p && text.as_bytes()[q - 1] == b'\r' {
                    q -= 1;
                }
                for r in p..q {
                    masked[r - args_start] = b' ';
                }
                if q > p {
                    masked[q - 1 - args_start] = b'\\';
                }
            }
        }
        let masked =
            String::from_utf8(masked).unwrap_or_else(|_| text[args_start..end].to_string());
        // Heredocs: `<<EOF`, `<<-EOF`, `<<"EOF"`.
        let mut heredocs = Vec::new();
        let mut next = j + 1;
        if matches!(kw.as_str(), "RUN" | "COPY" | "ADD") {
            for (delim, strip) in heredoc_delims(&masked) {
                let body_start = ls.get(next).map_or(text.len(), |l| l.0);
                let mut k = next;
                while k < ls.len() {
                    let (cs, ce, _) = ls[k];
                    let l = &text[cs..ce];
                    let l = if strip { l.trim_start_matches('\t') } else { l };
                    if l == delim {
                        break;
                    }
                    k += 1;
                }
                let body_end = ls.get(k).map_or(text.len(), |l| l.0);
                heredocs.push((body_start, body_end));
                next = (k + 1).min(ls.len());
            }
        }
        out.push(Instr {
            kw,
            start,
            args_start,
            end,
            masked,
            heredocs,
        });
        i = next.max(j + 1);
    }
    out
}

fn heredoc_delims(s: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i + 1 < b.len() {
        match quote {
            Some(q) => {
                if b[i] == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            None if b[i] == b'\'' || b[i] == b'"' => {
                quote = Some(b[i]);
                i += 1;
                continue;
            }
            None => {}
        }
        if b[i] == b'<' && b[i + 1] == b'<' && b.get(i + 2) != Some(&b'<') {
            let mut j = i + 2;
            let strip = b.get(j) == Some(&b'-');
            if strip {
                j += 1;
            }
            let q = b.get(j).copied().filter(|c| *c == b'"' || *c == b'\'');
            if q.is_some() {
                j += 1;
            }
            let ws = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > ws {
                out.push((s[ws..j].to_string(), strip));
            }
            i = j + 1;
            continue;
        }
        i += 1;
    }
    out
}

/// A JSON array of strings (exec form), tolerating `\`-newline between elements and a
/// trailing comment after `]`. `None` when it is not one: Docker then runs it as shell form.
pub fn exec_form(masked: &str, base: usize) -> Option<Vec<Token>> {
    let b = masked.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() {
            let continuation =
                b[*i] == b'\\' && b.get(*i + 1).is_some_and(|c| *c == b'\n' || *c == b'\r');
            if b[*i].is_ascii_whitespace() || continuation {
                *i += 1;
            } else {
                break;
            }
        }
    };
    skip_ws(&mut i);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    let mut out = Vec::new();
    skip_ws(&mut i);
    if b.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            skip_ws(&mut i);
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let s = i;
            i += 1;
            let mut escaped = false;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    escaped = true;
                    i += 1;
                }
                if b.get(i) == Some(&b'\n') {
                    return None;
                }
                i += 1;
            }
            if i >= b.len() {
                return None;
            }
            let lit = &masked[s..=i];
            let value: String = serde_json::from_str(lit).ok()?;
            out.push(Token {
                dynamic: value.contains('$'),
                text: value,
                span: Span::new(base + s, base + i + 1),
                raw: (!escaped).then_some(base + s + 1),
            });
            i += 1;
            skip_ws(&mut i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    skip_ws(&mut i);
    (i >= b.len() || b[i] == b'#').then_some(out)
}

/// Splits Dockerfile words (ENV, FROM, COPY) with quotes and backslash escapes, keeping
/// exact spans where the text is verbatim.
pub fn split_words(s: &str, base: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len()
            && (b[i].is_ascii_whitespace()
                || (b[i] == b'\\' && b.get(i + 1).is_some_and(|c| c.is_ascii_whitespace())))
        {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut text: Vec<u8> = Vec::new();
        let mut offs: Vec<usize> = Vec::new();
        let mut dynamic = false;
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            match quote {
                None if c.is_ascii_whitespace() => break,
                None if c == b'"' || c == b'\'' => {
                    quote = Some(c);
                    i += 1;
                    continue;
                }
                Some(q) if c == q => {
                    quote = None;
                    i += 1;
                    continue;
                }
                _ => {}
            }
            if c == b'\\' && quote != Some(b'\'') && i + 1 < b.len() {
                i += 1;
                text.push(b[i]);
                offs.push(base + i);
                i += 1;
                continue;
            }
            if c == b'$' && quote != Some(b'\'') {
                dynamic = true;
            }
            text.push(c);
            offs.push(base + i);
            i += 1;
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        let contiguous = offs.windows(2).all(|w| w[1] == w[0] + 1);
        let raw = if offs.is_empty() {
            Some(base + start)
        } else if contiguous {
            Some(offs[0])
        } else {
            None
        };
        // A word like K="v" is verbatim in two parts: keep the value part exact.
        let raw = raw.or_else(|| value_raw(&text, &offs));
        out.push(Token {
            text,
            span: Span::new(base + start, base + i),
            raw,
            dynamic,
        });
    }
    out
}

/// For `K="value"`, the value is contiguous after the quote even though the word is not:
/// the raw offset is then that of the text's first byte *as if* contiguous; it only holds
/// for the suffix after `=`, which is what callers slice. Returns `None` when even that fails.
fn value_raw(text: &str, offs: &[usize]) -> Option<usize> {
    let eq = text.find('=')?;
    let after = offs.get(eq + 1..)?;
    if after.windows(2).all(|w| w[1] == w[0] + 1) {
        // raw + (eq + 1) must equal offs[eq + 1].
        after.first().map(|f| f - (eq + 1)).or(Some(offs[eq] - eq))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(f: &LaunchFacts, i: usize) -> Vec<&str> {
        f.launchers[i]
            .argv
            .iter()
            .map(|t| t.text.as_str())
            .collect()
    }

    #[test]
    fn stages_forms_continuations_heredocs() {
        let src = "# syntax=docker/dockerfile:1\nFROM python:3.12 AS base\nENV OTEL_SERVICE_NAME=api \\\n    OTEL_EXPORTER_OTLP_ENDPOINT=\"http://c:4317\"\nWORKDIR /app\nRUN pip install -r requirements.txt \\\n# a comment inside\n && opentelemetry-bootstrap -a install\nRUN <<EOF\nuv sync\nEOF\n# CMD gunicorn -w 8 x:y\nFROM base AS prod\nENTRYPOINT [\"opentelemetry-instrument\"]\nCMD [\"gunicorn\", \"-w 4\", \"app:app\"]  # trailing\n";
        let f = facts(src);
        let progs: Vec<String> = f.launchers.iter().filter_map(|l| l.program()).collect();
        assert_eq!(progs, ["pip", "opentelemetry-bootstrap", "uv", "gunicorn"]);
        let g = f
            .launchers
            .iter()
            .find(|l| l.program().as_deref() == Some("gunicorn"))
            .unwrap();
        assert!(g.instrumented() && g.runtime);
        assert_eq!(g.workdir.as_deref(), Some("/app"));
        let w = &g.argv[2];
        assert_eq!(w.text, "4");
        assert_eq!(&src[w.span.start..w.span.end], "4");
        let ep = f.lookup(g.scope, "OTEL_EXPORTER_OTLP_ENDPOINT").unwrap();
        let v = ep.value.as_ref().unwrap().value_span().unwrap();
        assert_eq!(&src[v.start..v.end], "http://c:4317");
        assert_eq!(argv(&f, 1), ["opentelemetry-bootstrap", "-a", "install"]);
    }

    #[test]
    fn where_the_build_context_was_copied() {
        let root = |src: &str| {
            facts(src)
                .launchers
                .iter()
                .find(|l| l.runtime)
                .and_then(|l| l.context_root.clone())
        };
        assert_eq!(
            root("FROM x\nWORKDIR /app\nCOPY . .\nCMD python run.py\n").as_deref(),
            Some("/app")
        );
        assert_eq!(
            root("FROM x\nCOPY --chown=app:app ./ /srv/\nWORKDIR /srv/src\nCMD python run.py\n")
                .as_deref(),
            Some("/srv")
        );
        assert_eq!(
            root("FROM x\nWORKDIR /app\nCOPY . code\nCMD python run.py\n").as_deref(),
            Some("/app/code")
        );
        // Another stage's files, a sub-folder, or a relative destination without WORKDIR:
        // unknown.
        assert_eq!(
            root("FROM x\nCOPY --from=build /app /app\nCMD python run.py\n"),
            None
        );
        assert_eq!(root("FROM x\nCOPY src /app\nCMD python run.py\n"), None);
        assert_eq!(root("FROM x\nCOPY . .\nCMD python run.py\n"), None);
        // Inherited by a stage built FROM this one.
        assert_eq!(
            root("FROM x AS base\nCOPY . /app\nFROM base\nCMD python run.py\n").as_deref(),
            Some("/app")
        );
    }

    #[test]
    fn shell_form_cmd_and_legacy_env() {
        let src = "FROM x\nENV WEB_CONCURRENCY 4\nCMD cd /app && exec opentelemetry-instrument uvicorn main:app --reload\n";
        let f = facts(src);
        assert_eq!(argv(&f, 1), ["uvicorn", "main:app", "--reload"]);
        assert!(f.launchers[1].instrumented());
        assert_eq!(f.env[0].known(), Some("4"));
        let r = &f.launchers[1].argv[2];
        assert_eq!(&src[r.span.start..r.span.end], "--reload");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in [
            "",
            "RUN",
            "CMD [",
            "CMD [\"a\\",
            "FROM\n\\\n",
            "RUN <<EOF",
            "ENV =",
            "CMD [\"é\"]\nENV A=\"é\\",
            "\\\n\\",
        ] {
            let _ = facts(src);
        }
    }

    #[test]
    fn comments_of_shell_instructions_and_comment_lines() {
        let src = "# syntax=docker/dockerfile:1\nFROM python\nRUN a '#q' \\\n  # c1\n  b  # c2\nRUN <<EOF\n# body\nEOF\nENV A=\"#x\" B=1 # env\nCMD [\"a\", \"#b\"]  # c3\nLABEL x=\"# y\"\n";
        assert_eq!(
            crate::syntax::comments::texts(src, &comments(src)),
            ["# syntax=docker/dockerfile:1", "# c1", "# c2", "# c3"]
        );
    }
}
