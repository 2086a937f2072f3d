/* api_jobs.c: jobs over HTTP: create, list, read, change, members,
 * progress, and the Markdown preview of instructions. Who may do what
 * beyond the route table's minimum role is decided here from the job
 * (api_job_load, shared with api_items.c and api_export.c): its owner and
 * admins manage it; its members see it; to everyone else it does not
 * exist (404, so ids leak nothing). */
#include "api.h"

#include "items.h"
#include "jobs.h"
#include "progress.h"
#include "reviews.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads the job of the path; 0, or replies 404 and returns -1. manage:
 * the caller must manage the job (403 for members who do not). */
int api_job_load(struct req *r, struct db_conn *c, int manage, struct job *j)
{
    int rc;
    if (c == NULL) {
        reply_err(r, ERR_DB, NULL, NULL);
        return -1;
    }
    rc = job_load(c, r->id[0], j);
    if (rc == 0 && !job_can_manage(j, &r->who)) {
        int member = job_is_member(c, j->id, r->who.user_id);
        rc = member ? (manage ? ERR_FORBIDDEN : 0) : ERR_NOT_FOUND;
        if (rc != 0)
            job_free_fields(j);
    }
    if (rc != 0) {
        reply_err(r, rc,
                  rc == ERR_NOT_FOUND   ? "no such job"
                  : rc == ERR_FORBIDDEN ? "only the job's lead or an admin may do this"
                                        : NULL,
                  NULL);
        return -1;
    }
    return 0;
}

static void reply_job(struct req *r, int status, int64_t id)
{
    struct db_conn *c = db_reader(r->app->db);
    struct job j;
    if (c == NULL || job_load(c, id, &j) != 0) {
        reply_err(r, ERR_DB, NULL, NULL);
        return;
    }
    reply_json(r, status, json_pack("{so}", "job", job_json(c, &j, &r->who)));
    job_free_fields(&j);
}

/* 422 with every problem; takes pr's list. One problem is the error
 * itself: its code, and its field and message as the message. */
static void reply_problems(struct req *r, struct problems *pr, const char *what)
{
    char msg[640];
    json_t *first = json_array_get(pr->list, 0);
    const char *field = json_string_value(json_object_get(first, "field"));
    const char *text = json_string_value(json_object_get(first, "message"));
    if (pr->count == 1)
        snprintf(msg, sizeof msg, "%s%s%s", field != NULL && field[0] != '\0' ? field : "",
                 field != NULL && field[0] != '\0' ? ": " : "", text != NULL ? text : "invalid");
    else
        snprintf(msg, sizeof msg, "%d problems in the %s", pr->count, what);
    reply_error_with(r, 422,
                     pr->count == 1 ? json_string_value(json_object_get(first, "code")) : "invalid",
                     msg, field, "problems", pr->list);
    pr->list = NULL;
}

void api_jobs_list(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    int64_t *ids = NULL;
    size_t n = 0, i;
    json_t *arr;
    if (c == NULL || job_list_ids(c, &r->who, &ids, &n) != 0) {
        reply_err(r, ERR_DB, NULL, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; i < n; i++) {
        struct job j;
        if (job_load(c, ids[i], &j) != 0)
            continue;
        json_array_append_new(arr, job_json(c, &j, &r->who));
        job_free_fields(&j);
    }
    free(ids);
    reply_json(r, 200, json_pack("{so}", "jobs", arr));
}

void api_jobs_create(struct req *r)
{
    struct job_config cfg;
    struct problems pr = {0};
    int64_t id = 0;
    int rc = job_config_parse(r->body, &cfg, &pr);
    if (rc == ERR_INVALID) {
        reply_problems(r, &pr, "job");
        job_config_clear(&cfg);
        return;
    }
    if (rc == 0)
        rc = job_create(r->app->db, &cfg, r->who.user_id, r->who.user_id, r->addr, &id);
    job_config_clear(&cfg);
    if (rc != 0) {
        reply_err(r, rc, NULL, NULL);
        return;
    }
    reply_job(r, 201, id);
}

void api_jobs_get(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct job j;
    if (api_job_load(r, c, 0, &j) != 0)
        return;
    reply_json(r, 200, json_pack("{so}", "job", job_json(c, &j, &r->who)));
    job_free_fields(&j);
}

void api_jobs_update(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct problems pr = {0};
    struct job j;
    const char *why = NULL;
    int rc;
    if (api_job_load(r, c, 1, &j) != 0)
        return;
    job_free_fields(&j);
    db_reader_idle(r->app->db);
    rc = job_update(r->app->db, r->id[0], r->body, r->who.user_id, r->addr, &pr, &why);
    if (rc == ERR_INVALID && pr.count > 0)
        reply_problems(r, &pr, "change");
    else if (rc != 0)
        reply_err(r, rc, why,
                  rc == ERR_CONFLICT && why != NULL && strstr(why, "question") != NULL ? "questions"
                  : rc == ERR_CONFLICT && why != NULL && strstr(why, "status") != NULL ? "status"
                                                                                       : NULL);
    else
        reply_job(r, 200, r->id[0]);
    json_decref(pr.list);
}

void api_jobs_members_get(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct job j;
    if (api_job_load(r, c, 1, &j) != 0)
        return;
    job_free_fields(&j);
    reply_json(r, 200, json_pack("{so}", "members", job_members_json(c, r->id[0])));
}

void api_jobs_members_put(struct req *r)
{
    static const char *const allowed[] = {"members", NULL};
    struct db_conn *c = db_reader(r->app->db);
    struct problems pr = {0};
    struct job j;
    int rc;
    if (body_only(r, allowed) || api_job_load(r, c, 1, &j) != 0)
        return;
    job_free_fields(&j);
    db_reader_idle(r->app->db);
    if (json_object_get(r->body, "members") == NULL) {
        reply_error(r, 422, "missing_field", "is required", "members");
        return;
    }
    rc = job_set_members(r->app->db, r->id[0], json_object_get(r->body, "members"), r->who.user_id,
                         r->addr, &pr);
    if (rc == ERR_INVALID && pr.count > 0)
        reply_problems(r, &pr, "members");
    else if (rc != 0)
        reply_err(r, rc, NULL, NULL);
    else
        reply_json(r, 200, json_pack("{so}", "members", job_members_json(c, r->id[0])));
    json_decref(pr.list);
}

void api_jobs_stats(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct job j;
    json_t *out = NULL;
    int rc;
    if (api_job_load(r, c, 1, &j) != 0)
        return;
    rc = progress_json(c, j.id, j.cfg.overlap, util_now_ms(), &out);
    job_free_fields(&j);
    if (rc != 0)
        reply_err(r, rc, NULL, NULL);
    else
        reply_json(r, 200, json_pack("{so}", "stats", out));
}

/* {"markdown": "..."} -> {"html": "..."}: the job form's live preview of
 * instructions, rendered exactly as labelers will see them. */
void api_markdown(struct req *r)
{
    static const char *const keys[] = {"markdown", NULL};
    const char *md;
    char *html;
    if (body_only(r, keys) != 0 || body_string(r, "markdown", 1, &md) != 0)
        return;
    if ((html = job_render_markdown(md)) == NULL) {
        reply_err(r, ERR_NOMEM, NULL, NULL);
        return;
    }
    reply_json(r, 200, json_pack("{ss}", "html", html));
    free(html);
}

/* POST /api/v1/jobs/{id}/labelers/{user}/reject {"reason"?}: every
 * judgment of that labeler in the job rejected, their leases released,
 * and they leave the job (reviews.h). */
void api_jobs_labeler_reject(struct req *r)
{
    static const char *const allowed[] = {"reason", NULL};
    const char *reason = NULL, *why = NULL;
    int rejected = 0, released = 0, rc;
    if (body_only(r, allowed) || body_string(r, "reason", 0, &reason))
        return;
    if (reason != NULL && util_utf8_len(reason) > 1000) {
        reply_error(r, 422, "invalid", "at most 1000 characters", "reason");
        return;
    }
    rc = review_labeler(r->app->db, r->id[0], r->id[1], &r->who, reason, r->addr, &rejected,
                        &released, &why);
    if (rc != 0) {
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such job" : why, NULL);
        return;
    }
    {
        struct db_conn *c = db_reader(r->app->db);
        json_t *members = c != NULL ? job_members_json(c, r->id[0]) : NULL;
        reply_json(r, 200,
                   json_pack("{sisiso}", "rejected", rejected, "leases_released", released,
                             "members", members != NULL ? members : json_array()));
    }
}
