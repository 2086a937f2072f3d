/* api_jobs.c: jobs over HTTP: create, list, read, change, members,
 * import items, page through items, progress. Who may do what beyond the
 * route table's minimum role is decided here from the job: its owner and
 * admins manage it; its members see it; to everyone else it does not
 * exist (404, so ids leak nothing). */
#include "api.h"

#include "export.h"
#include "report.h"

#include "items.h"
#include "jobs.h"
#include "progress.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads the job of the path; 0, or replies 404 and returns -1. manage:
 * the caller must manage the job (403 for members who do not). */
static int load_job(struct req *r, struct db_conn *c, int manage, struct job *j)
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
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such job" : rc == ERR_FORBIDDEN ? "only the job's lead or an admin may do this" : NULL, NULL);
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
    if (load_job(r, c, 0, &j) != 0)
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
    if (load_job(r, c, 1, &j) != 0)
        return;
    job_free_fields(&j);
    db_reader_idle(r->app->db);
    rc = job_update(r->app->db, r->id[0], r->body, r->who.user_id, r->addr, &pr, &why);
    if (rc == ERR_INVALID && pr.count > 0)
        reply_problems(r, &pr, "change");
    else if (rc != 0)
        reply_err(r, rc, why, rc == ERR_CONFLICT && why != NULL && strstr(why, "question") != NULL ? "questions" : rc == ERR_CONFLICT && why != NULL && strstr(why, "status") != NULL ? "status" : NULL);
    else
        reply_job(r, 200, r->id[0]);
    json_decref(pr.list);
}

void api_jobs_members_get(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct job j;
    if (load_job(r, c, 1, &j) != 0)
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
    if (body_only(r, allowed) || load_job(r, c, 1, &j) != 0)
        return;
    job_free_fields(&j);
    db_reader_idle(r->app->db);
    if (json_object_get(r->body, "members") == NULL) {
        reply_error(r, 422, "missing_field", "is required", "members");
        return;
    }
    rc = job_set_members(r->app->db, r->id[0], json_object_get(r->body, "members"),
                         r->who.user_id, r->addr, &pr);
    if (rc == ERR_INVALID && pr.count > 0)
        reply_problems(r, &pr, "members");
    else if (rc != 0)
        reply_err(r, rc, NULL, NULL);
    else
        reply_json(r, 200, json_pack("{so}", "members", job_members_json(c, r->id[0])));
    json_decref(pr.list);
}

#define IMPORT_MAX ((long long)1 << 30) /* bytes in one import body */

struct body_reader {
    struct mg_connection *conn;
    long long total;
    int too_large;
};

static long read_body_chunk(void *ctx, char *buf, size_t n)
{
    struct body_reader *br = ctx;
    int got = mg_read(br->conn, buf, n);
    if (got <= 0)
        return got;
    br->total += got;
    if (br->total > IMPORT_MAX) {
        br->too_large = 1;
        return -1;
    }
    return got;
}

void api_items_import(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct body_reader br = {r->conn, 0, 0};
    struct import_result res;
    struct job j;
    int rc;
    if (load_job(r, c, 1, &j) != 0)
        return;
    job_free_fields(&j);
    db_reader_idle(r->app->db);
    rc = items_import(r->app->db, r->id[0], read_body_chunk, &br, r->who.user_id, r->addr,
                      r->app->cfg.staging_dir, &res);
    if (rc == 0) {
        reply_json(r, 201, json_pack("{sIsI}", "imported", (json_int_t)res.imported, "lines",
                                     (json_int_t)res.lines));
    } else if (rc == ERR_INVALID) {
        char msg[160];
        snprintf(msg, sizeof msg, "%lld bad line%s; nothing was imported",
                 (long long)res.bad_lines, res.bad_lines == 1 ? "" : "s");
        reply_error_with(r, 422, "invalid_lines", msg, NULL, "lines", res.errors);
        res.errors = NULL;
    } else if (br.too_large) {
        reply_error(r, 413, NULL, "an import is at most 1 GiB; split the file", NULL);
    } else {
        reply_err(r, rc, res.why, NULL);
    }
    json_decref(res.errors);
}

void api_items_list(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    const char *q = r->ri->query_string;
    char v[32];
    long long after = 0, limit = 100;
    struct job j;
    json_t *page;
    if (load_job(r, c, 1, &j) != 0)
        return;
    if (q != NULL && mg_get_var(q, strlen(q), "after", v, sizeof v) > 0)
        after = atoll(v);
    if (q != NULL && mg_get_var(q, strlen(q), "limit", v, sizeof v) > 0)
        limit = atoll(v);
    if (after < 0 || limit < 1 || limit > 1000) {
        job_free_fields(&j);
        reply_error(r, 422, NULL, "after >= 0 and limit from 1 to 1000", after < 0 ? "after" : "limit");
        return;
    }
    page = items_page(c, j.id, after, (int)limit, j.cfg.overlap);
    job_free_fields(&j);
    if (page == NULL)
        reply_err(r, ERR_DB, NULL, NULL);
    else
        reply_json(r, 200, page);
}

void api_jobs_stats(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct job j;
    json_t *out = NULL;
    int rc;
    if (load_job(r, c, 1, &j) != 0)
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

/* Splits the query string into (at most 16) decoded names and values; their
 * count, or -1 after a 422. */
static int query_params(struct req *r, char names[16][64], char values[16][256])
{
    const char *q = r->ri->query_string;
    int n = 0;
    while (q != NULL && *q != '\0') {
        const char *amp = strchr(q, '&'), *eq;
        size_t len = amp != NULL ? (size_t)(amp - q) : strlen(q);
        eq = memchr(q, '=', len);
        if (len > 0) {
            size_t nlen = eq != NULL ? (size_t)(eq - q) : len;
            if (n == 16 || nlen >= 64 || mg_url_decode(q, (int)nlen, names[n], 64, 1) < 0 ||
                mg_url_decode(eq != NULL ? eq + 1 : q + len, eq != NULL ? (int)(len - nlen - 1) : 0,
                              values[n], 256, 1) < 0) {
                reply_error(r, 422, NULL, "too many or too long query parameters", NULL);
                return -1;
            }
            n++;
        }
        q = amp != NULL ? amp + 1 : NULL;
    }
    return n;
}

static int export_sink_http(void *ctx, const char *data, size_t len)
{
    return reply_stream_write(ctx, data, len);
}

/* GET /api/v1/jobs/{id}/export?format=...: the job's judgments as JSON
 * Lines, streamed (src/export.c). The cursor of the snapshot is in the
 * head (X-Arbiter-Cursor), before the first row. */
void api_jobs_export(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    const char *why = NULL, *field = NULL;
    char names[16][64], values[16][256], head[512];
    unsigned char key[32];
    struct export_opts o;
    struct job j;
    int64_t cursor = 0, rows = 0;
    int n = 0, i, rc;
    export_opts_default(&o);
    if ((n = query_params(r, names, values)) < 0)
        return;
    for (i = 0; i < n; i++) {
        rc = export_opt_set(&o, names[i], values[i], &why);
        if (rc == ERR_NOT_FOUND) {
            reply_error(r, 422, "unknown_field", "unknown query parameter", names[i]);
            return;
        }
        if (rc != 0) {
            reply_error(r, 422, NULL, why, names[i]);
            return;
        }
    }
    if (load_job(r, c, 1, &j) != 0)
        return;
    if (export_opts_check(&o, &j, &why, &field) != 0) {
        reply_error(r, 422, NULL, why, field);
        job_free_fields(&j);
        return;
    }
    if (export_cursor(c, j.id, &cursor) != 0 || auth_key_load(r->app->db, key) != 0) {
        reply_err(r, ERR_DB, NULL, NULL);
        job_free_fields(&j);
        return;
    }
    if (o.since > cursor) {
        reply_error(r, 422, NULL, "is past the job's last change: not a cursor of this job",
                    "since");
        job_free_fields(&j);
        return;
    }
    snprintf(head, sizeof head,
             "Content-Disposition: attachment; filename=\"job-%lld-%s%s-%lld.jsonl\"\r\n"
             "X-Arbiter-Cursor: %lld\r\nX-Arbiter-Since: %lld\r\n",
             (long long)j.id, export_format_name(o.format), o.majority ? "-majority" : "",
             (long long)cursor, (long long)cursor, (long long)o.since);
    reply_stream_start(r, 200, "application/x-ndjson", head);
    rc = export_run(r->app->db, &j, &o, cursor, key, export_sink_http, r, &rows);
    sodium_memzero(key, sizeof key);
    if (rc == 0)
        reply_stream_end(r);
    else if (rc != -1)
        fprintf(stderr, "arbiter: export of job %lld failed midway (%d)\n", (long long)j.id, rc);
    job_free_fields(&j);
}

/* GET /api/v1/jobs/{id}/report: the human-evaluation report (src/report.c),
 * as JSON or (format=jsonl) a line per figure. */
void api_jobs_report(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    char names[16][64], values[16][256];
    const char *why = NULL;
    struct report_opts o;
    struct job j;
    json_t *rep = NULL;
    int n, i, rc, jsonl = 0;
    report_opts_default(&o);
    if ((n = query_params(r, names, values)) < 0)
        return;
    for (i = 0; i < n; i++) {
        if (strcmp(names[i], "format") == 0) {
            if (strcmp(values[i], "json") != 0 && strcmp(values[i], "jsonl") != 0) {
                reply_error(r, 422, NULL, "must be json or jsonl", "format");
                return;
            }
            jsonl = values[i][4] == 'l';
            continue;
        }
        rc = report_opt_set(&o, names[i], values[i], &why);
        if (rc != 0) {
            reply_error(r, 422, rc == ERR_NOT_FOUND ? "unknown_field" : NULL,
                        rc == ERR_NOT_FOUND ? "unknown query parameter" : why, names[i]);
            return;
        }
    }
    if (load_job(r, c, 1, &j) != 0)
        return;
    rc = report_build(r->app->db, &j, &o, &rep, &why);
    job_free_fields(&j);
    if (rc != 0) {
        reply_err(r, rc, why, NULL);
        return;
    }
    if (jsonl) {
        char *lines = NULL;
        size_t len = 0;
        if (report_jsonl(rep, &lines, &len) != 0)
            reply_err(r, ERR_NOMEM, NULL, NULL);
        else
            reply(r, 200, "application/x-ndjson", lines, len, NULL);
        free(lines);
        json_decref(rep);
        return;
    }
    reply_json(r, 200, json_pack("{so}", "report", rep));
}
