/* progress.c: a job's progress (see progress.h). Four queries on the
 * reader: item counts, task counts, per-labeler durations (sorted by
 * SQLite, so medians are read off directly) and judgments per minute. */
#include "progress.h"

#include "util.h"

#include <stdlib.h>

double progress_median(const double *v, size_t n)
{
    if (n == 0)
        return 0;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Closes the labeler row being built: median and counts. */
static void flush_labeler(json_t *labelers, int64_t id, const char *name, const double *d, size_t n,
                          int64_t skips)
{
    if (id == 0)
        return;
    json_array_append_new(labelers,
                          json_pack("{sIsssIsIsf}", "id", (json_int_t)id, "name", name, "judgments",
                                    (json_int_t)n, "skips", (json_int_t)skips, "median_seconds",
                                    progress_median(d, n)));
}

static int labelers_json(struct db_conn *c, int64_t job_id, json_t **out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_STATS_DURATIONS);
    json_t *labelers = json_array();
    double *d = NULL;
    size_t n = 0, cap = 0;
    int64_t cur = 0, skips = 0;
    char name[80] = "";
    int rc;
    if (st == NULL) {
        json_decref(labelers);
        return ERR_DB;
    }
    sqlite3_bind_int64(st, 1, job_id);
    /* Rows come by labeler, judged before skipped, durations ascending. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int judged = sqlite3_column_text(st, 2)[0] == 'j';
        if (id != cur) {
            flush_labeler(labelers, cur, name, d, n, skips);
            cur = id;
            n = 0;
            skips = 0;
            db_col_text(st, 1, name, sizeof name);
        }
        if (!judged) {
            skips++;
            continue;
        }
        if (n == cap) {
            double *nd = realloc(d, (cap = cap ? cap * 2 : 64) * sizeof *d);
            if (nd == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            d = nd;
        }
        d[n++] = (double)sqlite3_column_int64(st, 3) / 1000.0;
    }
    if (rc == SQLITE_DONE)
        flush_labeler(labelers, cur, name, d, n, skips);
    db_done(st);
    free(d);
    if (rc != SQLITE_DONE) {
        json_decref(labelers);
        return ERR_DB;
    }
    *out = labelers;
    return 0;
}

int progress_json(struct db_conn *c, int64_t job_id, int overlap, int64_t now_ms, json_t **out)
{
    sqlite3_stmt *st;
    int64_t items = 0, complete = 0, in_progress = 0, judged = 0, skipped = 0, leased = 0;
    int64_t minutes[60] = {0}, last_hour = 0;
    json_t *labelers = NULL, *per_minute;
    int i;
    if ((st = db_stmt(c, SQL_STATS_ITEMS)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int(st, 2, overlap);
    sqlite3_bind_int64(st, 3, now_ms);
    if (sqlite3_step(st) == SQLITE_ROW) {
        items = sqlite3_column_int64(st, 0);
        complete = sqlite3_column_int64(st, 1);
        in_progress = sqlite3_column_int64(st, 2);
    }
    db_done(st);
    if ((st = db_stmt(c, SQL_STATS_TASKS)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, now_ms);
    if (sqlite3_step(st) == SQLITE_ROW) {
        judged = sqlite3_column_int64(st, 0);
        skipped = sqlite3_column_int64(st, 1);
        leased = sqlite3_column_int64(st, 2);
    }
    db_done(st);
    if ((st = db_stmt(c, SQL_STATS_RECENT)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, now_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t m = sqlite3_column_int64(st, 0);
        if (m >= 0 && m < 60) {
            minutes[m] = sqlite3_column_int64(st, 1);
            last_hour += minutes[m];
        }
    }
    db_done(st);
    if (labelers_json(c, job_id, &labelers) != 0)
        return ERR_DB;
    /* Oldest minute first, so the series reads left to right. */
    per_minute = json_array();
    for (i = 59; i >= 0; i--)
        json_array_append_new(per_minute, json_integer(minutes[i]));
    *out = json_pack("{s{sIsIsIsI}sIsIsIsos{sfsIso}so}", "items", "total", (json_int_t)items,
                     "complete", (json_int_t)complete, "in_progress", (json_int_t)in_progress,
                     "untouched", (json_int_t)(items - complete - in_progress), "judgments",
                     (json_int_t)judged, "skips", (json_int_t)skipped, "live_leases",
                     (json_int_t)leased, "at", util_json_time_ms(now_ms), "last_hour",
                     "judgments_per_minute", (double)last_hour / 60.0, "judgments",
                     (json_int_t)last_hour, "per_minute", per_minute, "labelers", labelers);
    return *out != NULL ? 0 : ERR_NOMEM;
}
