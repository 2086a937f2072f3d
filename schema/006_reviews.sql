-- Reviews (src/reviews.c): a lead's or an admin's accept or reject of one
-- judgment, every decision kept. judgments.review is the current state
-- (NULL: not reviewed yet). A rejected judgment gives its item's slot back
-- to the pool (items.claims and items.judged down by one) and leaves the
-- exports and the report; its labeler's task stays judged, so the item is
-- never leased to them again.
CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    judgment_id INTEGER NOT NULL REFERENCES judgments(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    decision    TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    reason      TEXT,
    revision    INTEGER NOT NULL,          -- the judgment's revision reviewed
    created_at  INTEGER NOT NULL           -- Unix ms
);
CREATE INDEX reviews_judgment ON reviews(judgment_id, id);
ALTER TABLE judgments ADD COLUMN review TEXT CHECK (review IN ('accepted', 'rejected'));
