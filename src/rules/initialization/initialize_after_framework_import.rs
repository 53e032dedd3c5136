//! OTEL002 `initialize-after-framework-import`: programmatic auto-instrumentation
//! (`initialize()`) that runs after the module already bound `FastAPI`, `Flask` or
//! `Starlette`. The instrumentors replace the framework's class attribute
//! (`fastapi.FastAPI = _InstrumentedFastAPI`) at initialize time; a name bound earlier keeps
//! the original class, so the app it builds is never traced.
//!
//! The query only finds the statements that import auto-instrumentation; which call runs
//! first and what was bound before it are whole-module questions, answered from the merged
//! module facts ([`PyFacts`]), never from the one chunk the query ran on.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::engine::suppress::line_start;
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::{Call, Import, PyFacts};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL002",
    name: "initialize-after-framework-import",
    topic: Topic::Initialization,
    language: Language::Python,
    also: &[],
    severity: Severity::Error,
    summary: "`initialize()` runs after `FastAPI`/`Flask`/`Starlette` was imported, so the app is not traced",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#use-programmatic-auto-instrumentation",
    fix: FixKind::Sometimes,
    query: Some(Query {
        text: include_str!("initialize_after_framework_import.scm"),
        check,
    }),
    // Every form of programmatic auto-instrumentation imports this module by name.
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["auto_instrumentation"],
            facts: Facts::All,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// The module whose `initialize()` runs programmatic auto-instrumentation.
const AUTO: &str = "opentelemetry.instrumentation.auto_instrumentation";
/// Importing it calls `initialize()`.
const SITECUSTOMIZE: &str = "opentelemetry.instrumentation.auto_instrumentation.sitecustomize";

/// A framework whose instrumentor swaps a class attribute at initialize time.
struct Framework {
    /// The class name, as the message names it.
    class: &'static str,
    /// The module whose attribute the instrumentor replaces.
    module: &'static str,
    /// Other modules the class is imported from, whose attribute the instrumentor does *not*
    /// replace: moving `initialize()` alone cannot fix those (the fix is then unsafe).
    unpatched: &'static [&'static str],
}

const FRAMEWORKS: &[Framework] = &[
    Framework {
        class: "FastAPI",
        module: "fastapi",
        unpatched: &["fastapi.applications"],
    },
    Framework {
        class: "Flask",
        module: "flask",
        unpatched: &[],
    },
    Framework {
        class: "Starlette",
        module: "starlette.applications",
        unpatched: &[],
    },
];

/// A place where programmatic auto-instrumentation runs at import time.
pub(crate) struct Activation<'a> {
    /// Byte where it runs (the call, or the `sitecustomize` import).
    pub(crate) pos: usize,
    /// What is reported: the call expression or the import statement.
    pub(crate) anchor: Span,
    /// The import that makes it possible (for a call: the import binding its callee).
    pub(crate) source: &'a Import,
    /// The call, unless the activation is the `sitecustomize` import itself.
    pub(crate) call: Option<&'a Call>,
}

impl Activation<'_> {
    /// Start byte of the top-level statement it runs in.
    fn top_start(&self) -> usize {
        self.call.map_or(self.source.top_start, |c| c.stmt_start)
    }
}

/// A statement that binds a framework class before auto-instrumentation patched it.
struct Binding {
    /// Byte where the binding happens.
    pos: usize,
    /// Start byte of its top-level statement: where the fix inserts.
    top_start: usize,
    /// The framework.
    framework: &'static Framework,
    /// A call binding (`app = fastapi.FastAPI()`) rather than an import.
    is_call: bool,
    /// Bound from a module the instrumentor does not patch.
    unpatched: bool,
}

fn check(m: &Match) -> Option<Finding> {
    let import = m.get("import")?;
    let py = m.ctx.python()?;
    let activation = first_activation(py)?;
    // Many imports may match; only the one behind the first activation reports.
    if activation.source.stmt_start != m.span(import).start {
        return None;
    }
    let binding = first_binding(py, activation.pos)?;
    let class = binding.framework.class;
    let message = format!(
        "`initialize()` runs after `{class}` was imported; the {class} instrumentation patches the class at initialize time, so this app will not be traced. Call `initialize()` before importing {class}."
    );
    let finding = Finding::new(activation.anchor, message);
    Some(match move_fix(m.ctx.text, py, &activation, &binding) {
        Some(fix) => finding.with_fix(fix),
        None => finding,
    })
}

/// The first place, in execution order, where programmatic auto-instrumentation runs at
/// module level: a call of `initialize` bound from the auto-instrumentation module, or an
/// import of its `sitecustomize`. Calls in function bodies (a gunicorn `post_fork` hook) run
/// later, in the worker, and are not activations.
pub(crate) fn first_activation(py: &PyFacts) -> Option<Activation<'_>> {
    let sitecustomize = py
        .imports
        .iter()
        .filter(|i| i.is_executed())
        .filter(|i| {
            i.module == SITECUSTOMIZE
                || (i.module == AUTO && i.name.as_deref() == Some("sitecustomize"))
        })
        .map(|i| Activation {
            pos: i.stmt_start,
            anchor: Span::new(i.stmt_start, i.stmt_end),
            source: i,
            call: None,
        });
    let refs = py.class_refs(AUTO, "initialize");
    let calls = py
        .calls
        .iter()
        .filter(|c| !c.type_checking)
        .filter_map(|c| {
            // The latest import before the call that binds its callee.
            let source = refs
                .iter()
                .filter(|(r, i)| *r == c.callee && i.stmt_end <= c.start)
                .map(|(_, i)| *i)
                .max_by_key(|i| i.stmt_start)?;
            Some(Activation {
                pos: c.start,
                anchor: Span::new(c.start, c.end),
                source,
                call: Some(c),
            })
        });
    sitecustomize.chain(calls).min_by_key(|a| a.pos)
}

/// The first statement, before byte `before`, that binds a framework class at module level.
fn first_binding(py: &PyFacts, before: usize) -> Option<Binding> {
    let mut found: Vec<Binding> = Vec::new();
    for fw in FRAMEWORKS {
        // `from fastapi import FastAPI [as F]`, `from fastapi import *`, and the unpatched
        // submodule forms.
        for i in py
            .imports
            .iter()
            .filter(|i| i.is_executed() && i.stmt_start < before)
        {
            let unpatched = fw.unpatched.contains(&i.module.as_str());
            let names_class = matches!(i.name.as_deref(), Some(n) if n == fw.class || n == "*");
            if names_class && (i.module == fw.module || unpatched) {
                found.push(Binding {
                    pos: i.stmt_start,
                    top_start: i.top_start,
                    framework: fw,
                    is_call: false,
                    unpatched,
                });
            }
        }
        // `import fastapi` … `app = fastapi.FastAPI()`: the call reads the attribute.
        let ctors: Vec<(String, &Import)> = py
            .module_refs(fw.module)
            .map(|(r, i)| (format!("{r}.{}", fw.class), i))
            .collect();
        for c in py
            .calls
            .iter()
            .filter(|c| !c.type_checking && c.start < before)
        {
            if ctors
                .iter()
                .any(|(r, i)| *r == c.callee && i.stmt_end <= c.start)
            {
                found.push(Binding {
                    pos: c.start,
                    top_start: c.stmt_start,
                    framework: fw,
                    is_call: true,
                    unpatched: false,
                });
            }
        }
    }
    found.into_iter().min_by_key(|b| b.pos)
}

/// The quick fix: move the `initialize` import and the `initialize()` call (in that order)
/// to just before the first statement binding the framework class. `None` when the pieces
/// are not whole top-level lines that can be moved verbatim.
fn move_fix(text: &str, py: &PyFacts, act: &Activation, bind: &Binding) -> Option<Fix> {
    let at = bind.top_start;
    if at > text.len() || line_start(text, at) != at || py.header_end.is_some_and(|h| at < h) {
        return None;
    }
    let mut pieces: Vec<Span> = Vec::new();
    let source = act.source;
    // An import already above the insertion point stays: it precedes the call either way,
    // and moving it down could unbind names used in between.
    if source.stmt_start > at {
        let plain = source.top_start == source.stmt_start && source.top_end == source.stmt_end;
        // Move only a statement that imports auto-instrumentation and nothing else.
        let only_auto = py
            .imports
            .iter()
            .filter(|i| i.stmt_start == source.stmt_start)
            .all(|i| {
                i.module == AUTO
                    || i.module.starts_with(&format!("{AUTO}."))
                    || (i.module == "opentelemetry.instrumentation"
                        && i.name.as_deref() == Some("auto_instrumentation"))
            });
        if !plain || !only_auto {
            return None;
        }
        pieces.push(whole_lines(text, source.stmt_start, source.stmt_end)?);
    }
    if let Some(call) = act.call {
        // `if …: initialize()`, `x = initialize()`, `initialize(); y()` are not moved.
        if !call.is_whole_statement() {
            return None;
        }
        let lines = whole_lines(text, call.stmt_start, call.stmt_end)?;
        // Strict overlap: adjacent lines (`import` right above the call) are fine.
        if pieces
            .iter()
            .any(|p| p.start < lines.end && lines.start < p.end)
        {
            return None;
        }
        pieces.push(lines);
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut moved = String::new();
    for p in &pieces {
        moved.push_str(&text[p.start..p.end]);
        if !moved.ends_with('\n') {
            moved.push_str(newline);
        }
    }
    let mut edits: Vec<Edit> = deletions(text, &pieces)
        .into_iter()
        .map(Edit::delete)
        .collect();
    edits.push(Edit::insert(at, moved));
    let title = format!(
        "Move `initialize()` before the `{}` import",
        bind.framework.class
    );
    if is_safe_move(py, act, bind, &pieces) {
        Some(Fix::safe(title, edits))
    } else {
        Some(Fix::unsafe_(title, edits))
    }
}

/// Whether moving `initialize()` up to the binding statement cannot change what it sees.
///
/// `initialize()` reads the environment (`OTEL_*`), logging and `sys.path` as they are when
/// it runs. Moving it earlier is safe only when nothing it jumps over runs code of the
/// project: every statement in between must be an import of the standard library or of a
/// well-known third-party package (imports of the project itself may load `.env` files or
/// set variables). The call must pass only literals, and the class must come from the
/// module the instrumentor patches.
fn is_safe_move(py: &PyFacts, act: &Activation, bind: &Binding, pieces: &[Span]) -> bool {
    if bind.unpatched || act.call.is_some_and(|c| !c.literal_args) {
        return false;
    }
    let end = act.top_start();
    py.statements
        .iter()
        .filter(|&&s| s >= bind.top_start && s < end)
        .filter(|&&s| !pieces.iter().any(|p| p.start <= s && s < p.end))
        // The binding call itself (`app = fastapi.FastAPI()`) is meant to run after it.
        .filter(|&&s| !(bind.is_call && s == bind.top_start))
        .all(|&s| {
            let mut imports = py.imports.iter().filter(|i| i.stmt_start == s).peekable();
            imports.peek().is_some()
                && imports.all(|i| i.is_executed() && i.top_start == s && is_known_module(i))
        })
}

/// Whether an import loads only standard-library or well-known third-party code.
fn is_known_module(i: &Import) -> bool {
    if i.is_relative() {
        return false;
    }
    let root = i.module.split('.').next().unwrap_or("");
    STDLIB.binary_search(&root).is_ok() || THIRD_PARTY.contains(&root)
}

/// The spans to delete for the moved pieces: contiguous pieces merged, and a run that sat
/// between two blank lines also takes the blank line after it, so that no double blank line
/// is left behind.
fn deletions(text: &str, pieces: &[Span]) -> Vec<Span> {
    let mut sorted = pieces.to_vec();
    sorted.sort();
    let mut runs: Vec<Span> = Vec::new();
    for p in sorted {
        match runs.last_mut() {
            Some(last) if last.end == p.start => last.end = p.end,
            _ => runs.push(p),
        }
    }
    let is_blank = |line: &str| line.trim().is_empty();
    for run in &mut runs {
        let before_blank =
            run.start > 0 && is_blank(&text[line_start(text, run.start - 1)..run.start]);
        let next_end = text[run.end..].find('\n').map(|n| run.end + n + 1);
        if let Some(next_end) = next_end {
            if before_blank && is_blank(&text[run.end..next_end]) {
                run.end = next_end;
            }
        }
    }
    runs
}

/// The byte range of the whole lines holding `start..end`, newline included, when the
/// statement is alone on them (a trailing comment is fine).
pub(crate) fn whole_lines(text: &str, start: usize, end: usize) -> Option<Span> {
    let ls = line_start(text, start);
    if !text.get(ls..start)?.trim().is_empty() {
        return None;
    }
    let rest = text.get(end..)?;
    let nl = rest.find('\n').map_or(text.len(), |n| end + n + 1);
    let tail = text[end..nl].trim();
    if !(tail.is_empty() || tail.starts_with('#')) {
        return None;
    }
    Some(Span::new(ls, nl))
}

/// Well-known third-party packages whose import has no effect on OpenTelemetry's
/// configuration.
const THIRD_PARTY: &[&str] = &[
    "aiohttp",
    "attr",
    "attrs",
    "celery",
    "click",
    "dotenv",
    "fastapi",
    "flask",
    "gunicorn",
    "httpx",
    "jinja2",
    "marshmallow",
    "opentelemetry",
    "pydantic",
    "pydantic_settings",
    "redis",
    "requests",
    "sqlalchemy",
    "starlette",
    "typing_extensions",
    "urllib3",
    "uvicorn",
    "werkzeug",
];

/// Top-level modules of the Python standard library (CPython 3.11 `sys.stdlib_module_names`,
/// public names), sorted for binary search.
const STDLIB: &[&str] = &[
    "abc",
    "aifc",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "distutils",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "msilib",
    "msvcrt",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "nt",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "threading",
    "time",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "winreg",
    "winsound",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

const DOCS: &str = r#"## What it does
Flags programmatic auto-instrumentation that runs after the module already bound a framework
class: `initialize()` imported from `opentelemetry.instrumentation.auto_instrumentation`
(under any alias), `auto_instrumentation.initialize()`, or an import of
`opentelemetry.instrumentation.auto_instrumentation.sitecustomize`, executed after
`from fastapi import FastAPI` (or `*`, or `from fastapi.applications import FastAPI`), after
`import fastapi` plus a `fastapi.FastAPI(...)` call, or the same for `Flask`
(`from flask import Flask`) and `Starlette` (`from starlette.applications import Starlette`).

Imports under `if TYPE_CHECKING:` never run and do not count; `initialize()` inside a
function (a gunicorn `post_fork` hook) runs later, in the worker, and is not judged. Only the
first `initialize()` of the module matters: once it ran, later ones change nothing.

## Why is this bad?
The instrumentors patch the framework when `initialize()` runs, by replacing the class
attribute: `fastapi.FastAPI = _InstrumentedFastAPI`, `flask.Flask = _InstrumentedFlask`,
`starlette.applications.Starlette = _InstrumentedStarlette`. A name bound before that still
points to the original class, so the application built from it serves requests without
server spans or metrics — and nothing says so.

## Example
```python
from fastapi import FastAPI
from opentelemetry.instrumentation.auto_instrumentation import initialize

initialize()

app = FastAPI()
```

## Use instead
```python
from opentelemetry.instrumentation.auto_instrumentation import initialize
initialize()

from fastapi import FastAPI

app = FastAPI()
```

## Fix safety
The fix deletes the `initialize` import line and the `initialize()` call line and inserts
both, in that order, immediately before the first statement that binds the framework class
(which always comes after the module docstring and `from __future__` imports). An
`initialize` import already above that statement is left where it is.

Moving `initialize()` earlier changes what it sees: it reads the `OTEL_*` environment,
logging and `sys.path` as they are when it runs. The fix is therefore **safe** only when every
statement it jumps over is an import of the standard library or of a well-known third-party
package (FastAPI, Flask, Starlette, pydantic, SQLAlchemy, requests, …) and `initialize()` is
called with literal arguments only. It is **unsafe** (offered, never applied by `--fix`) when
it jumps over other code — `load_dotenv()`, `os.environ[...] = ...`, `logging.basicConfig()`,
`sys.path.insert(...)`, or an import of the project's own modules, which may do the same — and
when the class is imported from `fastapi.applications`: the instrumentor replaces only
`fastapi.FastAPI`, so after the move import `FastAPI` from `fastapi` as well.

There is no fix when the call is not a statement of its own at module level
(`if os.getenv("OTEL_ENABLED"): initialize()`, `x = initialize()`, `initialize(); f()`) or
when the import binds other names too: move those by hand.

## Source
- OpenTelemetry docs, Python zero-code troubleshooting: "Use programmatic auto-instrumentation"
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#use-programmatic-auto-instrumentation>
- opentelemetry-python-contrib issue #3551; `opentelemetry-instrumentation/README.rst`
  ("some instrumentations may require `initialize()` to be called before the library they
  instrument is imported")
- The FastAPI, Flask and Starlette instrumentors' `_instrument()`, which replace the class
  attribute
"#;

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::diagnostic::{Applicability, Diagnostic};
    use crate::engine::{check_text, fix};
    use crate::language::Language;

    const IMPORT: &str =
        "from opentelemetry.instrumentation.auto_instrumentation import initialize\n";

    fn findings(src: &str) -> Vec<Diagnostic> {
        check_text(Language::Python, src, &Settings::default())
            .into_iter()
            .filter(|d| d.code == "OTEL002")
            .collect()
    }

    /// The one finding of `src`; panics unless there is exactly one.
    fn one(src: &str) -> Diagnostic {
        let mut f = findings(src);
        assert_eq!(f.len(), 1, "{src}\n{f:#?}");
        f.remove(0)
    }

    fn fix_kind(src: &str) -> Option<Applicability> {
        one(src).fixes.first().map(|x| x.applicability)
    }

    /// The text after applying the finding's first fix.
    fn fixed(src: &str) -> String {
        let d = one(src);
        let (out, n) = fix::apply(src, &[&d.fixes[0]]);
        assert_eq!(n, 1);
        out
    }

    #[test]
    fn safe_only_over_known_imports_and_literal_arguments() {
        let safe = format!(
            "import os\nfrom fastapi import FastAPI\nimport pydantic\n{IMPORT}initialize()\n"
        );
        assert_eq!(fix_kind(&safe), Some(Applicability::Safe));
        let literal =
            format!("from fastapi import FastAPI\n{IMPORT}initialize(swallow_exceptions=False)\n");
        assert_eq!(fix_kind(&literal), Some(Applicability::Safe));
        for between in [
            "load_dotenv()\n",
            "os.environ['OTEL_SERVICE_NAME'] = 'api'\n",
            "import myproject.settings\n",
            "from .config import settings\n",
            "try:\n    import orjson\nexcept ImportError:\n    orjson = None\n",
        ] {
            let src =
                format!("import os\nfrom fastapi import FastAPI\n{between}{IMPORT}initialize()\n");
            assert_eq!(fix_kind(&src), Some(Applicability::Unsafe), "{src}");
        }
        let kwargs = format!("from fastapi import FastAPI\n{IMPORT}initialize(**OPTIONS)\n");
        assert_eq!(fix_kind(&kwargs), Some(Applicability::Unsafe));
        let submodule = format!("from fastapi.applications import FastAPI\n{IMPORT}initialize()\n");
        assert_eq!(fix_kind(&submodule), Some(Applicability::Unsafe));
    }

    #[test]
    fn no_fix_when_the_pieces_are_not_whole_statements() {
        for call in [
            "if True:\n    initialize()\n",
            "_ = initialize()\n",
            "initialize(); print('ready')\n",
        ] {
            let src = format!("from fastapi import FastAPI\n{IMPORT}{call}");
            assert_eq!(fix_kind(&src), None, "{src}");
        }
        // The import binds more than auto-instrumentation: moving it is not ours to do.
        let src = "from fastapi import FastAPI\nimport os, opentelemetry.instrumentation.auto_instrumentation as ai\nai.initialize()\n";
        assert_eq!(fix_kind(src), None);
    }

    #[test]
    fn an_import_above_the_insertion_point_stays() {
        let src = format!("{IMPORT}import os\nos.environ.setdefault('A', 'b')\nfrom flask import Flask\ninitialize()\n");
        assert_eq!(
            fixed(&src),
            format!("{IMPORT}import os\nos.environ.setdefault('A', 'b')\ninitialize()\nfrom flask import Flask\n")
        );
    }

    #[test]
    fn keeps_crlf_and_handles_a_missing_final_newline() {
        let src = "from fastapi import FastAPI\r\nfrom opentelemetry.instrumentation.auto_instrumentation import initialize\r\ninitialize()";
        assert_eq!(
            fixed(src),
            "from opentelemetry.instrumentation.auto_instrumentation import initialize\r\ninitialize()\r\nfrom fastapi import FastAPI\r\n"
        );
    }

    #[test]
    fn message_names_the_framework_bound_first() {
        let flask =
            format!("from flask import Flask\nfrom fastapi import FastAPI\n{IMPORT}initialize()\n");
        assert!(one(&flask).message.contains("after `Flask` was imported"));
        let starlette =
            format!("from starlette.applications import Starlette as S\n{IMPORT}initialize()\n");
        assert!(one(&starlette)
            .message
            .contains("before importing Starlette"));
    }

    #[test]
    fn only_the_first_activation_counts() {
        // Two late calls: one finding, on the first.
        let src = format!("from fastapi import FastAPI\n{IMPORT}initialize()\ninitialize()\n");
        let d = one(&src);
        assert_eq!(&src[d.span.start..d.span.end], "initialize()");
        assert_eq!(d.span.start, src.find("initialize()").unwrap());
        // The sitecustomize import ran first: the late call changes nothing.
        let early = format!("from opentelemetry.instrumentation.auto_instrumentation import sitecustomize\nfrom fastapi import FastAPI\n{IMPORT}initialize()\n");
        assert!(findings(&early).is_empty());
        let late = "from fastapi import FastAPI\nfrom opentelemetry.instrumentation.auto_instrumentation import sitecustomize\n";
        assert_eq!(fix_kind(late), Some(Applicability::Safe));
    }

    #[test]
    fn type_checking_branches() {
        let else_runs = format!("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    pass\nelse:\n    from fastapi import FastAPI\n{IMPORT}initialize()\n");
        assert_eq!(findings(&else_runs).len(), 1);
        let never = format!("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fastapi import FastAPI\n{IMPORT}initialize()\n");
        assert!(findings(&never).is_empty());
        // A call that never runs is no activation.
        let dead_call = format!("{IMPORT}import typing\nif typing.TYPE_CHECKING:\n    initialize()\nfrom fastapi import FastAPI\n");
        assert!(findings(&dead_call).is_empty());
    }

    #[test]
    fn call_bindings_need_the_module_import_first() {
        // `fastapi.FastAPI()` before `initialize()` binds the original class.
        let src = format!("import fastapi\napp = fastapi.FastAPI()\n{IMPORT}initialize()\n");
        assert_eq!(fix_kind(&src), Some(Applicability::Safe));
        let aliased = format!("import fastapi as fa\napp = fa.FastAPI()\n{IMPORT}initialize()\n");
        assert_eq!(findings(&aliased).len(), 1);
        // A project module that happens to be called `fastapi`-like does not count.
        let other = format!("import myfastapi\napp = myfastapi.FastAPI()\n{IMPORT}initialize()\n");
        assert!(findings(&other).is_empty());
    }

    #[test]
    fn far_apart_chunks_are_judged_on_module_facts() {
        // The alias call sits several chunks away from its import; the import's chunk
        // is the one the query runs on.
        let mut src = String::from("from fastapi import FastAPI\nfrom opentelemetry.instrumentation.auto_instrumentation import initialize as boot\n");
        for i in 0..400 {
            src.push_str(&format!(
                "CONSTANT_{i} = {i}  # padding to push the call into another chunk\n"
            ));
        }
        src.push_str("boot()\n");
        let d = one(&src);
        assert_eq!(&src[d.span.start..d.span.end], "boot()");
        assert_eq!(d.fixes[0].applicability, Applicability::Unsafe);
    }
}
