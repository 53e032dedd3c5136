; A mapping pair whose key is an `instrumentation.opentelemetry.io/…` annotation; Rust decides
; whether it is an inject-* key at a place the Operator (or the API server) reads, and judges its value.
((block_mapping_pair
   key: (_) @_key) @pair
  (#match? @_key "instrumentation\\.opentelemetry\\.io/"))
((flow_pair
   key: (_) @_key) @pair
  (#match? @_key "instrumentation\\.opentelemetry\\.io/"))
