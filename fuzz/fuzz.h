/* fuzz.h: what the libFuzzer targets share (fuzz/README.md). */
#ifndef ARBITER_FUZZ_H
#define ARBITER_FUZZ_H

#include "jobs.h"
#include "valid.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A job with every kind of question, for the targets that need one. */
static inline struct job_config *fuzz_job(void)
{
    static struct job_config cfg;
    static int ready;
    if (!ready) {
        struct problems pr = {0};
        json_t *o = json_loads(
            "{\"name\": \"fuzz\", \"overlap\": 3, \"questions\": ["
            "{\"name\": \"better\", \"type\": \"pairwise\", \"allow_tie\": true, "
            "\"allow_both_bad\": true, \"strength\": 3},"
            "{\"name\": \"order\", \"type\": \"rank\", \"allow_ties\": true, \"required\": false},"
            "{\"name\": \"helpful\", \"type\": \"rating\", \"scale\": {\"min\": -2, \"max\": 4}, "
            "\"required\": false},"
            "{\"name\": \"ok\", \"type\": \"rating\", \"scale\": \"thumbs\", \"required\": false},"
            "{\"name\": \"tags\", \"type\": \"labels\", \"options\": [\"rude\", \"wrong\", "
            "\"ok\"], \"multiple\": true, \"required\": false},"
            "{\"name\": \"topic\", \"type\": \"labels\", \"options\": [\"x\", \"y\"], "
            "\"required\": false},"
            "{\"name\": \"rewrite\", \"type\": \"text\", \"prefill\": \"response:a\", "
            "\"required\": false}]}",
            0, NULL);
        memset(&cfg, 0, sizeof cfg);
        if (o == NULL || job_config_parse(o, &cfg, &pr) != 0)
            abort(); /* the fixture itself is wrong */
        json_decref(o);
        json_decref(pr.list);
        ready = 1;
    }
    return &cfg;
}

/* data as a NUL-terminated string (malloc'd). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
