//! Incremental checking for the editor: a chunk an edit did not touch keeps the findings it
//! had, so a keystroke re-runs the rules on the re-parsed chunk only.
//!
//! A rule's findings on a chunk depend on the chunk's text and on what the rule may consult
//! beyond it: the file's facts, the workspace and the path (the contract of `Match`: rules
//! see other chunks only through facts). So results are kept per (chunk id, rule) and all
//! dropped when that context changes. The file facts enter the context *without their byte
//! offsets*: typing inside a function shifts every later offset but changes no fact, and
//! a rule that compares offsets sees the same order either way. Findings are stored relative
//! to their chunk; one whose span or fix edits reach outside its chunk is not stored (it is
//! recomputed each time), since an edit elsewhere could move what it points at.
//!
//! Whole-file `scan` rules and gates run on every check: they are meant to be cheap.

use super::file::{Chunk, ChunkFacts};
use super::{check_with, SourceFile};
use crate::config::Settings;
use crate::diagnostic::{Diagnostic, Finding, Span};
use crate::syntax::python::{Call, FunctionDef, Import, PyFacts};
use crate::workspace::Workspace;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;

/// Findings per (chunk id, rule index), relative to the chunk's start.
#[derive(Default)]
pub struct ChunkResults {
    /// Results of the previous check, consumed as they are reused.
    prev: HashMap<(u64, usize), Vec<Finding>>,
    /// Results of this check: what the next check may reuse.
    next: HashMap<(u64, usize), Vec<Finding>>,
    /// Chunk-rule pairs answered from `prev` in the last check (for tests and logs).
    reused: usize,
}

impl ChunkResults {
    /// The stored findings of `chunk` for rule `idx`, moved to the chunk's current offset.
    pub(crate) fn get(&mut self, chunk: &Chunk, idx: usize) -> Option<Vec<Finding>> {
        let key = (chunk.id, idx);
        let rel = self.prev.remove(&key)?;
        let abs = rel.iter().map(|f| shifted(f, chunk.start)).collect();
        self.next.insert(key, rel);
        self.reused += 1;
        Some(abs)
    }

    /// Stores the findings of `chunk` for rule `idx`, if they stay inside the chunk.
    pub(crate) fn put(&mut self, chunk: &Chunk, idx: usize, found: &[Finding]) {
        let inside = |s: Span| chunk.start <= s.start && s.end <= chunk.start + chunk.len;
        let local = found.iter().all(|f| {
            inside(f.span)
                && f.fixes
                    .iter()
                    .all(|x| x.edits.iter().all(|e| inside(e.span)))
        });
        if local {
            let rel = found.iter().map(|f| unshifted(f, chunk.start)).collect();
            self.next.insert((chunk.id, idx), rel);
        }
    }

    fn finish(&mut self) {
        self.prev = std::mem::take(&mut self.next);
    }
}

fn shifted(f: &Finding, by: usize) -> Finding {
    let mut f = f.clone();
    f.span = f.span.shift(by);
    f.fixes = f.fixes.into_iter().map(|x| x.shifted(by)).collect();
    f
}

fn unshifted(f: &Finding, by: usize) -> Finding {
    let mut f = f.clone();
    let back = |s: Span| Span::new(s.start - by, s.end - by);
    f.span = back(f.span);
    for x in &mut f.fixes {
        for e in &mut x.edits {
            e.span = back(e.span);
        }
    }
    f
}

/// Checks one document again and again as it is edited, reusing per-chunk results.
/// Gives exactly what `engine::check` gives for the same file, settings and workspace.
#[derive(Default)]
pub struct Checker {
    context: Option<u64>,
    results: ChunkResults,
}

impl Checker {
    /// A checker with nothing cached.
    pub fn new() -> Self {
        Self::default()
    }

    /// `engine::check`, incrementally.
    pub fn check(
        &mut self,
        file: &SourceFile,
        path: Option<&Path>,
        settings: &Settings,
        workspace: &Workspace,
    ) -> Vec<Diagnostic> {
        let context = context_key(file, path, workspace);
        if self.context != Some(context) {
            self.results = ChunkResults::default();
            self.context = Some(context);
        }
        self.results.reused = 0;
        let out = check_with(file, path, settings, workspace, Some(&mut self.results));
        self.results.finish();
        out
    }

    /// How many chunk-rule results the last check reused.
    pub fn reused(&self) -> usize {
        self.results.reused
    }
}

/// Everything besides a chunk's own text that a rule may look at, offsets left out.
fn context_key(file: &SourceFile, path: Option<&Path>, workspace: &Workspace) -> u64 {
    let mut h = DefaultHasher::new();
    file.language().hash(&mut h);
    path.hash(&mut h);
    (workspace as *const Workspace as usize).hash(&mut h);
    workspace.generation.hash(&mut h);
    for c in file.chunks() {
        match &c.facts {
            ChunkFacts::Python(p) => hash_py_facts(p, &mut h),
            ChunkFacts::Yaml(o) => o.hash(&mut h),
        }
    }
    h.finish()
}

/// The facts without their offsets. The destructuring is exhaustive on purpose: a new
/// field fails to compile here until someone decides whether it belongs to the context.
fn hash_py_facts(p: &PyFacts, h: &mut impl Hasher) {
    let PyFacts {
        imports,
        calls,
        functions,
        statements,
        header_end,
    } = p;
    for i in imports {
        let Import {
            module,
            name,
            bound,
            stmt_start: _,
            stmt_end: _,
            type_checking,
            nested,
        } = i;
        (1u8, module, name, bound, type_checking, nested).hash(h);
    }
    for c in calls {
        let Call {
            callee,
            start: _,
            assigned_to,
            stmt_start: _,
            guarded,
        } = c;
        (2u8, callee, assigned_to, guarded).hash(h);
    }
    for f in functions {
        let FunctionDef {
            name,
            start: _,
            creates_flask,
        } = f;
        (3u8, name, creates_flask).hash(h);
    }
    (4u8, statements.len(), header_end.is_some()).hash(h);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::check;
    use crate::language::Language;

    fn app(n: usize) -> String {
        let mut s = String::from(
            "from flask import Flask\nfrom opentelemetry import trace\napp = Flask(__name__)\n",
        );
        for i in 0..n {
            s.push_str(&format!(
                "def f{i}(debug):\n    x = {i}\n    return app.run(debug=True)\n\n"
            ));
        }
        s
    }

    #[test]
    fn same_as_a_full_check_through_edits() {
        let settings = Settings::default();
        let ws = Workspace::new();
        let mut file = SourceFile::new(Language::Python, app(400));
        let mut checker = Checker::new();
        let first = checker.check(&file, None, &settings, &ws);
        assert_eq!(first.len(), 400);
        assert_eq!(first, check(&file, None, &settings, &ws));
        // Typing inside a function body: only its chunk is re-checked.
        let at = file.text().find("x = 200").unwrap() + 4;
        for (start, end, text) in [
            (at, at, "1"),
            (at, at + 1, ""),
            (at, at, "é"),
            (at, at + 2, ""),
        ] {
            file.edit(start, end, text);
            let got = checker.check(&file, None, &settings, &ws);
            assert_eq!(got, check(&file, None, &settings, &ws));
            assert!(checker.reused() > 0, "nothing reused");
        }
        // Fixing one finding inside a function body.
        let at = file.text().find("debug=True").unwrap() + "debug=True".len();
        file.edit(at, at, ", use_reloader=False");
        let got = checker.check(&file, None, &settings, &ws);
        assert_eq!(got.len(), 399);
        assert_eq!(got, check(&file, None, &settings, &ws));
        // Removing the OpenTelemetry import changes the facts: everything goes.
        let imp = file.text().find("from opentelemetry").unwrap();
        file.edit(imp, imp + 4, "#rom");
        let got = checker.check(&file, None, &settings, &ws);
        assert_eq!(got, Vec::new());
        assert_eq!(got, check(&file, None, &settings, &ws));
        file.edit(imp, imp + 4, "from");
        let got = checker.check(&file, None, &settings, &ws);
        assert_eq!(got.len(), 399);
    }
}
