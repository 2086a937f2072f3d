/* api_items.c: items over HTTP: the streamed all-or-nothing import of
 * JSON Lines, and paging through a job's items. */
#include "api.h"

#include "items.h"
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (api_job_load(r, c, 1, &j) != 0)
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
    if (api_job_load(r, c, 1, &j) != 0)
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

/* GET /api/v1/jobs/{id}/items/{key}: one item with its judgments, skips
 * and live leases (items.h), by its imported id. */
void api_items_get(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    json_t *out = NULL;
    struct job j;
    int rc;
    if (api_job_load(r, c, 0, &j) != 0)
        return;
    if (!job_can_manage(&j, &r->who)) {
        job_free_fields(&j);
        reply_err(r, ERR_NOT_FOUND, "no such item", NULL);
        return;
    }
    rc = item_detail(c, j.id, j.cfg.overlap, r->key, &r->who, &out);
    job_free_fields(&j);
    if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such item" : NULL, NULL);
    else
        reply_json(r, 200, out);
}
