/* api_items.c: items over HTTP: the streamed all-or-nothing import of
 * JSON Lines, and paging through a job's items. */
#include "api.h"

#include "browse.h"
#include "items.h"
#include "jobs.h"
#include "markdown.h"
#include "users.h"
#include "util.h"

#include <ctype.h>
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
        reply_json(r, 201,
                   json_pack("{sIsI}", "imported", (json_int_t)res.imported, "lines",
                             (json_int_t)res.lines));
    } else if (rc == ERR_INVALID) {
        char msg[160];
        snprintf(msg, sizeof msg, "%lld bad line%s; nothing was imported", (long long)res.bad_lines,
                 res.bad_lines == 1 ? "" : "s");
        reply_error_with(r, 422, "invalid_lines", msg, NULL, "lines", res.errors);
        res.errors = NULL;
    } else if (br.too_large) {
        reply_error(r, 413, NULL, "an import is at most 1 GiB; split the file", NULL);
    } else {
        reply_err(r, rc, res.why, NULL);
    }
    json_decref(res.errors);
}

static int one_of(const char *v, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return 0;
}

/* GET /api/v1/jobs/{id}/items: a page of the job's items with the
 * filters and sort of browse.h, from the query string. */
void api_items_list(struct req *r)
{
    static const char *const statuses[] = {"untouched", "in_progress", "complete", "stuck", NULL};
    static const char *const reviews[] = {"pending", "accepted", "rejected", NULL};
    static const char *const sorts[] = {"id", "disagreement", "activity", NULL};
    enum { TEXT = 1024 };
    struct db_conn *c = db_reader(r->app->db);
    const char *qs = r->ri->query_string != NULL ? r->ri->query_string : "";
    char(*vals)[TEXT] = calloc(8 + 2 * BROWSE_META_MAX, TEXT), name[128];
    struct browse_query bq = {0};
    const char *bad = NULL, *why = NULL;
    int nv = 0, got;
    struct job j;
    json_t *page = NULL;
    if (vals == NULL) {
        reply_err(r, ERR_NOMEM, NULL, NULL);
        return;
    }
    if (api_job_load(r, c, 1, &j) != 0) {
        free(vals);
        return;
    }
    bq.limit = 100;
    bq.min_disagreement = -1;
    bq.has_skips = bq.has_flags = -1;
    while (bad == NULL && (got = util_query_next(&qs, name, sizeof name, vals[nv], TEXT)) != 0) {
        char *v = vals[nv], *end;
        if (nv > 8 + 2 * BROWSE_META_MAX - 3) {
            bad = "query";
            why = "too many parameters";
            break;
        }
        if (got < 0) {
            bad = "query";
            why = "a parameter is too long or badly encoded";
            break;
        }
        if (strcmp(name, "sort") == 0) {
            if (!one_of(v, sorts))
                bad = name, why = "must be id, disagreement or activity";
            else
                bq.sort = strcmp(v, "id") == 0             ? SORT_ID
                          : strcmp(v, "disagreement") == 0 ? SORT_DISAGREEMENT
                                                           : SORT_ACTIVITY;
        } else if (strcmp(name, "cursor") == 0) {
            bq.cursor = v, nv++;
        } else if (strcmp(name, "limit") == 0) {
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 1 || n > BROWSE_LIMIT_MAX)
                bad = name, why = "must be from 1 to 500";
            else
                bq.limit = (int)n;
        } else if (strcmp(name, "status") == 0) {
            if (!one_of(v, statuses))
                bad = name, why = "must be untouched, in_progress, complete or stuck";
            else
                bq.status = v, nv++;
        } else if (strcmp(name, "review") == 0) {
            if (!one_of(v, reviews))
                bad = name, why = "must be pending, accepted or rejected";
            else
                bq.review = v, nv++;
        } else if (strcmp(name, "q") == 0 || strcmp(name, "model") == 0) {
            if (v[0] == '\0' || util_utf8_len(v) > 200)
                bad = name, why = "must be 1 to 200 characters";
            else if (name[0] == 'q')
                bq.q = v, nv++;
            else
                bq.model = v, nv++;
        } else if (strcmp(name, "labeler") == 0) {
            struct user u;
            int rc = user_get_by_name(c, v, &u);
            if (rc == ERR_NOT_FOUND)
                bad = name, why = "no such user";
            else if (rc != 0)
                bad = "", why = NULL;
            else
                bq.labeler_id = u.id;
        } else if (strcmp(name, "min_disagreement") == 0) {
            double d = strtod(v, &end);
            if (*v == '\0' || *end != '\0' || !(d >= 0 && d <= 1))
                bad = name, why = "must be a number from 0 to 1";
            else
                bq.min_disagreement = d;
        } else if (strcmp(name, "has_skips") == 0 || strcmp(name, "has_flags") == 0) {
            int t = strcmp(v, "true") == 0 ? 1 : strcmp(v, "false") == 0 ? 0 : -1;
            if (t < 0)
                bad = name, why = "must be true or false";
            else if (name[4] == 's')
                bq.has_skips = t;
            else
                bq.has_flags = t;
        } else if (strncmp(name, "metadata.", 9) == 0) {
            if (bq.n_meta == BROWSE_META_MAX)
                bad = name, why = "at most 4 metadata filters";
            else if (name[9] == '\0' || util_utf8_len(name + 9) > 64 || util_utf8_len(v) > 200)
                bad = name,
                why = "metadata.KEY=VALUE: a key of 1 to 64 characters, a value of at most 200";
            else {
                strcpy(vals[nv + 1], name + 9);
                bq.meta_key[bq.n_meta] = vals[nv + 1];
                bq.meta_value[bq.n_meta++] = v;
                nv += 2;
            }
        } else {
            bad = name, why = "is not a filter of the items list";
        }
        if (bad == name) {
            /* name is reused by the next parameter: keep the one that failed */
            strcpy(vals[nv], name);
            bad = vals[nv];
        }
    }
    if (bad != NULL && why == NULL) {
        reply_err(r, ERR_DB, NULL, NULL);
    } else if (bad != NULL) {
        reply_error(r, 422, "invalid", why, bad);
    } else {
        int rc = items_browse(c, j.id, j.cfg.overlap, &bq, &page);
        if (rc == ERR_INVALID)
            reply_error(r, 422, "invalid",
                        "not a cursor of this list and sort: start again without it", "cursor");
        else if (rc != 0)
            reply_err(r, rc, NULL, NULL);
        else
            reply_json(r, 200, page);
    }
    job_free_fields(&j);
    free(vals);
}

/* POST /api/v1/jobs/{id}/items/release {"items": ["key", ...]}: the skips
 * of those items are released, so the labelers who skipped them may take
 * them again (browse.h). */
void api_items_release(struct req *r)
{
    static const char *const allowed[] = {"items", NULL};
    const char *keys[1000];
    json_t *arr, *v;
    size_t i;
    int released = 0, missing = -1, rc;
    if (body_only(r, allowed) != 0)
        return;
    arr = json_object_get(r->body, "items");
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 1000) {
        reply_error(r, 422, "invalid", "must be a list of 1 to 1000 item ids", "items");
        return;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            char f[32];
            snprintf(f, sizeof f, "items[%zu]", i);
            reply_error(r, 422, "invalid", "must be an item id (a string)", f);
            return;
        }
        keys[i] = json_string_value(v);
    }
    {
        struct db_conn *c = db_reader(r->app->db);
        struct job j;
        if (api_job_load(r, c, 1, &j) != 0)
            return;
        job_free_fields(&j);
        db_reader_idle(r->app->db);
    }
    rc = items_release(r->app->db, r->id[0], keys, (int)json_array_size(arr), r->who.user_id,
                       r->addr, &released, &missing);
    if (rc == ERR_NOT_FOUND && missing >= 0) {
        char f[32];
        snprintf(f, sizeof f, "items[%d]", missing);
        reply_error(r, 422, "invalid", "no such item in this job; nothing was released", f);
    } else if (rc != 0) {
        reply_err(r, rc, rc == ERR_CONFLICT ? "the job is closed" : NULL, NULL);
    } else {
        reply_json(r, 200, json_pack("{si}", "released", released));
    }
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
    if (rc == 0 && api_want_html(r) &&
        md_add_html(json_object_get(json_object_get(out, "item"), "item")) != 0) {
        json_decref(out);
        rc = ERR_NOMEM;
    }
    if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such item" : NULL, NULL);
    else
        reply_json(r, 200, out);
}
