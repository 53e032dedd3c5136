//! Rules over YAML: Kubernetes manifests and OpenTelemetry Operator resources.

pub mod inject_annotation_invalid_value;
pub mod inject_annotation_wrong_location;
pub mod python_operator_endpoint_4317;
