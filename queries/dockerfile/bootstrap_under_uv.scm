; No syntax pattern: judged on the launcher model of the Dockerfile (Rule::scan).
