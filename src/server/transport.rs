//! A guard between stdin and tower-lsp-server's framing.
//!
//! tower-lsp-server reads stdin through tokio-util's `FramedRead`, which ends the stream after
//! the first message it cannot decode: one malformed message from a client would end the
//! session. This filter re-frames the input itself and lets through only messages that decode
//! as JSON-RPC. A malformed request that still carries an `id` is replaced by a call to
//! `INVALID_REQUEST`, which answers that id with an "Invalid Request" error; a body that is
//! not UTF-8 is read with its bad bytes as U+FFFD; anything else undecodable is logged and
//! dropped.

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
    // The codec reads a body as UTF-8 first and ends the stream on one that is not, though
    // serde would take it (it skips unknown fields without checking them): a client's stray
    // byte would end the session. Read with the bad bytes as U+FFFD, the message still says
    // what it meant, and a request is answered.
    if std::str::from_utf8(body).is_err() {
        let text = String::from_utf8_lossy(body).into_owned().into_bytes();
        tracing::error!("a message that is not UTF-8: its invalid bytes read as U+FFFD");
        return match judge(&text) {
            Verdict::Pass => Verdict::Replace(text),
            other => other,
        };
    }
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
            tracing::error!("malformed request answered with an error");
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

/// How many bytes at the end of `rest` may be the beginning of a header (the next read may
/// complete it).
fn header_prefix(rest: &[u8]) -> usize {
    (1..HEADER.len())
        .rev()
        .find(|&k| rest.ends_with(&HEADER[..k]))
        .unwrap_or(0)
}

/// The filter's framing: the bytes read and not framed yet, and whether it is skipping
/// garbage up to the next header. The frames do not depend on how the input is split into
/// reads (the fuzz harness holds `push` of the whole input equal to `push`es of its pieces).
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// After a header block without a valid `Content-Length`: everything up to the next
    /// `Content-Length` is garbage, however many reads it takes to arrive.
    skipping: bool,
}

impl Framer {
    /// Takes in what was read; returns the complete frames to forward, judged.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(bytes);
        self.drain()
    }

    /// What was read and not framed yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Splits complete frames off the front of the buffer, judging each.
    fn drain(&mut self) -> Vec<Vec<u8>> {
        let buf = &mut self.buf;
        let mut out = Vec::new();
        // Everything before `pos` is consumed; the buffer is shifted once, at the end.
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            if self.skipping {
                // Resynchronise on the next header, as the codec would.
                match memchr::memmem::find(rest, HEADER) {
                    Some(n) => {
                        pos += n;
                        self.skipping = false;
                        continue;
                    }
                    None => {
                        pos += rest.len() - header_prefix(rest);
                        break;
                    }
                }
            }
            let Some(hdr_end) = memchr::memmem::find(rest, b"\r\n\r\n") else {
                // No complete header block yet; do not hoard garbage without one.
                if rest.len() > 64 * 1024 {
                    pos += memchr::memmem::rfind(rest, HEADER)
                        .unwrap_or(rest.len() - header_prefix(rest));
                }
                break;
            };
            let body_start = hdr_end + 4;
            let len = content_length(&rest[..hdr_end]).filter(|&n| n <= MAX_MESSAGE);
            let Some(len) = len else {
                tracing::error!("dropped a message without a valid Content-Length header");
                pos += body_start;
                self.skipping = true;
                continue;
            };
            if rest.len() < body_start + len {
                break;
            }
            let body = &rest[body_start..body_start + len];
            pos += body_start + len;
            let body = match judge(body) {
                Verdict::Pass => body.to_vec(),
                Verdict::Replace(b) => b,
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
}

/// Copies `input` to `output`, frame by frame, leaving out what tower-lsp-server could not
/// decode. Ends (closing `output`) at the end of `input`.
pub async fn filter(mut input: impl AsyncRead + Unpin, mut output: DuplexStream) {
    let mut framer = Framer::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for frame in framer.push(&chunk[..n]) {
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
        let mut framer = Framer::default();
        let out = framer.push(&buf);
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
        assert_eq!(framer.pending().len(), 10);
    }

    /// A stray byte that is not UTF-8 (here in a field the request does not know) would end
    /// the codec's stream: the message goes on with U+FFFD in its place (the transport
    /// fuzzer: the request after it was never answered).
    #[test]
    fn a_body_that_is_not_utf8_goes_on_read_lossily() {
        let mut bad =
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","param3":{"capabili"#.to_vec();
        bad.push(0xd0);
        bad.extend(br#"ies":{}}}"#);
        let mut buf = format!("Content-Length: {}\r\n\r\n", bad.len()).into_bytes();
        buf.extend(&bad);
        buf.extend(frame(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#));
        let out = Framer::default().push(&buf);
        let bodies: Vec<String> = out
            .iter()
            .map(|f| {
                let s = String::from_utf8(f.clone()).expect("passed on as UTF-8");
                s.split_once("\r\n\r\n").unwrap().1.to_string()
            })
            .collect();
        assert_eq!(bodies.len(), 2, "{bodies:?}");
        assert!(bodies[0].contains("capabili\u{fffd}ies"), "{}", bodies[0]);
        assert!(serde_json::from_str::<Request>(&bodies[0]).is_ok());
        assert!(bodies[1].contains("\"id\":3"));
    }

    /// A header cut by a read boundary right after garbage is found once the rest arrives.
    #[test]
    fn garbage_then_a_split_header_keeps_the_message() {
        let mut whole = b"garbage\r\n\r\n".to_vec();
        whole.extend(frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#));
        let cut = b"garbage\r\n\r\nCont".len();
        let mut framer = Framer::default();
        assert!(framer.push(&whole[..cut]).is_empty());
        assert_eq!(framer.pending(), b"Cont");
        assert_eq!(framer.push(&whole[cut..]).len(), 1);
        assert!(framer.pending().is_empty());
    }

    /// Garbage after a bad header is skipped up to the next header however many reads it
    /// spans (found by the fuzzer: the next read's garbage was taken for the start of a
    /// header block, and the message after it was lost).
    #[test]
    fn garbage_over_several_reads_is_skipped_to_the_next_header() {
        let mut whole = b"junk\r\n\r\nfoo: bar".to_vec();
        whole.extend(frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#));
        let cut = b"junk\r\n\r\nfoo: b".len();
        let mut framer = Framer::default();
        assert!(framer.push(&whole[..cut]).is_empty());
        assert_eq!(framer.push(&whole[cut..]).len(), 1);
        assert!(framer.pending().is_empty());
        assert_eq!(Framer::default().push(&whole).len(), 1);
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
