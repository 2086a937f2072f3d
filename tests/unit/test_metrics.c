/* test_metrics.c: src/metrics.c */
#include "metrics.h"
#include "unit.h"

#include <string.h>

int main(void)
{
    static const char *const names[] = {"GET /a", "POST /b"};
    struct metrics *m = metrics_new(2, names);
    struct db_stats st = {3, 10, 0, {1, 1, 1, 0, 0, 0}};
    struct buf b = {0};
    CHECK(m != NULL);
    metrics_observe(m, 0, 200, 0.0001);
    metrics_observe(m, 0, 200, 0.003);
    metrics_observe(m, 1, 422, 0.2);
    metrics_observe(m, 2, 404, 20.0); /* "other", past the last bucket */
    metrics_observe(m, 1, 418, 0.1);  /* not in the table: its class */
    CHECK(metrics_render(m, &st, &b) == 0);
    CHECK(strstr(b.data, "arbiter_http_requests_total{route=\"GET /a\",status=\"200\"} 2\n") !=
          NULL);
    CHECK(strstr(b.data, "arbiter_http_requests_total{route=\"POST /b\",status=\"422\"} 1\n") !=
          NULL);
    CHECK(strstr(b.data, "arbiter_http_requests_total{route=\"POST /b\",status=\"4xx\"} 1\n") !=
          NULL);
    CHECK(strstr(b.data, "arbiter_http_requests_total{route=\"other\",status=\"404\"} 1\n") !=
          NULL);
    /* cumulative buckets: 0.0001 <= 0.0005; 0.003 <= 0.005 */
    CHECK(strstr(
              b.data,
              "arbiter_http_request_duration_seconds_bucket{route=\"GET /a\",le=\"0.0005\"} 1\n") !=
          NULL);
    CHECK(
        strstr(b.data,
               "arbiter_http_request_duration_seconds_bucket{route=\"GET /a\",le=\"0.005\"} 2\n") !=
        NULL);
    CHECK(strstr(b.data,
                 "arbiter_http_request_duration_seconds_bucket{route=\"other\",le=\"10\"} 0\n") !=
          NULL);
    CHECK(strstr(b.data,
                 "arbiter_http_request_duration_seconds_bucket{route=\"other\",le=\"+Inf\"} 1\n") !=
          NULL);
    CHECK(strstr(b.data, "arbiter_http_request_duration_seconds_count{route=\"GET /a\"} 2\n") !=
          NULL);
    CHECK(strstr(b.data, "arbiter_db_write_batches_total 3\n") != NULL);
    CHECK(strstr(b.data, "arbiter_db_writes_total 10\n") != NULL);
    CHECK(strstr(b.data, "arbiter_db_write_batch_size_bucket{le=\"16\"} 3\n") != NULL);
    buf_free(&b);
    metrics_free(m);
    metrics_free(NULL);
    return unit_done("test_metrics");
}
