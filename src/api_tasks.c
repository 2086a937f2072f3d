/* api_tasks.c: the labeling loop over HTTP: lease the next task, read a
 * task, submit a judgment (retry-safe), skip, read and revise a judgment,
 * and a lead's review of a judgment.
 * A task or judgment of someone else answers 404, never 403, so ids leak
 * nothing. */
#include "api.h"

#include "flags.h"
#include "jobs.h"
#include "judgments.h"
#include "markdown.h"
#include "reviews.h"
#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ?html=1: the task's prompt, messages and responses also rendered
 * (markdown.h) as prompt_html, content_html and html, for the labeling
 * page. Rendered on the request's thread, never in the writer. */
int api_want_html(struct req *r)
{
    const char *q = r->ri->query_string;
    char v[4];
    return q != NULL && mg_get_var(q, strlen(q), "html", v, sizeof v) > 0 && strcmp(v, "1") == 0;
}

/* {"task": <the task's view>}, for adding more members; NULL on failure. */
static json_t *task_object(const struct task *t)
{
    struct buf b = {NULL, 0, 0};
    json_t *v = task_render(t, &b) == 0 ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    buf_free(&b);
    return v != NULL ? json_pack("{so}", "task", v) : NULL;
}

/* Answers with task id as its labeler sees it (and its judgment, if any). */
static void reply_task(struct req *r, int status, int64_t id)
{
    struct db_conn *c = db_reader(r->app->db);
    struct task t;
    json_t *o, *g = NULL;
    int rc = c != NULL ? task_load(c, id, &t) : ERR_DB;
    if (rc == 0 && t.labeler_id != r->who.user_id) {
        task_clear(&t);
        rc = ERR_NOT_FOUND;
    }
    if (rc != 0) {
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such task" : NULL, NULL);
        return;
    }
    o = task_object(&t);
    if (o != NULL && api_want_html(r) &&
        md_add_html(json_object_get(json_object_get(o, "task"), "item")) != 0) {
        json_decref(o);
        o = NULL;
    }
    if (o == NULL) {
        task_clear(&t);
        reply_err(r, ERR_DB, NULL, NULL);
        return;
    }
    if (t.state == TASK_JUDGED && judgment_json(c, id, 1, &r->who, 0, &g) == 0)
        json_object_set_new(o, "judgment", g);
    task_clear(&t);
    reply_json(r, status, o);
}

/* ?after=<task id>: the page prefetching the task after the one on screen
 * (see task_lease). */
void api_tasks_next(struct req *r)
{
    struct buf b = {NULL, 0, 0};
    struct task t;
    const char *why = NULL, *q = r->ri->query_string;
    char v[24];
    int64_t after = 0;
    int rc, n;
    if (q != NULL && (n = mg_get_var(q, strlen(q), "after", v, sizeof v)) != -1 &&
        (n < 0 || util_parse_int(v, 1, INT64_MAX, &after) != 0)) {
        reply_error(r, 422, NULL, "after must be a task id", "after");
        return;
    }
    /* Spliced as text: the loop's hottest answer builds no JSON tree. */
    if (buf_puts(&b, "{\"task\":") != 0) {
        reply_err(r, ERR_NOMEM, NULL, NULL);
        return;
    }
    rc = task_lease(r->app->db, r->id[0], &r->who, after, &t, &b, &why);
    if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such job" : why, NULL);
    else if (t.id == 0)
        reply(r, 204, NULL, NULL, 0, NULL);
    else if (buf_puts(&b, "}") != 0)
        reply_err(r, ERR_NOMEM, NULL, NULL);
    else if (api_want_html(r)) {
        json_t *o = json_loadb(b.data, b.len, 0, NULL);
        if (o == NULL || md_add_html(json_object_get(json_object_get(o, "task"), "item")) != 0) {
            json_decref(o);
            reply_err(r, ERR_NOMEM, NULL, NULL);
        } else {
            reply_json(r, 200, o);
        }
    } else
        reply(r, 200, "application/json", b.data, b.len, NULL);
    buf_free(&b);
    task_clear(&t);
}

void api_tasks_get(struct req *r)
{
    reply_task(r, 200, r->id[0]);
}

static void reply_judgment(struct req *r, int status, int64_t id)
{
    struct db_conn *c = db_reader(r->app->db);
    json_t *o = NULL;
    int rc = c != NULL ? judgment_json(c, id, 0, &r->who, 1, &o) : ERR_DB;
    if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such judgment" : NULL, NULL);
    else
        reply_json(r, status, json_pack("{so}", "judgment", o));
}

void api_reply_problems(struct req *r, int rc, struct problems *pr, const char *why,
                        const char *not_found)
{
    if (rc == ERR_INVALID && pr->count > 0) {
        char msg[160];
        json_t *first = json_array_get(pr->list, 0);
        snprintf(msg, sizeof msg, "%s: %s", json_string_value(json_object_get(first, "field")),
                 json_string_value(json_object_get(first, "message")));
        reply_error_with(r, 422, "invalid", msg, json_string_value(json_object_get(first, "field")),
                         "problems", pr->list);
        pr->list = NULL;
    } else {
        reply_err(r, rc, rc == ERR_NOT_FOUND ? not_found : why, NULL);
    }
}

/* The optional "timing" of a submit: {"shown_seconds", "active_seconds"},
 * non-negative numbers (at most a week). 0, or replies 422 and returns -1. */
static int read_timing(struct req *r, struct judgment_timing *t, int *given)
{
    static const char *const keys[] = {"shown_seconds", "active_seconds", NULL};
    json_t *o = json_object_get(r->body, "timing");
    const char *k, *bad;
    double *out[2] = {&t->shown_seconds, &t->active_seconds};
    int i;
    t->shown_seconds = t->active_seconds = -1;
    *given = 0;
    if (o == NULL || json_is_null(o))
        return 0;
    if (!json_is_object(o)) {
        reply_error(r, 422, "wrong_type", "must be an object", "timing");
        return -1;
    }
    if ((bad = util_json_unknown_key(o, keys)) != NULL) {
        char f[96];
        snprintf(f, sizeof f, "timing.%.80s", bad);
        reply_error(r, 422, "unknown_field", "unknown field", f);
        return -1;
    }
    for (i = 0; (k = keys[i]) != NULL; i++) {
        json_t *v = json_object_get(o, k);
        char f[48];
        if (v == NULL || json_is_null(v))
            continue;
        snprintf(f, sizeof f, "timing.%s", k);
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 604800) {
            reply_error(r, 422, "invalid", "must be a number of seconds from 0 to 604800", f);
            return -1;
        }
        *out[i] = json_number_value(v);
    }
    if (t->shown_seconds < 0 && t->active_seconds >= 0) {
        reply_error(r, 422, "missing_field", "is required with active_seconds",
                    "timing.shown_seconds");
        return -1;
    }
    *given = t->shown_seconds >= 0;
    return 0;
}

/* The optional "comment" of a submit or revision; 0, or replies 422. */
static int read_comment(struct req *r, const char **out)
{
    if (body_string(r, "comment", 0, out) != 0)
        return -1;
    if (*out != NULL && util_utf8_len(*out) > JUDGMENT_COMMENT_MAX) {
        reply_error(r, 422, "invalid", "at most 2000 characters", "comment");
        return -1;
    }
    return 0;
}

void api_tasks_judgment(struct req *r)
{
    static const char *const allowed[] = {"answers", "timing", "comment", NULL};
    struct problems pr = {0};
    struct judgment_timing timing;
    const char *why = NULL, *comment = NULL;
    int created = 0, rc, timed;
    json_t *answers = json_object_get(r->body, "answers"), *g = NULL;
    if (body_only(r, allowed) || read_comment(r, &comment))
        return;
    if (answers == NULL || json_is_null(answers)) {
        reply_error(r, 422, "missing_field", "is required", "answers");
        return;
    }
    if (read_timing(r, &timing, &timed) != 0)
        return;
    rc = judgment_submit(r->app->db, r->id[0], &r->who, answers, timed ? &timing : NULL, comment,
                         &g, &pr, &why, &created);
    if (rc != 0) {
        api_reply_problems(r, rc, &pr, why, "no such task");
    } else if (!created) {
        /* A retry: the judgment as stored (its comment is the first's). */
        json_int_t id = json_integer_value(json_object_get(g, "id"));
        json_decref(g);
        reply_judgment(r, 200, (int64_t)id);
    } else {
        reply_json(r, 201, json_pack("{so}", "judgment", g));
    }
    json_decref(pr.list);
}

void api_tasks_skip(struct req *r)
{
    static const char *const allowed[] = {"reason", NULL};
    const char *reason = NULL, *why = NULL;
    int rc;
    if (body_only(r, allowed) || body_string(r, "reason", 0, &reason))
        return;
    if (reason != NULL && util_utf8_len(reason) > 1000) {
        reply_error(r, 422, NULL, "at most 1000 characters", "reason");
        return;
    }
    rc = task_skip(r->app->db, r->id[0], &r->who, reason, &why);
    if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such task" : why, NULL);
    else
        reply_task(r, 200, r->id[0]);
}

void api_judgments_get(struct req *r)
{
    reply_judgment(r, 200, r->id[0]);
}

void api_judgments_revise(struct req *r)
{
    static const char *const allowed[] = {"answers", "comment", NULL};
    struct problems pr = {0};
    const char *why = NULL, *comment = NULL;
    json_t *answers = json_object_get(r->body, "answers");
    int rc;
    if (body_only(r, allowed) || read_comment(r, &comment))
        return;
    if (answers == NULL || json_is_null(answers)) {
        reply_error(r, 422, "missing_field", "is required", "answers");
        return;
    }
    rc = judgment_revise(r->app->db, r->id[0], &r->who, answers, comment, &pr, &why);
    if (rc != 0)
        api_reply_problems(r, rc, &pr, why, "no such judgment");
    else
        reply_judgment(r, 200, r->id[0]);
    json_decref(pr.list);
}

/* {"decision": "accept"|"reject", "reason"?}: those who manage the job
 * only; to everyone else, labelers included, the judgment does not exist. */
void api_judgments_review(struct req *r)
{
    static const char *const allowed[] = {"decision", "reason", NULL};
    enum review_decision d;
    const char *decision, *reason = NULL, *why = NULL;
    int rc, changed = 0;
    if (body_only(r, allowed) || body_string(r, "decision", 1, &decision) ||
        body_string(r, "reason", 0, &reason))
        return;
    if (review_decision_parse(decision, &d) != 0) {
        reply_error(r, 422, "invalid", "must be accept or reject", "decision");
        return;
    }
    if (reason != NULL && util_utf8_len(reason) > 1000) {
        reply_error(r, 422, "invalid", "at most 1000 characters", "reason");
        return;
    }
    rc = review_judgment(r->app->db, r->id[0], &r->who, d, reason, r->addr, &changed, &why);
    if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such judgment" : why, NULL);
    else
        reply_judgment(r, 200, r->id[0]);
}

/* {"kind": "broken"|"unsafe"|"needs_expertise"|"other", "note"?}: the
 * task's labeler flags its item (flags.h); "other" needs a note. */
void api_tasks_flag(struct req *r)
{
    static const char *const allowed[] = {"kind", "note", NULL};
    const char *kind, *note = NULL;
    json_t *flags = NULL;
    int rc, created = 0;
    if (body_only(r, allowed) || body_string(r, "kind", 1, &kind) ||
        body_string(r, "note", 0, &note))
        return;
    if (!flag_kind_valid(kind)) {
        reply_error(r, 422, "invalid", "must be broken, unsafe, needs_expertise or other", "kind");
        return;
    }
    if (note != NULL && note[strspn(note, " \t\r\n")] == '\0')
        note = NULL;
    if (note != NULL && util_utf8_len(note) > FLAG_NOTE_MAX) {
        reply_error(r, 422, "invalid", "at most 1000 characters", "note");
        return;
    }
    if (note == NULL && strcmp(kind, "other") == 0) {
        reply_error(r, 422, "missing_field", "say what is wrong", "note");
        return;
    }
    rc = flag_raise(r->app->db, r->id[0], &r->who, kind, note, &created, &flags);
    if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such task" : NULL, NULL);
    else
        reply_json(r, created ? 201 : 200, json_pack("{so}", "flags", flags));
}

/* GET /api/v1/jobs/{id}/judgments/mine?before=&limit=: the caller's own
 * judgments in the job, newest first (the labeling page's history, from
 * which a judgment is reopened and revised). */
void api_judgments_mine(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    char names[16][64], values[16][256];
    int64_t before = 0, limit = 20, next = 0;
    json_t *list = NULL;
    struct job j;
    int n, i, rc;
    if ((n = api_query_params(r, names, values)) < 0)
        return;
    for (i = 0; i < n; i++) {
        if (strcmp(names[i], "before") == 0) {
            if (util_parse_int(values[i], 1, INT64_MAX, &before) != 0) {
                reply_error(r, 422, NULL, "before must be the next cursor of a previous page",
                            "before");
                return;
            }
        } else if (strcmp(names[i], "limit") == 0) {
            if (util_parse_int(values[i], 1, 100, &limit) != 0) {
                reply_error(r, 422, NULL, "limit must be a whole number from 1 to 100", "limit");
                return;
            }
        } else {
            reply_error(r, 422, "unknown_field", "unknown query parameter", names[i]);
            return;
        }
    }
    if (api_job_load(r, c, 0, &j) != 0)
        return;
    rc = judgments_of_labeler(c, j.id, r->who.user_id, before, (int)limit, &list, &next);
    job_free_fields(&j);
    if (rc != 0) {
        reply_err(r, rc, NULL, NULL);
        return;
    }
    reply_json(r, 200,
               json_pack("{soso}", "judgments", list, "next",
                         next > 0 ? json_integer(next) : json_null()));
}
