"""Installs and runs the hook of .pre-commit-hooks.yaml through the real pre-commit, offline.

The hook is `language: python`: for a user, pre-commit clones this repository and runs
`pip install .` there, and pip builds the wheel with maturin (pyproject.toml). Here the hook's
own fields (entry, language, file types) go into a `repo: local` hook whose
`additional_dependencies` is this repository, so that pre-commit's python language installs it
the same way (a virtualenv, then pip with maturin as the PEP 517 backend) from the working tree
instead of a clone (a clone would compile the crate again in another folder). Offline: pip
finds maturin (and setuptools, for pre-commit's placeholder package of a local hook) in the
wheelhouse that `scripts/test-wheel --install` filled, and `MATURIN_PEP517_ARGS=--profile dev`
with the binary's CARGO_TARGET_DIR makes maturin package the debug build cargo already made.
Usage: python test_hook.py REPO BINARY WHEELHOUSE. Prints "pre-commit: N passed, N failed".
"""

import filecmp
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import yaml  # pre-commit's own dependency

repo, binary, wheelhouse = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
# BINARY is CARGO_TARGET_DIR/debug/otel-lsp.
target_dir = os.path.dirname(os.path.dirname(binary))
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
    assert hook["language"] == "python", hook["language"]
    assert glob.glob(os.path.join(wheelhouse, "maturin-*.whl")), f"no maturin wheel in {wheelhouse}"
    local = dict(hook, additional_dependencies=[os.path.abspath(repo)])
    local.pop("minimum_pre_commit_version", None)
    work = tempfile.mkdtemp(prefix="otel-lsp-pre-commit-")
    try:
        cache = os.path.join(work, ".cache")
        env = dict(
            os.environ,
            PRE_COMMIT_HOME=cache,
            GIT_CONFIG_GLOBAL=os.devnull,
            PIP_NO_INDEX="1",
            PIP_FIND_LINKS=wheelhouse,
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            MATURIN_PEP517_ARGS="--profile dev --locked --offline",
            CARGO_NET_OFFLINE="true",
            CARGO_TARGET_DIR=target_dir,
        )
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
        installed = glob.glob(os.path.join(cache, "repo*", "py_env-*", "bin", "otel-lsp"))
        check("pre-commit installed otel-lsp into its python environment with pip, offline", len(installed) == 1,
              out + f"\ninstalled: {installed}")
        same = len(installed) == 1 and filecmp.cmp(installed[0], binary, shallow=False)
        check("the installed otel-lsp is the binary cargo built (maturin packaged it, compiled nothing)", same,
              f"installed: {installed}")
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
