/* judgments.h: submitting, revising and reading judgments. A judgment is a
 * labeler's answers for one task, checked exactly against the job's
 * questions. Submits are retry-safe: the same answers for the same task
 * return the judgment already stored. Revisions keep every version. */
#ifndef ARBITER_JUDGMENTS_H
#define ARBITER_JUDGMENTS_H

#include "auth.h"
#include "db.h"
#include "valid.h"

#include <jansson.h>
#include <stdint.h>

/* What the labeling page measured of a task (the "timing" of a submit):
 * seconds from when the task appeared to the submit, and of those the
 * seconds the page was visible and in use; < 0: not given. A page leases
 * the next task while the labeler works on the current one, so the lease's
 * age is not the labeler's time. */
struct judgment_timing {
    double shown_seconds, active_seconds;
};

/* A text answer that is the text of one of the item's responses (after
 * util_text_same) is no edit: an optional question's such answer is not
 * stored at all (it was a prefill left as it was), a required one's is
 * stored but exports and reports do not count it as a demonstration. */

/* A labeler's comment on their judgment: at most JUDGMENT_COMMENT_MAX
 * characters; it reaches the lead (item page, raw export). */
#define JUDGMENT_COMMENT_MAX 2000

/* Submits answers for task_id as labeler p, with timing (NULL: unknown)
 * and comment (NULL or "": none; a retry keeps the first).
 * Returns 0 with the stored
 * judgment's JSON in *out (new reference) and *created (0 when this was a
 * retry of a stored submit), ERR_INVALID
 * (problems in *pr), ERR_NOT_FOUND (no such task, or not p's),
 * ERR_CONFLICT (*why: job closed, task skipped, answered differently
 * already, lease expired and the item is complete), ERR_FORBIDDEN (no longer
 * a member). */
int judgment_submit(struct db *db, int64_t task_id, const struct principal *p, json_t *answers,
                    const struct judgment_timing *timing, const char *comment, json_t **out,
                    struct problems *pr, const char **why, int *created);

/* Revises judgment id (its labeler only, while the job is open), and its
 * comment (NULL: kept, "": removed). The same answers and comment again
 * change nothing; a new comment alone makes no new version. Errors as for
 * judgment_submit. */
int judgment_revise(struct db *db, int64_t id, const struct principal *p, json_t *answers,
                    const char *comment, struct problems *pr, const char **why);

/* The JSON of judgment id (new reference) as seen by p: its labeler, or
 * whoever manages the job (who also sees the labeler's name). versions:
 * include every revision. ERR_NOT_FOUND for anyone else. by_task: id is a
 * task id. */
int judgment_json(struct db_conn *c, int64_t id, int by_task, const struct principal *p,
                  int versions, json_t **out);

/* A labeler's own judgments in job_id, newest first: at most limit, of the
 * tasks before task `before` (0: from the newest); each {"id", "task_id",
 * "item_id", "revision", "submitted_at", "updated_at", "review",
 * "excerpt", "comment"}. *out is a new array; *next the cursor of the next
 * page, 0 at the end. */
int judgments_of_labeler(struct db_conn *c, int64_t job_id, int64_t labeler_id, int64_t before,
                         int limit, json_t **out, int64_t *next);

#endif
