//! OTEL034 (b): the order in which a shell script, a Makefile recipe or a CI job runs
//! `kubectl apply -f` / `kubectl create -f` / `kubectl apply -k` — a workload whose pods ask
//! for injection applied before the Instrumentation they resolve to.
//!
//! Only commands that run one after the other are compared: those of one script (outside
//! functions, `if`/`case`, loops and `||` lists), of one Makefile recipe (outside `ifeq`
//! blocks), of one CI job (its steps in order). Paths are taken from the script's folder
//! (a Makefile's; for a GitHub workflow the repository root above `.github/`, for
//! `.gitlab-ci.yml` its folder); a `cd` before, a step's `working-directory`, a path built
//! from variables or naming nothing in the workspace make the order unknown.

use super::instrumentation_applied_after_workload::{could_select, inject_values, is_workload};
use crate::diagnostic::{Edit, Finding, Fix, Span};
use crate::language::Language;
use crate::launch::kubectl::{self, Apply};
use crate::launch::{LaunchKind, Launcher, ScopeKind};
use crate::rules::Context;
use crate::syntax::yaml::{self, K8sObject};
use crate::workspace::{clean, FileSummary, Workspace};
use std::path::{Path, PathBuf};

/// An object a command applies, with the namespace it lands in.
struct Applied<'w> {
    file: &'w Path,
    object: &'w K8sObject,
    namespace: Option<String>,
}

/// One apply command in sequence; `objects` is `None` when what it applies is unknown.
struct Step<'f, 'w> {
    launcher: &'f Launcher,
    objects: Option<Vec<Applied<'w>>>,
}

/// The folder relative paths of the file's commands are taken from; `None` when unknown.
fn base_dir(path: &Path, lang: Language) -> Option<PathBuf> {
    let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
    match lang {
        Language::Shell | Language::Makefile => Some(parent),
        Language::Yaml => {
            let comps: Vec<_> = path.components().collect();
            let n = comps.len();
            if n >= 3
                && comps[n - 3].as_os_str() == ".github"
                && comps[n - 2].as_os_str() == "workflows"
            {
                return Some(comps[..n - 3].iter().collect());
            }
            let name = path.file_name()?.to_str()?;
            (name.ends_with("gitlab-ci.yml") || name.ends_with("gitlab-ci.yaml")).then_some(parent)
        }
        _ => None,
    }
}

/// The objects of a file that matter here: workloads with a truthy inject annotation and
/// Instrumentations.
fn objects_of<'w>(
    file: &'w Path,
    s: &'w FileSummary,
    ns: impl Fn(&K8sObject) -> Option<String>,
) -> impl Iterator<Item = Applied<'w>> {
    let workloads = s
        .injectors
        .iter()
        .filter(|o| is_workload(o) && inject_values(o).next().is_some());
    workloads
        .chain(s.instrumentations.iter())
        .map(move |o| Applied {
            file,
            object: o,
            namespace: ns(o),
        })
}

fn is_manifest(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// What an apply command applies, from the folder `dir`; `None` when unknown.
fn resolve<'w>(ws: &'w Workspace, dir: &Path, a: &Apply) -> Option<Vec<Applied<'w>>> {
    if a.unknown {
        return None;
    }
    let cmd_ns = a.namespace.clone();
    let mut out = Vec::new();
    for f in &a.files {
        let p = clean(&dir.join(f));
        // `kubectl apply -f` keeps each object's own namespace (a kustomization's is not
        // applied), else the command's.
        let own = |o: &K8sObject| o.namespace.clone().or_else(|| cmd_ns.clone());
        if let Some((file, s)) = ws.file_at(&p) {
            out.extend(objects_of(file, s, own));
            continue;
        }
        let files: Vec<_> = ws
            .files_in(&p, a.recursive)
            .into_iter()
            .filter(|(q, _)| is_manifest(q))
            .collect();
        if files.is_empty() {
            return None;
        }
        for (file, s) in files {
            out.extend(objects_of(file, s, own));
        }
    }
    for k in &a.kustomize {
        let d = clean(&dir.join(k));
        let kfile = crate::syntax::kustomize::FILE_NAMES
            .iter()
            .find_map(|n| ws.file_at(&d.join(n)))?;
        let built = ws.kustomization_builds(kfile.0);
        if built.is_empty() {
            return None;
        }
        for (_, file, s) in built {
            let ns = |o: &K8sObject| {
                ws.object_namespace(file, o)
                    .or_else(|| o.namespace.clone())
                    .or_else(|| cmd_ns.clone())
            };
            out.extend(objects_of(file, s, ns));
        }
    }
    Some(out)
}

/// The ranges (file offsets) of the file's conditional shell constructs, and whether a
/// launcher lies in one, or in a place whose working directory the file does not tell.
struct Structure {
    conditional: Vec<(usize, usize)>,
    unknown: Vec<(usize, usize)>,
}

impl Structure {
    fn of(ctx: &Context, lang: Language, launchers: &[&Launcher]) -> Structure {
        let mut s = Structure {
            conditional: Vec::new(),
            unknown: Vec::new(),
        };
        match lang {
            Language::Shell => {
                for c in ctx.file.chunks() {
                    if let Some(t) = c.tree() {
                        s.conditional.extend(
                            crate::launch::shell::conditional_ranges(t.root_node())
                                .into_iter()
                                .map(|(a, b)| (a + c.start, b + c.start)),
                        );
                    }
                }
            }
            Language::Makefile => {
                for l in launchers {
                    s.make_line(ctx.text, l.span.start);
                }
                s.conditional.extend(make_conditionals(ctx.text));
            }
            Language::Yaml => {
                for l in launchers {
                    s.ci_block(ctx, l.span);
                }
            }
            _ => {}
        }
        s
    }

    fn contains(list: &[(usize, usize)], at: usize) -> bool {
        list.iter().any(|&(a, b)| a <= at && at < b)
    }

    fn is_conditional(&self, l: &Launcher) -> bool {
        Self::contains(&self.conditional, l.span.start)
    }

    fn is_unknown(&self, l: &Launcher) -> bool {
        Self::contains(&self.unknown, l.span.start)
    }

    /// A Makefile recipe line: its own shell (masked like the launcher model does).
    fn make_line(&mut self, text: &str, at: usize) {
        let ls = yaml::line_start(text, at);
        let le = yaml::line_after(text, at);
        let line = &text[ls..le];
        let masked: String = {
            let mut seen = false;
            line.chars()
                .map(|c| {
                    if !seen && matches!(c, '\t' | ' ' | '@' | '-' | '+') {
                        ' '
                    } else {
                        seen = true;
                        c
                    }
                })
                .collect()
        };
        self.conditional.extend(
            crate::launch::shell::conditional_ranges_of(&masked)
                .into_iter()
                .map(|(a, b)| (a + ls, b + ls)),
        );
    }

    /// A CI `run:`/`script:` block: its shell structure, and whether a `working-directory`
    /// moves it.
    fn ci_block(&mut self, ctx: &Context, span: Span) {
        let Some(c) = ctx
            .file
            .chunks()
            .iter()
            .find(|c| c.start <= span.start && span.start < c.start + c.len)
        else {
            return;
        };
        let Some(tree) = c.tree() else {
            self.unknown.push((span.start, span.end));
            return;
        };
        let src = &ctx.text[c.start..c.start + c.len];
        let rel = span.start - c.start;
        let Some(mut n) = tree.root_node().descendant_for_byte_range(rel, rel) else {
            return;
        };
        // Up to the value node that holds the script.
        while !matches!(yaml::kind(n), "block_node" | "flow_node") {
            let Some(p) = n.parent() else {
                return;
            };
            n = p;
        }
        let Some(tok) = crate::launch::yaml::token(n, src) else {
            return;
        };
        let whole = (c.start + n.start_byte(), c.start + n.end_byte());
        let Some(raw) = tok.raw else {
            self.unknown.push(whole);
            return;
        };
        self.conditional.extend(
            crate::launch::shell::conditional_ranges_of(&tok.text)
                .into_iter()
                .map(|(a, b)| (a + c.start + raw, b + c.start + raw)),
        );
        // `working-directory:` of the step, or `defaults.run.working-directory` of the job
        // or the workflow.
        let mut cur = n.parent();
        while let Some(p) = cur {
            if matches!(yaml::kind(p), "block_mapping" | "flow_mapping")
                && (yaml::pair(p, "working-directory", src).is_some()
                    || yaml::get_path(p, &["defaults", "run", "working-directory"], src).is_some())
            {
                self.unknown.push(whole);
                return;
            }
            cur = p.parent();
        }
    }
}

/// The byte ranges of a Makefile's conditional blocks (`ifeq` … `endif`, outermost).
fn make_conditionals(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if !line.starts_with('\t') {
            let w = line.split_whitespace().next().unwrap_or("");
            if matches!(w, "ifeq" | "ifneq" | "ifdef" | "ifndef") {
                if depth == 0 {
                    start = pos;
                }
                depth += 1;
            } else if w == "endif" && depth > 0 {
                depth -= 1;
                if depth == 0 {
                    out.push((start, pos + line.len()));
                }
            }
        }
        pos += line.len();
    }
    if depth > 0 {
        out.push((start, text.len()));
    }
    out
}

/// Whether the launcher changes the directory later commands run in.
fn changes_directory(l: &Launcher) -> bool {
    l.program()
        .is_some_and(|p| matches!(p.as_str(), "cd" | "pushd" | "popd"))
}

/// (b) The findings of a script, Makefile or CI file.
pub fn scripts(ctx: &Context) -> Vec<Finding> {
    let Some(path) = ctx.path else {
        return Vec::new();
    };
    let lang = ctx.file.language();
    let Some(dir) = base_dir(path, lang) else {
        return Vec::new();
    };
    let want = match lang {
        Language::Shell => LaunchKind::Shell,
        Language::Makefile => LaunchKind::Make,
        Language::Yaml => LaunchKind::Ci,
        _ => return Vec::new(),
    };
    let f = ctx.launch();
    let launchers: Vec<&Launcher> = f.own_launchers().filter(|l| l.kind == want).collect();
    if !launchers.iter().any(|l| kubectl::apply(l).is_some()) {
        return Vec::new();
    }
    let ws = ctx.workspace;
    let structure = Structure::of(ctx, lang, &launchers);
    // Commands in sequence share a scope above their own: the file (a script), the rule (a
    // Makefile, whose lines each have a scope of their own), the job (CI).
    let parent = |l: &Launcher| {
        let mut cur = f.scopes.get(l.scope).and_then(|s| s.parent);
        while let Some(i) = cur {
            let s = f.scopes.get(i)?;
            if matches!(s.kind, ScopeKind::Service | ScopeKind::File) {
                return Some(i);
            }
            cur = s.parent;
        }
        None
    };
    let mut groups: Vec<(Option<usize>, Vec<&Launcher>)> = Vec::new();
    for l in &launchers {
        let p = parent(l);
        match groups.iter_mut().find(|(g, _)| *g == p) {
            Some((_, v)) => v.push(l),
            None => groups.push((p, vec![l])),
        }
    }
    let mut out = Vec::new();
    for (_, group) in groups {
        let mut moved = false;
        let mut steps: Vec<Step> = Vec::new();
        for l in group {
            if changes_directory(l) {
                moved = true;
                continue;
            }
            let Some(a) = kubectl::apply(l) else {
                continue;
            };
            let objects = if moved || structure.is_conditional(l) || structure.is_unknown(l) {
                None
            } else {
                resolve(ws, &dir, &a)
            };
            steps.push(Step {
                launcher: l,
                objects,
            });
        }
        out.extend(judge(ctx, ws, &steps));
    }
    out
}

/// The steps that apply an Instrumentation, by object identity.
fn applied_at(steps: &[Step], file: &Path, inst: &K8sObject) -> Option<usize> {
    steps.iter().position(|s| {
        s.objects.as_ref().is_some_and(|objs| {
            objs.iter()
                .any(|a| a.file == file && std::ptr::eq(a.object, inst))
        })
    })
}

fn judge(ctx: &Context, ws: &Workspace, steps: &[Step]) -> Vec<Finding> {
    let mut out = Vec::new();
    // Every Instrumentation of the workspace: (file, object, namespace), the namespace the
    // script applies it in when it does.
    let mut all: Vec<(&Path, &K8sObject, Option<String>)> = Vec::new();
    for (file, o) in ws.instrumentations_at() {
        let applied = steps.iter().find_map(|s| {
            s.objects.as_ref()?.iter().find_map(|a| {
                (a.file == file && std::ptr::eq(a.object, o)).then(|| a.namespace.clone())
            })
        });
        let ns = match applied {
            Some(ns) => ns,
            None => ws.object_namespace(file, o),
        };
        all.push((file, o, ns));
    }
    for (i, step) in steps.iter().enumerate() {
        // An unknown apply before may have applied the Instrumentation first.
        if steps[..i].iter().any(|s| s.objects.is_none()) {
            break;
        }
        let Some(objs) = &step.objects else {
            break;
        };
        'workloads: for w in objs.iter().filter(|a| is_workload(a.object)) {
            for (_, value) in inject_values(w.object) {
                let cands: Vec<&(&Path, &K8sObject, Option<String>)> = all
                    .iter()
                    .filter(|(_, inst, ns)| {
                        could_select(
                            value,
                            w.namespace.as_deref(),
                            inst.name.as_deref(),
                            ns.as_deref(),
                        )
                    })
                    .collect();
                let [&(ifile, inst, _)] = cands[..] else {
                    continue;
                };
                let Some(j) = applied_at(steps, ifile, inst) else {
                    continue;
                };
                if j <= i {
                    continue;
                }
                let later = steps[j].launcher;
                let line = ctx.text[..later.span.start.min(ctx.text.len())]
                    .matches('\n')
                    .count()
                    + 1;
                let name = inst.name.as_deref().unwrap_or("?");
                let wname = w.object.name.as_deref().unwrap_or("?");
                let message = format!(
                    "This applies {} `{wname}` before line {line} applies Instrumentation `{name}`: when its first pods are created the Operator's webhook finds no Instrumentation and admits them uninstrumented (they need a restart). Apply the Instrumentation first.",
                    w.object.kind
                );
                let mut f = Finding::new(step.launcher.span, message);
                if let Some(fix) = reorder(ctx.text, step.launcher.span, later.span) {
                    f = f.with_fix(fix);
                }
                out.push(f);
                break 'workloads;
            }
        }
    }
    out
}

/// The line holding `span`, when the span is all of it but its indentation (and a Makefile
/// recipe's `@`/`-`/`+` prefix): `(line start, indentation end, line end without the line
/// break, end after it)`.
fn own_line(text: &str, span: Span) -> Option<(usize, usize, usize, usize)> {
    let ls = yaml::line_start(text, span.start);
    let after = yaml::line_after(text, span.start);
    let le = text[..after].trim_end_matches(['\n', '\r']).len().max(ls);
    let head = text.get(ls..span.start)?;
    if !head
        .chars()
        .all(|c| matches!(c, ' ' | '\t' | '@' | '-' | '+'))
    {
        return None;
    }
    // Nothing after the command but a comment.
    let tail = text.get(span.end..le)?.trim();
    if span.end > le || !(tail.is_empty() || tail.starts_with('#')) {
        return None;
    }
    let indent = ls + (head.len() - head.trim_start_matches([' ', '\t']).len());
    Some((ls, indent, le, after))
}

/// Moves the Instrumentation's apply line above the workload's, when each command has a line
/// of its own, both are indented alike and at most five lines lie between.
fn reorder(text: &str, workload: Span, inst: Span) -> Option<Fix> {
    let (wl, wi, _, _) = own_line(text, workload)?;
    let (il, ii, ie, iafter) = own_line(text, inst)?;
    if text.get(wl..wi)? != text.get(il..ii)? || il <= wl {
        return None;
    }
    let between = text.get(wl..il)?.matches('\n').count();
    if between > 6 {
        return None;
    }
    let indent = text.get(wl..wi)?;
    // Each line starts a command: the one above (in the same block) neither continues nor
    // chains into it.
    for at in [wl, il] {
        if at > 0 {
            let prev = text[..at - 1].trim_end_matches('\r');
            let prev = &prev[yaml::line_start(prev, prev.len())..];
            let p = prev.trim_end();
            let chained =
                p.ends_with('\\') || p.ends_with("&&") || p.ends_with("||") || p.ends_with('|');
            if chained && prev.starts_with(indent) {
                return None;
            }
        }
    }
    // The lines between stay inside the same block (no key of the enclosing YAML).
    for l in text.get(wl..il)?.lines() {
        if !l.trim().is_empty() && !l.starts_with(indent) {
            return None;
        }
    }
    if iafter == ie {
        // The last line, without a line break: nothing to move it with.
        return None;
    }
    let nl = yaml::newline_of(text);
    let line = &text[il..ie];
    let edits = vec![
        Edit::insert(wl, format!("{line}{nl}")),
        Edit::delete(Span::new(il, iafter)),
    ];
    Some(Fix::unsafe_(
        "Apply the Instrumentation first: move its line above the workload's",
        edits,
    ))
}
