"""The GitHub Action (action.yml) and the example workflow (docs/workflows/otel-lsp.yml), offline.

1. action.yml read as GitHub reads it: name, description, `runs.using: composite`, every `run`
   step with a `shell`, every `${{ inputs.x }}` an input (and every input used and documented
   in the README), no expression pasted into a script, outputs from existing steps.
2. The steps RUN in order, as a runner would: `bash --noprofile --norc -eo pipefail` on each
   script, with GITHUB_ACTION_PATH (this repository), GITHUB_WORKSPACE (a copy of a folder of
   examples/), GITHUB_OUTPUT, GITHUB_PATH, GITHUB_ENV and RUNNER_TEMP set to temporary paths,
   the step's `env:` with its expressions evaluated, GITHUB_PATH entries put on PATH for the
   steps after, outputs collected, and the run stopped at the first failing step.
   In most cases the install step (`id: install`) is REPLACED: it would compile this
   repository with `cargo install` (minutes) or download the wheel from PyPI (network); instead
   the binary cargo already built is put on PATH through GITHUB_PATH, as the step does. The
   install step's own script runs too, twice: with `version` set, installing the wheel this
   test builds with maturin from a local folder (PIP_NO_INDEX, PIP_FIND_LINKS: pip does what
   it would do with PyPI), and without, with a stand-in `cargo` that checks its arguments and
   installs the built binary where `cargo install --root` would.
   Directories of PATH that hold another `otel-lsp` are left out, so only the installed one runs.
3. The example workflow: YAML, the shape of jobs and steps, its otel-lsp step's `with:` keys
   are inputs of the action, and it uploads the SARIF file the action writes; that step's
   inputs are also run through the action on examples/.
4. action-validator (npm, SchemaStore's schemas) accepts action.yml and the workflow.

Usage: python test_action.py REPO BINARY. Prints "action: N passed, N failed".
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

repo, binary = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
target_dir = os.path.dirname(os.path.dirname(binary))  # BINARY is CARGO_TARGET_DIR/debug/otel-lsp
action_file = os.path.join(repo, "action.yml")
workflow_file = os.path.join(repo, "docs", "workflows", "otel-lsp.yml")
validator = os.path.join(repo, "tests", "packaging", "node_modules", ".bin", "action-validator")
maturin = os.path.join(os.path.dirname(sys.executable), "maturin")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}\n# " + str(detail).replace("\n", "\n# "))
    return ok


def cargo_version():
    import tomllib

    with open(os.path.join(repo, "Cargo.toml"), "rb") as f:
        return tomllib.load(f)["package"]["version"]


VERSION = cargo_version()
action_text = open(action_file).read()
action = yaml.safe_load(action_text)
inputs = action.get("inputs") or {}
steps = (action.get("runs") or {}).get("steps") or []

# --- 1. The file ----------------------------------------------------------------------------------
check("action.yml has a name and a description",
      all(isinstance(action.get(k), str) and action[k].strip() for k in ("name", "description")), action)
check("runs.using is composite", (action.get("runs") or {}).get("using") == "composite", action.get("runs"))
check("it has steps", len(steps) > 0)
check("every step runs a script or uses an action, not both",
      all(("run" in s) != ("uses" in s) for s in steps), steps)
check("every run step has shell: bash (what this test runs them with)",
      all(s.get("shell") == "bash" for s in steps if "run" in s), [s.get("shell") for s in steps])
ids = [s["id"] for s in steps if "id" in s]
check("step ids are unique", len(ids) == len(set(ids)), ids)
check("there is an install step (id: install)", "install" in ids, ids)
referenced = set(re.findall(r"\$\{\{[^}]*?\binputs\.([A-Za-z0-9_-]+)", action_text))
check("every ${{ inputs.x }} is an input", referenced <= set(inputs), referenced - set(inputs))
check("every input is used", set(inputs) <= referenced, set(inputs) - referenced)
check("every input has a description and a default",
      all(isinstance(v, dict) and v.get("description") and "default" in v for v in inputs.values()), inputs)
check("no expression is pasted into a script (inputs reach them through env:)",
      not any("${{" in s.get("run", "") for s in steps))
outputs = action.get("outputs") or {}
out_refs = [re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", str(o.get("value", ""))) for o in outputs.values()]
check("every output is a step's output", all(m and m.group(1) in ids for m in out_refs), outputs)
readme = open(os.path.join(repo, "README.md")).read()
section = readme[readme.find("### GitHub Action"):]
section = section[: section.find("\n## ", 1)]
check("the README's GitHub Action section lists every input and output",
      bool(section) and all(f"`{k}`" in section for k in list(inputs) + list(outputs)),
      [k for k in list(inputs) + list(outputs) if f"`{k}`" not in section])

# --- 2. The steps, run -----------------------------------------------------------------------------
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Run:
    def __init__(self):
        self.ok = True
        self.failed_step = None
        self.log = []  # (step name, exit code, stdout, stderr)
        self.outputs = {}

    @property
    def stdout(self):
        return "".join(o for _, _, o, _ in self.log)

    def __repr__(self):
        return "\n".join(f"--- {n}: exit {rc}\n{o}{e}" for n, rc, o, e in self.log)


def run_action(given, workspace, install="replace", extra_env=None, extra_path=()):
    """Runs action.yml's steps; `install`: "replace" (the built binary on PATH), or "run"."""
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of the action: {unknown}"
    values = {k: str(v.get("default", "")) for k, v in inputs.items()}
    values.update(given)
    tmp = tempfile.mkdtemp(prefix="otel-lsp-action-")
    runner_temp = os.path.join(tmp, "runner-temp")
    os.makedirs(runner_temp)
    github_path, github_env = os.path.join(tmp, "github-path"), os.path.join(tmp, "github-env")
    open(github_path, "w").close()
    open(github_env, "w").close()
    results = {}
    ctx = {"github.action_path": repo, "github.workspace": workspace, "runner.temp": runner_temp, "runner.os": "Linux"}

    def value(ref):
        if ref.startswith("inputs."):
            return values[ref[len("inputs."):]]
        m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", ref)
        if m:
            return results.get(m.group(1), {}).get(m.group(2), "")
        if ref in ctx:
            return ctx[ref]
        raise ValueError(f"an expression this test does not know: {ref}")

    def substitute(text):
        return EXPR.sub(lambda m: value(m.group(1)), str(text))

    def condition(expr):
        expr = EXPR.fullmatch(expr.strip()).group(1) if EXPR.fullmatch(expr.strip()) else expr.strip()
        m = re.fullmatch(r"(\S+)\s*(==|!=)\s*''", expr)
        if not m:
            raise ValueError(f"an if: this test does not know: {expr}")
        return (value(m.group(1)) == "") == (m.group(2) == "==")

    # Only the installed otel-lsp may answer: PATH without directories holding another one.
    base_path = [d for d in os.environ.get("PATH", "").split(os.pathsep)
                 if d and not os.path.exists(os.path.join(d, "otel-lsp"))]
    run = Run()
    for i, step in enumerate(steps):
        name = step.get("name", step.get("id", f"step {i}"))
        if "if" in step and not condition(str(step["if"])):
            continue
        if step.get("id") == "install" and install == "replace":
            # REPLACED (see the docstring): the built binary goes on PATH through GITHUB_PATH.
            bindir = os.path.join(runner_temp, "otel-lsp", "bin")
            os.makedirs(bindir)
            os.symlink(binary, os.path.join(bindir, "otel-lsp"))
            with open(github_path, "a") as f:
                f.write(bindir + "\n")
            run.log.append((name + " (replaced: the built binary on PATH)", 0, "", ""))
            continue
        output_file = os.path.join(tmp, f"output-{i}")
        open(output_file, "w").close()
        added = [l for l in open(github_path).read().splitlines() if l]
        env = dict(os.environ)
        env.update(extra_env or {})
        env.update(
            PATH=os.pathsep.join(list(extra_path) + added[::-1] + base_path),
            GITHUB_ACTION_PATH=repo, GITHUB_WORKSPACE=workspace, GITHUB_OUTPUT=output_file,
            GITHUB_PATH=github_path, GITHUB_ENV=github_env, RUNNER_TEMP=runner_temp, RUNNER_OS="Linux",
            GITHUB_ACTIONS="true", CI="true",
        )
        env.update({k: substitute(v) for k, v in (step.get("env") or {}).items()})
        script = os.path.join(tmp, f"step-{i}.sh")
        with open(script, "w") as f:
            f.write(step["run"])
        cwd = substitute(step.get("working-directory", workspace))
        p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=600)
        run.log.append((name, p.returncode, p.stdout, p.stderr))
        outs, lines = {}, open(output_file).read().splitlines()
        while lines:
            line = lines.pop(0)
            if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
                key, delim = line.split("<<", 1)
                body = []
                while lines and lines[0] != delim:
                    body.append(lines.pop(0))
                lines and lines.pop(0)
                outs[key] = "\n".join(body)
            elif "=" in line:
                key, val = line.split("=", 1)
                outs[key] = val
        if "id" in step:
            results[step["id"]] = outs
        if p.returncode != 0:
            run.ok, run.failed_step = False, step.get("id", name)
            break
    run.outputs = {k: substitute(v["value"]) for k, v in outputs.items()}
    shutil.rmtree(runner_temp, ignore_errors=True)
    return run


ANNOTATION = re.compile(r"^::(error|warning|notice) file=([^,]+),line=(\d+).*?title=(OTEL\d+)", re.M)


def annotations(run):
    return ANNOTATION.findall(run.stdout)


def workspace_of(*folders):
    """A fresh workspace: copies of folders of examples/ (or a dict of files)."""
    ws = tempfile.mkdtemp(prefix="otel-lsp-workspace-")
    for f in folders:
        if isinstance(f, dict):
            for name, text in f.items():
                with open(os.path.join(ws, name), "w") as fh:
                    fh.write(text)
        else:
            shutil.copytree(os.path.join(repo, "examples", f), os.path.join(ws, f))
    return ws


def sarif_results(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["version"], doc["runs"][0]["results"]


# 2a. The example workflow's own inputs on examples/ with findings.
workflow = yaml.safe_load(open(workflow_file))
wf_steps = [s for job in (workflow.get("jobs") or {}).values() for s in job.get("steps") or []]
ours = [s for s in wf_steps if re.fullmatch(r"[\w.-]+/otel-lsp@[\w.-]+", str(s.get("uses", "")))]
wf_inputs = {k: str(v) for k, v in ((ours[0].get("with") or {}) if ours else {}).items()}
ws = workspace_of("shop", "launch-wrong", "shop-clean")
r = run_action(wf_inputs, ws)
check("the workflow's inputs on examples/: the check step fails (findings), after install and version",
      not r.ok and r.failed_step == "check" and f"otel-lsp {VERSION}" in r.stdout, r)
found = annotations(r)
check("findings are GitHub annotations (::error file=… and ::warning file=…)",
      {"error", "warning"} <= {a[0] for a in found}, r)
check("every annotation names a file of the workspace, relative to it",
      found and all(not os.path.isabs(f) and os.path.isfile(os.path.join(ws, f)) for _, f, _, _ in found),
      [f for _, f, _, _ in found])
sarif = wf_inputs.get("sarif-file", "")
sarif_path = os.path.join(ws, sarif)
try:
    version, results = sarif_results(sarif_path)
    check("the SARIF file parses as JSON 2.1.0 with runs[0].results, one per annotation",
          version == "2.1.0" and results and len(results) == len(found), (version, len(results), len(found)))
    check("its results are otel-lsp's rules", all(str(x.get("ruleId", "")).startswith("OTEL") for x in results))
except (OSError, ValueError, KeyError, IndexError) as e:
    check("the SARIF file parses as JSON 2.1.0 with runs[0].results", False, f"{sarif_path}: {e!r}\n{r}")
check("the sarif-file output is its absolute path", r.outputs.get("sarif-file") == sarif_path, r.outputs)

# 2b. paths, args, a SARIF file in a folder that does not exist yet.
ws = workspace_of("shop", "launch-wrong")
r = run_action({"paths": "shop launch-wrong/Dockerfile", "args": "--select OTEL001,OTEL044 --exit-zero",
                "sarif-file": "reports/otel-lsp.sarif"}, ws)
found = annotations(r)
check("args pass through (--select, --exit-zero): success, only the selected rules",
      r.ok and found and {a[3] for a in found} <= {"OTEL001", "OTEL044"}, r)
check("paths pass through: only the files under them",
      all(f.startswith("shop/") or f == "launch-wrong/Dockerfile" for _, f, _, _ in found)
      and any(f == "launch-wrong/Dockerfile" for _, f, _, _ in found), found)
check("the SARIF file's folder is created", os.path.isfile(os.path.join(ws, "reports", "otel-lsp.sarif"))
      and r.outputs.get("sarif-file") == os.path.join(ws, "reports", "otel-lsp.sarif"), r.outputs)

# 2c. A clean workspace, the default inputs: success, nothing reported, no SARIF.
ws = workspace_of({"app.py": "from flask import Flask\n\napp = Flask(__name__)\n"})
r = run_action({}, ws)
check("a clean workspace with the defaults: success, no annotation, no SARIF",
      r.ok and not annotations(r) and r.outputs.get("sarif-file") == "" and os.listdir(ws) == ["app.py"], r)

# 2d. output-format.
ws = workspace_of("launch-wrong")
r = run_action({"output-format": "json", "args": "--exit-zero"}, ws)
try:
    doc = json.loads(r.log[-1][2])
    check("output-format json prints the JSON report", r.ok and isinstance(doc, list) and doc, r)
except ValueError as e:
    check("output-format json prints the JSON report", False, f"{e!r}\n{r}")

# 2e. version: checked against the installed binary.
ws = workspace_of("shop-clean")
r = run_action({"version": VERSION}, ws)
check(f"version {VERSION} (the installed one): success", r.ok, r)
r = run_action({"version": "9.9.9"}, ws)
check("version 9.9.9 (not the installed one): the version step fails and says why",
      not r.ok and r.failed_step == "version"
      and f"::error title=otel-lsp::installed otel-lsp {VERSION}, not the version 9.9.9" in r.stdout, r)

# 2f. The install step itself, `version` set: pip installs the wheel from a local folder.
dist = tempfile.mkdtemp(prefix="otel-lsp-dist-")
b = subprocess.run([maturin, "build", "--quiet", "--profile", "dev", "--locked", "--offline", "--out", dist],
                   cwd=repo, capture_output=True, text=True, timeout=600,
                   env=dict(os.environ, CARGO_TARGET_DIR=target_dir, CARGO_NET_OFFLINE="true"))
if check("maturin builds the wheel for the install step (offline)", b.returncode == 0, b.stdout + b.stderr):
    ws = workspace_of("launch-wrong")
    r = run_action({"version": VERSION}, ws, install="run",
                   extra_env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": dist, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    found = annotations(r)
    check(f"the install step with version {VERSION}: pip installs otel-lsp=={VERSION} into RUNNER_TEMP, "
          "on PATH for the next steps, which find the problems",
          not r.ok and r.failed_step == "check" and f"otel-lsp {VERSION}" in r.stdout and found, r)

# 2g. The install step itself, no version: `cargo install` of the action's checkout (a stand-in
# cargo checks the arguments and installs the built binary where `--root` says).
fake = tempfile.mkdtemp(prefix="otel-lsp-fake-cargo-")
with open(os.path.join(fake, "cargo"), "w") as f:
    f.write(f"""#!/usr/bin/env bash
set -eu
[ "$1 $2 $3 $4" = "install --locked --quiet --root" ] && [ "$6 $7" = "--path {repo}" ] && [ $# = 7 ] || {{
  echo "stand-in cargo: unexpected arguments: $*" >&2; exit 3; }}
mkdir -p "$5/bin" && cp {binary} "$5/bin/otel-lsp"
""")
os.chmod(os.path.join(fake, "cargo"), 0o755)
ws = workspace_of("launch-wrong")
r = run_action({}, ws, install="run", extra_path=[fake])
check("the install step without version: cargo install --locked --root RUNNER_TEMP/otel-lsp --path "
      "GITHUB_ACTION_PATH, its bin on PATH for the next steps",
      not r.ok and r.failed_step == "check" and annotations(r) and "compiling" in r.stdout, r)

# --- 3. The example workflow --------------------------------------------------------------------
on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
check("the workflow has a name, triggers and jobs", workflow.get("name") and on and workflow.get("jobs"), workflow)
jobs = workflow.get("jobs") or {}
check("every job has runs-on and steps, every step uses an action or runs a script",
      all(j.get("runs-on") and j.get("steps") and all(("uses" in s) != ("run" in s) for s in j["steps"])
          for j in jobs.values()), jobs)
check("one step uses the otel-lsp action, with inputs the action has",
      len(ours) == 1 and set(wf_inputs) <= set(inputs), (ours, set(wf_inputs) - set(inputs)))
upload = [s for s in wf_steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
check("upload-sarif reads the SARIF file the action writes, even when the check failed",
      len(upload) == 1 and str((upload[0].get("with") or {}).get("sarif_file")) == sarif and sarif
      and re.search(r"always\(\)|!\s*cancelled\(\)", str(upload[0].get("if", ""))), upload)
check("the job may upload to code scanning (permissions: security-events: write)",
      any((j.get("permissions") or {}).get("security-events") == "write" for j in jobs.values()), jobs)

# --- 4. action-validator -------------------------------------------------------------------------
for f in (action_file, workflow_file):
    p = subprocess.run([validator, f], capture_output=True, text=True, timeout=120)
    check(f"action-validator accepts {os.path.relpath(f, repo)}", p.returncode == 0, p.stdout + p.stderr)

print(f"action: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
