-- The first schema: services, jobs, cron runs, API tokens and live workers.
CREATE TABLE services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (site, name)
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id INTEGER NOT NULL REFERENCES services (id),
    task TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    traceback TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    progress REAL,
    progress_message TEXT,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    schedule TEXT,
    next_call REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    claim TEXT,
    worker TEXT,
    lease_until REAL,
    idempotency_key TEXT
);

-- One index serves claims (oldest waiting first), status counts, filtered lists and
-- lease recovery; every extra index costs each status change another page write.
CREATE INDEX jobs_service_status ON jobs (service_id, status, id);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (service_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE cron_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    scheduled_for REAL NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    result TEXT,
    error TEXT,
    traceback TEXT,
    claim TEXT,
    lease_until REAL,
    UNIQUE (job_id, scheduled_for)
);

-- API tokens: only a hash of the secret is kept.
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    sites TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,
    revoked REAL,
    last_used REAL
);

-- Worker processes and their heartbeats: who is alive and what they serve.
CREATE TABLE workers (
    name TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    services TEXT NOT NULL,
    started REAL NOT NULL,
    last_heartbeat REAL NOT NULL
);
