/* flags.c: flags on items (see flags.h). */
#include "flags.h"

#include "browse.h"
#include "tasks.h"
#include "util.h"

#include <string.h>

static const char *const kinds[] = {"broken", "unsafe", "needs_expertise", "other"};

int flag_kind_valid(const char *s)
{
    size_t i;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(s, kinds[i]) == 0)
            return 1;
    return 0;
}

struct flag_op {
    int64_t task_id, user_id;
    const char *kind, *note;
    int created;
};

static int flag_write(struct db_conn *c, void *arg)
{
    struct flag_op *op = arg;
    struct task_peek t;
    sqlite3_stmt *st;
    int rc = task_peek(c, op->task_id, &t);
    if (rc != 0)
        return rc;
    if (t.labeler_id != op->user_id)
        return ERR_NOT_FOUND;
    if ((st = db_stmt(c, SQL_FLAG_INSERT)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, t.job_id);
    sqlite3_bind_int64(st, 2, t.item_id);
    sqlite3_bind_int64(st, 3, op->task_id);
    sqlite3_bind_int64(st, 4, op->user_id);
    sqlite3_bind_text(st, 5, op->kind, -1, SQLITE_STATIC);
    if (op->note != NULL)
        sqlite3_bind_text(st, 6, op->note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, util_now_ms());
    if ((rc = db_step_done(st)) != 0)
        return rc;
    op->created = sqlite3_changes(c->h) == 1;
    return op->created ? item_refresh(c, t.item_id, 0, NULL, util_now_ms()) : 0;
}

/* A flag row's note and time (columns from, from + 1) into o. */
static void note_and_time(json_t *o, sqlite3_stmt *st, int from)
{
    const char *note = (const char *)sqlite3_column_text(st, from);
    json_object_set_new(o, "note", note != NULL ? json_string(note) : json_null());
    json_object_set_new(o, "at", util_json_time_ms(sqlite3_column_int64(st, from + 1)));
}

int flag_raise(struct db *db, int64_t task_id, const struct principal *p, const char *kind,
               const char *note, int *created, json_t **out)
{
    struct flag_op op = {task_id, p->user_id, kind, note, 0};
    struct db_conn *c;
    sqlite3_stmt *st;
    json_t *arr;
    int rc = db_write(db, flag_write, &op);
    *created = op.created;
    *out = NULL;
    if (rc != 0)
        return rc;
    if ((c = db_reader(db)) == NULL || (st = db_stmt(c, SQL_FLAG_OF_TASK)) == NULL)
        return ERR_DB;
    arr = json_array();
    sqlite3_bind_int64(st, 1, task_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_pack("{ss}", "kind", (const char *)sqlite3_column_text(st, 0));
        note_and_time(o, st, 1);
        json_array_append_new(arr, o);
    }
    db_done(st);
    *out = arr;
    return 0;
}

json_t *flags_of_item(struct db_conn *c, int64_t item_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_ITEM_FLAGS);
    json_t *arr;
    if (st == NULL)
        return NULL;
    arr = json_array();
    sqlite3_bind_int64(st, 1, item_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_pack("{sIssss}", "task_id", (json_int_t)sqlite3_column_int64(st, 0),
                              "labeler", (const char *)sqlite3_column_text(st, 1), "kind",
                              (const char *)sqlite3_column_text(st, 2));
        note_and_time(o, st, 3);
        json_array_append_new(arr, o);
    }
    db_done(st);
    return arr;
}
