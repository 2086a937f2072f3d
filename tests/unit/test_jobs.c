/* test_jobs.c: src/jobs.c, src/questions.c and src/valid.c: job
 * configurations (defaults,
 * every problem named), answers checked exactly against each question
 * type, Markdown rendered safely, and a mutation fuzz of both parsers. */
#include "jobs.h"
#include "unit.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const AB[] = {"a", "b"};
static const char *const ABC[] = {"a", "b", "c"};

/* Parses a job from JSON text; returns the problem count (0: valid). */
static int parse(const char *text, struct job_config *cfg, struct problems *pr)
{
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    memset(pr, 0, sizeof *pr);
    if (v == NULL)
        return -1;
    job_config_parse(v, cfg, pr);
    json_decref(v);
    return pr->count;
}

static int has_field(const struct problems *pr, const char *field)
{
    json_t *p;
    size_t i;
    json_array_foreach(pr->list, i, p) if (strcmp(json_string_value(json_object_get(p, "field")),
                                                  field) == 0) return 1;
    return 0;
}

static const char *JOB =
    "{\"name\": \"Helpfulness\", \"overlap\": 3, \"questions\": ["
    "{\"name\": \"better\", \"type\": \"pairwise\", \"allow_tie\": true, \"strength\": 3},"
    "{\"name\": \"order\", \"type\": \"rank\", \"allow_ties\": true},"
    "{\"name\": \"helpful\", \"type\": \"rating\", \"scale\": {\"min\": 1, \"max\": 5}},"
    "{\"name\": \"overall\", \"type\": \"rating\", \"per_response\": false, \"scale\": \"thumbs\"},"
    "{\"name\": \"edit\", \"type\": \"text\", \"prefill\": \"best\", \"min_chars\": 2, "
    "\"required\": false},"
    "{\"name\": \"flags\", \"type\": \"labels\", \"options\": [\"harmful\", \"wrong\"], "
    "\"multiple\": true}]}";

/* Checks answers (JSON text) against JOB for responses ids; returns the
 * number of problems and whether field was among them. */
static int answers(const struct job_config *cfg, const char *text, const char *const *ids, int n,
                   const char *field)
{
    struct problems pr = {0};
    json_t *v = json_loads(text, 0, NULL);
    int count, found;
    job_answers_check(cfg, v, ids, n, 0, "answers", &pr);
    count = pr.count;
    found = field == NULL || has_field(&pr, field);
    if (!found)
        fprintf(stderr, "  (missing problem %s in %s)\n", field, text);
    json_decref(pr.list);
    json_decref(v);
    return found ? count : -1;
}

static void test_config(void)
{
    struct job_config cfg;
    struct problems pr;
    json_t *qs;
    CHECK(parse(JOB, &cfg, &pr) == 0);
    CHECK(cfg.n_questions == 6 && cfg.overlap == 3 && cfg.lease_seconds == 600);
    CHECK(cfg.randomize_order == 1);
    CHECK(cfg.questions[0].strength == 3 && cfg.questions[0].allow_tie);
    CHECK(cfg.questions[2].per_response == 1 && cfg.questions[2].max == 5);
    CHECK(cfg.questions[3].thumbs && !cfg.questions[3].per_response);
    CHECK(cfg.questions[4].prefill == PREFILL_BEST && !cfg.questions[4].required);
    CHECK(cfg.questions[5].n_options == 2 && cfg.questions[5].multiple);
    /* Normalised JSON parses back to the same. */
    qs = job_questions_json(&cfg);
    {
        struct job_config again = {0};
        struct problems p2 = {0};
        json_t *qs2;
        CHECK(job_questions_parse(qs, &again, &p2) == 0);
        qs2 = job_questions_json(&again);
        CHECK(json_equal(qs, qs2));
        json_decref(qs2);
        job_config_clear(&again);
    }
    json_decref(qs);
    job_config_clear(&cfg);
    json_decref(pr.list);

    CHECK(parse("{\"name\": \"\", \"overlap\": 0, \"lease_seconds\": 1, \"x\": 1, \"questions\": ["
                "{\"name\": \"a\", \"type\": \"pairwise\", \"strength\": true},"
                "{\"name\": \"a\", \"type\": \"rating\"},"
                "{\"name\": \"c\", \"type\": \"rating\", \"scale\": {\"min\": 1, \"max\": 5, "
                "\"labels\": {\"9\": \"x\"}}},"
                "{\"name\": \"d\", \"type\": \"labels\", \"options\": []},"
                "{\"name\": \"e\", \"type\": \"text\", \"min_chars\": 10, \"max_chars\": 5},"
                "{\"type\": \"rank\", \"allow_ties\": \"yes\"}]}",
                &cfg, &pr) >= 10);
    CHECK(has_field(&pr, "name") && has_field(&pr, "overlap") && has_field(&pr, "lease_seconds"));
    CHECK(has_field(&pr, "x") && has_field(&pr, "questions[0].strength"));
    CHECK(has_field(&pr, "questions[1].name") && has_field(&pr, "questions[1].scale"));
    CHECK(has_field(&pr, "questions[2].scale.labels.9"));
    CHECK(has_field(&pr, "questions[3].options") && has_field(&pr, "questions[4].max_chars"));
    CHECK(has_field(&pr, "questions[5].name") && has_field(&pr, "questions[5].allow_ties"));
    job_config_clear(&cfg);
    json_decref(pr.list);
}

static void test_answers(void)
{
    struct job_config cfg;
    struct problems pr;
    const char *full;
    parse(JOB, &cfg, &pr);
    json_decref(pr.list);
    full = "{\"better\": {\"winner\": \"a\", \"strength\": 1}, \"order\": [\"b\", \"a\"],"
           " \"helpful\": {\"a\": 1, \"b\": 5}, \"overall\": false, \"flags\": []}";
    CHECK(answers(&cfg, full, AB, 2, NULL) == 0);
    CHECK(answers(&cfg,
                  "{\"better\": {\"winner\": \"tie\"}, \"order\": [[\"a\", \"b\"]],"
                  " \"helpful\": {\"a\": 3, \"b\": 3}, \"overall\": true,"
                  " \"edit\": \"ok\", \"flags\": [\"harmful\", \"wrong\"]}",
                  AB, 2, NULL) == 0);
    CHECK(answers(&cfg, "{}", AB, 2, "answers.better") == 5); /* every required one */
    CHECK(answers(&cfg, "[]", AB, 2, "answers") == 1);
    CHECK(answers(&cfg, "{\"better\": {\"winner\": \"both_bad\"}}", AB, 2,
                  "answers.better.winner") > 0);
    CHECK(answers(&cfg, "{\"better\": {\"winner\": \"a\", \"strength\": 4}}", AB, 2,
                  "answers.better.strength") > 0);
    CHECK(answers(&cfg, "{\"better\": {\"winner\": \"a\", \"why\": 1}}", AB, 2,
                  "answers.better.why") > 0);
    CHECK(answers(&cfg, "{\"order\": [\"a\", \"c\"]}", AB, 2, "answers.order") > 0);
    CHECK(answers(&cfg, "{\"order\": [\"a\", \"b\"]}", ABC, 3, "answers.order") > 0);
    CHECK(answers(&cfg, "{\"order\": [\"a\", [\"b\"], [\"c\", \"a\"]]}", ABC, 3, "answers.order") >
          0);
    CHECK(answers(&cfg, "{\"order\": [[]]}", AB, 2, "answers.order") > 0);
    CHECK(answers(&cfg, "{\"helpful\": {\"a\": 0, \"b\": 1}}", AB, 2, "answers.helpful.a") > 0);
    CHECK(answers(&cfg, "{\"helpful\": {\"a\": 1.5, \"b\": 1}}", AB, 2, "answers.helpful.a") > 0);
    CHECK(answers(&cfg, "{\"helpful\": {\"a\": 1, \"b\": 1, \"c\": 1}}", AB, 2,
                  "answers.helpful.c") > 0);
    CHECK(answers(&cfg, "{\"helpful\": 3}", AB, 2, "answers.helpful") > 0);
    CHECK(answers(&cfg, "{\"overall\": 1}", AB, 2, "answers.overall") > 0);
    CHECK(answers(&cfg, "{\"edit\": \"x\"}", AB, 2, "answers.edit") > 0);
    CHECK(answers(&cfg, "{\"edit\": 5}", AB, 2, "answers.edit") > 0);
    CHECK(answers(&cfg, "{\"flags\": [\"other\"]}", AB, 2, "answers.flags") > 0);
    CHECK(answers(&cfg, "{\"flags\": \"harmful\"}", AB, 2, "answers.flags") > 0);
    CHECK(answers(&cfg, "{\"nope\": 1}", AB, 2, "answers.nope") > 0);
    job_config_clear(&cfg);
}

static void test_markdown(void)
{
    char *html = job_render_markdown("# T\n\n<script>x()</script>\n\n[a](javascript:x) "
                                     "<img src=x onerror=y> `<b>`");
    CHECK(html != NULL && strstr(html, "<h1 dir=\"auto\">T</h1>") != NULL);
    CHECK(strstr(html, "<script") == NULL && strstr(html, "javascript:") == NULL);
    /* Raw HTML is shown as text, never as markup. */
    CHECK(strstr(html, "<img") == NULL && strstr(html, "&lt;img src=x onerror=y&gt;") != NULL);
    CHECK(strstr(html, "<code>&lt;b&gt;</code>") != NULL);
    free(html);
}

/* Flips, inserts and deletes bytes of valid inputs and feeds them to the
 * parsers: they must never crash (ASan watches) and must either accept or
 * name at least one problem. */
static void test_fuzz(void)
{
    struct job_config cfg;
    struct problems pr;
    const char *answer_seeds[] = {
        "{\"better\": {\"winner\": \"a\", \"strength\": 1}, \"order\": [[\"b\"], [\"a\"]],"
        " \"helpful\": {\"a\": 1, \"b\": 5}, \"overall\": false, \"flags\": [\"wrong\"]}",
        "{\"edit\": \"text\", \"order\": [\"a\", \"b\"]}"};
    static const char bytes[] = "{}[]\",:0123456789abtfn-. \\";
    unsigned seed = 12345;
    int i, accepted = 0, refused = 0;
    parse(JOB, &cfg, &pr);
    json_decref(pr.list);
    for (i = 0; i < 20000; i++) {
        const char *src = i % 3 == 0 ? JOB : answer_seeds[i % 2];
        size_t n = strlen(src), k, edits = 1 + (seed = seed * 1103515245 + 12345) % 4;
        char *m = malloc(n + 8);
        json_t *v;
        memcpy(m, src, n + 1);
        for (k = 0; k < edits; k++) {
            size_t at = (seed = seed * 1103515245 + 12345) % n;
            m[at] = bytes[(seed >> 8) % (sizeof bytes - 1)];
        }
        v = json_loads(m, JSON_REJECT_DUPLICATES, NULL);
        if (v != NULL) {
            struct problems p = {0};
            int rc;
            if (src == JOB) {
                struct job_config c2;
                rc = job_config_parse(v, &c2, &p);
                job_config_clear(&c2);
            } else {
                rc = job_answers_check(&cfg, v, AB, 2, 0, "answers", &p);
            }
            if (rc == 0 && p.count == 0)
                accepted++;
            else if (rc != 0 && p.count > 0)
                refused++;
            else
                CHECK(!"a result without a matching problem list");
            json_decref(p.list);
        }
        json_decref(v);
        free(m);
    }
    CHECK(accepted > 0 && refused > 0);
    job_config_clear(&cfg);
}

int main(void)
{
    test_config();
    test_answers();
    test_markdown();
    test_fuzz();
    return unit_done("test_jobs");
}
