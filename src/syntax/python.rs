//! Per-file facts of a Python module: what it imports, what it calls and binds at module
//! level, in source order. Computed once per chunk (with chunk-relative offsets) and merged,
//! so rules never re-walk the tree to learn them.

use tree_sitter::Node;

/// One name bound by a module-level `import` or `from … import …`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Import {
    /// The module imported from (`fastapi`, `opentelemetry.instrumentation.auto_instrumentation`);
    /// for `import a.b` the full dotted path.
    pub module: String,
    /// The imported member for `from m import name`, `None` for `import m`; `*` for a wildcard.
    pub name: Option<String>,
    /// The local name bound (`as` alias, or the first component for `import a.b`).
    pub bound: String,
    /// Start byte of the import statement.
    pub stmt_start: usize,
    /// End byte of the import statement.
    pub stmt_end: usize,
    /// Under `if TYPE_CHECKING:`: never executed.
    pub type_checking: bool,
    /// Inside a function or class body rather than at module level.
    pub nested: bool,
}

/// A module-level call (not inside a `def`), by its callee's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Call {
    /// The callee as written, white space removed: `initialize`, `fastapi.FastAPI`.
    pub callee: String,
    /// Start byte of the call expression.
    pub start: usize,
    /// The name the result is assigned to (`app = Flask(...)` → `app`).
    pub assigned_to: Option<String>,
    /// Start byte of the module-level statement containing the call.
    pub stmt_start: usize,
    /// Whether the statement sits under an `if`/`try`/`with` at module level.
    pub guarded: bool,
}

/// A module-level function definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionDef {
    /// The function's name.
    pub name: String,
    /// Start byte of the definition (decorators included).
    pub start: usize,
    /// Whether its body calls `Flask(...)`: an app factory.
    pub creates_flask: bool,
}

/// Facts of a module or of one chunk of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PyFacts {
    /// Imports in source order (module level, and nested ones marked `nested`).
    pub imports: Vec<Import>,
    /// Module-level calls in source order.
    pub calls: Vec<Call>,
    /// Module-level function definitions.
    pub functions: Vec<FunctionDef>,
    /// Start bytes of the top-level statements, in order: the module's statement order.
    pub statements: Vec<usize>,
    /// End byte of the module docstring and `from __future__` imports: the earliest place
    /// a statement may be inserted.
    pub header_end: Option<usize>,
}

impl PyFacts {
    /// Appends the facts of the next chunk, which starts at byte `offset`.
    pub fn extend_from(&mut self, other: &PyFacts, offset: usize) {
        self.imports.extend(other.imports.iter().map(|i| Import {
            stmt_start: i.stmt_start + offset,
            stmt_end: i.stmt_end + offset,
            ..i.clone()
        }));
        self.calls.extend(other.calls.iter().map(|c| Call {
            start: c.start + offset,
            stmt_start: c.stmt_start + offset,
            ..c.clone()
        }));
        self.functions
            .extend(other.functions.iter().map(|f| FunctionDef {
                start: f.start + offset,
                ..f.clone()
            }));
        self.statements
            .extend(other.statements.iter().map(|s| s + offset));
        if self.header_end.is_none() && offset == 0 {
            self.header_end = other.header_end;
        }
    }

    /// Whether the module imports any `opentelemetry` module (anywhere in the file).
    pub fn imports_opentelemetry(&self) -> bool {
        self.imports
            .iter()
            .any(|i| i.module == "opentelemetry" || i.module.starts_with("opentelemetry."))
    }

    /// Whether the module imports `module` (or a submodule of it) anywhere.
    pub fn imports_module(&self, module: &str) -> bool {
        self.imports.iter().any(|i| {
            i.module == module
                || (i.module.starts_with(module) && i.module[module.len()..].starts_with('.'))
        })
    }

    /// Local names bound to `module.member` by executed (non-TYPE_CHECKING) imports.
    pub fn names_bound_to<'a>(
        &'a self,
        module: &'a str,
        member: &'a str,
    ) -> impl Iterator<Item = &'a Import> + 'a {
        self.imports.iter().filter(move |i| {
            !i.type_checking && i.module == module && i.name.as_deref() == Some(member)
        })
    }

    /// Local names bound to the module object `module` by `import module [as x]`.
    pub fn module_aliases<'a>(&'a self, module: &'a str) -> impl Iterator<Item = &'a Import> + 'a {
        self.imports
            .iter()
            .filter(move |i| !i.type_checking && i.name.is_none() && i.module == module)
    }
}

/// Computes the facts of one parsed chunk (offsets relative to the chunk's text).
pub fn chunk_facts(root: Node, src: &str, first_chunk: bool) -> PyFacts {
    let mut facts = PyFacts::default();
    let mut cursor = root.walk();
    let mut header_end = if first_chunk { Some(0) } else { None };
    let mut header_open = first_chunk;
    for stmt in root.named_children(&mut cursor) {
        if stmt.kind() == "comment" {
            continue;
        }
        facts.statements.push(stmt.start_byte());
        if header_open {
            if is_docstring(stmt) || stmt.kind() == "future_import_statement" {
                header_end = Some(stmt.end_byte());
            } else {
                header_open = false;
            }
        }
        walk_statement(stmt, src, &mut facts, stmt.start_byte(), false, false);
    }
    facts.header_end = header_end;
    // Imports inside functions still tell us what the module uses (OTel context).
    collect_nested_imports(root, src, &mut facts);
    facts
}

fn is_docstring(stmt: Node) -> bool {
    stmt.kind() == "expression_statement"
        && stmt.named_child_count() == 1
        && stmt.named_child(0).is_some_and(|c| c.kind() == "string")
}

fn text<'s>(node: Node, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Walks one module-level statement, descending into control flow that runs at import time.
fn walk_statement(
    stmt: Node,
    src: &str,
    facts: &mut PyFacts,
    top: usize,
    guarded: bool,
    type_checking: bool,
) {
    match stmt.kind() {
        "import_statement" | "import_from_statement" | "future_import_statement" => {
            imports_of(stmt, src, type_checking, false, &mut facts.imports);
        }
        "expression_statement" => {
            for i in 0..stmt.named_child_count() {
                let Some(expr) = stmt.named_child(i) else {
                    continue;
                };
                record_expression(expr, src, facts, top, guarded, None);
            }
        }
        "function_definition" => facts
            .functions
            .push(function_def(stmt, stmt.start_byte(), src)),
        "decorated_definition" => {
            if let Some(def) = stmt.child_by_field_name("definition") {
                if def.kind() == "function_definition" {
                    facts
                        .functions
                        .push(function_def(def, stmt.start_byte(), src));
                }
            }
        }
        "if_statement" => {
            let cond = stmt
                .child_by_field_name("condition")
                .map(|c| text(c, src))
                .unwrap_or("");
            let tc = type_checking || cond.trim().ends_with("TYPE_CHECKING");
            let mut c = stmt.walk();
            for child in stmt.named_children(&mut c) {
                match child.kind() {
                    "block" => walk_block(child, src, facts, top, tc),
                    // `else:` of `if TYPE_CHECKING:` runs; `elif` conditions are their own.
                    "elif_clause" | "else_clause" => {
                        if let Some(body) = child
                            .child_by_field_name("consequence")
                            .or_else(|| child.child_by_field_name("body"))
                        {
                            walk_block(body, src, facts, top, type_checking);
                        }
                    }
                    _ => {}
                }
            }
        }
        "try_statement" | "with_statement" | "for_statement" | "while_statement" => {
            let mut c = stmt.walk();
            for child in stmt.named_children(&mut c) {
                match child.kind() {
                    "block" => walk_block(child, src, facts, top, type_checking),
                    "except_clause" | "else_clause" | "finally_clause" | "except_group_clause" => {
                        let mut c2 = child.walk();
                        for b in child.named_children(&mut c2) {
                            if b.kind() == "block" {
                                walk_block(b, src, facts, top, type_checking);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let _ = guarded;
}

fn walk_block(block: Node, src: &str, facts: &mut PyFacts, top: usize, type_checking: bool) {
    let mut c = block.walk();
    for s in block.named_children(&mut c) {
        walk_statement(s, src, facts, top, true, type_checking);
    }
}

fn record_expression(
    expr: Node,
    src: &str,
    facts: &mut PyFacts,
    top: usize,
    guarded: bool,
    assigned_to: Option<String>,
) {
    match expr.kind() {
        "call" => {
            if let Some(f) = expr.child_by_field_name("function") {
                facts.calls.push(Call {
                    callee: compact(text(f, src)),
                    start: expr.start_byte(),
                    assigned_to,
                    stmt_start: top,
                    guarded: guarded || top != expr.start_byte(),
                });
            }
        }
        "assignment" => {
            let target = expr
                .child_by_field_name("left")
                .filter(|l| l.kind() == "identifier")
                .map(|l| text(l, src).to_string());
            if let Some(right) = expr.child_by_field_name("right") {
                record_expression(right, src, facts, top, guarded, target);
            }
        }
        "await" => {
            if let Some(inner) = expr.named_child(0) {
                record_expression(inner, src, facts, top, guarded, assigned_to);
            }
        }
        _ => {}
    }
}

fn function_def(def: Node, start: usize, src: &str) -> FunctionDef {
    let name = def
        .child_by_field_name("name")
        .map(|n| text(n, src).to_string())
        .unwrap_or_default();
    let body = def
        .child_by_field_name("body")
        .map(|b| text(b, src))
        .unwrap_or("");
    FunctionDef {
        name,
        start,
        creates_flask: body.contains("Flask("),
    }
}

/// Records the names an import statement binds.
fn imports_of(stmt: Node, src: &str, type_checking: bool, nested: bool, out: &mut Vec<Import>) {
    let start = stmt.start_byte();
    let end = stmt.end_byte();
    let push = |out: &mut Vec<Import>, module: String, name: Option<String>, bound: String| {
        out.push(Import {
            module,
            name,
            bound,
            stmt_start: start,
            stmt_end: end,
            type_checking,
            nested,
        })
    };
    match stmt.kind() {
        "import_statement" => {
            let mut c = stmt.walk();
            for n in stmt.children_by_field_name("name", &mut c) {
                match n.kind() {
                    "dotted_name" => {
                        let m = compact(text(n, src));
                        let first = m.split('.').next().unwrap_or("").to_string();
                        push(out, m, None, first);
                    }
                    "aliased_import" => {
                        let m = n.child_by_field_name("name").map(|x| compact(text(x, src)));
                        let a = n
                            .child_by_field_name("alias")
                            .map(|x| text(x, src).to_string());
                        if let (Some(m), Some(a)) = (m, a) {
                            push(out, m, None, a);
                        }
                    }
                    _ => {}
                }
            }
        }
        "import_from_statement" => {
            let Some(module) = stmt.child_by_field_name("module_name") else {
                return;
            };
            let module = compact(text(module, src));
            let mut c = stmt.walk();
            let mut any = false;
            for n in stmt.children_by_field_name("name", &mut c) {
                any = true;
                match n.kind() {
                    "dotted_name" => {
                        let m = compact(text(n, src));
                        push(out, module.clone(), Some(m.clone()), m);
                    }
                    "aliased_import" => {
                        let m = n.child_by_field_name("name").map(|x| compact(text(x, src)));
                        let a = n
                            .child_by_field_name("alias")
                            .map(|x| text(x, src).to_string());
                        if let (Some(m), Some(a)) = (m, a) {
                            push(out, module.clone(), Some(m), a);
                        }
                    }
                    _ => {}
                }
            }
            if !any {
                let mut c = stmt.walk();
                if stmt
                    .named_children(&mut c)
                    .any(|n| n.kind() == "wildcard_import")
                {
                    push(out, module, Some("*".into()), "*".into());
                }
            }
        }
        _ => {}
    }
}

/// Imports inside function and class bodies, marked `nested`.
fn collect_nested_imports(root: Node, src: &str, facts: &mut PyFacts) {
    let mut stack = vec![(root, false)];
    while let Some((node, inside_def)) = stack.pop() {
        let kind = node.kind();
        if inside_def && matches!(kind, "import_statement" | "import_from_statement") {
            imports_of(node, src, false, true, &mut facts.imports);
            continue;
        }
        // Only statements hold imports; skip expressions entirely for speed.
        let def = inside_def || matches!(kind, "function_definition" | "class_definition");
        let mut c = node.walk();
        for child in node.named_children(&mut c) {
            let k = child.kind();
            if k.ends_with("statement")
                || k.ends_with("definition")
                || k.ends_with("clause")
                || k == "block"
                || k == "module"
            {
                stack.push((child, def));
            }
        }
    }
    facts.imports.sort_by_key(|i| (i.stmt_start, i.nested));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> PyFacts {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        let tree = p.parse(src, None).unwrap();
        chunk_facts(tree.root_node(), src, true)
    }

    #[test]
    fn imports_and_calls() {
        let src = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport os, a.b as ab\nfrom fastapi import FastAPI as F, APIRouter\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from flask import Flask\nelse:\n    import json\napp = F()\ninitialize()\ndef make():\n    from opentelemetry import trace\n    return Flask(__name__)\n";
        let f = facts(src);
        let bound: Vec<&str> = f.imports.iter().map(|i| i.bound.as_str()).collect();
        assert_eq!(
            bound,
            [
                "os",
                "ab",
                "F",
                "APIRouter",
                "TYPE_CHECKING",
                "Flask",
                "json",
                "trace"
            ]
        );
        assert!(f.imports[5].type_checking);
        assert!(!f.imports[6].type_checking);
        assert!(f.imports[7].nested);
        assert!(f.imports_opentelemetry());
        let calls: Vec<(&str, Option<&str>)> = f
            .calls
            .iter()
            .map(|c| (c.callee.as_str(), c.assigned_to.as_deref()))
            .collect();
        assert_eq!(calls, [("F", Some("app")), ("initialize", None)]);
        assert_eq!(f.functions[0].name, "make");
        assert!(f.functions[0].creates_flask);
        assert_eq!(
            f.header_end,
            Some(src.find("annotations").unwrap() + "annotations".len())
        );
    }
}
