-- A cron firing whose task raised is run again under the task's retry policy, on the
-- same cron_runs row (still one row per job and scheduled time): attempts counts its
-- runs, and retry_at says when the next one may start while it waits (ended is NULL).
ALTER TABLE cron_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cron_runs ADD COLUMN retry_at REAL;
CREATE INDEX cron_runs_retry ON cron_runs (retry_at) WHERE retry_at IS NOT NULL;
