/* judges.c: model judges (see judges.h). */
#include "judges.h"

#include "audit.h"
#include "items.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int judge_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > JUDGE_NAME_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+-") == n;
}

/* One checked entry, ready to write. */
struct entry {
    int64_t item_id;
    char shown[8 * ITEM_RESPONSES_MAX];
    char *answers; /* compact JSON, owned */
};

struct submit_op {
    int64_t job_id, user_id, token_id;
    const char *judge, *addr;
    struct entry *v;
    int n;
    int counts[3]; /* created, revised, unchanged */
};

static int submit_write(struct db_conn *c, void *arg)
{
    struct submit_op *op = arg;
    int64_t now = util_now_ms();
    int k, rc = 0;
    char subject[32];
    json_t *detail;
    memset(op->counts, 0, sizeof op->counts);
    for (k = 0; k < op->n && rc == 0; k++) {
        struct entry *e = &op->v[k];
        sqlite3_stmt *st = db_stmt(c, SQL_JUDGE_FIND);
        int64_t id = 0;
        int same = 0, step;
        if (st == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, op->job_id);
        sqlite3_bind_int64(st, 2, e->item_id);
        sqlite3_bind_text(st, 3, op->judge, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            same = strcmp((const char *)sqlite3_column_text(st, 1), e->shown) == 0 &&
                   strcmp((const char *)sqlite3_column_text(st, 2), e->answers) == 0;
        }
        db_done(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return ERR_DB;
        if (same) {
            op->counts[2]++;
            continue;
        }
        if ((st = db_stmt(c, id != 0 ? SQL_JUDGE_UPDATE : SQL_JUDGE_INSERT)) == NULL)
            return ERR_DB;
        if (id != 0) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_text(st, 2, e->shown, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, e->answers, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, op->user_id);
            if (op->token_id > 0)
                sqlite3_bind_int64(st, 5, op->token_id);
            sqlite3_bind_int64(st, 6, now);
        } else {
            sqlite3_bind_int64(st, 1, op->job_id);
            sqlite3_bind_int64(st, 2, e->item_id);
            sqlite3_bind_text(st, 3, op->judge, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, e->shown, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, e->answers, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 6, op->user_id);
            if (op->token_id > 0)
                sqlite3_bind_int64(st, 7, op->token_id);
            sqlite3_bind_int64(st, 8, now);
        }
        rc = db_step_done(st);
        op->counts[id != 0 ? 1 : 0]++;
    }
    if (rc != 0 || op->counts[0] + op->counts[1] == 0)
        return rc;
    snprintf(subject, sizeof subject, "job:%lld", (long long)op->job_id);
    detail = json_pack("{sssisi}", "judge", op->judge, "created", op->counts[0], "revised",
                       op->counts[1]);
    rc = audit_add(c, op->user_id, "judge_judgments", subject, op->addr, detail);
    json_decref(detail);
    return rc;
}

/* Checks entry k of the batch into e; problems under judgments[k]. */
static int check_entry(struct db_conn *c, const struct job *j, json_t *v, int k, struct entry *e,
                       struct problems *pr)
{
    static const char *const allowed[] = {"item", "shown", "answers", NULL};
    char base[48], field[64];
    const char *ids[ITEM_RESPONSES_MAX], *key;
    int n, i, before = pr->count, rc, order[ITEM_RESPONSES_MAX], used[ITEM_RESPONSES_MAX] = {0};
    size_t len;
    struct item it;
    json_t *shown, *answers;
    snprintf(base, sizeof base, "judgments[%d]", k);
    if (!json_is_object(v)) {
        problems_add(pr, base, "must be an object");
        return ERR_INVALID;
    }
    valid_keys(v, base, allowed, pr);
    key = valid_str(v, base, "item", 1, ITEM_ID_BYTES, pr);
    if (key == NULL)
        return ERR_INVALID;
    rc = item_by_ext(c, j->id, key, &it);
    if (rc == ERR_NOT_FOUND) {
        valid_path(field, sizeof field, base, "item");
        problems_add(pr, field, "no such item in this job");
        return ERR_INVALID;
    }
    if (rc != 0)
        return rc;
    e->item_id = it.id;
    n = item_response_ids(it.data, ids);
    for (i = 0; i < n; i++)
        order[i] = i;
    shown = json_object_get(v, "shown");
    valid_path(field, sizeof field, base, "shown");
    if (shown != NULL && !json_is_null(shown)) {
        if (!json_is_array(shown) || (int)json_array_size(shown) != n) {
            problems_add(pr, field, "must list each of the item's %d response ids once", n);
        } else {
            for (i = 0; i < n; i++) {
                const char *id = json_string_value(json_array_get(shown, (size_t)i));
                int r;
                for (r = 0; id != NULL && r < n && strcmp(ids[r], id) != 0; r++)
                    ;
                if (id == NULL || r == n || used[r]++) {
                    problems_add(pr, field, "must list each of the item's %d response ids once", n);
                    break;
                }
                order[i] = r;
            }
        }
    }
    len = (size_t)snprintf(e->shown, sizeof e->shown, "[");
    for (i = 0; i < n; i++)
        len +=
            (size_t)snprintf(e->shown + len, sizeof e->shown - len, "%s%d", i ? "," : "", order[i]);
    snprintf(e->shown + len, sizeof e->shown - len, "]");
    answers = json_object_get(v, "answers");
    valid_path(field, sizeof field, base, "answers");
    if (!json_is_object(answers))
        problems_add(pr, field, answers == NULL ? "is required" : "must be an object");
    else
        job_answers_check(&j->cfg, answers, ids, n, 0, field, pr);
    if (pr->count == before && (e->answers = json_dumps(answers, JSON_COMPACT)) == NULL)
        rc = ERR_NOMEM;
    item_clear(&it);
    return rc != 0 ? rc : pr->count > before ? ERR_INVALID : 0;
}

int judge_submit(struct db *db, const struct job *j, json_t *body, const struct principal *p,
                 const char *addr, struct problems *pr, int counts[3])
{
    static const char *const allowed[] = {"judge", "judgments", NULL};
    struct db_conn *c = db_reader(db);
    struct submit_op op;
    json_t *list = json_object_get(body, "judgments"), *v;
    const char *judge;
    size_t k;
    int rc = 0;
    memset(&op, 0, sizeof op);
    if (c == NULL)
        return ERR_DB;
    valid_keys(body, "", allowed, pr);
    judge = valid_str(body, "", "judge", 1, JUDGE_NAME_MAX, pr);
    if (judge != NULL && !judge_name_valid(judge))
        problems_add(pr, "judge", "must be 1 to %d letters, digits or . _ : / @ + -",
                     JUDGE_NAME_MAX);
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > JUDGE_BATCH_MAX) {
        problems_add(pr, "judgments",
                     list == NULL ? "is required" : "must be an array of 1 to %d judgments",
                     JUDGE_BATCH_MAX);
        return ERR_INVALID;
    }
    if ((op.v = calloc(json_array_size(list), sizeof *op.v)) == NULL)
        return ERR_NOMEM;
    json_array_foreach(list, k, v)
    {
        size_t x;
        int r = check_entry(c, j, v, (int)k, &op.v[op.n], pr);
        if (r != 0 && r != ERR_INVALID) {
            rc = r;
            break;
        }
        /* One judgment per item in a batch: the later would silently win. */
        for (x = 0; r == 0 && x < (size_t)op.n; x++)
            if (op.v[x].item_id == op.v[op.n].item_id) {
                char field[48];
                snprintf(field, sizeof field, "judgments[%zu].item", k);
                problems_add(pr, field, "is judged twice in this batch");
                r = ERR_INVALID;
            }
        if (r == 0)
            op.n++;
        else
            free(op.v[op.n].answers), op.v[op.n].answers = NULL;
    }
    if (rc == 0 && pr->count > 0)
        rc = ERR_INVALID;
    if (rc == 0) {
        op.job_id = j->id;
        op.user_id = p->user_id;
        op.token_id = p->kind == AUTH_TOKEN ? p->token_id : 0;
        op.judge = judge;
        op.addr = addr;
        rc = db_write(db, submit_write, &op);
        memcpy(counts, op.counts, sizeof op.counts);
    }
    for (k = 0; k < (size_t)op.n; k++)
        free(op.v[k].answers);
    free(op.v);
    return rc;
}

json_t *judges_json(struct db_conn *c, int64_t job_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JUDGE_LIST);
    json_t *arr;
    int step;
    if (st == NULL)
        return NULL;
    arr = json_array();
    sqlite3_bind_int64(st, 1, job_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            arr, json_pack("{sssIsoso}", "judge", (const char *)sqlite3_column_text(st, 0),
                           "judgments", (json_int_t)sqlite3_column_int64(st, 1), "first_at",
                           util_json_time_ms(sqlite3_column_int64(st, 2)), "last_at",
                           util_json_time_ms(sqlite3_column_int64(st, 3))));
    db_done(st);
    if (step != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *judges_of_item(struct db_conn *c, int64_t item_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_JUDGE_OF_ITEM);
    json_t *arr;
    int step;
    if (st == NULL)
        return NULL;
    arr = json_array();
    sqlite3_bind_int64(st, 1, item_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *shown = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        json_t *answers = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        json_array_append_new(
            arr, json_pack("{sssoso sIsoso}", "judge", (const char *)sqlite3_column_text(st, 0),
                           "shown", shown != NULL ? shown : json_null(), "answers",
                           answers != NULL ? answers : json_null(), "revision",
                           (json_int_t)sqlite3_column_int64(st, 3), "created_at",
                           util_json_time_ms(sqlite3_column_int64(st, 4)), "updated_at",
                           util_json_time_ms(sqlite3_column_int64(st, 5))));
    }
    db_done(st);
    if (step != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int judges_any(struct db_conn *c, int64_t job_id)
{
    int64_t v = 0;
    return db_int64(c, SQL_JUDGE_ANY, job_id, &v) != 0 ? ERR_DB : v != 0;
}
