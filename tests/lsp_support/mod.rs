//! A small LSP client for the integration tests: spawns the real `otel-lsp server`, frames
//! JSON-RPC over its stdio, answers the server's own requests, and collects notifications.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait for any one answer (debug builds on a busy machine are slow).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A running server and our end of its pipes.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Notifications received and not yet consumed, oldest first.
    pub notifications: VecDeque<Value>,
    /// Requests the server sent us (method, params), in order.
    pub server_requests: Vec<(String, Value)>,
    /// What we answer to `workspace/configuration`.
    pub configuration: Value,
    /// Server requests (by method) we answer with an error instead of a result.
    pub refuse: Vec<String>,
    /// The method of every request and notification the server sent, in arrival order.
    pub seen: Vec<String>,
    next_id: i64,
    /// Everything the server wrote to stderr.
    pub stderr: Arc<Mutex<String>>,
}

fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A `file://` URI for a path.
pub fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

impl Client {
    /// Starts `otel-lsp server` with extra arguments and environment.
    pub fn spawn_with(args: &[&str], env: &[(&str, &str)]) -> Client {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_otel-lsp"));
        cmd.arg("server")
            .args(args)
            .env_remove("OTEL_LSP_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn otel-lsp server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(v) = read_message(&mut r) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            incoming: rx,
            notifications: VecDeque::new(),
            server_requests: Vec::new(),
            configuration: Value::Null,
            refuse: Vec::new(),
            seen: Vec::new(),
            next_id: 1,
            stderr,
        }
    }

    /// Starts `otel-lsp server`.
    pub fn spawn() -> Client {
        Client::spawn_with(&[], &[])
    }

    /// Writes raw bytes to the server's stdin.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Sends one JSON-RPC message.
    pub fn send(&mut self, msg: &Value) {
        let body = serde_json::to_string(msg).unwrap();
        let framed = format!("Content-Length: {}\r\n\r\n{}", body.len(), body);
        self.write_raw(framed.as_bytes());
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request without waiting; returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Receives the next message (`None` on timeout), answering server requests and
    /// stashing notifications; `Some(Some(response))` for a response, else `Some(None)`.
    fn pump(&mut self, deadline: Instant) -> Option<Option<Value>> {
        {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match self.incoming.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => return None,
            };
            if let Some(m) = msg.get("method").and_then(Value::as_str) {
                self.seen.push(m.to_string());
            }
            match (msg.get("id"), msg.get("method")) {
                (Some(id), Some(method)) => {
                    let method = method.as_str().unwrap_or("").to_string();
                    if self.refuse.contains(&method) {
                        let id = id.clone();
                        self.server_requests.push((method, msg["params"].clone()));
                        self.send(&json!({"jsonrpc": "2.0", "id": id,
                            "error": {"code": -32603, "message": "refused by the test client"}}));
                        return Some(None);
                    }
                    let params = msg.get("params").cloned().unwrap_or(Value::Null);
                    let result = match method.as_str() {
                        "workspace/configuration" => {
                            let n = params["items"].as_array().map_or(1, |a| a.len());
                            Value::Array(vec![self.configuration.clone(); n])
                        }
                        _ => Value::Null,
                    };
                    self.server_requests.push((method, params));
                    let id = id.clone();
                    self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
                    Some(None)
                }
                (_, Some(_)) => {
                    self.notifications.push_back(msg);
                    Some(None)
                }
                _ => Some(Some(msg)),
            }
        }
    }

    /// The full response (result or error) to request `id`.
    pub fn response(&mut self, id: i64) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.pump(deadline) {
                None => panic!("no response to request {id}; stderr:\n{}", self.stderr()),
                Some(Some(msg)) if msg["id"] == json!(id) => return msg,
                Some(_) => {}
            }
        }
    }

    /// Sends a request and returns its result (panics on an error response).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        let resp = self.response(id);
        if let Some(err) = resp.get("error") {
            panic!("{method} failed: {err}");
        }
        resp["result"].clone()
    }

    /// Waits for a notification that satisfies `pred`, consuming it (and keeping the others).
    pub fn wait_for(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.try_wait_for(method, TIMEOUT, pred).unwrap_or_else(|| {
            panic!(
                "no {method} notification matched; got {:#?}\nstderr:\n{}",
                self.notifications,
                self.stderr()
            )
        })
    }

    /// Like `wait_for`, but gives up after `timeout`.
    pub fn try_wait_for(
        &mut self,
        method: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self
                .notifications
                .iter()
                .position(|n| n["method"] == method && pred(&n["params"]))
            {
                return self.notifications.remove(i).map(|mut n| n["params"].take());
            }
            match self.pump(deadline) {
                None => return None,
                Some(Some(resp)) => panic!("unexpected response {resp}"),
                Some(None) => {}
            }
        }
    }

    /// Waits for the diagnostics published for `uri` at `version`.
    pub fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let p = self.wait_for("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && p["version"] == json!(version)
        });
        match p {
            Value::Object(mut p) => match p.remove("diagnostics") {
                Some(Value::Array(d)) => d,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// `initialize` + `initialized` with the given client capabilities and options.
    pub fn initialize(
        &mut self,
        capabilities: Value,
        options: Value,
        root: Option<&std::path::Path>,
    ) -> Value {
        let folders = root.map(|r| json!([{"uri": file_uri(r), "name": "root"}]));
        let result = self.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root.map(file_uri),
                "capabilities": capabilities,
                "initializationOptions": options,
                "workspaceFolders": folders,
            }),
        );
        self.notify("initialized", json!({}));
        result
    }

    /// Opens a document.
    pub fn open(&mut self, uri: &str, language: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}}),
        );
    }

    /// Sends one incremental change.
    pub fn change(&mut self, uri: &str, version: i64, range: Value, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"range": range, "text": text}]}),
        );
    }

    /// `shutdown` then `exit`; returns the exit status.
    pub fn shutdown(mut self) -> ExitStatus {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r, Value::Null);
        self.exit()
    }

    /// `exit` (without `shutdown` unless done before); returns the exit status.
    pub fn exit(mut self) -> ExitStatus {
        self.notify("exit", Value::Null);
        self.stdin.take();
        self.wait()
    }

    /// Waits for the process to end (killing it after the timeout).
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("server did not exit; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the server's stderr contains `needle` (it is read on another thread, so it
    /// may lag behind the protocol); returns all of it.
    pub fn stderr_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let err = self.stderr();
            if err.contains(needle) {
                return err;
            }
            if Instant::now() > deadline {
                panic!("stderr never said {needle:?}:\n{err}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Like `stderr_with`, but answers the server's requests meanwhile (a log line that
    /// follows a request the server sent us).
    pub fn serve_until_stderr(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let err = self.stderr();
            if err.contains(needle) {
                return err;
            }
            if Instant::now() > deadline {
                panic!("stderr never said {needle:?}:\n{err}");
            }
            if let Some(Some(resp)) = self.pump(Instant::now() + Duration::from_millis(20)) {
                panic!("unexpected response {resp}");
            }
        }
    }

    /// The server's stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An LSP range.
pub fn range(l0: u32, c0: u32, l1: u32, c1: u32) -> Value {
    json!({"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}})
}

/// Applies LSP text edits (UTF-16 or UTF-8 columns) to a text, as an editor would.
pub fn apply_edits(text: &str, edits: &[Value], utf8: bool) -> String {
    let offset = |pos: &Value| -> usize {
        let line = pos["line"].as_u64().unwrap() as usize;
        let ch = pos["character"].as_u64().unwrap() as usize;
        let mut start = 0;
        for _ in 0..line {
            start += text[start..]
                .find('\n')
                .map_or(text.len() - start, |n| n + 1);
        }
        let line_text = &text[start..];
        if utf8 {
            return start + ch;
        }
        let mut units = 0;
        for (i, c) in line_text.char_indices() {
            if units >= ch || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    out
}

/// A temporary folder holding `files` (a path relative to it, with its folders made, and the
/// text): the workspace a test opens the server on.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }
    dir
}
