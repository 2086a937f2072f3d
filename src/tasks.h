/* tasks.h: leasing. A task is one item leased to one labeler for the
 * job's lease_seconds. Leasing runs in the writer, so the rules hold under
 * any concurrency: never an item the labeler judged, skipped or holds;
 * never more than overlap judgments plus live leases per item; items
 * closest to completion first; a labeler asking again while holding a
 * live lease gets that same task; expired leases go back to the pool. */
#ifndef ARBITER_TASKS_H
#define ARBITER_TASKS_H

#include "auth.h"
#include "db.h"
#include "items.h"

#include <jansson.h>
#include <stdint.h>

enum task_state { TASK_LEASED, TASK_JUDGED, TASK_SKIPPED, TASK_EXPIRED };

struct task {
    int64_t id, job_id, item_id, labeler_id;
    enum task_state state;
    int shown[ITEM_RESPONSES_MAX]; /* response indexes in the order shown */
    int n_shown;
    int64_t leased_at, expires_at, finished_at; /* ms */
    char ext_id[ITEM_ID_BYTES + 1];
    char *item; /* owned: the normalised item's JSON text, as stored */
    size_t item_len;
};

const char *task_state_name(enum task_state s);

/* The response indexes of a task's stored shown order ("[1,0,2]", written
 * by the lease) into idx; their count, or -1 when it is malformed or holds
 * more than max. */
int task_shown_parse(const char *s, int *idx, int max);

/* Leases the next task of job_id for labeler p: the oldest live lease p
 * holds other than task `after` (0: none), else a new one. A page
 * prefetches the task after the one on screen with after = its id, so a
 * labeler holds at most two live leases. Returns 0 with the task
 * in *out (out->id == 0 when nothing is left for this labeler: 204; free
 * with task_clear) and its view (task_render) appended to *view, or
 * ERR_CONFLICT (*why: the job is not open), ERR_FORBIDDEN (a manager who
 * is not a member), ERR_NOT_FOUND, ERR_DB (also when the task could not
 * be rendered: then no lease was written). */
int task_lease(struct db *db, int64_t job_id, const struct principal *p, int64_t after,
               struct task *out, struct buf *view, const char **why);

/* items.claims += dc and items.judged += dj for item_id: how leases,
 * judgments and reviews take and give back an item's slots. Writer only.
 * 0 or ERR_DB. */
int task_claim(struct db_conn *c, int64_t item_id, int dc, int dj);

/* Ends lease task_id of item_id (state expired) and gives its claim back,
 * if it is still leased; *released (may be NULL) says whether it was.
 * Writer only. 0 or ERR_DB. */
int task_release(struct db_conn *c, int64_t task_id, int64_t item_id, int *released);

/* A task's state and owners, without its item: what a write checks. */
struct task_peek {
    enum task_state state;
    int64_t labeler_id, item_id, job_id, judgment_id;
};

/* Reads it on c. 0, ERR_NOT_FOUND, ERR_DB. */
int task_peek(struct db_conn *c, int64_t id, struct task_peek *out);

/* Loads task id with its item (0, ERR_NOT_FOUND, ERR_DB). Free with
 * task_clear. */
int task_load(struct db_conn *c, int64_t id, struct task *out);
void task_clear(struct task *t);

/* Appends the blind view of a task for its labeler to out, as JSON text:
 * item id, prompt or messages, and response ids and texts in the order
 * shown; never models, metadata, reference or gold. The values are copied
 * from the stored item text, not parsed and dumped again (the lease's
 * answer is the loop's hottest path). 0, or ERR_DB (out of memory, or the
 * stored item is malformed) with out as it was. */
int task_render(const struct task *t, struct buf *out);

/* Skips task id (its labeler only) with an optional reason. Skipping twice
 * is the same skip. ERR_NOT_FOUND, ERR_CONFLICT (*why: already judged). */
int task_skip(struct db *db, int64_t id, const struct principal *p, const char *reason,
              const char **why);

#endif
