//! OpenTelemetry Operator rules (rules.md §1, §4): inject annotations, Instrumentation
//! resources and what the Operator injects.
//!
//! `model` holds the Operator model the rules share (annotation keys and places, value
//! resolution helpers, OTLP endpoints and the injected Python environment); `edit` the YAML
//! text edits their quick fixes are made of.

pub mod ambiguous_instrumentation_true;
pub mod annotation_namespace_mismatch;
pub mod apply_order;
pub mod collector_endpoint_host;
pub mod edit;
pub mod inject_annotation_invalid_value;
pub mod inject_annotation_wrong_location;
pub mod inject_language_mismatch;
pub mod instrumentation_apiversion;
pub mod instrumentation_applied_after_workload;
pub mod instrumentation_missing_endpoint;
pub mod model;
pub mod namespaces;
pub mod operator_container_selection;
pub mod python_operator_endpoint_4317;
pub mod python_operator_grpc_protocol;
pub mod python_platform_musl;
pub mod pythonpath_conflict;
