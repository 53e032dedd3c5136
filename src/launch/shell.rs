//! Shell command lines through tree-sitter-bash: the simple commands of a script (inside
//! lists, pipelines, `if`, functions…) with their `VAR=value` prefixes, and `export`s.
//!
//! Quoting, escapes and line continuations are the grammar's business; each word becomes a
//! [`Token`] with its unquoted text and exact span. Words with expansions are dynamic.
//! Command substitutions and heredoc bodies are not descended into.

use super::Token;
use crate::diagnostic::Span;
use crate::language::Language;
use crate::syntax::parse;
use tree_sitter::Node;

/// A `NAME=value` assignment (a command prefix or an `export`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assign {
    /// The variable name.
    pub name: Token,
    /// The value (empty token for `NAME=`); `None` for `export NAME`.
    pub value: Option<Token>,
    /// The whole assignment.
    pub span: Span,
}

/// One simple command: prefix assignments, then words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCommand {
    /// `VAR=value` prefixes.
    pub assigns: Vec<Assign>,
    /// The command name and its arguments.
    pub words: Vec<Token>,
    /// The whole command.
    pub span: Span,
}

/// The commands and exports of a script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellScan {
    /// Simple commands in source order.
    pub commands: Vec<RawCommand>,
    /// `export NAME=value` settings (and `export NAME` of an earlier `NAME=value`).
    pub exports: Vec<Assign>,
}

/// Spans: exact (the text sits at `base` in the file) or all collapsed to one span.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// The text is verbatim at this file offset.
    At(usize),
    /// The text is not verbatim (escapes were removed): every span becomes this one.
    Within(Span),
}

struct Ctx<'s> {
    src: &'s str,
    place: Place,
}

impl Ctx<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        match self.place {
            Place::At(b) => Span::new(b + start, b + end),
            Place::Within(s) => s,
        }
    }
    fn raw(&self, start: usize) -> Option<usize> {
        match self.place {
            Place::At(b) => Some(b + start),
            Place::Within(_) => None,
        }
    }
    fn text(&self, n: Node) -> &str {
        self.src.get(n.byte_range()).unwrap_or("")
    }
}

/// Parses `text` as a shell script.
pub fn scan(text: &str, place: Place) -> ShellScan {
    let tree = parse(Language::Shell, text, None);
    scan_tree(tree.root_node(), text, place)
}

/// Reads an already parsed script (`root` of `text`).
pub fn scan_tree(root: Node, text: &str, place: Place) -> ShellScan {
    let ctx = Ctx { src: text, place };
    let mut out = ShellScan::default();
    let mut vars: Vec<Assign> = Vec::new();
    walk(root, &ctx, &mut out, &mut vars, 0);
    out
}

/// Launch facts of a shell script: its exports form the file scope, each command a
/// launcher.
pub fn file_facts(root: Node, text: &str) -> super::LaunchFacts {
    use super::normalize::{push_command, Origin};
    use super::{EnvOrigin, EnvVar, LaunchFacts, LaunchKind, ScopeKind};
    let mut f = LaunchFacts::default();
    let file = f.add_scope(None, ScopeKind::File, "");
    let s = scan_tree(root, text, Place::At(0));
    for e in s.exports {
        f.env.push(EnvVar {
            name: e.name.text.clone(),
            name_span: e.name.span,
            value: e.value,
            span: e.span,
            scope: file,
            origin: EnvOrigin::Scope,
        });
    }
    let origin = Origin {
        kind: LaunchKind::Shell,
        parent_scope: file,
        runtime: true,
        workdir: None,
        stage: None,
        exec_form: false,
        stmt: None,
    };
    for c in s.commands {
        push_command(&mut f, &origin, c);
    }
    f
}

/// The byte ranges (relative to the parsed text) of the constructs whose commands do not
/// simply run one after the other, in source order: function bodies, `if`/`case`
/// statements and loops (condition included), and `||` lists. A command outside all of them
/// runs when the script reaches it.
pub fn conditional_ranges(root: Node) -> Vec<(usize, usize)> {
    fn go(n: Node, out: &mut Vec<(usize, usize)>, depth: usize) {
        if depth > 200 {
            return;
        }
        let conditional = match n.kind() {
            "function_definition"
            | "if_statement"
            | "case_statement"
            | "while_statement"
            | "for_statement"
            | "c_style_for_statement" => true,
            "list" => {
                let mut c = n.walk();
                let or = n.children(&mut c).any(|ch| ch.kind() == "||");
                or
            }
            _ => false,
        };
        if conditional {
            out.push((n.start_byte(), n.end_byte()));
            return;
        }
        let mut c = n.walk();
        for child in n.named_children(&mut c) {
            go(child, out, depth + 1);
        }
    }
    let mut out = Vec::new();
    go(root, &mut out, 0);
    out
}

/// [`conditional_ranges`] of a script text.
pub fn conditional_ranges_of(text: &str) -> Vec<(usize, usize)> {
    let tree = parse(Language::Shell, text, None);
    conditional_ranges(tree.root_node())
}

fn walk(node: Node, ctx: &Ctx, out: &mut ShellScan, vars: &mut Vec<Assign>, depth: usize) {
    if depth > 200 {
        return;
    }
    match node.kind() {
        "command" => {
            if let Some(c) = command(node, ctx) {
                out.commands.push(c);
            }
            return;
        }
        "declaration_command" => {
            declaration(node, ctx, out, vars);
            return;
        }
        "variable_assignment" => {
            if let Some(a) = assign(node, ctx) {
                vars.push(a);
            }
            return;
        }
        "command_substitution"
        | "process_substitution"
        | "heredoc_body"
        | "comment"
        | "arithmetic_expansion" => return,
        _ => {}
    }
    let mut c = node.walk();
    for child in node.named_children(&mut c) {
        walk(child, ctx, out, vars, depth + 1);
    }
}

fn command(node: Node, ctx: &Ctx) -> Option<RawCommand> {
    let mut assigns = Vec::new();
    let mut words = Vec::new();
    let mut c = node.walk();
    for child in node.named_children(&mut c) {
        match child.kind() {
            "variable_assignment" => {
                if let Some(a) = assign(child, ctx) {
                    assigns.push(a);
                }
            }
            "command_name" => {
                if let Some(w) = child.named_child(0) {
                    words.push(word(w, ctx));
                }
            }
            "file_redirect" | "herestring_redirect" | "heredoc_redirect" | "subshell" => {}
            _ => {
                if node
                    .child_by_field_name("name")
                    .is_some_and(|n| n.start_byte() < child.start_byte())
                {
                    words.push(word(child, ctx));
                }
            }
        }
    }
    Some(RawCommand {
        assigns,
        words,
        span: ctx.span(node.start_byte(), node.end_byte()),
    })
}

fn declaration(node: Node, ctx: &Ctx, out: &mut ShellScan, vars: &mut [Assign]) {
    let head = node.child(0).map(|h| ctx.text(h)).unwrap_or("");
    let mut c = node.walk();
    let children: Vec<Node> = node.named_children(&mut c).collect();
    let exporting = head == "export"
        || (head == "declare" || head == "typeset")
            && children
                .iter()
                .any(|n| ctx.text(*n).starts_with('-') && ctx.text(*n).contains('x'));
    if !exporting {
        return;
    }
    for ch in children {
        match ch.kind() {
            "variable_assignment" => {
                if let Some(a) = assign(ch, ctx) {
                    out.exports.push(a);
                }
            }
            "variable_name" | "word" => {
                let name = ctx.text(ch);
                if let Some(prev) = vars.iter().rev().find(|v| v.name.text == name) {
                    out.exports.push(Assign {
                        name: word(ch, ctx),
                        value: prev.value.clone(),
                        span: prev.span,
                    });
                }
            }
            _ => {}
        }
    }
}

fn assign(node: Node, ctx: &Ctx) -> Option<Assign> {
    let name = node.child_by_field_name("name")?;
    let value = match node.child_by_field_name("value") {
        Some(v) => word(v, ctx),
        None => Token {
            text: String::new(),
            span: ctx.span(node.end_byte(), node.end_byte()),
            raw: ctx.raw(node.end_byte()),
            dynamic: false,
        },
    };
    Some(Assign {
        name: Token {
            text: ctx.text(name).to_string(),
            span: ctx.span(name.start_byte(), name.end_byte()),
            raw: ctx.raw(name.start_byte()),
            dynamic: false,
        },
        value: Some(value),
        span: ctx.span(node.start_byte(), node.end_byte()),
    })
}

/// Removes backslash escapes of an unquoted word.
fn unescape_plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('\n') => {}
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Removes the escapes that are special inside double quotes.
fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.peek() {
                Some('"' | '\\' | '$' | '`') => out.push(it.next().unwrap_or('\\')),
                Some('\n') => {
                    it.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn has_expansion(node: Node) -> bool {
    let mut c = node.walk();
    let kids: Vec<Node> = node.named_children(&mut c).collect();
    kids.into_iter().any(|k| {
        matches!(
            k.kind(),
            "simple_expansion"
                | "expansion"
                | "command_substitution"
                | "arithmetic_expansion"
                | "process_substitution"
        ) || has_expansion(k)
    })
}

/// One word node as a token.
fn word(n: Node, ctx: &Ctx) -> Token {
    let src = ctx.text(n);
    let (s, e) = (n.start_byte(), n.end_byte());
    let span = ctx.span(s, e);
    match n.kind() {
        "word" | "number" => {
            if src.contains('\\') {
                Token {
                    text: unescape_plain(src),
                    span,
                    raw: None,
                    dynamic: false,
                }
            } else {
                Token {
                    text: src.to_string(),
                    span,
                    raw: ctx.raw(s),
                    dynamic: false,
                }
            }
        }
        "raw_string" => Token {
            text: src
                .get(1..src.len().saturating_sub(1))
                .unwrap_or("")
                .to_string(),
            span,
            raw: ctx.raw(s + 1),
            dynamic: false,
        },
        "string" => {
            let inner = src.get(1..src.len().saturating_sub(1)).unwrap_or("");
            let dynamic = has_expansion(n);
            if inner.contains('\\') {
                Token {
                    text: unescape_double(inner),
                    span,
                    raw: None,
                    dynamic,
                }
            } else {
                Token {
                    text: inner.to_string(),
                    span,
                    raw: ctx.raw(s + 1),
                    dynamic,
                }
            }
        }
        "ansi_c_string" => Token {
            text: src
                .get(2..src.len().saturating_sub(1))
                .unwrap_or("")
                .to_string(),
            span,
            raw: None,
            dynamic: false,
        },
        "concatenation" => {
            let mut c = n.walk();
            let parts: Vec<Token> = n.named_children(&mut c).map(|p| word(p, ctx)).collect();
            let text: String = parts.iter().map(|p| p.text.as_str()).collect();
            let verbatim = text == src;
            Token {
                text,
                span,
                raw: if verbatim { ctx.raw(s) } else { None },
                dynamic: parts.iter().any(|p| p.dynamic),
            }
        }
        _ => Token {
            text: src.to_string(),
            span,
            raw: None,
            dynamic: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(c: &RawCommand) -> Vec<&str> {
        c.words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn commands_prefixes_exports_and_quotes() {
        let src = "#!/bin/sh\nset -e\n# gunicorn -w 9 x:y\nexport OTEL_SERVICE_NAME=api A=\"b c\"\nW=4\nexport W\nFOO=1 exec opentelemetry-instrument \\\n  gunicorn -w \"$N\" 'app:app' >log 2>&1 && echo $(date)\nif [ -n \"$X\" ]; then uvicorn main:app --reload; fi\n";
        let s = scan(src, Place::At(0));
        let names: Vec<Vec<&str>> = s.commands.iter().map(words).collect();
        assert_eq!(
            names,
            vec![
                vec!["set", "-e"],
                vec![
                    "exec",
                    "opentelemetry-instrument",
                    "gunicorn",
                    "-w",
                    "$N",
                    "app:app"
                ],
                vec!["echo", "$(date)"],
                vec!["uvicorn", "main:app", "--reload"],
            ]
        );
        let exec = &s.commands[1];
        assert_eq!(exec.assigns[0].name.text, "FOO");
        assert!(exec.words[4].dynamic);
        let app = &exec.words[5];
        assert_eq!(
            &src[app.value_span().unwrap().start..app.value_span().unwrap().end],
            "app:app"
        );
        let ex: Vec<(&str, &str)> = s
            .exports
            .iter()
            .map(|a| {
                (
                    a.name.text.as_str(),
                    a.value.as_ref().unwrap().text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ex,
            vec![("OTEL_SERVICE_NAME", "api"), ("A", "b c"), ("W", "4")]
        );
    }
}
