; A pair of an `annotations:`, `labels:` or Helm values `podAnnotations:` mapping whose key is an
; `instrumentation.opentelemetry.io/…` annotation; Rust decides whether it is an inject-* key at
; a place the Operator (or the API server) reads, and judges its value.
; The Operator annotation rules share this query (one pass serves them all); each judge keeps
; the holders it reads (`model::holder_is`).
(block_mapping_pair
  key: (_) @_map
  value: (block_node
    (block_mapping
      (block_mapping_pair
        key: (_) @_key) @pair))
  (#any-of? @_map "annotations" "labels" "podAnnotations" "podLabels" "\"annotations\"" "\"labels\"" "'annotations'" "'labels'")
  (#match? @_key "instrumentation\\.opentelemetry\\.io/"))
([(block_mapping_pair
    key: (_) @_map
    value: (flow_node
      (flow_mapping
        (flow_pair
          key: (_) @_key) @pair)))
  (flow_pair
    key: (_) @_map
    value: (flow_node
      (flow_mapping
        (flow_pair
          key: (_) @_key) @pair)))]
  (#any-of? @_map "annotations" "labels" "podAnnotations" "podLabels" "\"annotations\"" "\"labels\"" "'annotations'" "'labels'")
  (#match? @_key "instrumentation\\.opentelemetry\\.io/"))
