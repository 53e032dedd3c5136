"""Runs the hook of .pre-commit-hooks.yaml through the real pre-commit on the editor fixtures.

pre-commit itself would build the hook with cargo from the repository (network); here the hook's
own entry, file types and arguments are copied into a `repo: local` hook with `language: system`
that runs the debug binary, so pre-commit's real file selection and invocation are exercised
offline. Usage: python test_hook.py REPO BINARY. Prints "pre-commit: N passed, N failed".
"""

import os
import shutil
import subprocess
import sys
import tempfile

import yaml  # pre-commit's own dependency

repo, binary = sys.argv[1], os.path.abspath(sys.argv[2])
fixtures = os.path.join(repo, "editors", "fixtures")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}\n# " + detail.replace("\n", "\n# "))


def run(cmd, cwd, env=None):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


manifest = os.path.join(repo, ".pre-commit-hooks.yaml")
r = run([sys.executable, "-m", "pre_commit", "validate-manifest", manifest], repo)
check("pre-commit validate-manifest accepts .pre-commit-hooks.yaml", r.returncode == 0, r.stdout + r.stderr)

# `otel-lsp check` is built on another branch: run the hook once the binary reports OTEL001.
probe = run([binary, "check", os.path.join(fixtures, "app.py")], repo)
if "OTEL001" not in probe.stdout:
    print(f"# NOT RUN: pre-commit hook run: `otel-lsp check` printed no OTEL001 (exit {probe.returncode})")
else:
    (hook,) = yaml.safe_load(open(manifest))
    entry = hook["entry"].split()
    assert entry[0] == "otel-lsp", entry
    local = dict(hook, entry=" ".join([binary] + entry[1:]), language="system")
    local.pop("minimum_pre_commit_version", None)
    work = tempfile.mkdtemp(prefix="otel-lsp-pre-commit-")
    try:
        env = dict(os.environ, PRE_COMMIT_HOME=os.path.join(work, ".cache"), GIT_CONFIG_GLOBAL=os.devnull)
        proj = os.path.join(work, "proj")
        os.makedirs(proj)
        for f in ("app.py", "deployment.yaml"):
            shutil.copy(os.path.join(fixtures, f), proj)
        with open(os.path.join(proj, "README.md"), "w") as fh:
            fh.write("not checked\n")
        # A launcher: gunicorn with 4 workers under opentelemetry-instrument (OTEL020).
        with open(os.path.join(proj, "Dockerfile"), "w") as fh:
            fh.write('FROM python:3.12-slim\nCMD ["opentelemetry-instrument", "gunicorn", "-w", "4", "app:app"]\n')
        with open(os.path.join(proj, ".pre-commit-config.yaml"), "w") as fh:
            yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}, fh)
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"]):
            run(cmd, proj, env)
        r = run([sys.executable, "-m", "pre_commit", "run", "--all-files", "--verbose"], proj, env)
        out = r.stdout + r.stderr
        check("the hook fails on the staged app.py and reports OTEL001", r.returncode == 1 and "OTEL001" in out, out)
        check("the hook reads the Dockerfile too and reports OTEL020", "OTEL020" in out and "Dockerfile" in out, out)
        check("the hook is given the files otel-lsp reads only", "README.md" not in out, out)
        app = os.path.join(proj, "app.py")
        text = open(app).read().replace("debug=True)", "debug=True, use_reloader=False)")
        open(app, "w").write(text)
        os.remove(os.path.join(proj, "deployment.yaml"))
        os.remove(os.path.join(proj, "Dockerfile"))
        run(["git", "add", "-A"], proj, env)
        r = run([sys.executable, "-m", "pre_commit", "run", "--all-files"], proj, env)
        check("the hook passes once the pitfall is fixed", r.returncode == 0, r.stdout + r.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

print(f"pre-commit: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
