/* A job configuration as POST /api/v1/jobs reads it: strict JSON, then
 * jobs.c's job_config_parse (questions, acceptance rule, every field). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    struct job_config cfg;
    struct problems pr = {0};
    if (o == NULL)
        return 0;
    memset(&cfg, 0, sizeof cfg);
    if (json_is_object(o) && job_config_parse(o, &cfg, &pr) == 0) {
        json_t *back = job_questions_json(&cfg);
        json_decref(back);
    }
    job_config_clear(&cfg);
    json_decref(pr.list);
    json_decref(o);
    return 0;
}
