; (a) A pair of an `annotations:` mapping whose key names `otel-python-platform`; (b) an
; `image:` pair whose value mentions `alpine`. Rust decides whether the annotation sits on a pod
; or Namespace with an unsupported value, and whether the image is a container the Operator
; injects Python into without the musl build.
(block_mapping_pair
  key: (_) @_map
  value: (block_node
    (block_mapping
      (block_mapping_pair
        key: (_) @_key) @platform))
  (#any-of? @_map "annotations" "\"annotations\"" "'annotations'")
  (#match? @_key "otel-python-platform"))
([(block_mapping_pair
    key: (_) @_map
    value: (flow_node
      (flow_mapping
        (flow_pair
          key: (_) @_key) @platform)))
  (flow_pair
    key: (_) @_map
    value: (flow_node
      (flow_mapping
        (flow_pair
          key: (_) @_key) @platform)))]
  (#any-of? @_map "annotations" "\"annotations\"" "'annotations'")
  (#match? @_key "otel-python-platform"))
([(block_mapping_pair
    key: (_) @_key
    value: (_) @value)
  (flow_pair
    key: (_) @_key
    value: (_) @value)] @image
  (#any-of? @_key "image" "\"image\"" "'image'")
  (#match? @value "alpine"))
