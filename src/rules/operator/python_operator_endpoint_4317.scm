; A mapping pair `endpoint:` or `value:` whose value mentions 4317 (an Instrumentation's exporter
; endpoint, an env entry's value); Rust decides whether it is the effective OTLP endpoint of an
; Operator-injected Python process.
([(block_mapping_pair
    key: (_) @_key
    value: (_) @value)
  (flow_pair
    key: (_) @_key
    value: (_) @value)] @pair
  (#any-of? @_key "endpoint" "value" "\"endpoint\"" "\"value\"" "'endpoint'" "'value'")
  (#match? @value "4317"))
