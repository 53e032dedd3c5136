//! Procfiles: `name: command` lines; each command is a shell command line.

use super::normalize::{push_command, Origin};
use super::shell::{self, Place};
use super::{LaunchFacts, LaunchKind, ScopeKind};

/// Launch facts of a Procfile.
pub fn facts(text: &str) -> LaunchFacts {
    let mut f = LaunchFacts::default();
    let file = f.add_scope(None, ScopeKind::File, "");
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let l = line.trim_end_matches(['\n', '\r']);
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some(colon) = l.find(':') else {
            continue;
        };
        let name = l[..colon].trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            continue;
        }
        let cmd = &l[colon + 1..];
        let scope = f.add_scope(Some(file), ScopeKind::Service, name);
        let origin = Origin {
            kind: LaunchKind::Procfile,
            parent_scope: scope,
            runtime: name != "release",
            workdir: None,
            stage: None,
            exec_form: false,
            stmt: None,
        };
        for c in shell::scan(cmd, Place::At(start + colon + 1)).commands {
            push_command(&mut f, &origin, c);
        }
    }
    f
}

/// Where the comments of a Procfile start (`crate::syntax::comments`): comment lines, and
/// the shell comments of each `name: command` line's command.
pub fn comments(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let l = line.trim_end_matches(['\n', '\r']);
        let t = l.trim_start();
        if t.starts_with('#') {
            out.push(start + l.len() - t.len());
            continue;
        }
        if let Some(colon) = l.find(':') {
            let at = start + colon + 1;
            out.extend(
                crate::syntax::comments::bash(&l[colon + 1..])
                    .into_iter()
                    .map(|c| c + at),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_lines() {
        let src = "# web: gunicorn -w 9 x:y\nweb: opentelemetry-instrument gunicorn -w 4 app:app\nworker: celery -A proj worker\n";
        let f = facts(src);
        assert_eq!(f.launchers.len(), 2);
        let w = &f.launchers[0].argv[2];
        assert_eq!(&src[w.span.start..w.span.end], "4");
        assert!(f.launchers[0].instrumented());
    }

    #[test]
    fn comments_of_lines_and_commands() {
        let src = "# top\nweb: gunicorn '#x' app:app  # c1\n";
        assert_eq!(
            crate::syntax::comments::texts(src, &comments(src)),
            ["# top", "# c1"]
        );
    }
}
