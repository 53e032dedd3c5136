//! Process-model rules (rules.md §3): pre-fork servers and reloaders — gunicorn, uvicorn,
//! uWSGI — under zero-code instrumentation.

pub mod gunicorn_multiworker_zero_code;
pub mod gunicorn_post_fork_missing_init;
pub mod prometheus_reader_prefork;
pub mod uvicorn_multiworker_under_instrumentation;
pub mod uvicorn_reload_under_instrumentation;
pub mod uwsgi_otel_without_postfork;
