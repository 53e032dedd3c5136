; No syntax pattern: judged on the launcher model (Rule::scan) — gunicorn under
; opentelemetry-instrument with more than one worker, in any launcher or config module.
