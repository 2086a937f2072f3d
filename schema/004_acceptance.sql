-- A job's acceptance rule (JSON, src/jobs.c): the report's pass/fail.
ALTER TABLE jobs ADD COLUMN acceptance TEXT;
