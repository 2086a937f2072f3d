/* judges.h: model judges (docs/judges.md). A model judge's judgments sit
 * beside the people's: sent for a job's items under the judge's name (by
 * an API token with the judge scope, or a lead), with no lease, never
 * counted toward overlap, never in the exports, the item pages'
 * disagreement or any human figure of the report. The report compares
 * each judge with the human consensus. */
#ifndef ARBITER_JUDGES_H
#define ARBITER_JUDGES_H

#include "auth.h"
#include "db.h"
#include "jobs.h"
#include "valid.h"

#include <jansson.h>
#include <stdint.h>

#define JUDGE_NAME_MAX 64 /* bytes: letters, digits and . _ : / @ + - */
#define JUDGE_BATCH_MAX 1000

/* Whether s is a judge name. */
int judge_name_valid(const char *s);

/* Stores the judgments of body {"judge": name, "judgments": [{"item": id,
 * "shown"?: [response ids in the order the judge saw them], "answers":
 * {...}}, ...]} for job j, all or none: every entry is checked (the item
 * exists, shown is an order of its responses, the answers are complete
 * and valid for the job's questions) before anything is written. An item
 * judged again by the same judge is replaced. Counts into created,
 * revised and unchanged. 0, ERR_INVALID (problems in *pr), ERR_DB. */
int judge_submit(struct db *db, const struct job *j, json_t *body, const struct principal *p,
                 const char *addr, struct problems *pr, int counts[3]);

/* The job's judges: [{"judge", "judgments", "first_at", "last_at"}]. */
json_t *judges_json(struct db_conn *c, int64_t job_id);

/* The judges' judgments of item_id: [{"judge", "shown", "answers",
 * "revision", "created_at", "updated_at"}]. */
json_t *judges_of_item(struct db_conn *c, int64_t item_id);

/* Whether job_id has any judge's judgment (0 or 1), or ERR_DB. */
int judges_any(struct db_conn *c, int64_t job_id);

#endif
