-- Flags (src/flags.c): a labeler's note that an item is broken, unsafe or
-- needs expertise (or another reason, in words), raised from their task;
-- one of each kind per task. And a labeler's comment on their judgment.
CREATE TABLE flags (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs(id),
    item_id    INTEGER NOT NULL REFERENCES items(id),
    task_id    INTEGER NOT NULL REFERENCES tasks(id),
    labeler_id INTEGER NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL CHECK (kind IN ('broken', 'unsafe', 'needs_expertise', 'other')),
    note       TEXT,
    created_at INTEGER NOT NULL,              -- Unix ms
    UNIQUE (task_id, kind)
);
CREATE INDEX flags_item ON flags(item_id);
ALTER TABLE judgments ADD COLUMN comment TEXT;
