; No syntax pattern: judged on the module facts of a gunicorn config module (Rule::scan).
