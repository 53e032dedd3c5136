; (a) A `name:` pair whose value mentions `PYTHONPATH` (an env entry); (b) a `configMapRef:`
; pair (an `envFrom:` item). Rust decides whether the entry sits in a container the Operator
; injects Python into, and whether it sets PYTHONPATH with `valueFrom` or supplies it from a
; ConfigMap of the workspace.
([(block_mapping_pair
    key: (_) @_key
    value: (_) @_value)
  (flow_pair
    key: (_) @_key
    value: (_) @_value)] @name
  (#any-of? @_key "name" "\"name\"" "'name'")
  (#match? @_value "PYTHONPATH"))
([(block_mapping_pair
    key: (_) @_ref)
  (flow_pair
    key: (_) @_ref)] @ref
  (#any-of? @_ref "configMapRef" "\"configMapRef\"" "'configMapRef'"))
