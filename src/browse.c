/* browse.c: the items list, item status and counters, releasing skips
 * (see browse.h). */
#include "browse.h"

#include "audit.h"
#include "items.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cursors: "i.<id>", "d.<disagreement>.<id>", "a.<ms>.<id>" ---- */

static const char sort_tag[] = {'i', 'd', 'a'};

int browse_cursor_parse(const char *s, enum browse_sort sort, double *key, int64_t *id)
{
    char *end;
    long long v;
    if (s[0] != sort_tag[sort] || s[1] != '.')
        return ERR_INVALID;
    s += 2;
    *key = 0;
    if (sort != SORT_ID) {
        const char *dot = strrchr(s, '.');
        char num[40];
        if (dot == NULL || dot == s || (size_t)(dot - s) >= sizeof num)
            return ERR_INVALID;
        memcpy(num, s, (size_t)(dot - s));
        num[dot - s] = '\0';
        errno = 0;
        *key = strtod(num, &end);
        if (errno != 0 || *end != '\0' || !isfinite(*key))
            return ERR_INVALID;
        s = dot + 1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0)
        return ERR_INVALID;
    *id = v;
    return 0;
}

static json_t *cursor_of(enum browse_sort sort, double d, int64_t at, int64_t id)
{
    char s[BROWSE_CURSOR_MAX];
    if (sort == SORT_ID)
        snprintf(s, sizeof s, "i.%lld", (long long)id);
    else if (sort == SORT_DISAGREEMENT)
        snprintf(s, sizeof s, "d.%.17g.%lld", d, (long long)id);
    else
        snprintf(s, sizeof s, "a.%lld.%lld", (long long)at, (long long)id);
    return json_string(s);
}

/* ---- the text filters, exactly (SQL has only narrowed them down) ---- */

/* s as it appears inside a stored JSON string (escaped, no quotes), or
 * NULL. Malloc'd. */
static char *json_inner(const char *s)
{
    json_t *v = json_string(s);
    char *t = v != NULL ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    size_t n;
    json_decref(v);
    if (t == NULL)
        return NULL;
    n = strlen(t);
    memmove(t, t + 1, n - 2);
    t[n - 2] = '\0';
    return t;
}

/* A LIKE pattern (escape '^') matching text that contains s. Malloc'd. */
static char *like_of(const char *s)
{
    size_t n = strlen(s), i, k = 0;
    char *p = malloc(2 * n + 3);
    if (p == NULL)
        return NULL;
    p[k++] = '%';
    for (i = 0; i < n; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '^')
            p[k++] = '^';
        p[k++] = s[i];
    }
    p[k++] = '%';
    p[k] = '\0';
    return p;
}

static int has_text(json_t *v, const char *q)
{
    return json_is_string(v) && strcasestr(json_string_value(v), q) != NULL;
}

static int matches(json_t *item, const struct browse_query *q)
{
    json_t *v, *r;
    size_t i;
    if (q->q != NULL) {
        int found = has_text(json_object_get(item, "prompt"), q->q);
        json_array_foreach(json_object_get(item, "messages"), i, v)
        {
            if (!found)
                found = has_text(json_object_get(v, "content"), q->q);
        }
        json_array_foreach(json_object_get(item, "responses"), i, r)
        {
            if (!found)
                found = has_text(json_object_get(r, "text"), q->q);
        }
        if (!found)
            return 0;
    }
    if (q->model != NULL) {
        int found = 0;
        json_array_foreach(json_object_get(item, "responses"), i, r)
        {
            v = json_object_get(r, "model");
            if (json_is_string(v) && strcmp(json_string_value(v), q->model) == 0)
                found = 1;
        }
        if (!found)
            return 0;
    }
    for (i = 0; i < (size_t)q->n_meta; i++) {
        json_t *m = json_object_get(json_object_get(item, "metadata"), q->meta_key[i]);
        char *t;
        int same;
        if (m == NULL || json_is_object(m) || json_is_array(m))
            return 0;
        if (json_is_string(m)) {
            if (strcmp(json_string_value(m), q->meta_value[i]) != 0)
                return 0;
            continue;
        }
        t = json_dumps(m, JSON_ENCODE_ANY | JSON_COMPACT);
        same = t != NULL && strcmp(t, q->meta_value[i]) == 0;
        free(t);
        if (!same)
            return 0;
    }
    return 1;
}

json_t *item_excerpt(json_t *item)
{
    json_t *p = json_object_get(item, "prompt"), *msgs = json_object_get(item, "messages");
    const char *s = NULL;
    size_t n = 0, chars = 0;
    if (json_is_string(p))
        s = json_string_value(p);
    else if (json_array_size(msgs) > 0)
        s = json_string_value(
            json_object_get(json_array_get(msgs, json_array_size(msgs) - 1), "content"));
    if (s == NULL)
        return json_string("");
    while (s[n] != '\0' && chars < 200) {
        n++;
        while (((unsigned char)s[n] & 0xC0) == 0x80)
            n++;
        chars++;
    }
    return json_stringn(s, n);
}

static json_t *models_of(json_t *item)
{
    json_t *out = json_array(), *r, *m;
    size_t i, j;
    json_array_foreach(json_object_get(item, "responses"), i, r)
    {
        int seen = 0;
        m = json_object_get(r, "model");
        if (!json_is_string(m))
            continue;
        for (j = 0; j < json_array_size(out); j++)
            seen |= json_equal(json_array_get(out, j), m);
        if (!seen)
            json_array_append(out, m);
    }
    return out;
}

const char *item_status_name(int judged, int claims, int skips, int rejected, int stuck,
                             int overlap)
{
    if (judged >= overlap)
        return "complete";
    if (stuck)
        return "stuck";
    if (judged == 0 && claims == 0 && skips == 0 && rejected == 0)
        return "untouched";
    return "in_progress";
}

int item_stuck(struct db_conn *c, int64_t job_id, int64_t item_id, int overlap, int judged,
               int claims, char *why, size_t whyn)
{
    sqlite3_stmt *st;
    int64_t members = 0, can = 0;
    int needed = overlap - claims;
    why[0] = '\0';
    if (judged >= overlap || needed <= 0)
        return 0;
    if (db_int64(c, SQL_MEMBER_COUNT, job_id, &members) != 0 ||
        (st = db_stmt(c, SQL_ITEM_CANDIDATES)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, item_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return ERR_DB;
    }
    can = sqlite3_column_int64(st, 0);
    db_done(st);
    if (can >= needed)
        return 0;
    snprintf(why, whyn,
             "needs %d more judgment%s, and %lld of the job's %lld member%s can still take it"
             " (the others judged it, skipped it or hold it): add members, or release the skips",
             needed, needed == 1 ? "" : "s", (long long)can, (long long)members,
             members == 1 ? "" : "s");
    return 1;
}

int items_browse(struct db_conn *c, int64_t job_id, int overlap, const struct browse_query *q,
                 json_t **out)
{
    static const enum sql_id stmts[] = {SQL_ITEM_BROWSE_ID, SQL_ITEM_BROWSE_DISAGREEMENT,
                                        SQL_ITEM_BROWSE_ACTIVITY};
    sqlite3_stmt *st;
    char *like = NULL, *model = NULL, *meta = NULL, *inner;
    double key = q->sort == SORT_DISAGREEMENT ? 2.0 : 0;
    int64_t after = q->sort == SORT_ID ? 0 : INT64_MAX, members = 0;
    json_t *items, *next = NULL;
    int64_t last_at = 0, last_id = 0;
    double last_d = 0;
    int rows = 0, rc = 0, step = SQLITE_DONE;
    *out = NULL;
    if (q->cursor != NULL && browse_cursor_parse(q->cursor, q->sort, &key, &after) != 0)
        return ERR_INVALID;
    if (db_int64(c, SQL_MEMBER_COUNT, job_id, &members) != 0 ||
        (st = db_stmt(c, stmts[q->sort])) == NULL)
        return ERR_DB;
    /* The needles only narrow the rows down for matches() (a missing one
     * narrows nothing), so they are the stored text's escaped forms. */
    if (q->q != NULL && (inner = json_inner(q->q)) != NULL) {
        like = like_of(inner);
        free(inner);
    }
    if (q->model != NULL) {
        size_t n;
        inner = json_inner(q->model);
        n = inner != NULL ? strlen(inner) + 12 : 0;
        if (inner != NULL && (model = malloc(n)) != NULL)
            snprintf(model, n, "\"model\":\"%s\"", inner);
        free(inner);
    }
    if (q->n_meta > 0)
        meta = json_inner(q->meta_value[0]);
    sqlite3_bind_int64(st, 1, job_id);
    if (q->sort == SORT_DISAGREEMENT)
        sqlite3_bind_double(st, 2, key);
    else if (q->sort == SORT_ACTIVITY)
        sqlite3_bind_int64(st, 2, q->cursor != NULL ? (int64_t)key : INT64_MAX);
    sqlite3_bind_int64(st, 3, after);
    sqlite3_bind_int(st, 4, BROWSE_SCAN);
    sqlite3_bind_int(st, 5, overlap);
    sqlite3_bind_int64(st, 6, members);
    if (q->status != NULL)
        sqlite3_bind_text(st, 7, q->status, -1, SQLITE_STATIC);
    if (like != NULL)
        sqlite3_bind_text(st, 8, like, -1, SQLITE_STATIC);
    if (model != NULL)
        sqlite3_bind_text(st, 9, model, -1, SQLITE_STATIC);
    if (meta != NULL)
        sqlite3_bind_text(st, 10, meta, -1, SQLITE_STATIC);
    if (q->labeler_id > 0)
        sqlite3_bind_int64(st, 11, q->labeler_id);
    if (q->min_disagreement >= 0)
        sqlite3_bind_double(st, 12, q->min_disagreement);
    if (q->has_skips >= 0)
        sqlite3_bind_int(st, 13, q->has_skips);
    if (q->has_flags >= 0)
        sqlite3_bind_int(st, 14, q->has_flags);
    if (q->review != NULL)
        sqlite3_bind_text(st, 15, q->review, -1, SQLITE_STATIC);
    items = json_array();
    /* Columns: 0 id, 1 ext_id, 2 claims, 3 judged, 4 skips, 5 flags,
     * 6 accepted, 7 rejected, 8 disagreement, 9 last_at, 10 stuck, 11 passes. */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 9);
        double d = sqlite3_column_double(st, 8);
        int claims = sqlite3_column_int(st, 2), judged = sqlite3_column_int(st, 3);
        int skips = sqlite3_column_int(st, 4), rejected = sqlite3_column_int(st, 7);
        int stuck = sqlite3_column_int(st, 10), accepted = sqlite3_column_int(st, 6);
        struct item it;
        json_t *o;
        last_d = d;
        last_at = at;
        last_id = id;
        rows++;
        if (!sqlite3_column_int(st, 11))
            continue;
        if (item_load(c, id, &it) != 0) {
            rc = ERR_DB;
            break;
        }
        if (!matches(it.data, q)) {
            item_clear(&it);
            continue;
        }
        o = json_pack("{sssoso}", "key", it.ext_id, "excerpt", item_excerpt(it.data), "models",
                      models_of(it.data));
        item_clear(&it);
        json_object_set_new(
            o, "status",
            json_string(item_status_name(judged, claims, skips, rejected, stuck, overlap)));
        json_object_set_new(o, "counts",
                            json_pack("{sisisisi}", "judgments", judged, "leases", claims - judged,
                                      "skips", skips, "flags", sqlite3_column_int(st, 5)));
        json_object_set_new(o, "disagreement",
                            sqlite3_column_type(st, 8) == SQLITE_NULL || d < 0 ? json_null()
                                                                               : json_real(d));
        json_object_set_new(o, "review",
                            json_pack("{sisisi}", "pending", judged - accepted, "accepted",
                                      accepted, "rejected", rejected));
        json_object_set_new(o, "last_activity",
                            sqlite3_column_type(st, 9) == SQLITE_NULL ? json_null()
                                                                      : util_json_time_ms(at));
        json_array_append_new(items, o);
        if ((int)json_array_size(items) == q->limit)
            break; /* a full page: read on from this item */
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = ERR_DB;
    /* A full page, or a window read to its end (there may be more after
     * it): the next page starts after the last item read. */
    if (rc == 0 && (step == SQLITE_ROW || rows == BROWSE_SCAN))
        next = cursor_of(q->sort, last_d, last_at, last_id);
    db_done(st);
    free(like);
    free(model);
    free(meta);
    if (rc != 0) {
        json_decref(items);
        json_decref(next);
        return rc;
    }
    *out = json_pack("{sososi}", "items", items, "next", next != NULL ? next : json_null(),
                     "scanned", rows);
    return *out != NULL ? 0 : ERR_NOMEM;
}

/* ---- keeping the counters ---- */

/* The disagreement of item_id's counted judgments into *d (-1: none). */
static int disagreement_of(struct db_conn *c, int64_t item_id, const struct job_config *given,
                           double *d)
{
    sqlite3_stmt *st = db_stmt(c, SQL_ITEM_REFRESH_READ);
    struct job_config cfg = {0};
    struct problems pr = {0};
    json_t *ids_json = NULL, *qs = NULL, *answers[JOB_OVERLAP_MAX + 1];
    const char *ids[ITEM_RESPONSES_MAX];
    int rc = ERR_DB, n = 0, k, step;
    *d = -1;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, item_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        ids_json = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        if (given == NULL)
            qs = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        rc = ids_json != NULL && (given != NULL || qs != NULL) ? 0 : ERR_DB;
    }
    db_done(st);
    if (rc == 0 && given == NULL && job_questions_parse(qs, &cfg, &pr) != 0)
        rc = ERR_DB;
    json_decref(pr.list);
    json_decref(qs);
    if (rc == 0 && (st = db_stmt(c, SQL_ITEM_COUNTED_ANSWERS)) == NULL)
        rc = ERR_DB;
    if (rc == 0) {
        /* A rejected judgment's slot may be taken again: at most overlap
         * counted judgments, though the array is bounded regardless. */
        sqlite3_bind_int64(st, 1, item_id);
        while ((step = sqlite3_step(st)) == SQLITE_ROW && n <= JOB_OVERLAP_MAX) {
            json_t *a = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
            if (a != NULL)
                answers[n++] = a;
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = ERR_DB;
        db_done(st);
    }
    if (rc == 0 && n >= 2)
        *d = job_answers_disagreement(given != NULL ? given : &cfg, answers, n, ids,
                                      item_ids_of(ids_json, ids));
    for (k = 0; k < n; k++)
        json_decref(answers[k]);
    json_decref(ids_json);
    job_config_clear(&cfg);
    return rc;
}

int item_refresh(struct db_conn *c, int64_t item_id, int answers_changed,
                 const struct job_config *cfg, int64_t now)
{
    sqlite3_stmt *st;
    double d = -1;
    if (answers_changed && disagreement_of(c, item_id, cfg, &d) != 0)
        return ERR_DB;
    if ((st = db_stmt(c, SQL_ITEM_REFRESH)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, item_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, answers_changed);
    if (answers_changed && d >= 0)
        sqlite3_bind_double(st, 4, d);
    return db_step_done(st);
}

struct stale_op {
    int done;
};

static int stale_write(struct db_conn *c, void *arg)
{
    struct stale_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_ITEM_STALE);
    int64_t *ids = NULL;
    int n, k, rc = 0;
    if (st == NULL || (n = db_int64_rows(st, &ids, NULL)) < 0)
        return ERR_DB;
    /* now = 0: the refresh is no activity (their last_at is set). */
    for (k = 0; rc == 0 && k < n; k++)
        rc = item_refresh(c, ids[k], 1, NULL, 0);
    free(ids);
    op->done = n == 0;
    return rc;
}

int items_refresh_stale(struct db *db)
{
    struct stale_op op = {0};
    int rc;
    do
        rc = db_write(db, stale_write, &op);
    while (rc == 0 && !op.done);
    return rc;
}

/* ---- releasing skips ---- */

struct release_op {
    int64_t job_id, actor;
    const char *const *keys;
    int n, released, missing;
    const char *addr;
};

static int release_write(struct db_conn *c, void *arg)
{
    struct release_op *op = arg;
    struct job_state js;
    sqlite3_stmt *st;
    int64_t now = util_now_ms();
    char subject[32];
    json_t *detail;
    int rc, k;
    if ((rc = job_state_load(c, op->job_id, &js)) != 0)
        return rc;
    if (js.status == JOB_CLOSED)
        return ERR_CONFLICT;
    for (k = 0; k < op->n; k++) {
        int64_t item_id;
        if ((st = db_stmt(c, SQL_ITEM_ID_BY_EXT)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, op->job_id);
        sqlite3_bind_text(st, 2, op->keys[k], -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        item_id = sqlite3_column_int64(st, 0);
        db_done(st);
        if (rc != SQLITE_ROW) {
            op->missing = k;
            return rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
        }
        if ((st = db_stmt(c, SQL_ITEM_RELEASE_SKIPS)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, item_id);
        if ((rc = db_step_done(st)) != 0)
            return rc;
        op->released += sqlite3_changes(c->h);
        if ((rc = item_refresh(c, item_id, 0, NULL, now)) != 0)
            return rc;
    }
    snprintf(subject, sizeof subject, "job:%lld", (long long)op->job_id);
    detail = json_pack("{sisi}", "items", op->n, "skips", op->released);
    rc = audit_add(c, op->actor, "item_release", subject, op->addr, detail);
    json_decref(detail);
    return rc;
}

int items_release(struct db *db, int64_t job_id, const char *const *keys, int n, int64_t actor_id,
                  const char *addr, int *released, int *missing)
{
    struct release_op op = {job_id, actor_id, keys, n, 0, -1, addr};
    int rc = db_write(db, release_write, &op);
    *released = rc == 0 ? op.released : 0;
    *missing = op.missing;
    return rc;
}
