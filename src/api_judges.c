/* api_judges.c: model judges over HTTP (src/judges.c, docs/judges.md). */
#include "api.h"

#include "judges.h"

#include <string.h>

/* POST /api/v1/jobs/{id}/judge-judgments: a batch of one judge's
 * judgments, all or none. */
void api_judges_submit(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct problems pr = {0};
    struct job j;
    int counts[3] = {0, 0, 0}, rc;
    if (api_job_load(r, c, 1, &j) != 0)
        return;
    rc = judge_submit(r->app->db, &j, r->body, &r->who, r->addr, &pr, counts);
    if (rc != 0) {
        api_reply_problems(r, rc, &pr, NULL, NULL);
    } else {
        reply_json(r, counts[0] > 0 ? 201 : 200,
                   json_pack("{sssisisi}", "judge",
                             json_string_value(json_object_get(r->body, "judge")), "created",
                             counts[0], "revised", counts[1], "unchanged", counts[2]));
    }
    json_decref(pr.list);
    job_free_fields(&j);
}

/* GET /api/v1/jobs/{id}/judges: who judged the job, and how much. */
void api_judges_list(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    struct job j;
    json_t *list;
    if (api_job_load(r, c, 1, &j) != 0)
        return;
    list = judges_json(c, j.id);
    job_free_fields(&j);
    if (list == NULL)
        reply_err(r, ERR_DB, NULL, NULL);
    else
        reply_json(r, 200, json_pack("{so}", "judges", list));
}
