; A mapping pair `endpoint:` or `value:` whose value mentions 4317 (an Instrumentation's exporter
; endpoint, an env entry's value); Rust decides whether it is the effective OTLP endpoint of an
; Operator-injected Python process.
((block_mapping_pair
   key: (_) @_key
   value: (_) @value) @pair
  (#match? @_key "^[\"']?(endpoint|value)[\"']?$")
  (#match? @value "4317"))
((flow_pair
   key: (_) @_key
   value: (_) @value) @pair
  (#match? @_key "^[\"']?(endpoint|value)[\"']?$")
  (#match? @value "4317"))
