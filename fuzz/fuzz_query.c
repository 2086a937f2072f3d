/* Query strings, as every route with parameters reads them
 * (util_query_next: %-decoding, NUL, UTF-8, lengths). */
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size), name[64], value[256];
    const char *q = s;
    int got, n = 0;
    while ((got = util_query_next(&q, name, sizeof name, value, sizeof value)) != 0 &&
           n++ < 10000) {
        if (got > 0 && (strlen(name) >= sizeof name || strlen(value) >= sizeof value))
            abort();
    }
    free(s);
    return 0;
}
