/* A JSON request body as every route reads it: strict JSON (duplicate keys
 * refused), then valid.c's typed readers collecting every problem. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"name", "overlap", "open", NULL};
    json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    struct problems pr = {0};
    int n = 0, b = 0;
    char path[64];
    if (o == NULL)
        return 0;
    if (json_is_object(o)) {
        valid_keys(o, "", allowed, &pr);
        valid_str(o, "", "name", 1, 200, &pr);
        valid_int(o, "", "overlap", 1, 20, &n, &pr);
        valid_bool(o, "", "open", &b, &pr);
        valid_path(path, sizeof path, "questions[3]",
                   json_string_value(json_object_get(o, "name")));
    }
    json_decref(pr.list);
    json_decref(o);
    return 0;
}
