/* unit.h: a tiny test harness. CHECK records a failure with its location
 * and goes on; unit_done() prints "N passed, M failed" and returns the
 * exit status. */
#ifndef ARBITER_UNIT_H
#define ARBITER_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (cond) {                                                                        \
            unit_passed++;                                                                 \
        } else {                                                                           \
            unit_failed++;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
        }                                                                                  \
    } while (0)

#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

static inline int unit_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
    return unit_failed == 0 ? 0 : 1;
}

#endif
