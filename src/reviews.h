/* reviews.h: a lead's (or an admin's) accept or reject of one judgment,
 * with an optional reason. Every decision is kept (the reviews table) and
 * audited; the judgment carries the current state. Rejecting gives the
 * item's slot back to the pool: another labeler, never the same one, may
 * take it, and the rejected judgment leaves the exports (unless review=all)
 * and the report. A judgment rejected and then accepted again takes its
 * slot back only while the item has one free. Each decision that changes
 * the state takes the job's next seq, so incremental exports see it. */
#ifndef ARBITER_REVIEWS_H
#define ARBITER_REVIEWS_H

#include "auth.h"
#include "db.h"

#include <jansson.h>
#include <stdint.h>

enum review_decision { REVIEW_ACCEPT, REVIEW_REJECT };

/* Parses "accept" or "reject"; 0 or ERR_INVALID. */
int review_decision_parse(const char *s, enum review_decision *out);

/* Reviews judgment id as p, who must manage its job (else ERR_NOT_FOUND:
 * the judgment does not exist for them). reason may be NULL. The same
 * decision again changes nothing (retry-safe): *changed says whether this
 * one did. ERR_CONFLICT with *why: the job is closed, or an accepted
 * again judgment's item has no slot left. ERR_DB. Thread-safe. */
int review_judgment(struct db *db, int64_t id, const struct principal *p,
                    enum review_decision decision, const char *reason, const char *addr,
                    int *changed, const char **why);

/* Rejects every judgment of labeler_id in job_id not rejected yet (each
 * as review_judgment would, with reason), gives their live leases back to
 * the pool and removes them from the job's members, in one write: a
 * labeler found unreliable, taken out with their work. *rejected and
 * *released count what changed (0 and 0 when done before: retry-safe).
 * p must manage the job (else ERR_NOT_FOUND); ERR_CONFLICT with *why on a
 * closed job, or when a judgment cannot change. Thread-safe. */
int review_labeler(struct db *db, int64_t job_id, int64_t labeler_id, const struct principal *p,
                   const char *reason, const char *addr, int *rejected, int *released,
                   const char **why);

/* The reviews of judgment id, oldest first: [{"decision", "reason",
 * "revision", "reviewer", "at"}] (new reference), or NULL on error. */
json_t *review_list(struct db_conn *c, int64_t judgment_id);

#endif
