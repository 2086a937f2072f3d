/* judgments.c: submit, revise, read (see judgments.h).
 *
 * Answers are validated on the request thread against the job as read
 * from the reader; the write then re-checks in the writer that the job's
 * questions are the ones validated against (questions_rev) and that the
 * task is still the caller's and still open to a judgment. Every change
 * takes the next value of the global change sequence (seq), which exports
 * use as their cursor. */
#include "judgments.h"

#include "browse.h"
#include "items.h"
#include "jobs.h"
#include "reviews.h"
#include "tasks.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int next_seq(struct db_conn *c, int64_t job_id, int64_t *seq)
{
    return db_int64(c, SQL_JUDGMENT_NEXT_SEQ, job_id, seq);
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
    return db_step_done(st);
}

/* A judgment's times (ms; shown_at and active_ms 0 when unknown), its
 * review state and its comment (NULL: none; borrowed). */
struct times {
    int64_t leased_at, shown_at, submitted_at, updated_at, active_ms;
    const char *review, *comment;
};

/* The JSON of a judgment (new reference). shown: response indexes (JSON
 * text), resp_ids: the item's response ids (JSON array). duration_seconds
 * runs from when the task was shown, or from its lease when that is
 * unknown. */
static json_t *view(int64_t id, int64_t task_id, int64_t job_id, const char *ext_id,
                    int64_t labeler, json_t *answers, int64_t revision, const struct times *tm,
                    const char *shown, json_t *resp_ids)
{
    json_t *o;
    int64_t from = tm->shown_at > 0 ? tm->shown_at : tm->leased_at;
    const char *ids[ITEM_RESPONSES_MAX];
    json_t *order = json_array(), *idx = json_loads(shown, 0, NULL), *v;
    size_t i;
    int n = item_ids_of(resp_ids, ids);
    json_array_foreach(idx, i, v)
    {
        json_int_t k = json_integer_value(v);
        if (k >= 0 && k < n)
            json_array_append_new(order, json_string(ids[k]));
    }
    json_decref(idx);
    o = json_pack("{sIsIsIsssIsOsIsosososfso}", "id", (json_int_t)id, "task_id",
                  (json_int_t)task_id, "job_id", (json_int_t)job_id, "item_id", ext_id,
                  "labeler_id", (json_int_t)labeler, "answers", answers, "revision",
                  (json_int_t)revision, "leased_at", util_json_time_ms(tm->leased_at),
                  "submitted_at", util_json_time_ms(tm->submitted_at), "updated_at",
                  util_json_time_ms(tm->updated_at), "duration_seconds",
                  (double)(tm->submitted_at - from) / 1000.0, "shown_order", order);
    if (o != NULL) {
        json_object_set_new(o, "review",
                            tm->review != NULL ? json_string(tm->review) : json_null());
        json_object_set_new(o, "comment",
                            tm->comment != NULL ? json_string(tm->comment) : json_null());
        json_object_set_new(o, "shown_at", util_json_time_ms(tm->shown_at));
        json_object_set_new(o, "active_seconds",
                            tm->shown_at > 0 ? json_real((double)tm->active_ms / 1000.0)
                                             : json_null());
    }
    return o;
}

/* Answers without the optional text answers that are a response's text
 * unchanged (judgments.h): a new reference, answers itself when none is. */
static json_t *without_copies(struct db_conn *c, int64_t item_id, const struct job_config *cfg,
                              json_t *answers)
{
    struct item it = {0};
    json_t *out = NULL, *r;
    size_t k;
    int i, loaded = 0;
    for (i = 0; i < cfg->n_questions; i++) {
        const struct question *q = &cfg->questions[i];
        const char *t = json_string_value(json_object_get(answers, q->name));
        if (q->type != Q_TEXT || q->required || t == NULL)
            continue;
        if (!loaded && (loaded = 1, item_load(c, item_id, &it) != 0))
            break;
        json_array_foreach(json_object_get(it.data, "responses"), k, r)
        {
            const char *rt = json_string_value(json_object_get(r, "text"));
            if (rt != NULL && util_text_same(rt, t)) {
                if (out == NULL)
                    out = json_copy(answers);
                json_object_del(out, q->name);
                break;
            }
        }
    }
    item_clear(&it);
    return out != NULL ? out : json_incref(answers);
}

struct submit_op {
    int64_t task_id, user_id, rev;
    const char *answers, *comment;
    const struct judgment_timing *timing;
    const struct job_config *cfg; /* the questions validated against */
    int64_t leased_at, shown_at, active_ms;
    int64_t id, revision, submitted_at, updated_at;
    int created;
    const char *why;
};

static int submit_write(struct db_conn *c, void *arg)
{
    struct submit_op *op = arg;
    sqlite3_stmt *st;
    struct task_peek t;
    struct job_state js;
    int64_t now = util_now_ms(), seq;
    int rc;
    if ((rc = task_peek(c, op->task_id, &t)) != 0)
        return rc;
    if (t.labeler_id != op->user_id)
        return ERR_NOT_FOUND;
    if ((rc = job_state_load(c, t.job_id, &js)) != 0)
        return rc;
    if (t.state == TASK_JUDGED) {
        /* A retry returns the stored judgment; other answers need a revision. */
        if ((st = db_stmt(c, SQL_JUDGMENT_ANSWERS)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, t.judgment_id);
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : ERR_DB;
        if (rc == 0) {
            op->id = t.judgment_id;
            op->revision = sqlite3_column_int64(st, 1);
            op->submitted_at = sqlite3_column_int64(st, 2);
            op->updated_at = sqlite3_column_int64(st, 3);
            op->shown_at = sqlite3_column_int64(st, 4);
            op->active_ms = sqlite3_column_int64(st, 5);
            if (strcmp((const char *)sqlite3_column_text(st, 0), op->answers) != 0) {
                op->why = "this task was already submitted with other answers: revise the judgment";
                rc = ERR_CONFLICT;
            }
        }
        db_done(st);
        return rc;
    }
    if (js.status == JOB_CLOSED) {
        op->why = "the job is closed";
        return ERR_CONFLICT;
    }
    if (js.questions_rev != op->rev) {
        op->why = "the job's questions changed: reload the task";
        return ERR_CONFLICT;
    }
    if (t.state == TASK_SKIPPED) {
        op->why = "the task was skipped";
        return ERR_CONFLICT;
    }
    if (!job_is_member(c, t.job_id, op->user_id)) {
        op->why = "you are no longer a member of this job";
        return ERR_FORBIDDEN;
    }
    if (t.state == TASK_EXPIRED) {
        /* The lease ran out and its claim went back to the pool: accept
         * only if the item still needs a judgment. */
        int claims;
        if ((st = db_stmt(c, SQL_ITEM_COUNTS)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, t.item_id);
        rc = sqlite3_step(st);
        claims = sqlite3_column_int(st, 0);
        db_done(st);
        if (rc != SQLITE_ROW)
            return ERR_DB;
        if (claims >= js.overlap) {
            op->why = "the lease expired and the item has all the judgments it needs";
            return ERR_CONFLICT;
        }
    }
    /* A lease (live, or expired but not yet swept) converts its claim; an
     * expired one claims again. */
    if ((rc = task_claim(c, t.item_id, t.state == TASK_EXPIRED ? 1 : 0, 1)) != 0 ||
        (rc = next_seq(c, t.job_id, &seq)) != 0)
        return rc;
    if ((st = db_stmt(c, SQL_JUDGMENT_INSERT)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->task_id);
    sqlite3_bind_int64(st, 2, t.job_id);
    sqlite3_bind_int64(st, 3, t.item_id);
    sqlite3_bind_int64(st, 4, op->user_id);
    sqlite3_bind_text(st, 5, op->answers, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, seq);
    if (op->timing != NULL && op->timing->shown_seconds >= 0) {
        /* The page's clock is not ours: only its durations are taken, and
         * bounded by what the server saw (never before the lease). */
        int64_t shown = now - (int64_t)(op->timing->shown_seconds * 1000.0);
        int64_t active = op->timing->active_seconds >= 0
                             ? (int64_t)(op->timing->active_seconds * 1000.0)
                             : now - shown;
        if (shown < op->leased_at)
            shown = op->leased_at;
        if (active > now - shown)
            active = now - shown;
        op->shown_at = shown;
        op->active_ms = active;
        sqlite3_bind_int64(st, 8, shown);
        sqlite3_bind_int64(st, 9, active);
    }
    if (op->comment != NULL && op->comment[0] != '\0')
        sqlite3_bind_text(st, 10, op->comment, -1, SQLITE_STATIC);
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
    op->revision = 1;
    op->submitted_at = op->updated_at = now;
    if ((st = db_stmt(c, SQL_TASK_FINISH)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->task_id);
    sqlite3_bind_text(st, 2, "judged", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 5, op->id);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    return item_refresh(c, t.item_id, 1, op->cfg, now);
}

int judgment_submit(struct db *db, int64_t task_id, const struct principal *p, json_t *answers,
                    const struct judgment_timing *timing, const char *comment, json_t **out,
                    struct problems *pr, const char **why, int *created)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_TASK_CHECK) : NULL;
    struct submit_op op;
    struct job_config cfg = {0};
    json_t *qs = NULL, *resp_ids = NULL, *kept = NULL;
    int64_t item_id = 0;
    const char *ids[ITEM_RESPONSES_MAX];
    char status[16] = "", ext_id[ITEM_ID_BYTES + 1] = "", shown[16 * ITEM_RESPONSES_MAX] = "";
    char *text = NULL;
    int64_t job = 0, leased_at = 0;
    int rc = ERR_NOT_FOUND;
    *why = NULL;
    *out = NULL;
    memset(&op, 0, sizeof op);
    op.task_id = task_id;
    op.user_id = p->user_id;
    op.timing = timing;
    op.comment = comment;
    if (st == NULL)
        return ERR_DB;
    /* One read: the task, its item's response ids, the job's questions. */
    sqlite3_bind_int64(st, 1, task_id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == p->user_id) {
        job = sqlite3_column_int64(st, 1);
        db_col_text(st, 3, shown, sizeof shown);
        leased_at = sqlite3_column_int64(st, 4);
        db_col_text(st, 5, ext_id, sizeof ext_id);
        resp_ids = json_loads((const char *)sqlite3_column_text(st, 6), 0, NULL);
        qs = json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL);
        op.rev = sqlite3_column_int64(st, 8);
        db_col_text(st, 9, status, sizeof status);
        item_id = sqlite3_column_int64(st, 10);
        rc = resp_ids != NULL && qs != NULL ? 0 : ERR_DB;
    }
    db_done(st);
    db_reader_idle(db);
    if (rc != 0)
        goto out;
    if (strcmp(status, "closed") == 0) {
        *why = "the job is closed";
        rc = ERR_CONFLICT;
        goto out;
    }
    if (job_questions_parse(qs, &cfg, pr) != 0) {
        rc = ERR_DB; /* stored questions were valid when written */
        goto out;
    }
    rc = job_answers_check(&cfg, answers, ids, item_ids_of(resp_ids, ids), 0, "answers", pr);
    if (rc != 0)
        goto out;
    kept = without_copies(c, item_id, &cfg, answers);
    db_reader_idle(db);
    /* Canonical text, so a retry compares equal whatever its key order. */
    if (kept == NULL || (text = json_dumps(kept, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    op.answers = text;
    op.leased_at = leased_at;
    op.cfg = &cfg;
    rc = db_write(db, submit_write, &op);
    *why = op.why;
    *created = op.created;
    if (rc == 0) {
        /* A new judgment is not reviewed yet; a retry's answer is read
         * again by the caller (api_tasks.c), comment and all. */
        struct times tm = {leased_at,
                           op.shown_at,
                           op.submitted_at,
                           op.updated_at,
                           op.active_ms,
                           NULL,
                           comment != NULL && comment[0] != '\0' ? comment : NULL};
        *out =
            view(op.id, task_id, job, ext_id, p->user_id, kept, op.revision, &tm, shown, resp_ids);
    }
out:
    json_decref(kept);
    free(text);
    json_decref(qs);
    json_decref(resp_ids);
    job_config_clear(&cfg);
    return rc;
}

/* Validates answers for a revision: loads the job on the reader. Fills
 * *rev with the questions' revision. */
static int validate(struct db *db, int64_t job_id, int64_t item_id, json_t *resp_ids,
                    json_t *answers, struct problems *pr, const char **why, int64_t *rev,
                    json_t **kept)
{
    struct db_conn *c = db_reader(db);
    struct job j;
    const char *ids[ITEM_RESPONSES_MAX];
    int rc;
    if (c == NULL)
        return ERR_DB;
    if ((rc = job_load(c, job_id, &j)) != 0)
        return rc;
    *rev = j.questions_rev;
    if (j.status != JOB_OPEN) {
        *why = "judgments can be revised only while the job is open";
        job_free_fields(&j);
        return ERR_CONFLICT;
    }
    rc = job_answers_check(&j.cfg, answers, ids, item_ids_of(resp_ids, ids), 0, "answers", pr);
    if (rc == 0 && (*kept = without_copies(c, item_id, &j.cfg, answers)) == NULL)
        rc = ERR_NOMEM;
    job_free_fields(&j);
    return rc;
}

struct revise_op {
    int64_t id, user_id, rev;
    const char *answers, *why;
    const char *comment; /* NULL: keep; "": remove */
    int comment_same;    /* the stored comment is already that */
};

static int revise_apply(struct db_conn *c, struct revise_op *op, int64_t job, int64_t item,
                        int64_t revision, const char *was, int64_t was_at, int same, int64_t now);

static int revise_write(struct db_conn *c, void *arg)
{
    struct revise_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_JUDGMENT_BY_ID);
    int64_t job, item, revision, now = util_now_ms(), was_at;
    int rc, same;
    char *was = NULL;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 4) != op->user_id) {
        db_done(st);
        return ERR_NOT_FOUND;
    }
    job = sqlite3_column_int64(st, 2);
    item = sqlite3_column_int64(st, 3);
    revision = sqlite3_column_int64(st, 6);
    was_at = sqlite3_column_int64(st, 8);
    if (sqlite3_column_type(st, 16) == SQLITE_TEXT &&
        strcmp((const char *)sqlite3_column_text(st, 16), "rejected") == 0) {
        db_done(st);
        op->why = "the judgment was rejected in review: it can no longer be revised";
        return ERR_CONFLICT;
    }
    same = strcmp((const char *)sqlite3_column_text(st, 5), op->answers) == 0;
    {
        const char *now_comment = (const char *)sqlite3_column_text(st, 17);
        op->comment_same =
            op->comment == NULL ||
            (now_comment == NULL ? op->comment[0] == '\0' : strcmp(now_comment, op->comment) == 0);
    }
    if (!same)
        was = strdup((const char *)sqlite3_column_text(st, 5));
    db_done(st);
    rc = revise_apply(c, op, job, item, revision, was, was_at, same, now);
    free(was);
    return rc;
}

static int revise_apply(struct db_conn *c, struct revise_op *op, int64_t job, int64_t item,
                        int64_t revision, const char *was, int64_t was_at, int same, int64_t now)
{
    sqlite3_stmt *st;
    struct job_state js;
    int64_t seq;
    int rc;
    if ((rc = job_state_load(c, job, &js)) != 0)
        return rc;
    if (js.status != JOB_OPEN) {
        op->why = "judgments can be revised only while the job is open";
        return ERR_CONFLICT;
    }
    if (js.questions_rev != op->rev) {
        op->why = "the job's questions changed: reload";
        return ERR_CONFLICT;
    }
    if (same && op->comment_same)
        return 0; /* nothing changes; a retried revision */
    if (same) {
        /* Only the comment: no new version, but a change exports see. */
        if ((rc = next_seq(c, job, &seq)) != 0 ||
            (st = db_stmt(c, SQL_JUDGMENT_SET_COMMENT)) == NULL)
            return rc != 0 ? rc : ERR_DB;
        sqlite3_bind_int64(st, 1, op->id);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, seq);
        sqlite3_bind_text(st, 5, op->comment, -1, SQLITE_STATIC);
        if ((rc = db_step_done(st)) != 0)
            return rc;
        return item_refresh(c, item, 0, NULL, now);
    }
    if (was == NULL)
        return ERR_NOMEM;
    /* Keep the version being replaced, then replace it. */
    if ((rc = add_version(c, op->id, revision, was, was_at)) != 0 ||
        (rc = next_seq(c, job, &seq)) != 0)
        return rc;
    if ((st = db_stmt(c, SQL_JUDGMENT_REVISE)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    sqlite3_bind_text(st, 2, op->answers, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, seq);
    if (op->comment != NULL)
        sqlite3_bind_text(st, 5, op->comment, -1, SQLITE_STATIC);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    return item_refresh(c, item, 1, NULL, now);
}

int judgment_revise(struct db *db, int64_t id, const struct principal *p, json_t *answers,
                    const char *comment, struct problems *pr, const char **why)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_JUDGMENT_BY_ID) : NULL;
    struct revise_op op = {id, p->user_id, 0, NULL, NULL, comment, 0};
    json_t *resp_ids = NULL, *kept = NULL;
    int64_t job = 0, item_id = 0;
    char *text = NULL;
    int rc;
    *why = NULL;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 4) == p->user_id) {
        job = sqlite3_column_int64(st, 2);
        item_id = sqlite3_column_int64(st, 3);
        resp_ids = json_loads((const char *)sqlite3_column_text(st, 12), 0, NULL);
    }
    db_done(st);
    if (resp_ids == NULL)
        return job == 0 ? ERR_NOT_FOUND : ERR_DB;
    rc = validate(db, job, item_id, resp_ids, answers, pr, why, &op.rev, &kept);
    json_decref(resp_ids);
    db_reader_idle(db);
    if (rc != 0)
        return rc;
    text = json_dumps(kept, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(kept);
    if (text == NULL)
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
    struct job j;
    json_t *o, *answers, *resp_ids, *hist;
    int64_t jid, labeler, job_id;
    int manager = 0;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return ERR_NOT_FOUND;
    }
    jid = sqlite3_column_int64(st, 0);
    job_id = sqlite3_column_int64(st, 2);
    labeler = sqlite3_column_int64(st, 4);
    answers = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
    resp_ids = json_loads((const char *)sqlite3_column_text(st, 12), 0, NULL);
    {
        struct times tm = {sqlite3_column_int64(st, 10),
                           sqlite3_column_int64(st, 14),
                           sqlite3_column_int64(st, 7),
                           sqlite3_column_int64(st, 8),
                           sqlite3_column_int64(st, 15),
                           (const char *)sqlite3_column_text(st, 16),
                           (const char *)sqlite3_column_text(st, 17)};
        o = view(jid, sqlite3_column_int64(st, 1), job_id,
                 (const char *)sqlite3_column_text(st, 11), labeler,
                 answers != NULL ? answers : json_null(), sqlite3_column_int64(st, 6), &tm,
                 (const char *)sqlite3_column_text(st, 9), resp_ids);
    }
    json_decref(answers);
    json_decref(resp_ids);
    if (labeler != p->user_id && job_load(c, job_id, &j) == 0) {
        manager = job_can_manage(&j, p);
        job_free_fields(&j);
        if (manager)
            json_object_set_new(o, "labeler",
                                json_string((const char *)sqlite3_column_text(st, 13)));
    }
    db_done(st);
    if (o == NULL || (labeler != p->user_id && !manager)) {
        json_decref(o);
        return o == NULL ? ERR_DB : ERR_NOT_FOUND;
    }
    if (versions && (st = db_stmt(c, SQL_VERSION_LIST)) != NULL) {
        hist = json_array();
        sqlite3_bind_int64(st, 1, jid);
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(
                hist,
                json_pack("{sIsoso}", "revision", (json_int_t)sqlite3_column_int64(st, 0),
                          "answers", json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL),
                          "submitted_at", util_json_time_ms(sqlite3_column_int64(st, 2))));
        db_done(st);
        /* Earlier versions are stored; the current one is the judgment. */
        json_array_append_new(hist,
                              json_pack("{sOsOsO}", "revision", json_object_get(o, "revision"),
                                        "answers", json_object_get(o, "answers"), "submitted_at",
                                        json_object_get(o, "updated_at")));
        json_object_set_new(o, "versions", hist);
        /* Every review decision, with its reason, for the labeler too. */
        json_object_set_new(o, "reviews",
                            (hist = review_list(c, jid)) != NULL ? hist : json_array());
    }
    *out = o;
    return 0;
}

int judgments_of_labeler(struct db_conn *c, int64_t job_id, int64_t labeler_id, int64_t before,
                         int limit, json_t **out, int64_t *next)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JUDGMENT_MINE);
    json_t *arr = json_array();
    int64_t last = 0;
    int rc, n = 0;
    *next = 0;
    if (st == NULL || arr == NULL) {
        json_decref(arr);
        db_done(st);
        return ERR_DB;
    }
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, labeler_id);
    sqlite3_bind_int64(st, 3, before > 0 ? before : INT64_MAX);
    sqlite3_bind_int(st, 4, limit + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *review = (const char *)sqlite3_column_text(st, 6);
        const char *comment = (const char *)sqlite3_column_text(st, 7);
        json_t *data, *o;
        if (n == limit) {
            *next = last;
            break;
        }
        data = json_loadb((const char *)sqlite3_column_text(st, 8),
                          (size_t)sqlite3_column_bytes(st, 8), 0, NULL);
        last = sqlite3_column_int64(st, 1);
        o = json_pack("{sIsIsssiso*so*sososo*}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                      "task_id", (json_int_t)last, "item_id",
                      (const char *)sqlite3_column_text(st, 2), "revision",
                      sqlite3_column_int(st, 3), "submitted_at",
                      util_json_time_ms(sqlite3_column_int64(st, 4)), "updated_at",
                      util_json_time_ms(sqlite3_column_int64(st, 5)), "review",
                      review != NULL ? json_string(review) : json_null(), "excerpt",
                      data != NULL ? item_excerpt(data) : json_string(""), "comment",
                      comment != NULL ? json_string(comment) : json_null());
        json_decref(data);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            rc = ERR_NOMEM;
            break;
        }
        n++;
    }
    db_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(arr);
        return rc == ERR_NOMEM ? ERR_NOMEM : ERR_DB;
    }
    *out = arr;
    return 0;
}
