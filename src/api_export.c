/* api_export.c: a job's exports (streamed JSON Lines, with the cursor
 * for the next pull) and its human-evaluation report over HTTP. */
#include "api.h"

#include "export.h"
#include "jobs.h"
#include "report.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_query_params(struct req *r, char names[16][64], char values[16][256])
{
    const char *q = r->ri->query_string != NULL ? r->ri->query_string : "";
    int n = 0, got;
    char name[64], value[256];
    while ((got = util_query_next(&q, name, sizeof name, value, sizeof value)) != 0) {
        if (got < 0 || n == 16) {
            reply_error(
                r, 422, NULL,
                n == 16
                    ? "too many query parameters (16 at most)"
                    : "a query parameter is too long, badly %-encoded, holds a NUL or is not UTF-8",
                name[0] != '\0' ? name : NULL);
            return -1;
        }
        memcpy(names[n], name, sizeof name);
        memcpy(values[n], value, sizeof value);
        n++;
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
    if ((n = api_query_params(r, names, values)) < 0)
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
    if (api_job_load(r, c, 1, &j) != 0)
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
             (long long)j.id, export_format_name(o.format),
             o.aggregate == EXPORT_AGG_MAJORITY      ? "-majority"
             : o.aggregate == EXPORT_AGG_DAWID_SKENE ? "-dawid-skene"
                                                     : "",
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
    if ((n = api_query_params(r, names, values)) < 0)
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
    if (api_job_load(r, c, 1, &j) != 0)
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
