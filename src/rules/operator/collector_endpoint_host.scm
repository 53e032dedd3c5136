; An env entry whose `name:` mentions ENDPOINT (its `value:` is read in Rust), or an `endpoint:`
; pair (an Instrumentation's exporter endpoint); Rust decides whether it is an OTLP endpoint the
; Operator's injected SDKs use, and judges its host against the workspace's Services and collectors.
([(block_mapping
    (block_mapping_pair
      key: (_) @_key
      value: (_) @name))
  (flow_mapping
    (flow_pair
      key: (_) @_key
      value: (_) @name))] @item
  (#any-of? @_key "name" "\"name\"" "'name'")
  (#match? @name "ENDPOINT"))
([(block_mapping_pair
    key: (_) @_ekey
    value: (_) @value)
  (flow_pair
    key: (_) @_ekey
    value: (_) @value)] @pair
  (#any-of? @_ekey "endpoint" "\"endpoint\"" "'endpoint'"))
