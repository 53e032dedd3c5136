//! Rules over Python source.

pub mod flask_debug_reloader;
pub mod gunicorn_post_fork_missing_init;
pub mod initialize_after_framework_import;
pub mod otlp_endpoint_scheme;
pub mod otlp_http_endpoint_path;
pub mod otlp_port_protocol_mismatch;
pub mod prometheus_reader_prefork;
pub mod uvicorn_multiworker_under_instrumentation;
pub mod uvicorn_reload_under_instrumentation;
