/* metrics.h: request counters and latency histograms per route, rendered in
 * the Prometheus text format for GET /metrics. Counters are updated with
 * atomic adds, so observing is lock-free and thread-safe. */
#ifndef ARBITER_METRICS_H
#define ARBITER_METRICS_H

#include "db.h"
#include "util.h"

#include <stddef.h>

struct metrics;

/* A metrics set for n routes named names[0..n-1] (borrowed, static), plus
 * one "other" route for everything unmatched. NULL on allocation failure. */
struct metrics *metrics_new(size_t n, const char *const *names);
void metrics_free(struct metrics *m);

/* Counts one request: route index (n for "other"), status, seconds taken. */
void metrics_observe(struct metrics *m, size_t route, int status, double seconds);

/* Appends the Prometheus exposition of m and of the database's write
 * counters (st may be NULL) to out. */
int metrics_render(struct metrics *m, const struct db_stats *st, struct buf *out);

#endif
