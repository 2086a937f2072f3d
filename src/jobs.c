/* jobs.c: jobs (see jobs.h); their questions and answers are in
 * questions.c. Configurations are validated field by field with every
 * problem collected, so a lead fixes a job in one round trip. Changes run
 * inside one writer transaction each, re-reading the job there so
 * concurrent changes cannot interleave. */
#include "jobs.h"

#include "audit.h"
#include "markdown.h"
#include "users.h"
#include "util.h"
#include "valid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"draft", "open", "paused", "closed"};

const char *job_status_name(enum job_status s)
{
    return status_names[s];
}

int job_status_parse(const char *s, enum job_status *out)
{
    int i;
    for (i = 0; i < 4; i++)
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum job_status)i;
            return 0;
        }
    return ERR_INVALID;
}

void job_config_clear(struct job_config *cfg)
{
    int i;
    free(cfg->name);
    free(cfg->instructions);
    for (i = 0; i < cfg->n_questions; i++)
        job_question_clear(&cfg->questions[i]);
    free(cfg->questions);
    json_decref(cfg->acceptance);
    memset(cfg, 0, sizeof *cfg);
}

void job_free_fields(struct job *j)
{
    if (j != NULL)
        job_config_clear(&j->cfg);
}

/* An acceptance rule: {"question", "candidate", "baseline",
 * "min_win_rate_lower", "min_alpha"}; the normalised copy, or NULL with
 * problems. */
static json_t *parse_acceptance(json_t *v, struct problems *pr)
{
    static const char *const keys[] = {
        "question",  "candidate",        "baseline", "min_win_rate_lower",
        "min_alpha", "no_position_bias", NULL};
    const char *q, *cand, *base;
    json_t *out, *lower = json_object_get(v, "min_win_rate_lower"),
                 *alpha = json_object_get(v, "min_alpha");
    int before = pr->count;
    valid_keys(v, "acceptance", keys, pr);
    q = valid_str(v, "acceptance", "question", 1, QUESTION_NAME_MAX, pr);
    cand = valid_str(v, "acceptance", "candidate", 0, 200, pr);
    base = valid_str(v, "acceptance", "baseline", 0, 200, pr);
    if (cand != NULL && cand[strspn(cand, " \t")] == '\0')
        problems_add(pr, "acceptance.candidate", "must be a model name");
    else if (base != NULL && base[strspn(base, " \t")] == '\0')
        problems_add(pr, "acceptance.baseline", "must be a model name");
    else if ((cand == NULL) != (base == NULL))
        problems_add(pr, cand == NULL ? "acceptance.candidate" : "acceptance.baseline",
                     "candidate and baseline go together");
    else if (cand != NULL && strcmp(cand, base) == 0)
        problems_add(pr, "acceptance.baseline", "must differ from the candidate");
    if (lower != NULL &&
        (!json_is_number(lower) || json_number_value(lower) < 0 || json_number_value(lower) > 1))
        problems_add(pr, "acceptance.min_win_rate_lower", "must be a number from 0 to 1");
    else if (lower != NULL && cand == NULL)
        problems_add(pr, "acceptance.min_win_rate_lower", "needs a candidate and a baseline");
    if (alpha != NULL &&
        (!json_is_number(alpha) || json_number_value(alpha) < -1 || json_number_value(alpha) > 1))
        problems_add(pr, "acceptance.min_alpha", "must be a number from -1 to 1");
    if (json_object_get(v, "no_position_bias") != NULL &&
        !json_is_boolean(json_object_get(v, "no_position_bias")))
        problems_add(pr, "acceptance.no_position_bias", "must be true or false");
    if (cand == NULL && alpha == NULL)
        problems_add(pr, "acceptance", "give a candidate and a baseline, or min_alpha");
    if (pr->count > before)
        return NULL;
    out = json_pack("{ss}", "question", q);
    if (cand != NULL) {
        json_object_set_new(out, "candidate", json_string(cand));
        json_object_set_new(out, "baseline", json_string(base));
        json_object_set_new(out, "min_win_rate_lower",
                            json_real(lower != NULL ? json_number_value(lower) : 0.5));
    }
    if (alpha != NULL)
        json_object_set_new(out, "min_alpha", json_real(json_number_value(alpha)));
    if (json_is_true(json_object_get(v, "no_position_bias")))
        json_object_set_new(out, "no_position_bias", json_true());
    return out;
}

/* The scalar settings shared by create and update; absent fields keep cfg's. */
static void parse_settings(json_t *obj, struct job_config *cfg, struct problems *pr)
{
    const char *s;
    if ((s = valid_str(obj, "", "name", 0, JOB_NAME_MAX, pr)) != NULL) {
        if (s[strspn(s, " \t\r\n")] == '\0')
            problems_add(pr, "name", "must not be blank");
        free(cfg->name);
        cfg->name = strdup(s);
    }
    if ((s = valid_str(obj, "", "instructions", 0, JOB_INSTRUCTIONS_MAX, pr)) != NULL) {
        free(cfg->instructions);
        cfg->instructions = strdup(s);
    }
    valid_int(obj, "", "overlap", 1, JOB_OVERLAP_MAX, &cfg->overlap, pr);
    valid_int(obj, "", "lease_seconds", JOB_LEASE_MIN, JOB_LEASE_MAX, &cfg->lease_seconds, pr);
    valid_bool(obj, "", "randomize_order", &cfg->randomize_order, pr);
    if (json_object_get(obj, "acceptance") != NULL) {
        json_t *v = json_object_get(obj, "acceptance");
        json_decref(cfg->acceptance);
        cfg->acceptance = NULL;
        if (json_is_object(v))
            cfg->acceptance = parse_acceptance(v, pr);
        else if (!json_is_null(v))
            problems_add(pr, "acceptance", "must be a rule object, or null for none");
    }
}

/* Checks the rule against the questions (after both are known). */
static void check_acceptance(const struct job_config *cfg, struct problems *pr)
{
    const char *name = json_string_value(json_object_get(cfg->acceptance, "question"));
    const struct question *q = NULL;
    int i;
    if (cfg->acceptance == NULL || name == NULL)
        return;
    for (i = 0; i < cfg->n_questions; i++)
        if (strcmp(cfg->questions[i].name, name) == 0)
            q = &cfg->questions[i];
    if (q == NULL)
        problems_add(pr, "acceptance.question", "is not a question of the job");
    else if (json_object_get(cfg->acceptance, "candidate") != NULL && q->type != Q_PAIRWISE &&
             q->type != Q_RANK)
        problems_add(pr, "acceptance.question",
                     "must be a pairwise or rank question to compare models");
    else if (json_object_get(cfg->acceptance, "no_position_bias") != NULL &&
             q->type != Q_PAIRWISE && q->type != Q_RANK)
        problems_add(pr, "acceptance.question",
                     "must be a pairwise or rank question to test position bias");
    else if (json_object_get(cfg->acceptance, "min_alpha") != NULL && q->type == Q_TEXT)
        problems_add(pr, "acceptance.question", "has no agreement (a text question)");
}

int job_config_parse(json_t *obj, struct job_config *cfg, struct problems *pr)
{
    static const char *const keys[] = {"name",          "instructions",    "questions",  "overlap",
                                       "lease_seconds", "randomize_order", "acceptance", NULL};
    memset(cfg, 0, sizeof *cfg);
    cfg->overlap = 1;
    cfg->lease_seconds = 600;
    cfg->randomize_order = 1;
    valid_keys(obj, "", keys, pr);
    /* null is no value: "name": null is as missing as no name at all. */
    if (json_object_get(obj, "name") == NULL || json_is_null(json_object_get(obj, "name")))
        problems_add(pr, "name", "is required");
    parse_settings(obj, cfg, pr);
    if (cfg->instructions == NULL)
        cfg->instructions = strdup("");
    if (json_object_get(obj, "questions") == NULL ||
        json_is_null(json_object_get(obj, "questions")))
        problems_add(pr, "questions", "is required");
    else
        job_questions_parse(json_object_get(obj, "questions"), cfg, pr);
    if (pr->count == 0)
        check_acceptance(cfg, pr);
    return pr->count > 0 ? ERR_INVALID : 0;
}

/* ---- storage ---- */

int job_load(struct db_conn *c, int64_t id, struct job *out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JOB_BY_ID);
    struct problems pr = {0};
    json_t *qs = NULL;
    char status[16];
    int rc;
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
    }
    out->id = sqlite3_column_int64(st, 0);
    out->owner_id = sqlite3_column_int64(st, 1);
    db_col_text(st, 2, out->owner, sizeof out->owner);
    out->cfg.name = strdup((const char *)sqlite3_column_text(st, 3));
    out->cfg.instructions = strdup((const char *)sqlite3_column_text(st, 4));
    qs = json_loadb((const char *)sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
                    0, NULL);
    out->questions_rev = sqlite3_column_int64(st, 6);
    out->cfg.overlap = sqlite3_column_int(st, 7);
    out->cfg.lease_seconds = sqlite3_column_int(st, 8);
    out->cfg.randomize_order = sqlite3_column_int(st, 9);
    db_col_text(st, 10, status, sizeof status);
    job_status_parse(status, &out->status);
    out->created_at = sqlite3_column_int64(st, 11);
    out->updated_at = sqlite3_column_int64(st, 12);
    out->cfg.acceptance = sqlite3_column_type(st, 13) == SQLITE_NULL
                              ? NULL
                              : json_loadb((const char *)sqlite3_column_text(st, 13),
                                           (size_t)sqlite3_column_bytes(st, 13), 0, NULL);
    db_done(st);
    /* Stored questions were validated when written. */
    rc = qs != NULL ? job_questions_parse(qs, &out->cfg, &pr) : ERR_DB;
    json_decref(qs);
    json_decref(pr.list);
    if (rc != 0 || out->cfg.name == NULL || out->cfg.instructions == NULL) {
        job_config_clear(&out->cfg);
        return ERR_DB;
    }
    return 0;
}

int job_state_load(struct db_conn *c, int64_t id, struct job_state *out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JOB_LEASE_INFO);
    char status[16];
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        db_col_text(st, 0, status, sizeof status);
        job_status_parse(status, &out->status);
        out->overlap = sqlite3_column_int(st, 1);
        out->lease_seconds = sqlite3_column_int(st, 2);
        out->randomize_order = sqlite3_column_int(st, 3);
        out->questions_rev = sqlite3_column_int64(st, 4);
    }
    db_done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
}

int job_can_manage(const struct job *j, const struct principal *p)
{
    return p->role == ROLE_ADMIN || (p->role >= ROLE_LEAD && p->user_id == j->owner_id);
}

int job_is_member(struct db_conn *c, int64_t job_id, int64_t user_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_MEMBER_IS);
    int yes;
    if (st == NULL)
        return 0;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, user_id);
    yes = sqlite3_step(st) == SQLITE_ROW;
    db_done(st);
    return yes;
}

struct create_op {
    const struct job_config *cfg;
    int64_t owner, actor, id;
    const char *addr;
};

static int create_write(struct db_conn *c, void *arg)
{
    struct create_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_JOB_INSERT);
    json_t *qs = job_questions_json(op->cfg);
    char *text = json_dumps(qs, JSON_COMPACT);
    int rc = ERR_DB;
    json_decref(qs);
    if (st != NULL && text != NULL) {
        sqlite3_bind_int64(st, 1, op->owner);
        sqlite3_bind_text(st, 2, op->cfg->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, op->cfg->instructions, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, op->cfg->overlap);
        sqlite3_bind_int(st, 6, op->cfg->lease_seconds);
        sqlite3_bind_int(st, 7, op->cfg->randomize_order);
        sqlite3_bind_int64(st, 8, util_now());
        if (op->cfg->acceptance != NULL)
            sqlite3_bind_text(st, 9, json_dumps(op->cfg->acceptance, JSON_COMPACT), -1, free);
        else
            sqlite3_bind_null(st, 9);
        rc = db_step_done(st);
    }
    free(text);
    if (rc == 0) {
        char subject[32];
        op->id = sqlite3_last_insert_rowid(c->h);
        snprintf(subject, sizeof subject, "job:%lld", (long long)op->id);
        rc = audit_add(c, op->actor, "job_create", subject, op->addr, NULL);
    }
    return rc;
}

int job_create(struct db *db, const struct job_config *cfg, int64_t owner_id, int64_t actor_id,
               const char *addr, int64_t *id)
{
    struct create_op op = {cfg, owner_id, actor_id, 0, addr};
    int rc = db_write(db, create_write, &op);
    if (rc == 0)
        *id = op.id;
    return rc;
}

struct update_op {
    int64_t id, actor;
    json_t *body;
    const char *addr;
    struct problems *pr;
    const char *why;
};

static int has_judgments(struct db_conn *c, int64_t job_id, int64_t *n)
{
    return db_int64(c, SQL_JOB_JUDGMENT_COUNT, job_id, n);
}

/* Items, complete items, judgments (counted and rejected) and filled
 * slots (judgments counted, at most overlap per item) of a job, from one
 * scan of the items_progress index. judgments and filled may be NULL. */
static int item_counts(struct db_conn *c, int64_t job_id, int overlap, int64_t *items,
                       int64_t *complete, int64_t *judgments, int64_t *filled)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JOB_ITEM_COUNTS);
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int(st, 2, overlap);
    rc = sqlite3_step(st);
    *items = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *complete = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    if (judgments != NULL)
        *judgments = rc == SQLITE_ROW ? sqlite3_column_int64(st, 2) : 0;
    if (filled != NULL)
        *filled = rc == SQLITE_ROW ? sqlite3_column_int64(st, 3) : 0;
    db_done(st);
    return rc == SQLITE_ROW ? 0 : ERR_DB;
}

/* Do the stored items fit the questions? Names the first misfit in *pr. */
static int items_fit(struct db_conn *c, int64_t job_id, const struct job_config *cfg,
                     struct problems *pr)
{
    int lo = 1, hi = 1000, i, rc = 0;
    sqlite3_stmt *st;
    for (i = 0; i < cfg->n_questions; i++) {
        const struct question *q = &cfg->questions[i];
        if (q->type == Q_PAIRWISE) {
            lo = 2;
            hi = 2;
        } else if (q->type == Q_RANK && lo < 2) {
            lo = 2;
        }
        if (q->type == Q_TEXT && q->prefill == PREFILL_RESPONSE) {
            st = db_stmt(c, SQL_JOB_ITEMS_WITHOUT_RESPONSE);
            if (st == NULL)
                return ERR_DB;
            sqlite3_bind_int64(st, 1, job_id);
            sqlite3_bind_text(st, 2, q->prefill_id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                char f[64];
                snprintf(f, sizeof f, "questions[%d].prefill", i);
                problems_add(pr, f, "item \"%s\" has no response \"%s\"",
                             (const char *)sqlite3_column_text(st, 0), q->prefill_id);
                rc = ERR_INVALID;
            }
            db_done(st);
        }
    }
    st = db_stmt(c, SQL_JOB_ITEMS_MISFIT);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int(st, 2, lo);
    sqlite3_bind_int(st, 3, hi);
    if (sqlite3_step(st) == SQLITE_ROW) {
        problems_add(pr, "questions", "item \"%s\" does not have %s responses",
                     (const char *)sqlite3_column_text(st, 0),
                     hi == 2 ? "exactly 2 (pairwise)" : "at least 2 (rank)");
        rc = ERR_INVALID;
    }
    db_done(st);
    return rc;
}

/* May a job move from a to b? */
static int status_move_ok(enum job_status a, enum job_status b)
{
    return a == b || (a == JOB_DRAFT && b == JOB_OPEN) || (a == JOB_OPEN && b == JOB_PAUSED) ||
           (a == JOB_PAUSED && b == JOB_OPEN) || (a == JOB_OPEN && b == JOB_CLOSED) ||
           (a == JOB_PAUSED && b == JOB_CLOSED);
}

/* Whether two question lists differ at most in their titles and help: the
 * wording labelers read, which may change at any time (answers are checked
 * and exported the same way, so tasks already leased stay valid). */
static json_t *without_wording(json_t *qs)
{
    json_t *x = json_deep_copy(qs), *q;
    size_t i;
    json_array_foreach(x, i, q)
    {
        json_object_del(q, "title");
        json_object_del(q, "help");
    }
    return x;
}

static int questions_same_but_wording(json_t *a, json_t *b)
{
    json_t *x = without_wording(a), *y = without_wording(b);
    int same;
    same = x != NULL && y != NULL && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}

static int update_write(struct db_conn *c, void *arg)
{
    static const char *const keys[] = {"name",    "instructions",  "questions",
                                       "overlap", "lease_seconds", "randomize_order",
                                       "status",  "acceptance",    NULL};
    struct update_op *op = arg;
    struct job j;
    enum job_status to;
    json_t *qs_in = json_object_get(op->body, "questions"), *qs = NULL, *old_qs = NULL, *detail;
    const char *status;
    char *text = NULL, subject[32];
    int rc = job_load(c, op->id, &j);
    sqlite3_stmt *st;
    if (rc != 0)
        return rc;
    to = j.status;
    valid_keys(op->body, "", keys, op->pr);
    {
        /* Only the acceptance rule can be removed (null); null for any
         * other field would silently keep it. */
        const char *const *k;
        for (k = keys; *k != NULL; k++)
            if (strcmp(*k, "acceptance") != 0 && json_is_null(json_object_get(op->body, *k)))
                problems_add(op->pr, *k, "cannot be null (leave it out to keep it)");
    }
    parse_settings(op->body, &j.cfg, op->pr);
    status = valid_str(op->body, "", "status", 0, 16, op->pr);
    if (status != NULL && job_status_parse(status, &to) != 0)
        problems_add(op->pr, "status", "must be draft, open, paused or closed");
    old_qs = job_questions_json(&j.cfg);
    if (qs_in != NULL) {
        struct job_config fresh = {0};
        if (job_questions_parse(qs_in, &fresh, op->pr) == 0) {
            int i;
            for (i = 0; i < j.cfg.n_questions; i++)
                job_question_clear(&j.cfg.questions[i]);
            free(j.cfg.questions);
            j.cfg.questions = fresh.questions;
            j.cfg.n_questions = fresh.n_questions;
            fresh.questions = NULL;
            fresh.n_questions = 0;
        }
        job_config_clear(&fresh);
    }
    if (op->pr->count == 0)
        check_acceptance(&j.cfg, op->pr);
    if (op->pr->count > 0) {
        rc = ERR_INVALID;
        goto out;
    }
    if (j.status == JOB_CLOSED) {
        op->why = "the job is closed";
        rc = ERR_CONFLICT;
        goto out;
    }
    if (!status_move_ok(j.status, to)) {
        op->why = "status moves draft -> open <-> paused -> closed";
        rc = ERR_CONFLICT;
        goto out;
    }
    qs = job_questions_json(&j.cfg);
    if (!json_equal(qs, old_qs) && !questions_same_but_wording(qs, old_qs)) {
        int64_t n = 0;
        if ((rc = has_judgments(c, j.id, &n)) != 0)
            goto out;
        if (n > 0) {
            op->why = "questions cannot change once a judgment exists";
            rc = ERR_CONFLICT;
            goto out;
        }
        if ((rc = items_fit(c, j.id, &j.cfg, op->pr)) != 0)
            goto out;
        j.questions_rev++;
    }
    if (to == JOB_OPEN && j.status == JOB_DRAFT) {
        int64_t items = 0, complete = 0;
        if ((rc = item_counts(c, j.id, j.cfg.overlap, &items, &complete, NULL, NULL)) != 0)
            goto out;
        if (items == 0) {
            op->why = "import items before opening the job";
            rc = ERR_CONFLICT;
            goto out;
        }
    }
    text = json_dumps(qs, JSON_COMPACT);
    st = db_stmt(c, SQL_JOB_UPDATE);
    if (st == NULL || text == NULL) {
        rc = ERR_DB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, j.id);
    sqlite3_bind_text(st, 2, j.cfg.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, j.cfg.instructions, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, j.questions_rev);
    sqlite3_bind_int(st, 6, j.cfg.overlap);
    sqlite3_bind_int(st, 7, j.cfg.lease_seconds);
    sqlite3_bind_int(st, 8, j.cfg.randomize_order);
    sqlite3_bind_text(st, 9, job_status_name(to), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, util_now());
    {
        char *rule = j.cfg.acceptance != NULL ? json_dumps(j.cfg.acceptance, JSON_COMPACT) : NULL;
        if (rule != NULL)
            sqlite3_bind_text(st, 11, rule, -1, free);
        else
            sqlite3_bind_null(st, 11);
    }
    if ((rc = db_step_done(st)) != 0)
        goto out;
    snprintf(subject, sizeof subject, "job:%lld", (long long)j.id);
    detail = json_pack("{so}", "fields", json_array());
    {
        const char *k;
        json_t *v;
        json_object_foreach(op->body, k, v)
            json_array_append_new(json_object_get(detail, "fields"), json_string(k));
    }
    if (to != j.status)
        json_object_set_new(detail, "status", json_string(job_status_name(to)));
    rc = audit_add(c, op->actor, "job_update", subject, op->addr, detail);
    json_decref(detail);
out:
    free(text);
    json_decref(qs);
    json_decref(old_qs);
    job_free_fields(&j);
    return rc;
}

int job_update(struct db *db, int64_t id, json_t *body, int64_t actor_id, const char *addr,
               struct problems *pr, const char **why)
{
    struct update_op op = {id, actor_id, body, addr, pr, NULL};
    int rc = db_write(db, update_write, &op);
    *why = op.why;
    return rc;
}

struct members_op {
    int64_t id, actor;
    json_t *members;
    const char *addr;
    struct problems *pr;
};

static int members_write(struct db_conn *c, void *arg)
{
    struct members_op *op = arg;
    sqlite3_stmt *st;
    size_t i;
    json_t *v, *detail;
    char subject[32];
    int rc;
    int64_t now = util_now();
    if (!json_is_array(op->members) || json_array_size(op->members) > 10000) {
        problems_add(op->pr, "members", "must be a list of user names or ids");
        return ERR_INVALID;
    }
    if ((st = db_stmt(c, SQL_MEMBER_DELETE_ALL)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    json_array_foreach(op->members, i, v)
    {
        struct user u;
        char f[32];
        snprintf(f, sizeof f, "members[%zu]", i);
        if (json_is_string(v))
            rc = user_get_by_name(c, json_string_value(v), &u);
        else if (json_is_integer(v))
            rc = user_get(c, json_integer_value(v), &u);
        else {
            problems_add(op->pr, f, "must be a user name or id");
            continue;
        }
        if (rc == ERR_NOT_FOUND) {
            problems_add(op->pr, f, "no such user");
            continue;
        }
        if (rc != 0)
            return rc;
        if (u.disabled) {
            problems_add(op->pr, f, "%s is disabled", u.name);
            continue;
        }
        if ((st = db_stmt(c, SQL_MEMBER_INSERT)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, op->id);
        sqlite3_bind_int64(st, 2, u.id);
        sqlite3_bind_int64(st, 3, now);
        if ((rc = db_step_done(st)) != 0)
            return rc;
    }
    if (op->pr->count > 0)
        return ERR_INVALID;
    snprintf(subject, sizeof subject, "job:%lld", (long long)op->id);
    detail = json_pack("{sO}", "members", op->members);
    rc = audit_add(c, op->actor, "job_members", subject, op->addr, detail);
    json_decref(detail);
    return rc;
}

int job_set_members(struct db *db, int64_t id, json_t *members, int64_t actor_id, const char *addr,
                    struct problems *pr)
{
    struct members_op op = {id, actor_id, members, addr, pr};
    return db_write(db, members_write, &op);
}

json_t *job_members_json(struct db_conn *c, int64_t job_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_MEMBER_LIST);
    json_t *arr;
    if (st == NULL)
        return NULL;
    arr = json_array();
    sqlite3_bind_int64(st, 1, job_id);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr,
                              json_pack("{sIssss}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                                        "name", (const char *)sqlite3_column_text(st, 1), "role",
                                        (const char *)sqlite3_column_text(st, 2)));
    db_done(st);
    return arr;
}

int job_list_ids(struct db_conn *c, const struct principal *p, int64_t **out, size_t *n)
{
    sqlite3_stmt *st = db_stmt(c, p->role == ROLE_ADMIN ? SQL_JOB_LIST_ALL : SQL_JOB_LIST_FOR);
    int64_t *v = NULL;
    size_t len = 0, cap = 0;
    int rc;
    if (st == NULL)
        return ERR_DB;
    if (p->role != ROLE_ADMIN) {
        sqlite3_bind_int64(st, 1, p->user_id);
        sqlite3_bind_int(st, 2, p->role >= ROLE_LEAD);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            int64_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (nv == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
        }
        v[len++] = sqlite3_column_int64(st, 0);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return ERR_DB;
    }
    *out = v;
    *n = len;
    return 0;
}

char *job_render_markdown(const char *md)
{
    return md_render(md, strlen(md));
}

json_t *job_json(struct db_conn *c, const struct job *j, const struct principal *p)
{
    json_t *o;
    char *html = job_render_markdown(j->cfg.instructions);
    int64_t items = 0, complete = 0, judgments = 0, filled = 0, mine = 0, done_open = 0, left;
    sqlite3_stmt *st;
    item_counts(c, j->id, j->cfg.overlap, &items, &complete, &judgments, &filled);
    if ((st = db_stmt(c, SQL_JOB_MY_COUNT)) != NULL) {
        sqlite3_bind_int64(st, 1, j->id);
        sqlite3_bind_int64(st, 2, p->user_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            mine = sqlite3_column_int64(st, 0);
        db_done(st);
    }
    if ((st = db_stmt(c, SQL_JOB_MY_DONE_OPEN)) != NULL) {
        sqlite3_bind_int64(st, 1, j->id);
        sqlite3_bind_int64(st, 2, p->user_id);
        sqlite3_bind_int(st, 3, j->cfg.overlap);
        if (sqlite3_step(st) == SQLITE_ROW)
            done_open = sqlite3_column_int64(st, 0);
        db_done(st);
    }
    /* What is left for p: the items not complete that p has not judged or
     * skipped, but no more than the slots still free for anyone. An upper
     * bound (others may take some first); 0 is exact. */
    left = items - complete - done_open;
    if (left > items * j->cfg.overlap - filled)
        left = items * j->cfg.overlap - filled;
    if (left < 0)
        left = 0;
    o = json_pack("{sIsssssssosisisbsss{sIss}sosososos{sIsIsI}sI}", "id", (json_int_t)j->id, "name",
                  j->cfg.name, "instructions", j->cfg.instructions, "instructions_html",
                  html != NULL ? html : "", "questions", job_questions_json(&j->cfg), "overlap",
                  j->cfg.overlap, "lease_seconds", j->cfg.lease_seconds, "randomize_order",
                  j->cfg.randomize_order, "status", job_status_name(j->status), "owner", "id",
                  (json_int_t)j->owner_id, "name", j->owner, "created_at",
                  util_json_time(j->created_at), "updated_at", util_json_time(j->updated_at),
                  "can_manage", json_boolean(job_can_manage(j, p)), "is_member",
                  json_boolean(job_is_member(c, j->id, p->user_id)), "counts", "items",
                  (json_int_t)items, "complete", (json_int_t)complete, "judgments",
                  (json_int_t)judgments, "my_judgments", (json_int_t)mine);
    if (o != NULL)
        json_object_set_new(o, "my_left", json_integer(left));
    free(html);
    /* The acceptance rule names models: labelers stay blind to it. */
    if (o != NULL && job_can_manage(j, p)) {
        json_object_set_new(o, "acceptance",
                            j->cfg.acceptance != NULL ? json_deep_copy(j->cfg.acceptance)
                                                      : json_null());
        json_object_set_new(o, "members", job_members_json(c, j->id));
    }
    return o;
}
