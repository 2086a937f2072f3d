-- When a judged task was on screen, and for how long the labeler was at it
-- (src/judgments.c). A page prefetches the next task while the labeler
-- works on the current one, so a lease's time is not the labeler's time.
-- shown_at: Unix ms the task appeared (NULL: the client did not say);
-- active_ms: time the page was visible and in use between shown and
-- submitted (NULL: unknown).
ALTER TABLE judgments ADD COLUMN shown_at INTEGER;
ALTER TABLE judgments ADD COLUMN active_ms INTEGER;
