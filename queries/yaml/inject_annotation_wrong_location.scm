; A mapping pair whose key is an `instrumentation.opentelemetry.io/…` annotation; Rust decides
; which object and which place it sits in, and whether the Operator reads it there.
((block_mapping_pair
   key: (_) @_key) @pair
  (#match? @_key "instrumentation\\.opentelemetry\\.io/"))
((flow_pair
   key: (_) @_key) @pair
  (#match? @_key "instrumentation\\.opentelemetry\\.io/"))
