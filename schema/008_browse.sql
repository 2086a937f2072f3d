-- Browsing a job's items (src/items.c, items_browse): what the items list
-- filters and sorts on, kept on the item by item_refresh after every change
-- to its judgments, skips, flags or reviews, so a page of a million-item job
-- reads an index instead of every item's tasks.
--   skips, flags        tasks skipped (and not released), flags raised
--   accepted, rejected  judgments whose review is accepted / rejected
--   disagreement        0..1 over its counted judgments (questions.c); NULL
--                       with fewer than two; -1 until computed (an item
--                       judged before this migration: computed at start-up)
--   last_at             Unix ms of its last judgment, revision, skip, flag,
--                       review or release; NULL while none
ALTER TABLE items ADD COLUMN skips INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN accepted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN disagreement REAL;
ALTER TABLE items ADD COLUMN last_at INTEGER;

UPDATE items SET
    skips = (SELECT count(*) FROM tasks t WHERE t.item_id = items.id AND t.state = 'skipped'),
    flags = (SELECT count(*) FROM flags f WHERE f.item_id = items.id),
    accepted = (SELECT count(*) FROM judgments g WHERE g.item_id = items.id AND g.review = 'accepted'),
    rejected = (SELECT count(*) FROM judgments g WHERE g.item_id = items.id AND g.review = 'rejected'),
    disagreement = CASE WHEN (SELECT count(*) FROM judgments g WHERE g.item_id = items.id
                              AND g.review IS NOT 'rejected') >= 2 THEN -1 END,
    last_at = (SELECT max(at) FROM (
        SELECT max(g.updated_at) AS at FROM judgments g WHERE g.item_id = items.id
        UNION ALL SELECT max(t.finished_at) FROM tasks t WHERE t.item_id = items.id
        UNION ALL SELECT max(f.created_at) FROM flags f WHERE f.item_id = items.id))
WHERE id IN (SELECT item_id FROM tasks);

-- A job's items in id order (the list's default sort), and what its
-- progress counts (items, complete, judgments) read without the rows.
CREATE INDEX items_job ON items(job_id, id);
CREATE INDEX items_progress ON items(job_id, judged, rejected);
CREATE INDEX items_disagreement ON items(job_id, disagreement, id) WHERE disagreement IS NOT NULL;
CREATE INDEX items_activity ON items(job_id, last_at, id) WHERE last_at IS NOT NULL;
CREATE INDEX items_stale ON items(id) WHERE disagreement < 0;
