/* A judgment's answers against a job with every kind of question:
 * questions.c's job_answers_check, then the disagreement of the answers
 * with themselves and a fixed judgment when they are valid. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ids[] = {"a", "b", "c"};
    json_t *a = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    struct problems pr = {0};
    if (a == NULL)
        return 0;
    if (json_is_object(a) && job_answers_check(fuzz_job(), a, ids, 3, 0, "answers", &pr) == 0) {
        json_t *other = json_loads(
            "{\"better\": {\"winner\": \"a\"}, \"order\": [\"a\", [\"b\", \"c\"]]}", 0, NULL);
        json_t *both[2] = {a, other};
        job_answers_disagreement(fuzz_job(), both, 2, ids, 3);
        json_decref(other);
    }
    json_decref(pr.list);
    json_decref(a);
    return 0;
}
