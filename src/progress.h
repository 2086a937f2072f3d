/* progress.h: how far a job is. Items total, complete (judged by overlap
 * labelers), in progress (a judgment or a live lease, not complete) and
 * untouched; judgments, skips and live leases; per labeler their
 * judgments, skips and median seconds per task; and the judging rate over
 * the last hour, per minute. */
#ifndef ARBITER_PROGRESS_H
#define ARBITER_PROGRESS_H

#include "db.h"

#include <jansson.h>
#include <stdint.h>

/* The progress of job_id (with the given overlap) at now_ms, as JSON (new
 * reference in *out). 0 or ERR_DB. Reads only; thread-safe per reader. */
int progress_json(struct db_conn *c, int64_t job_id, int overlap, int64_t now_ms, json_t **out);

/* The median of v[0..n) (sorted ascending); 0 when n == 0. Pure. */
double progress_median(const double *v, size_t n);

#endif
