-- The labeling loop: jobs, their members, imported items, leased tasks and
-- judgments with every revision kept. Job times are Unix seconds; task and
-- judgment times are Unix milliseconds, so durations per task are exact.

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    owner_id        INTEGER NOT NULL REFERENCES users(id),
    name            TEXT NOT NULL,
    instructions    TEXT NOT NULL DEFAULT '',
    questions       TEXT NOT NULL,            -- JSON array, normalised (src/jobs.c)
    questions_rev   INTEGER NOT NULL DEFAULT 1, -- bumped whenever questions change
    overlap         INTEGER NOT NULL CHECK (overlap BETWEEN 1 AND 20),
    lease_seconds   INTEGER NOT NULL CHECK (lease_seconds > 0),
    randomize_order INTEGER NOT NULL CHECK (randomize_order IN (0, 1)),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paused', 'closed')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX jobs_owner ON jobs(owner_id);

CREATE TABLE job_members (
    job_id   INTEGER NOT NULL REFERENCES jobs(id),
    user_id  INTEGER NOT NULL REFERENCES users(id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, user_id)
) WITHOUT ROWID;
CREATE INDEX job_members_user ON job_members(user_id);

-- claims = judgments + leases not yet expired (the writer sweeps expired
-- leases before it leases); an item is in the pool while claims < overlap.
CREATE TABLE items (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    ext_id      TEXT NOT NULL,               -- the id from the import line
    data        TEXT NOT NULL,               -- normalised item JSON (src/items.c)
    n_responses INTEGER NOT NULL,
    response_ids TEXT NOT NULL,              -- JSON array of the response ids, in order
    claims      INTEGER NOT NULL DEFAULT 0,
    judged      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (job_id, ext_id)
);
CREATE INDEX items_pool ON items(job_id, claims DESC, id);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    item_id     INTEGER NOT NULL REFERENCES items(id),
    labeler_id  INTEGER NOT NULL REFERENCES users(id),
    state       TEXT NOT NULL CHECK (state IN ('leased', 'judged', 'skipped', 'expired')),
    shown       TEXT NOT NULL,               -- JSON array: response indexes in the order shown
    leased_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    finished_at INTEGER,                     -- judged or skipped
    skip_reason TEXT,
    judgment_id INTEGER                      -- set when judged
);
CREATE INDEX tasks_item_labeler ON tasks(item_id, labeler_id);
CREATE INDEX tasks_job_labeler ON tasks(job_id, labeler_id);
CREATE INDEX tasks_live ON tasks(job_id, expires_at) WHERE state = 'leased';

-- The current version of each judgment; seq orders every change (first
-- submit or revision) within a job, for incremental exports. At most one
-- judgment per item and labeler, hence per task.
CREATE TABLE judgments (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    item_id     INTEGER NOT NULL REFERENCES items(id),
    labeler_id  INTEGER NOT NULL REFERENCES users(id),
    answers     TEXT NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE UNIQUE INDEX judgments_job_seq ON judgments(job_id, seq);
CREATE INDEX judgments_job_created ON judgments(job_id, created_at);
CREATE UNIQUE INDEX judgments_item_labeler ON judgments(item_id, labeler_id);

-- The earlier versions of revised judgments (the current one is in
-- judgments).
CREATE TABLE judgment_versions (
    judgment_id  INTEGER NOT NULL REFERENCES judgments(id),
    revision     INTEGER NOT NULL,
    answers      TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    PRIMARY KEY (judgment_id, revision)
) WITHOUT ROWID;
