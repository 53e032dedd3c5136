; No syntax pattern: judged on the uWSGI options of the ini file or command line (Rule::scan).
