/* browse.h: what a lead sees of a job's items between import and report:
 * the items list with its filters and sorts, each item's status (untouched,
 * in progress, complete, stuck) and the counters it is filtered on, kept
 * on the item by item_refresh (schema/008_browse.sql), and releasing an
 * item's skips so its skippers may take it again.
 *
 * The list reads at most BROWSE_SCAN items of the sort's index per request
 * whatever the filters, so a page of a million-item job costs the same as
 * one of a small job; a filter that matches rarely answers with fewer
 * items (or none) and a cursor to read on from. */
#ifndef ARBITER_BROWSE_H
#define ARBITER_BROWSE_H

#include "auth.h"
#include "db.h"
#include "jobs.h"

#include <jansson.h>
#include <stdint.h>

#define BROWSE_SCAN 5000     /* items read per request, at most */
#define BROWSE_LIMIT_MAX 500 /* items answered per request, at most */
#define BROWSE_CURSOR_MAX 64
#define BROWSE_META_MAX 4 /* metadata filters in one request */

enum browse_sort { SORT_ID, SORT_DISAGREEMENT, SORT_ACTIVITY };

/* A list request, parsed from the query string by the API. Strings are
 * borrowed; NULL (or -1 for the integers and tri-states) is "not
 * filtered". */
struct browse_query {
    enum browse_sort sort;
    const char *cursor; /* from a previous answer's "next" */
    int limit;
    const char *status; /* untouched, in_progress, complete, stuck */
    const char *q;      /* text in the prompt, the messages or a response */
    const char *model;  /* a response's model, exactly */
    const char *meta_key[BROWSE_META_MAX], *meta_value[BROWSE_META_MAX]; /* metadata.KEY=VALUE */
    int n_meta;
    int64_t labeler_id;       /* who judged it (a counted judgment); 0: any */
    double min_disagreement;  /* < 0: any */
    int has_skips, has_flags; /* -1 any, 0 none, 1 some */
    const char *review;       /* pending, accepted, rejected */
};

/* Parses a cursor for sort; 0 or ERR_INVALID. */
int browse_cursor_parse(const char *s, enum browse_sort sort, double *key, int64_t *id);

/* The page of job_id's items for q: {"items": [{"key", "excerpt",
 * "models", "status", "stuck"?, "counts": {"judgments", "leases", "skips",
 * "flags"}, "disagreement", "review": {"pending", "accepted", "rejected"},
 * "last_activity"}], "next": cursor or null, "scanned": n}. 0 (*out a new
 * reference), ERR_INVALID (a bad cursor), ERR_DB. */
int items_browse(struct db_conn *c, int64_t job_id, int overlap, const struct browse_query *q,
                 json_t **out);

/* Brings item_id's counters (skips, flags, reviews), last activity (now,
 * ms) and, when answers_changed, its disagreement up to date. cfg: the
 * job's questions when the caller has them parsed (NULL: read them).
 * Writer only; 0 or ERR_DB. */
int item_refresh(struct db_conn *c, int64_t item_id, int answers_changed,
                 const struct job_config *cfg, int64_t now);

/* Computes the disagreement still missing after migration 008 (items
 * judged before it), in writes of up to 1000 items. 0 or ERR_DB. */
int items_refresh_stale(struct db *db);

/* An item's status from its counters (as stored on it; skips not
 * released, judgments rejected) and whether it is stuck: "complete",
 * "stuck", "untouched" or "in_progress". Pure. */
const char *item_status_name(int judged, int claims, int skips, int rejected, int stuck,
                             int overlap);

/* Whether an item that needs more judgments (judged < overlap, claims) can
 * still get them from job_id's members: fills why (a sentence) when it
 * cannot and returns 1; 0 when it can; < 0 (ERR_DB) on failure. */
int item_stuck(struct db_conn *c, int64_t job_id, int64_t item_id, int overlap, int judged,
               int claims, char *why, size_t whyn);

/* Releases the skips of job_id's items keys[0..n) (imported ids), so those
 * who skipped them may take them again; audited as item_release. The
 * number of skips released in *released. 0, ERR_NOT_FOUND (no such item:
 * *missing is its index), ERR_CONFLICT (the job is closed), ERR_DB. */
int items_release(struct db *db, int64_t job_id, const char *const *keys, int n, int64_t actor_id,
                  const char *addr, int *released, int *missing);

/* The first 200 characters of an item's prompt (or its last message), as
 * a new JSON string; shown where an item is listed. */
json_t *item_excerpt(json_t *item);

#endif
