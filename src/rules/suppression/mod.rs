//! Suppression rules: the `# noqa` comments themselves (`engine::suppress` reads them).
//! Not an OpenTelemetry pitfall, so apart from the catalogue's topics: a `# noqa: OTEL001`
//! that silences nothing hides the next real finding on its line, as ruff's RUF100 says.

pub mod unused_noqa;
