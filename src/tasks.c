/* tasks.c: leasing, skipping and the labeler's view of a task (see
 * tasks.h). The lease is one writer operation: it sweeps the job's expired
 * leases back into the pool, then picks and claims an item, so two
 * labelers can never claim the same last slot of an item. */
#include "tasks.h"

#include "browse.h"
#include "jobs.h"
#include "jspan.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"leased", "judged", "skipped", "expired"};

const char *task_state_name(enum task_state s)
{
    return state_names[s];
}

static enum task_state state_parse(const char *s)
{
    int i;
    for (i = 0; i < 4; i++)
        if (strcmp(s, state_names[i]) == 0)
            return (enum task_state)i;
    return TASK_EXPIRED;
}

int task_shown_parse(const char *s, int *idx, int max)
{
    int n = 0;
    if (s == NULL || *s++ != '[')
        return -1;
    while (*s != ']' && *s != '\0') {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || n == max)
            return -1;
        idx[n++] = (int)v;
        s = end;
        if (*s == ',')
            s++;
    }
    return *s == ']' ? n : -1;
}

int task_peek(struct db_conn *c, int64_t id, struct task_peek *out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_TASK_STATE);
    char state[16];
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        db_col_text(st, 0, state, sizeof state);
        out->state = state_parse(state);
        out->labeler_id = sqlite3_column_int64(st, 1);
        out->item_id = sqlite3_column_int64(st, 2);
        out->job_id = sqlite3_column_int64(st, 3);
        out->judgment_id = sqlite3_column_int64(st, 4);
    }
    db_done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
}

int task_claim(struct db_conn *c, int64_t item_id, int dc, int dj)
{
    sqlite3_stmt *st = db_stmt(c, SQL_ITEM_CLAIM);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, item_id);
    sqlite3_bind_int(st, 2, dc);
    sqlite3_bind_int(st, 3, dj);
    return db_step_done(st);
}

int task_release(struct db_conn *c, int64_t task_id, int64_t item_id, int *released)
{
    sqlite3_stmt *st = db_stmt(c, SQL_TASK_EXPIRE);
    int rc, changed;
    if (released != NULL)
        *released = 0;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, task_id);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    changed = sqlite3_changes(c->h) == 1; /* it was still leased */
    if (changed && (rc = task_claim(c, item_id, -1, 0)) != 0)
        return rc;
    if (released != NULL)
        *released = changed;
    return 0;
}

/* Returns every expired lease of job_id to the pool. Writer only. */
static int sweep_expired(struct db_conn *c, int64_t job_id, int64_t now)
{
    sqlite3_stmt *st = db_stmt(c, SQL_TASK_EXPIRED);
    int64_t ids[64][2];
    int n = 0, i, rc;
    if (st == NULL)
        return ERR_DB;
    do {
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_int64(st, 2, now);
        rc = SQLITE_DONE;
        for (n = 0; n < 64 && (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
            ids[n][0] = sqlite3_column_int64(st, 0);
            ids[n][1] = sqlite3_column_int64(st, 1);
        }
        db_done(st);
        /* A failed step is no end of the expired leases (the sweep would
         * leave them counted as claims). */
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return ERR_DB;
        for (i = 0; i < n; i++)
            if ((rc = task_release(c, ids[i][0], ids[i][1], NULL)) != 0)
                return rc;
        st = db_stmt(c, SQL_TASK_EXPIRED);
    } while (n == 64 && st != NULL);
    return 0;
}

struct lease_op {
    int64_t job_id, user_id, after, task_id;
    const char *why;
    struct task *out; /* filled from the writer's warm cache: no read after */
    struct buf *view; /* the labeler's view of it, rendered inside the write */
};

static int read_task_raw(sqlite3_stmt *st, struct task *out);

/* Copies task op->task_id into op->out on the writer's connection and
 * renders its view into op->view. Inside the write, so a task that cannot
 * be shown (a damaged stored item) fails the write and its lease is rolled
 * back, rather than being left behind an error answer. */
static int copy_task(struct db_conn *c, struct lease_op *op)
{
    sqlite3_stmt *st = db_stmt(c, SQL_TASK_BY_ID);
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->task_id);
    rc = sqlite3_step(st) == SQLITE_ROW ? read_task_raw(st, op->out) : ERR_DB;
    db_done(st);
    if (rc == 0 && task_render(op->out, op->view) != 0) {
        op->why = "the item cannot be shown (its stored text is damaged)";
        rc = ERR_DB;
    }
    if (rc != 0)
        task_clear(op->out);
    return rc;
}

static int lease_write(struct db_conn *c, void *arg)
{
    struct lease_op *op = arg;
    sqlite3_stmt *st;
    struct job_state js;
    int64_t now = util_now_ms(), item_id;
    int n, rc, i;
    char shown[16 * ITEM_RESPONSES_MAX];
    int perm[ITEM_RESPONSES_MAX];
    size_t len;
    if ((rc = job_state_load(c, op->job_id, &js)) != 0)
        return rc;
    if (!job_is_member(c, op->job_id, op->user_id))
        return ERR_FORBIDDEN;
    if (js.status != JOB_OPEN) {
        op->why = js.status == JOB_PAUSED ? "the job is paused" : "the job is not open";
        return ERR_CONFLICT;
    }
    /* A live lease of this labeler (the oldest, but not `after`, the one
     * a prefetch is for) is the answer again: at most two live leases. */
    if ((st = db_stmt(c, SQL_TASK_LIVE_FOR)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->job_id);
    sqlite3_bind_int64(st, 2, op->user_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, op->after);
    if (sqlite3_step(st) == SQLITE_ROW) {
        op->task_id = sqlite3_column_int64(st, 0);
        db_done(st);
        return copy_task(c, op);
    }
    db_done(st);
    if ((rc = sweep_expired(c, op->job_id, now)) != 0)
        return rc;
    if ((st = db_stmt(c, SQL_TASK_PICK)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->job_id);
    sqlite3_bind_int(st, 2, js.overlap);
    sqlite3_bind_int64(st, 3, op->user_id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? 0 : ERR_DB; /* nothing left: task_id stays 0 */
    }
    item_id = sqlite3_column_int64(st, 0);
    n = sqlite3_column_int(st, 1);
    db_done(st);
    if (n > ITEM_RESPONSES_MAX)
        n = ITEM_RESPONSES_MAX;
    /* The order shown: a uniform random permutation (Fisher-Yates). */
    for (i = 0; i < n; i++)
        perm[i] = i;
    for (i = n - 1; js.randomize_order && i > 0; i--) {
        int j = (int)randombytes_uniform((uint32_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    len = (size_t)snprintf(shown, sizeof shown, "[");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(shown + len, sizeof shown - len, "%s%d", i ? "," : "", perm[i]);
    snprintf(shown + len, sizeof shown - len, "]");
    if ((st = db_stmt(c, SQL_TASK_INSERT)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->job_id);
    sqlite3_bind_int64(st, 2, item_id);
    sqlite3_bind_int64(st, 3, op->user_id);
    sqlite3_bind_text(st, 4, shown, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, now + (int64_t)js.lease_seconds * 1000);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    op->task_id = sqlite3_last_insert_rowid(c->h);
    if ((rc = task_claim(c, item_id, 1, 0)) != 0)
        return rc;
    return copy_task(c, op);
}

int task_lease(struct db *db, int64_t job_id, const struct principal *p, int64_t after,
               struct task *out, struct buf *view, const char **why)
{
    struct lease_op op = {job_id, p->user_id, after, 0, NULL, out, view};
    size_t start = view->len;
    int rc;
    memset(out, 0, sizeof *out);
    rc = db_write(db, lease_write, &op);
    *why = op.why;
    if (rc != 0) {
        task_clear(out); /* the write was rolled back */
        if (view->data != NULL)
            view->data[view->len = start] = '\0';
    }
    if (rc == ERR_FORBIDDEN) {
        /* Not a member: those who cannot see the job learn nothing of it. */
        struct db_conn *c = db_reader(db);
        struct job j;
        if (c == NULL || job_load(c, job_id, &j) != 0)
            return ERR_NOT_FOUND;
        rc = job_can_manage(&j, p) ? ERR_FORBIDDEN : ERR_NOT_FOUND;
        if (rc == ERR_FORBIDDEN)
            *why = "add yourself to the job's members to label it";
        job_free_fields(&j);
    }
    return rc;
}

/* Fills out from a row of SQL_TASK_BY_ID, with a malloc'd copy of the
 * item's JSON text. 0 or ERR_NOMEM. */
static int read_task_raw(sqlite3_stmt *st, struct task *out)
{
    const char *shown = (const char *)sqlite3_column_text(st, 5);
    char state[16];
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    out->job_id = sqlite3_column_int64(st, 1);
    out->item_id = sqlite3_column_int64(st, 2);
    out->labeler_id = sqlite3_column_int64(st, 3);
    db_col_text(st, 4, state, sizeof state);
    out->state = state_parse(state);
    out->n_shown = task_shown_parse(shown, out->shown, ITEM_RESPONSES_MAX);
    if (out->n_shown < 0)
        out->n_shown = 0; /* task_render then shows no responses */
    out->leased_at = sqlite3_column_int64(st, 6);
    out->expires_at = sqlite3_column_int64(st, 7);
    out->finished_at = sqlite3_column_int64(st, 8);
    db_col_text(st, 10, out->ext_id, sizeof out->ext_id);
    out->item_len = (size_t)sqlite3_column_bytes(st, 11);
    out->item = malloc(out->item_len + 1);
    if (out->item == NULL)
        return ERR_NOMEM;
    memcpy(out->item, sqlite3_column_blob(st, 11), out->item_len);
    out->item[out->item_len] = '\0';
    return 0;
}

int task_load(struct db_conn *c, int64_t id, struct task *out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_TASK_BY_ID);
    int rc;
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = read_task_raw(st, out);
    else
        rc = rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
    db_done(st);
    if (rc != 0)
        task_clear(out);
    return rc;
}

void task_clear(struct task *t)
{
    free(t->item);
    t->item = NULL;
    t->item_len = 0;
}

/* Appends "name":<value> for a member of the stored item. */
static int splice(struct buf *b, const char *name, struct jspan v)
{
    return buf_printf(b, ",\"%s\":", name) != 0 || buf_append(b, v.p, v.len) != 0 ? -1 : 0;
}

int task_render(const struct task *t, struct buf *out)
{
    struct jspan item = {t->item, t->item_len}, id, text, resp, list[ITEM_RESPONSES_MAX];
    char leased[40], expires[40];
    const char *prompt_key = "messages";
    size_t start = out->len;
    int n, i, bad;
    if (t->item == NULL || jspan_member(item, "id", &id) != 0 ||
        jspan_member(item, "responses", &resp) != 0 ||
        (n = jspan_elements(resp, list, ITEM_RESPONSES_MAX)) < 0 ||
        (jspan_member(item, prompt_key, &text) != 0 &&
         jspan_member(item, prompt_key = "prompt", &text) != 0))
        return ERR_DB;
    util_time_iso_ms(t->leased_at, leased, sizeof leased);
    util_time_iso_ms(t->expires_at, expires, sizeof expires);
    bad = buf_printf(out,
                     "{\"id\":%lld,\"job_id\":%lld,\"state\":\"%s\",\"leased_at\":\"%s\","
                     "\"expires_at\":\"%s\",\"item\":{\"id\":",
                     (long long)t->id, (long long)t->job_id, state_names[t->state], leased,
                     expires) != 0 ||
          buf_append(out, id.p, id.len) != 0 || splice(out, prompt_key, text) != 0 ||
          buf_puts(out, ",\"responses\":[") != 0;
    for (i = 0; i < t->n_shown && !bad; i++) {
        struct jspan r, rid, rtext;
        if (t->shown[i] < 0 || t->shown[i] >= n)
            continue;
        r = list[t->shown[i]];
        bad = jspan_member(r, "id", &rid) != 0 || jspan_member(r, "text", &rtext) != 0 ||
              buf_puts(out, out->data[out->len - 1] == '[' ? "{\"id\":" : ",{\"id\":") != 0 ||
              buf_append(out, rid.p, rid.len) != 0 || splice(out, "text", rtext) != 0 ||
              buf_puts(out, "}") != 0;
    }
    if (bad || buf_puts(out, "]}}") != 0) {
        if (out->data != NULL)
            out->data[out->len = start] = '\0';
        return ERR_DB;
    }
    return 0;
}

struct skip_op {
    int64_t id, user_id;
    const char *reason, *why;
};

static int skip_write(struct db_conn *c, void *arg)
{
    struct skip_op *op = arg;
    struct task_peek t;
    sqlite3_stmt *st;
    int64_t now = util_now_ms();
    int rc = task_peek(c, op->id, &t);
    if (rc != 0)
        return rc;
    if (t.labeler_id != op->user_id)
        return ERR_NOT_FOUND;
    if (t.state == TASK_SKIPPED)
        return 0; /* a retried skip */
    if (t.state == TASK_JUDGED) {
        op->why = "the task is already judged";
        return ERR_CONFLICT;
    }
    if ((st = db_stmt(c, SQL_TASK_FINISH)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    sqlite3_bind_text(st, 2, "skipped", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if (op->reason != NULL)
        sqlite3_bind_text(st, 4, op->reason, -1, SQLITE_STATIC);
    if (db_step_done(st) != 0)
        return ERR_DB;
    /* A live (or not yet swept) lease gives its claim back. */
    if (t.state == TASK_LEASED && (rc = task_claim(c, t.item_id, -1, 0)) != 0)
        return rc;
    return item_refresh(c, t.item_id, 0, NULL, now);
}

int task_skip(struct db *db, int64_t id, const struct principal *p, const char *reason,
              const char **why)
{
    struct skip_op op = {id, p->user_id, reason, NULL};
    int rc = db_write(db, skip_write, &op);
    *why = op.why;
    return rc;
}
