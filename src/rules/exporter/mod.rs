//! Exporter rules (rules.md §5): OTLP endpoints, ports, paths and schemes in code, env and
//! command lines, and the component names the SDK loads by name.

pub mod otlp_endpoint_scheme;
pub mod otlp_http_endpoint_path;
pub mod otlp_port_protocol_mismatch;
pub mod unknown_otel_component;
