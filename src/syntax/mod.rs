//! Language-specific views of syntax trees: chunking, Python module facts, YAML objects.

pub mod chunk;
pub mod python;
pub mod yaml;
