; An import statement that names `auto_instrumentation`: where programmatic auto-instrumentation
; (`initialize`, the module itself, or its `sitecustomize`) enters the module. Rust finds the
; first activation and the framework bindings before it from the whole module's facts.
((import_statement) @import
  (#match? @import "auto_instrumentation"))

((import_from_statement) @import
  (#match? @import "auto_instrumentation"))
