//! Rules over uWSGI ini files (and uWSGI command lines).

pub mod uwsgi_otel_without_postfork;
