; A mapping pair `value:` whose value mentions `grpc` (an env entry of an Instrumentation or a
; container); Rust decides whether it is a gRPC protocol or exporter an Operator-injected Python
; process would use.
(block_mapping_pair
  key: (_) @_key
  value: (_) @value
  (#any-of? @_key "value" "\"value\"" "'value'")
  (#match? @value "grpc")) @pair
