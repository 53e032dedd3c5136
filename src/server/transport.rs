//! A guard between stdin and tower-lsp-server's framing.
//!
//! tower-lsp-server reads stdin through tokio-util's `FramedRead`, which ends the stream after
//! the first message it cannot decode: one malformed message from a client would end the
//! session. This filter re-frames the input itself and lets through only messages that decode
//! as JSON-RPC. A malformed request that still carries an `id` is replaced by a call to
//! `INVALID_REQUEST`, which answers that id with an "Invalid Request" error; anything else
//! undecodable is logged and dropped.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tower_lsp_server::jsonrpc::{Request, Response};

/// The method a malformed request with an id is turned into.
pub const INVALID_REQUEST: &str = "$/otel-lsp/invalidRequest";

/// Messages larger than this are treated as garbage framing (a client cannot mean it).
const MAX_MESSAGE: usize = 512 * 1024 * 1024;

/// What to do with one framed body.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Pass it on unchanged.
    Pass,
    /// Send this body instead.
    Replace(Vec<u8>),
    /// Drop it, logging why.
    Drop(String),
}

fn judge(body: &[u8]) -> Verdict {
    if serde_json::from_slice::<Request>(body).is_ok()
        || serde_json::from_slice::<Response>(body).is_ok()
    {
        return Verdict::Pass;
    }
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Verdict::Drop(format!("not JSON: {e}")),
    };
    match value.get("id") {
        Some(id @ (serde_json::Value::Number(_) | serde_json::Value::String(_))) => {
            let msg = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": INVALID_REQUEST});
            Verdict::Replace(msg.to_string().into_bytes())
        }
        _ => Verdict::Drop("not a JSON-RPC message".into()),
    }
}

/// The `Content-Length` of a header block, if it has a valid one.
fn content_length(headers: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(headers).ok()?;
    text.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

/// The header a frame starts with, where the filter resynchronises after garbage.
const HEADER: &[u8] = b"Content-Length";

/// Where to resume in `rest` after bytes that are no message, searching from `from`: at the
/// next header; without one, at the end but for a tail that may be a header's beginning
/// (the next read may complete it: the frames must not depend on how the input was split
/// into reads).
fn resync(rest: &[u8], from: usize) -> usize {
    if let Some(n) = memchr::memmem::find(&rest[from..], HEADER) {
        return from + n;
    }
    let keep = (1..HEADER.len())
        .rev()
        .find(|&k| k <= rest.len() - from && rest.ends_with(&HEADER[..k]))
        .unwrap_or(0);
    rest.len() - keep
}

/// Splits complete frames off the front of `buf`, judging each; returns what to forward.
pub fn drain(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // Everything before `pos` is consumed; the buffer is shifted once, at the end.
    let mut pos = 0;
    loop {
        let rest = &buf[pos..];
        let Some(hdr_end) = memchr::memmem::find(rest, b"\r\n\r\n") else {
            // No complete header block yet; do not hoard garbage without one.
            if rest.len() > 64 * 1024 {
                pos += memchr::memmem::rfind(rest, HEADER).unwrap_or_else(|| resync(rest, 0));
            }
            break;
        };
        let body_start = hdr_end + 4;
        let len = content_length(&rest[..hdr_end]).filter(|&n| n <= MAX_MESSAGE);
        let Some(len) = len else {
            tracing::error!("dropped a message without a valid Content-Length header");
            // Resynchronise on the next header, as the codec would.
            pos += resync(rest, body_start);
            continue;
        };
        if rest.len() < body_start + len {
            break;
        }
        let body = &rest[body_start..body_start + len];
        pos += body_start + len;
        let body = match judge(body) {
            Verdict::Pass => body.to_vec(),
            Verdict::Replace(b) => {
                tracing::error!("malformed request answered with an error");
                b
            }
            Verdict::Drop(why) => {
                tracing::error!("dropped a malformed message: {why}");
                continue;
            }
        };
        let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        framed.extend_from_slice(&body);
        out.push(framed);
    }
    buf.drain(..pos);
    out
}

/// Copies `input` to `output`, frame by frame, leaving out what tower-lsp-server could not
/// decode. Ends (closing `output`) at the end of `input`.
pub async fn filter(mut input: impl AsyncRead + Unpin, mut output: DuplexStream) {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        for frame in drain(&mut buf) {
            if output.write_all(&frame).await.is_err() {
                return;
            }
        }
    }
    let _ = output.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    #[test]
    fn passes_good_messages_and_filters_bad_ones() {
        let good = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        let note = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let mut buf = Vec::new();
        buf.extend(frame(good));
        buf.extend(frame("{oops"));
        buf.extend(b"garbage\r\n\r\n");
        buf.extend(frame(r#"{"id":7,"method":3}"#));
        buf.extend(frame("[1,2]"));
        buf.extend(frame(note));
        buf.extend(&frame(good)[..10]);
        let out = drain(&mut buf);
        let bodies: Vec<String> = out
            .iter()
            .map(|f| {
                let s = String::from_utf8(f.clone()).unwrap();
                s.split_once("\r\n\r\n").unwrap().1.to_string()
            })
            .collect();
        assert_eq!(bodies.len(), 3, "{bodies:?}");
        assert_eq!(bodies[0], good);
        assert!(bodies[1].contains(INVALID_REQUEST) && bodies[1].contains("\"id\":7"));
        assert_eq!(bodies[2], note);
        // The partial frame waits for the rest.
        assert_eq!(buf.len(), 10);
    }

    /// A header cut by a read boundary right after garbage is found once the rest arrives.
    #[test]
    fn garbage_then_a_split_header_keeps_the_message() {
        let mut whole = b"garbage\r\n\r\n".to_vec();
        whole.extend(frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#));
        let cut = b"garbage\r\n\r\nCont".len();
        let mut buf = whole[..cut].to_vec();
        assert!(drain(&mut buf).is_empty());
        assert_eq!(buf, b"Cont");
        buf.extend_from_slice(&whole[cut..]);
        assert_eq!(drain(&mut buf).len(), 1);
        assert!(buf.is_empty());
    }

    #[test]
    fn content_length_header_is_case_insensitive_and_validated() {
        assert_eq!(content_length(b"content-length: 12"), Some(12));
        assert_eq!(
            content_length(
                b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 3"
            ),
            Some(3)
        );
        assert_eq!(content_length(b"Content-Length: x"), None);
        assert_eq!(content_length(b"X: 1"), None);
    }
}
