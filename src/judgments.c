/* judgments.c: submit, revise, read (see judgments.h).
 *
 * Answers are validated on the request thread against the job as read
 * from the reader; the write then re-checks in the writer that the job's
 * questions are the ones validated against (questions_rev) and that the
 * task is still the caller's and still open to a judgment. Every change
 * takes the next value of the global change sequence (seq), which exports
 * use as their cursor. */
#include "judgments.h"

#include "items.h"
#include "jobs.h"
#include "tasks.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
    db_done(st);
    return rc;
}

static int next_seq(struct db_conn *c, int64_t *seq)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JUDGMENT_NEXT_SEQ);
    int rc;
    if (st == NULL)
        return ERR_DB;
    rc = sqlite3_step(st);
    *seq = sqlite3_column_int64(st, 0);
    db_done(st);
    return rc == SQLITE_ROW ? 0 : ERR_DB;
}

static int add_version(struct db_conn *c, int64_t id, int64_t revision, const char *answers,
                       int64_t at)
{
    sqlite3_stmt *st = db_stmt(c, SQL_VERSION_INSERT);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, revision);
    sqlite3_bind_text(st, 3, answers, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    return step_done(st);
}

/* The job's status, overlap and questions_rev (writer). */
static int job_state(struct db_conn *c, int64_t job_id, char status[16], int *overlap,
                     int64_t *rev)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JOB_LEASE_INFO);
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        db_col_text(st, 0, status, 16);
        *overlap = sqlite3_column_int(st, 1);
        *rev = sqlite3_column_int64(st, 4);
    }
    db_done(st);
    return rc == SQLITE_ROW ? 0 : ERR_DB;
}

/* Validates answers for a task or judgment: loads the job and item on the
 * reader. Fills *rev with the questions' revision. */
static int validate(struct db *db, int64_t job_id, json_t *item, json_t *answers,
                    struct problems *pr, const char **why, int need_open, int64_t *rev)
{
    struct db_conn *c = db_reader(db);
    struct job j;
    const char *ids[ITEM_RESPONSES_MAX];
    int rc, n;
    if (c == NULL)
        return ERR_DB;
    if ((rc = job_load(c, job_id, &j)) != 0)
        return rc;
    *rev = j.questions_rev;
    if (j.status == JOB_CLOSED || (need_open && j.status != JOB_OPEN)) {
        *why = j.status == JOB_CLOSED ? "the job is closed" : "the job is not open";
        job_free_fields(&j);
        return ERR_CONFLICT;
    }
    n = item_response_ids(item, ids);
    rc = job_answers_check(&j.cfg, answers, ids, n, 0, "answers", pr);
    job_free_fields(&j);
    return rc;
}

struct submit_op {
    int64_t task_id, user_id, rev;
    const char *answers;
    int64_t id;
    int created;
    const char *why;
};

static int submit_write(struct db_conn *c, void *arg)
{
    struct submit_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_TASK_STATE);
    char state[16], status[16];
    int64_t labeler, item, job, rev, now = util_now_ms(), seq;
    int overlap, rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->task_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return ERR_NOT_FOUND;
    }
    db_col_text(st, 0, state, sizeof state);
    labeler = sqlite3_column_int64(st, 1);
    item = sqlite3_column_int64(st, 2);
    job = sqlite3_column_int64(st, 3);
    db_done(st);
    if (labeler != op->user_id)
        return ERR_NOT_FOUND;
    if ((rc = job_state(c, job, status, &overlap, &rev)) != 0)
        return rc;
    if (strcmp(state, "judged") == 0) {
        /* A retry returns the stored judgment; other answers need a revision. */
        if ((st = db_stmt(c, SQL_JUDGMENT_BY_TASK)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, op->task_id);
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : ERR_DB;
        if (rc == 0) {
            op->id = sqlite3_column_int64(st, 0);
            if (strcmp((const char *)sqlite3_column_text(st, 5), op->answers) != 0) {
                op->why = "this task was already submitted with other answers: revise the judgment";
                rc = ERR_CONFLICT;
            }
        }
        db_done(st);
        return rc;
    }
    if (strcmp(status, "closed") == 0) {
        op->why = "the job is closed";
        return ERR_CONFLICT;
    }
    if (rev != op->rev) {
        op->why = "the job's questions changed: reload the task";
        return ERR_CONFLICT;
    }
    if (strcmp(state, "skipped") == 0) {
        op->why = "the task was skipped";
        return ERR_CONFLICT;
    }
    if (!job_is_member(c, job, op->user_id)) {
        op->why = "you are no longer a member of this job";
        return ERR_FORBIDDEN;
    }
    if (strcmp(state, "expired") == 0) {
        /* The lease ran out and its claim went back to the pool: accept
         * only if the item still needs a judgment. */
        int claims;
        if ((st = db_stmt(c, SQL_ITEM_COUNTS)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, item);
        rc = sqlite3_step(st);
        claims = sqlite3_column_int(st, 0);
        db_done(st);
        if (rc != SQLITE_ROW)
            return ERR_DB;
        if (claims >= overlap) {
            op->why = "the lease expired and the item has all the judgments it needs";
            return ERR_CONFLICT;
        }
        if ((st = db_stmt(c, SQL_ITEM_CLAIM)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, item);
        sqlite3_bind_int(st, 2, 1);
        sqlite3_bind_int(st, 3, 1);
    } else {
        /* A lease (live, or expired but not yet swept) converts its claim. */
        if ((st = db_stmt(c, SQL_ITEM_CLAIM)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, item);
        sqlite3_bind_int(st, 2, 0);
        sqlite3_bind_int(st, 3, 1);
    }
    if ((rc = step_done(st)) != 0 || (rc = next_seq(c, &seq)) != 0)
        return rc;
    if ((st = db_stmt(c, SQL_JUDGMENT_INSERT)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->task_id);
    sqlite3_bind_int64(st, 2, job);
    sqlite3_bind_int64(st, 3, item);
    sqlite3_bind_int64(st, 4, op->user_id);
    sqlite3_bind_text(st, 5, op->answers, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, seq);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc == SQLITE_CONSTRAINT) {
        /* judgments_item_labeler: this labeler judged the item in another task. */
        op->why = "you already judged this item";
        return ERR_CONFLICT;
    }
    if (rc != SQLITE_DONE)
        return ERR_DB;
    op->id = sqlite3_last_insert_rowid(c->h);
    op->created = 1;
    if ((rc = add_version(c, op->id, 1, op->answers, now)) != 0)
        return rc;
    if ((st = db_stmt(c, SQL_TASK_FINISH)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->task_id);
    sqlite3_bind_text(st, 2, "judged", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    return step_done(st);
}

int judgment_submit(struct db *db, int64_t task_id, const struct principal *p, json_t *answers,
                    struct problems *pr, const char **why, int64_t *id, int *created)
{
    struct db_conn *c = db_reader(db);
    struct task t;
    struct submit_op op = {task_id, p->user_id, 0, NULL, 0, 0, NULL};
    char *text = NULL;
    int rc;
    *why = NULL;
    if (c == NULL)
        return ERR_DB;
    if ((rc = task_load(c, task_id, &t)) != 0)
        return rc;
    if (t.labeler_id != p->user_id) {
        task_clear(&t);
        return ERR_NOT_FOUND;
    }
    rc = validate(db, t.job_id, t.item, answers, pr, why, 0, &op.rev);
    task_clear(&t);
    db_reader_idle(db);
    if (rc != 0)
        return rc;
    /* Canonical text, so a retry compares equal whatever its key order. */
    text = json_dumps(answers, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return ERR_NOMEM;
    op.answers = text;
    rc = db_write(db, submit_write, &op);
    free(text);
    *why = op.why;
    *id = op.id;
    *created = op.created;
    return rc;
}

struct revise_op {
    int64_t id, user_id, rev;
    const char *answers, *why;
};

static int revise_write(struct db_conn *c, void *arg)
{
    struct revise_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_JUDGMENT_BY_ID);
    char status[16];
    int64_t job, rev, revision, seq, now = util_now_ms();
    int overlap, rc, same;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 4) != op->user_id) {
        db_done(st);
        return ERR_NOT_FOUND;
    }
    job = sqlite3_column_int64(st, 2);
    revision = sqlite3_column_int64(st, 6);
    same = strcmp((const char *)sqlite3_column_text(st, 5), op->answers) == 0;
    db_done(st);
    if ((rc = job_state(c, job, status, &overlap, &rev)) != 0)
        return rc;
    if (strcmp(status, "open") != 0) {
        op->why = "judgments can be revised only while the job is open";
        return ERR_CONFLICT;
    }
    if (rev != op->rev) {
        op->why = "the job's questions changed: reload";
        return ERR_CONFLICT;
    }
    if (same)
        return 0; /* nothing changes; a retried revision */
    if ((rc = next_seq(c, &seq)) != 0 || (st = db_stmt(c, SQL_JUDGMENT_REVISE)) == NULL)
        return rc != 0 ? rc : ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    sqlite3_bind_text(st, 2, op->answers, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, seq);
    if ((rc = step_done(st)) != 0)
        return rc;
    return add_version(c, op->id, revision + 1, op->answers, now);
}

int judgment_revise(struct db *db, int64_t id, const struct principal *p, json_t *answers,
                    struct problems *pr, const char **why)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_JUDGMENT_BY_ID) : NULL;
    struct revise_op op = {id, p->user_id, 0, NULL, NULL};
    json_t *item = NULL;
    int64_t job = 0;
    char *text = NULL;
    int rc;
    *why = NULL;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 4) == p->user_id) {
        job = sqlite3_column_int64(st, 2);
        item = json_loadb((const char *)sqlite3_column_blob(st, 12),
                          (size_t)sqlite3_column_bytes(st, 12), 0, NULL);
    }
    db_done(st);
    if (item == NULL)
        return job == 0 ? ERR_NOT_FOUND : ERR_DB;
    rc = validate(db, job, item, answers, pr, why, 1, &op.rev);
    json_decref(item);
    db_reader_idle(db);
    if (rc != 0)
        return rc;
    if ((text = json_dumps(answers, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        return ERR_NOMEM;
    op.answers = text;
    rc = db_write(db, revise_write, &op);
    free(text);
    *why = op.why;
    return rc;
}

int judgment_json(struct db_conn *c, int64_t id, int by_task, const struct principal *p,
                  int versions, json_t **out)
{
    sqlite3_stmt *st = db_stmt(c, by_task ? SQL_JUDGMENT_BY_TASK : SQL_JUDGMENT_BY_ID);
    struct task t;
    struct job j;
    json_t *o = NULL, *answers, *shown_ids, *hist;
    const char *ids[ITEM_RESPONSES_MAX];
    int64_t jid, labeler, job_id, created, updated;
    int n, i, manager = 0;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return ERR_NOT_FOUND;
    }
    memset(&t, 0, sizeof t);
    jid = sqlite3_column_int64(st, 0);
    t.id = sqlite3_column_int64(st, 1);
    job_id = sqlite3_column_int64(st, 2);
    labeler = sqlite3_column_int64(st, 4);
    answers = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
    created = sqlite3_column_int64(st, 7);
    updated = sqlite3_column_int64(st, 8);
    {
        json_t *shown = json_loads((const char *)sqlite3_column_text(st, 9), 0, NULL), *v;
        size_t k;
        json_array_foreach(shown, k, v) {
            if (t.n_shown < ITEM_RESPONSES_MAX)
                t.shown[t.n_shown++] = (int)json_integer_value(v);
        }
        json_decref(shown);
    }
    t.leased_at = sqlite3_column_int64(st, 10);
    db_col_text(st, 11, t.ext_id, sizeof t.ext_id);
    t.item = json_loadb((const char *)sqlite3_column_blob(st, 12),
                        (size_t)sqlite3_column_bytes(st, 12), 0, NULL);
    o = json_pack("{sIsIsIsssIsosIsososos}", "id", (json_int_t)jid, "task_id", (json_int_t)t.id,
                  "job_id", (json_int_t)job_id, "item_id", t.ext_id, "labeler_id",
                  (json_int_t)labeler, "answers", answers != NULL ? answers : json_null(),
                  "revision", (json_int_t)sqlite3_column_int64(st, 6), "leased_at",
                  util_json_time_ms(t.leased_at), "submitted_at", util_json_time_ms(created),
                  "updated_at", util_json_time_ms(updated), "duration_seconds",
                  json_real((double)(created - t.leased_at) / 1000.0));
    if (labeler != p->user_id && job_load(c, job_id, &j) == 0) {
        manager = job_can_manage(&j, p);
        job_free_fields(&j);
        if (manager)
            json_object_set_new(o, "labeler", json_string((const char *)sqlite3_column_text(st, 13)));
    }
    db_done(st);
    if (labeler != p->user_id && !manager) {
        json_decref(o);
        task_clear(&t);
        return ERR_NOT_FOUND;
    }
    shown_ids = json_array();
    n = task_shown_ids(&t, ids);
    for (i = 0; i < n; i++)
        json_array_append_new(shown_ids, json_string(ids[i]));
    json_object_set_new(o, "shown_order", shown_ids);
    task_clear(&t);
    if (versions && (st = db_stmt(c, SQL_VERSION_LIST)) != NULL) {
        hist = json_array();
        sqlite3_bind_int64(st, 1, jid);
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(
                hist, json_pack("{sIsoso}", "revision", (json_int_t)sqlite3_column_int64(st, 0),
                                "answers", json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL),
                                "submitted_at", util_json_time_ms(sqlite3_column_int64(st, 2))));
        db_done(st);
        json_object_set_new(o, "versions", hist);
    }
    *out = o;
    return 0;
}
