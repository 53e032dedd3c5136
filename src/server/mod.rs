//! The language server face: `otel-lsp server`, JSON-RPC over stdio (tower-lsp-server).
//!
//! stdout carries only the protocol; logs go to stderr (`--log-level`, or `OTEL_LSP_LOG`,
//! default `info`). Three kinds of threads cooperate:
//!
//! - the protocol loop (a current-thread tokio runtime) runs the thin handlers of
//!   `backend.rs`: rope edits and lookups only;
//! - the linting worker (`worker.rs`) owns the parsed documents, re-parses incrementally,
//!   runs the engine and publishes in order;
//! - the indexer (`index.rs`) summarizes the workspace's files in the background.
//!
//! `shutdown` then `exit` ends with status 0; `exit` (or end of input) without `shutdown`
//! ends with status 1.

mod actions;
mod backend;
mod convert;
mod diagnostics;
mod document;
mod index;
mod project;
mod session;
mod transport;
mod worker;

/// The stdin filter's framing, for the fuzz harness.
#[doc(hidden)]
pub use transport::Framer;

use session::Shared;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;
use tower_lsp_server::{Client, LspService, Server};
use tracing_subscriber::EnvFilter;
use worker::{Outgoing, Worker};

/// Sets up logging to stderr: `--log-level` wins over `OTEL_LSP_LOG`; default `info`.
fn init_logging(level: Option<&str>) {
    let wanted = level
        .map(str::to_string)
        .or_else(|| std::env::var("OTEL_LSP_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let (filter, bad) = match EnvFilter::try_new(&wanted) {
        Ok(f) => (f, false),
        Err(_) => (EnvFilter::new("info"), true),
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    if bad {
        tracing::warn!("invalid log level {wanted:?}; using info");
    }
}

/// Sends what the worker produced to the client, in the order it was produced.
async fn forward(client: Client, mut rx: UnboundedReceiver<Outgoing>) {
    while let Some(msg) = rx.recv().await {
        match msg {
            Outgoing::Publish {
                uri,
                diagnostics,
                version,
            } => client.publish_diagnostics(uri, diagnostics, version).await,
            Outgoing::Show(typ, message) => client.show_message(typ, message).await,
            Outgoing::Refresh => {
                // A request: never let a client that does not answer hold up publishing.
                let c = client.clone();
                tokio::spawn(async move {
                    if let Err(e) = c.workspace_diagnostic_refresh().await {
                        tracing::debug!("workspace/diagnostic/refresh: {e}");
                    }
                });
            }
        }
    }
}

/// `otel-lsp server`: logging to stderr at `log_level` (else `OTEL_LSP_LOG`, else `info`),
/// then one session over stdin and stdout.
pub fn run(log_level: Option<&str>) -> ExitCode {
    init_logging(log_level);
    match serve(tokio::io::stdin(), tokio::io::stdout()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            tracing::info!("exit without shutdown");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("otel-lsp: {e}");
            ExitCode::from(2)
        }
    }
}

/// One session: JSON-RPC read from `input` (through `transport::filter`), written to
/// `output`, until `exit` or the end of `input`. Whether the client shut down first; `Err`
/// when the runtime or the worker thread cannot start. Blocks the calling thread, which
/// must not be inside a tokio runtime (the session runs on a current-thread runtime of its
/// own). `run` serves stdio; the fuzz harness serves in-memory pipes.
#[doc(hidden)]
pub fn serve<I, O>(input: I, output: O) -> Result<bool, String>
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let shared = Arc::new(Shared::new());
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = Worker::new(shared.clone(), out_tx);
    // The worker drops `done` when it returns (or unwinds): `serve` waits for that, boundedly.
    let (done, worker_done) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::Builder::new()
        .name("otel-lsp-worker".into())
        .spawn(move || {
            let _done = done;
            worker.run()
        })
        .map_err(|e| format!("cannot start the worker thread: {e}"))?;

    let state = shared.clone();
    runtime.block_on(async move {
        let (service, socket) = LspService::build(move |client| {
            tokio::spawn(forward(client.clone(), out_rx));
            backend::Backend::new(client, state)
        })
        .custom_method(
            transport::INVALID_REQUEST,
            backend::Backend::invalid_request,
        )
        .finish();
        // Malformed input must not end the session: see `transport`.
        let (filtered_input, filtered) = tokio::io::duplex(1 << 20);
        tokio::spawn(transport::filter(input, filtered));
        Server::new(filtered_input, output, socket)
            .serve(service)
            .await;
    });
    shared.stop_worker();
    // The worker stops after the check it is in: wait for it (a session that ends leaves no
    // thread behind), but not longer than a second. Do not wait for the indexer or a
    // blocked stdin reader: the protocol is over.
    if let Err(std::sync::mpsc::RecvTimeoutError::Disconnected) =
        worker_done.recv_timeout(std::time::Duration::from_secs(1))
    {
        let _ = worker.join();
    }
    runtime.shutdown_background();
    Ok(shared.shut_down.load(Ordering::SeqCst))
}
