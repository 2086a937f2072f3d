/* An import line (Arbiter's format or Bedrock's) against a job with every
 * kind of question: items.c's item_parse_line. */
#include "fuzz.h"
#include "items.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf out = {0}, ids = {0};
    struct problems pr = {0};
    char ext[ITEM_ID_BYTES + 1];
    int n = 0;
    item_parse_line(fuzz_job(), (const char *)data, size, &out, &ids, ext, &n, &pr);
    buf_free(&out);
    buf_free(&ids);
    json_decref(pr.list);
    return 0;
}
