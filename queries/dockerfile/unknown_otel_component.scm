; No syntax pattern: judged on the environment model (Rule::scan) — OTEL_* component names
; in every env scope and opentelemetry-instrument flag.
