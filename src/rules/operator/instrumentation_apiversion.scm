; A mapping pair `apiVersion:` whose value names the `opentelemetry.io` group; Rust checks that
; it is the document's own apiVersion, that the document is an Instrumentation, and the version.
(block_mapping_pair
  key: (_) @_key
  value: (_) @value
  (#any-of? @_key "apiVersion" "\"apiVersion\"" "'apiVersion'")
  (#match? @value "opentelemetry\\.io/")) @pair
