/* reviews.c: accepting and rejecting judgments (see reviews.h). The check
 * of who may review runs on the reader; the decision itself is one writer
 * operation that re-reads the judgment and its job, so concurrent reviews,
 * revisions and leases cannot interleave with it. */
#include "reviews.h"

#include "audit.h"
#include "browse.h"
#include "jobs.h"
#include "tasks.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int review_decision_parse(const char *s, enum review_decision *out)
{
    if (strcmp(s, "accept") == 0)
        *out = REVIEW_ACCEPT;
    else if (strcmp(s, "reject") == 0)
        *out = REVIEW_REJECT;
    else
        return ERR_INVALID;
    return 0;
}

struct review_op {
    int64_t id, actor;
    enum review_decision decision;
    const char *reason, *addr, *why;
    int changed;
};

/* Applies op's decision to judgment op->id, without the audit entry: its
 * job in *job_id_out and revision in *revision_out. Writer only. */
static int apply(struct db_conn *c, struct review_op *op, int64_t *job_id_out,
                 int64_t *revision_out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_REVIEW_TARGET);
    int64_t job_id, item_id, revision, seq, now = util_now_ms();
    int overlap, rc, was_rejected, was_accepted;
    char status[16], state[16];
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
    }
    job_id = sqlite3_column_int64(st, 0);
    item_id = sqlite3_column_int64(st, 1);
    revision = sqlite3_column_int64(st, 3);
    db_col_text(st, 4, state, sizeof state);
    db_col_text(st, 5, status, sizeof status);
    overlap = sqlite3_column_int(st, 6);
    db_done(st);
    rc = 0;
    *job_id_out = job_id;
    *revision_out = revision;
    if (strcmp(status, "closed") == 0) {
        op->why = "the job is closed: its judgments can no longer be reviewed";
        return ERR_CONFLICT;
    }
    was_rejected = strcmp(state, "rejected") == 0;
    was_accepted = strcmp(state, "accepted") == 0;
    if ((op->decision == REVIEW_REJECT && was_rejected) ||
        (op->decision == REVIEW_ACCEPT && was_accepted))
        return 0; /* the same decision again: a retry */
    if (op->decision == REVIEW_REJECT) {
        rc = task_claim(c, item_id, -1, -1); /* the slot goes back to the pool */
    } else if (was_rejected) {
        if ((st = db_stmt(c, SQL_ITEM_RECLAIM)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, item_id);
        sqlite3_bind_int(st, 2, overlap);
        rc = db_step_done(st);
        if (rc == 0 && sqlite3_changes(c->h) != 1) {
            op->why = "the item has all the judgments it needs again: this one cannot come back";
            return ERR_CONFLICT;
        }
    }
    if (rc != 0 || (rc = db_int64(c, SQL_JUDGMENT_NEXT_SEQ, job_id, &seq)) != 0)
        return rc;
    if ((st = db_stmt(c, SQL_JUDGMENT_SET_REVIEW)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    sqlite3_bind_text(st, 2, op->decision == REVIEW_ACCEPT ? "accepted" : "rejected", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, seq);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    if ((st = db_stmt(c, SQL_REVIEW_INSERT)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    sqlite3_bind_int64(st, 2, op->actor);
    sqlite3_bind_text(st, 3, op->decision == REVIEW_ACCEPT ? "accept" : "reject", -1,
                      SQLITE_STATIC);
    if (op->reason != NULL)
        sqlite3_bind_text(st, 4, op->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, revision);
    sqlite3_bind_int64(st, 6, now);
    if ((rc = db_step_done(st)) != 0 || (rc = item_refresh(c, item_id, 1, NULL, now)) != 0)
        return rc;
    op->changed++;
    return 0;
}

static int review_write(struct db_conn *c, void *arg)
{
    struct review_op *op = arg;
    int64_t job_id = 0, revision = 0;
    char subject[32];
    json_t *detail;
    int rc = apply(c, op, &job_id, &revision);
    if (rc != 0 || op->changed == 0)
        return rc;
    snprintf(subject, sizeof subject, "judgment:%lld", (long long)op->id);
    detail = json_pack("{sssIsI}", "decision", op->decision == REVIEW_ACCEPT ? "accept" : "reject",
                       "job_id", (json_int_t)job_id, "revision", (json_int_t)revision);
    if (detail != NULL && op->reason != NULL)
        json_object_set_new(detail, "reason", json_string(op->reason));
    rc = audit_add(c, op->actor, "judgment_review", subject, op->addr, detail);
    json_decref(detail);
    return rc;
}

/* Whether p may review the judgments of job_id: those who manage it, and
 * to everyone else the job does not exist (ERR_NOT_FOUND). *closed (may be
 * NULL): the job is closed. Reads on c, then leaves the reader idle. */
static int may_review(struct db *db, struct db_conn *c, int64_t job_id, const struct principal *p,
                      int *closed)
{
    struct job j;
    int rc = job_load(c, job_id, &j);
    if (rc == 0) {
        rc = job_can_manage(&j, p) ? 0 : ERR_NOT_FOUND;
        if (closed != NULL)
            *closed = j.status == JOB_CLOSED;
        job_free_fields(&j);
    }
    db_reader_idle(db);
    return rc;
}

int review_judgment(struct db *db, int64_t id, const struct principal *p,
                    enum review_decision decision, const char *reason, const char *addr,
                    int *changed, const char **why)
{
    struct review_op op = {id, p->user_id, decision, reason, addr, NULL, 0};
    struct db_conn *c = db_reader(db);
    int64_t job_id = 0;
    int rc;
    *changed = 0;
    *why = NULL;
    if (c == NULL)
        return ERR_DB;
    if (db_int64(c, SQL_REVIEW_TARGET, id, &job_id) != 0)
        return ERR_NOT_FOUND;
    if ((rc = may_review(db, c, job_id, p, NULL)) != 0)
        return rc;
    rc = db_write(db, review_write, &op);
    *changed = op.changed;
    *why = op.why;
    return rc;
}

json_t *review_list(struct db_conn *c, int64_t judgment_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_REVIEW_LIST);
    json_t *arr;
    int rc;
    if (st == NULL)
        return NULL;
    arr = json_array();
    sqlite3_bind_int64(st, 1, judgment_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *reason = (const char *)sqlite3_column_text(st, 1);
        json_array_append_new(arr, json_pack("{sssosIsoss}", "decision",
                                             (const char *)sqlite3_column_text(st, 0), "reason",
                                             reason != NULL ? json_string(reason) : json_null(),
                                             "revision", (json_int_t)sqlite3_column_int64(st, 2),
                                             "at", util_json_time_ms(sqlite3_column_int64(st, 3)),
                                             "reviewer", (const char *)sqlite3_column_text(st, 4)));
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

struct labeler_op {
    int64_t job_id, labeler_id, actor;
    const char *reason, *addr, *why;
    int rejected, released;
};

static int labeler_write(struct db_conn *c, void *arg)
{
    struct labeler_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_REVIEW_OF_LABELER);
    int64_t *ids = NULL, *tasks = NULL, *items = NULL, job_id = 0, revision = 0;
    int n, k, rc = 0;
    char subject[64];
    json_t *detail;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->job_id);
    sqlite3_bind_int64(st, 2, op->labeler_id);
    if ((n = db_int64_rows(st, &ids, NULL)) < 0)
        return ERR_DB;
    for (k = 0; k < n && rc == 0; k++) {
        struct review_op one = {ids[k], op->actor, REVIEW_REJECT, op->reason, op->addr, NULL, 0};
        rc = apply(c, &one, &job_id, &revision);
        op->rejected += one.changed;
        if (rc == ERR_CONFLICT)
            op->why = one.why;
    }
    free(ids);
    if (rc != 0)
        return rc;
    /* Their live leases go back to the pool at once, and they leave. */
    if ((st = db_stmt(c, SQL_TASK_LIVE_OF_LABELER)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->job_id);
    sqlite3_bind_int64(st, 2, op->labeler_id);
    if ((n = db_int64_rows(st, &tasks, &items)) < 0)
        return ERR_DB;
    for (k = 0; k < n && rc == 0; k++) {
        int released = 0;
        rc = task_release(c, tasks[k], items[k], &released);
        op->released += released;
    }
    free(tasks);
    free(items);
    if (rc != 0 || (st = db_stmt(c, SQL_MEMBER_DELETE)) == NULL)
        return rc != 0 ? rc : ERR_DB;
    sqlite3_bind_int64(st, 1, op->job_id);
    sqlite3_bind_int64(st, 2, op->labeler_id);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    snprintf(subject, sizeof subject, "job:%lld:labeler:%lld", (long long)op->job_id,
             (long long)op->labeler_id);
    detail = json_pack("{sisi}", "rejected", op->rejected, "leases_released", op->released);
    if (detail != NULL && op->reason != NULL)
        json_object_set_new(detail, "reason", json_string(op->reason));
    rc = audit_add(c, op->actor, "labeler_reject", subject, op->addr, detail);
    json_decref(detail);
    return rc;
}

int review_labeler(struct db *db, int64_t job_id, int64_t labeler_id, const struct principal *p,
                   const char *reason, const char *addr, int *rejected, int *released,
                   const char **why)
{
    struct labeler_op op = {job_id, labeler_id, p->user_id, reason, addr, NULL, 0, 0};
    struct db_conn *c = db_reader(db);
    int rc, closed = 0;
    *rejected = *released = 0;
    *why = NULL;
    if (c == NULL)
        return ERR_DB;
    if ((rc = may_review(db, c, job_id, p, &closed)) != 0)
        return rc;
    if (closed) {
        *why = "the job is closed: its judgments can no longer be reviewed";
        return ERR_CONFLICT;
    }
    rc = db_write(db, labeler_write, &op);
    *rejected = op.rejected;
    *released = op.released;
    if (op.why != NULL)
        *why = op.why;
    return rc;
}
