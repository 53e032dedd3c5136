//! Process-model rules (rules.md §2–3): pre-fork servers and reloaders — gunicorn, uvicorn,
//! uWSGI, Celery workers — under zero-code or programmatic instrumentation.

pub mod celery_instrument_outside_worker_init;
pub mod gunicorn_multiworker_zero_code;
pub mod gunicorn_post_fork_missing_init;
pub mod prometheus_reader_prefork;
pub mod uvicorn_multiworker_under_instrumentation;
pub mod uvicorn_reload_under_instrumentation;
pub mod uwsgi_otel_without_postfork;
