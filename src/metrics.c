/* metrics.c: see metrics.h. Statuses are kept per route in a fixed table of
 * the codes Arbiter answers with; anything else counts under its class
 * (e.g. 502 as "5xx"), so memory is fixed and no lock is needed. */
#include "metrics.h"

#include <stdint.h>
#include <stdlib.h>

static const int statuses[] = {200, 201, 204, 206, 302, 304, 400, 401, 403,
                               404, 405, 409, 413, 415, 422, 429, 500, 503};
#define N_STATUS (sizeof statuses / sizeof statuses[0])
#define N_OTHER_CLASS 6 /* 0xx..5xx */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKET (sizeof bounds / sizeof bounds[0])

struct route_metrics {
    uint64_t by_status[N_STATUS];
    uint64_t by_class[N_OTHER_CLASS];
    uint64_t bucket[N_BUCKET]; /* non-cumulative; summed when rendered */
    uint64_t count;
    uint64_t sum_us;
};

struct metrics {
    size_t n;
    const char *const *names;
    struct route_metrics r[];
};

struct metrics *metrics_new(size_t n, const char *const *names)
{
    struct metrics *m = calloc(1, sizeof *m + (n + 1) * sizeof m->r[0]);
    if (m == NULL)
        return NULL;
    m->n = n;
    m->names = names;
    return m;
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_observe(struct metrics *m, size_t route, int status, double seconds)
{
    struct route_metrics *r = &m->r[route < m->n ? route : m->n];
    size_t i;
    for (i = 0; i < N_STATUS && statuses[i] != status; i++)
        ;
    if (i < N_STATUS)
        __atomic_add_fetch(&r->by_status[i], 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&r->by_class[(status / 100) % N_OTHER_CLASS], 1, __ATOMIC_RELAXED);
    for (i = 0; i < N_BUCKET && seconds > bounds[i]; i++)
        ;
    if (i < N_BUCKET)
        __atomic_add_fetch(&r->bucket[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&r->count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&r->sum_us, (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
}

static uint64_t ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int metrics_render(struct metrics *m, const struct db_stats *st, struct buf *out)
{
    static const char *const hist_le[] = {"1", "4", "16", "64", "256", "+Inf"};
    size_t i, j;
    int rc = 0;
    rc |= buf_puts(out, "# HELP arbiter_http_requests_total HTTP requests by route and status.\n"
                        "# TYPE arbiter_http_requests_total counter\n");
    for (i = 0; i <= m->n; i++) {
        const char *name = i < m->n ? m->names[i] : "other";
        for (j = 0; j < N_STATUS; j++)
            if (ld(&m->r[i].by_status[j]) > 0)
                rc |= buf_printf(out,
                                 "arbiter_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                 name, statuses[j], (unsigned long long)ld(&m->r[i].by_status[j]));
        for (j = 0; j < N_OTHER_CLASS; j++)
            if (ld(&m->r[i].by_class[j]) > 0)
                rc |= buf_printf(
                    out, "arbiter_http_requests_total{route=\"%s\",status=\"%zuxx\"} %llu\n", name,
                    j, (unsigned long long)ld(&m->r[i].by_class[j]));
    }
    rc |= buf_puts(out, "# HELP arbiter_http_request_duration_seconds Time to answer a request.\n"
                        "# TYPE arbiter_http_request_duration_seconds histogram\n");
    for (i = 0; i <= m->n; i++) {
        const char *name = i < m->n ? m->names[i] : "other";
        uint64_t cum = 0, count = ld(&m->r[i].count);
        if (count == 0)
            continue;
        for (j = 0; j < N_BUCKET; j++) {
            cum += ld(&m->r[i].bucket[j]);
            rc |= buf_printf(
                out, "arbiter_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                name, bounds[j], (unsigned long long)cum);
        }
        rc |= buf_printf(
            out,
            "arbiter_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
            "arbiter_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
            "arbiter_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
            name, (unsigned long long)count, name, ld(&m->r[i].sum_us) / 1e6, name,
            (unsigned long long)count);
    }
    if (st != NULL) {
        uint64_t cum = 0;
        rc |= buf_printf(out,
                         "# HELP arbiter_db_write_batches_total Write transactions committed by "
                         "the writer (group commits).\n"
                         "# TYPE arbiter_db_write_batches_total counter\n"
                         "arbiter_db_write_batches_total %llu\n"
                         "# HELP arbiter_db_writes_total Writes carried by those batches.\n"
                         "# TYPE arbiter_db_writes_total counter\n"
                         "arbiter_db_writes_total %llu\n"
                         "# HELP arbiter_db_failed_commits_total Batches whose COMMIT failed.\n"
                         "# TYPE arbiter_db_failed_commits_total counter\n"
                         "arbiter_db_failed_commits_total %llu\n"
                         "# HELP arbiter_db_write_batch_size Writes per batch.\n"
                         "# TYPE arbiter_db_write_batch_size histogram\n",
                         (unsigned long long)st->batches, (unsigned long long)st->writes,
                         (unsigned long long)st->failed_commits);
        for (j = 0; j < 6; j++) {
            cum += st->batch_hist[j];
            rc |= buf_printf(out, "arbiter_db_write_batch_size_bucket{le=\"%s\"} %llu\n",
                             hist_le[j], (unsigned long long)cum);
        }
        rc |= buf_printf(
            out, "arbiter_db_write_batch_size_sum %llu\narbiter_db_write_batch_size_count %llu\n",
            (unsigned long long)st->writes, (unsigned long long)st->batches);
    }
    return rc != 0 ? ERR_NOMEM : 0;
}
