#!/usr/bin/env python3
"""Editor-latency probe for any language server over stdio (Python 3 stdlib only).

Starts SERVER in the file's folder (which is also the workspace root), sends initialize,
initialized and didOpen(FILE), then EDITS one-character didChange edits (insert 'x' after an
identifier past the middle of the file, then delete it again, alternating), and times how long
each takes until the diagnostics for that version arrive:

  push mode: until textDocument/publishDiagnostics for the document (with the matching
             version when the server sends one);
  pull mode: the client advertises textDocument.diagnostic and, after each didOpen/didChange,
             sends textDocument/diagnostic and times the answer.

Before shutdown it reads the server's peak RSS (VmHWM in /proc/PID/status, Linux).

usage:
  lsp_probe.py --server "ruff server" --file big.py [--mode push|pull] [--edits 30]
  lsp_probe.py --server "target/release/otel-lsp server" --file big.yaml [--json out.json]

`bench/compare` imports probe() from here. Adapted from the team's anchor probe
(lsp_latency.py, /work/shared/bench/anchors/, 2026-12-02): p90, a single function to call,
the server killed on any failure.
"""
import argparse
import json
import math
import os
import queue
import re
import shlex
import statistics
import subprocess
import threading
import time
from pathlib import Path

KEYWORDS = {"False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
            "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
            "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
            "self", "match", "case"}


WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]{3,}")  # a whole word, not the tail of one


class Client:
    """A JSON-RPC client over a server's stdin/stdout; a thread reads and time-stamps messages."""

    def __init__(self, argv, cwd, stderr_path):
        self.err = open(stderr_path, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, cwd=cwd)
        self.q = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        f = self.p.stdout
        try:
            while True:
                headers = {}
                while True:
                    line = f.readline()
                    if not line:
                        self.q.put((time.perf_counter(), None))
                        return
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.decode("ascii").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = f.read(int(headers["content-length"]))
                self.q.put((time.perf_counter(), json.loads(body)))
        except Exception:  # a garbled stream counts as the server going away
            self.q.put((time.perf_counter(), None))

    def send(self, msg):
        msg["jsonrpc"] = "2.0"
        data = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.p.stdin.flush()

    def request(self, method, params):
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.next_id

    def notify(self, method, params):
        self.send({"method": method, "params": params})

    def wait(self, pred, timeout):
        """(t, msg) of the first message with pred(msg); answers server requests meanwhile."""
        end = time.perf_counter() + timeout
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no matching message within {timeout:.1f} s")
            try:
                t, msg = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                raise RuntimeError(f"the server exited (exit code {self.p.poll()})")
            if "method" in msg and "id" in msg:  # a request from the server
                self.answer(msg)
                continue
            if pred(msg):
                return t, msg

    def answer(self, req):
        if req["method"] == "workspace/configuration":
            result = [None for _ in req["params"].get("items", [])]
        else:  # client/registerCapability, window/workDoneProgress/create, ...
            result = None
        self.send({"id": req["id"], "result": result})

    def peak_rss_kb(self):
        try:
            with open(f"/proc/{self.p.pid}/status") as fh:
                for ln in fh:
                    if ln.startswith("VmHWM:"):
                        return int(ln.split()[1])
        except OSError:
            pass
        return None

    def close(self):
        try:
            sid = self.request("shutdown", None)
            self.wait(lambda m: m.get("id") == sid, 10)
            self.notify("exit", None)
            self.p.wait(timeout=10)
        except Exception:
            self.kill()
        self.err.close()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


def find_edit_point(text):
    """(offset, line, UTF-16 column, word): just after an identifier-like word past the middle."""
    for m in WORD.finditer(text, len(text) // 2):
        w = m.group(0)
        if w in KEYWORDS:
            continue
        off = m.end()
        line = text.count("\n", 0, off)
        line_start = text.rfind("\n", 0, off) + 1
        return off, line, utf16_len(text[line_start:off]), w
    raise ValueError("no identifier found after the middle of the file")


def p90(xs):
    """Nearest-rank 90th percentile."""
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def probe(server, file, *, language_id=None, mode="push", edits=30, opens=1, timeout=120.0,
          stderr_path=os.devnull):
    """Run one server session; return a dict of timings (ms), diagnostic counts and peak RSS (KiB).

    server: an argv list or a command line. opens: didOpen/didClose cycles before the edits
    (the last open stays); open_ms[0] is the fresh server's first open.
    """
    argv = shlex.split(server) if isinstance(server, str) else list(server)
    path = Path(file).resolve()
    text = path.read_text(encoding="utf-8")
    lang = language_id or ("python" if path.suffix in (".py", ".pyi") else "yaml")
    uri = path.as_uri()
    root = path.parent
    caps = {"textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": True},
        "publishDiagnostics": {"relatedInformation": True, "versionSupport": True},
    }, "workspace": {"configuration": True, "workspaceFolders": True}, "general": {"positionEncodings": ["utf-16"]}}
    if mode == "pull":
        caps["textDocument"]["diagnostic"] = {"dynamicRegistration": False, "relatedDocumentSupport": False}

    c = Client(argv, str(root), stderr_path)
    try:
        t0 = time.perf_counter()
        rid = c.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": caps,
                                       "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                                       "clientInfo": {"name": "otel-lsp bench/lsp_probe.py"}})
        t1, resp = c.wait(lambda m: m.get("id") == rid, timeout)
        init_ms = (t1 - t0) * 1e3
        result = resp.get("result") or {}
        scaps = result.get("capabilities", {})
        sync = scaps.get("textDocumentSync")
        change_kind = sync.get("change", 1) if isinstance(sync, dict) else (sync or 1)
        c.notify("initialized", {})

        def diagnostics_after(method, params, want_version):
            """Send a notification, then wait for the diagnostics of want_version: (ms, count)."""
            ts = time.perf_counter()
            c.notify(method, params)
            if mode == "pull":
                did = c.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
                t, msg = c.wait(lambda m: m.get("id") == did, timeout)
                if "error" in msg:
                    raise RuntimeError(f"diagnostic request failed: {msg['error']}")
                n = len((msg.get("result") or {}).get("items", []))
            else:
                def ok(m):
                    if m.get("method") != "textDocument/publishDiagnostics":
                        return False
                    p = m["params"]
                    return p.get("uri") == uri and p.get("version", want_version) == want_version
                t, msg = c.wait(ok, timeout)
                n = len(msg["params"]["diagnostics"])
            return (t - ts) * 1e3, n

        version = 0
        open_ms, n_open = [], 0
        for i in range(opens):
            version += 1
            v = version
            ms, n_open = diagnostics_after("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": lang, "version": v, "text": text}}, v)
            open_ms.append(ms)
            if i < opens - 1:
                c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
                if mode == "push":  # servers usually clear the diagnostics on close: drain them
                    try:
                        c.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                               and m["params"].get("uri") == uri and not m["params"]["diagnostics"], 2.0)
                    except TimeoutError:
                        pass

        off, line, col, word = find_edit_point(text)
        cur = text
        change_ms, n_change = [], set()
        for i in range(edits):
            version += 1
            v = version
            if i % 2 == 0:
                new = cur[:off] + "x" + cur[off:]
                rng = {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}
                ch = {"range": rng, "text": "x"}
            else:
                new = cur[:off] + cur[off + 1:]
                rng = {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}}
                ch = {"range": rng, "text": ""}
            if change_kind != 2:
                ch = {"text": new}
            ms, n = diagnostics_after("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": v}, "contentChanges": [ch]}, v)
            change_ms.append(ms)
            n_change.add(n)
            cur = new

        rss_kb = c.peak_rss_kb()
        c.close()
    except BaseException:
        c.kill()
        raise

    return {"server": argv, "server_info": result.get("serverInfo", {}), "file": str(path),
            "bytes": len(text.encode("utf-8")), "lines": text.count("\n"), "mode": mode,
            "sync": "incremental" if change_kind == 2 else "full",
            "edit": {"line": line + 1, "after_word": word},
            "initialize_ms": init_ms, "open_ms": open_ms, "change_ms": change_ms,
            "diagnostics_on_open": n_open, "diagnostics_on_change": sorted(n_change),
            "peak_rss_kb": rss_kb}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default="ruff server", help='server command line (default "ruff server")')
    ap.add_argument("--file", required=True)
    ap.add_argument("--language-id", help="default: python for .py, yaml otherwise")
    ap.add_argument("--mode", choices=["push", "pull"], default="push")
    ap.add_argument("--edits", type=int, default=30, help="one-character didChange edits (default 30)")
    ap.add_argument("--opens", type=int, default=1, help="didOpen/didClose cycles to time (default 1)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer")
    ap.add_argument("--json", help="also write the raw timings here")
    ap.add_argument("--stderr", default=os.devnull, help="where the server's stderr goes")
    a = ap.parse_args()
    r = probe(a.server, a.file, language_id=a.language_id, mode=a.mode, edits=a.edits, opens=a.opens,
              timeout=a.timeout, stderr_path=a.stderr)
    print(f"server: {a.server} {r['server_info'].get('version', '')}  file: {Path(r['file']).name} "
          f"({r['bytes'] / 1e6:.2f} MB, {r['lines']} lines)  mode: {r['mode']}  sync: {r['sync']}")
    print(f"{'initialize':<36} {r['initialize_ms']:9.2f} ms")
    o = r["open_ms"]
    print(f"{'didOpen -> diagnostics':<36} {statistics.median(o):9.2f} ms  (min {min(o):.2f}, max {max(o):.2f}, "
          f"n={len(o)})  [{r['diagnostics_on_open']} diagnostics]")
    ch = r["change_ms"]
    if ch:
        print(f"{'didChange (1 char) -> diagnostics':<36} {statistics.median(ch):9.2f} ms  (p90 {p90(ch):.2f}, "
              f"min {min(ch):.2f}, max {max(ch):.2f}, n={len(ch)})  [{r['diagnostics_on_change']} diagnostics]")
    if r["peak_rss_kb"]:
        print(f"{'server peak RSS':<36} {r['peak_rss_kb'] / 1024:9.1f} MiB")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1)


if __name__ == "__main__":
    main()
