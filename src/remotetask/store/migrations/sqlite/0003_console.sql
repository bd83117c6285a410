-- The operator's console (issue 12): exception types and every failed attempt, a paused
-- flag for cron jobs, sorts by task, start and end, and UI sessions in the database.
ALTER TABLE jobs ADD COLUMN error_type TEXT;
ALTER TABLE jobs ADD COLUMN error_group TEXT;
ALTER TABLE jobs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cron_runs ADD COLUMN error_type TEXT;

-- Sorting the jobs table by task, start or end pages through these; a task never changes,
-- and only rows that have a start (or an end) are in the partial indexes.
CREATE INDEX jobs_task ON jobs (service_id, task, id);
CREATE INDEX jobs_started ON jobs (service_id, started, id) WHERE started IS NOT NULL;
CREATE INDEX jobs_ended ON jobs (service_id, ended, id, status) WHERE ended IS NOT NULL;
-- Triage groups errored jobs; only rows entering or leaving 'error' touch this index.
CREATE INDEX jobs_errors ON jobs (service_id, task, error_type, error_group, id, ended)
    WHERE status = 'error';

-- Every failed attempt of a job, kept when the job is retried (the attempt history).
CREATE TABLE job_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started REAL,
    ended REAL NOT NULL,
    error TEXT,
    error_type TEXT,
    traceback TEXT
);
CREATE INDEX job_errors_job ON job_errors (job_id, id);

-- Logged-in UI sessions, shared by every server process and kept across restarts. The
-- key is the SHA-256 of the session id (the cookie holds the id); the token is stored
-- XORed with a pad that only the cookie holds.
CREATE TABLE ui_sessions (
    id_hash TEXT PRIMARY KEY,
    csrf TEXT NOT NULL,
    sealed_token TEXT NOT NULL,
    created REAL NOT NULL,
    seen REAL NOT NULL,
    flashes TEXT NOT NULL DEFAULT '[]'
);

-- Failed logins per client address, for the login rate limit.
CREATE TABLE ui_login_failures (
    client TEXT PRIMARY KEY,
    window_start REAL NOT NULL,
    failures INTEGER NOT NULL
);
