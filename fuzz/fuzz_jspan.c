/* The span scanner that reads stored answers and items without parsing
 * (jspan.c), on any bytes: members, elements, and skipping. */
#include "jspan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"better", "winner", "strength", "a", "b", "order"};
    struct jspan all = {(const char *)data, size}, v, got[6], el[32];
    int i, n;
    jspan_skip(all.p, all.p + all.len);
    for (i = 0; i < 6; i++)
        if (jspan_member(all, keys[i], &v) == 0) {
            jspan_member(v, "winner", &got[0]);
            jspan_elements(v, el, 32);
        }
    jspan_members(all, keys, 6, got);
    n = jspan_elements(all, el, 32);
    for (i = 0; i < n; i++)
        jspan_elements(el[i], got, 6);
    return 0;
}
