/* unit.h: a tiny test harness. CHECK records a failure with its location
 * and goes on; unit_done() prints "N passed, M failed" and returns the
 * exit status. */
#ifndef ARBITER_UNIT_H
#define ARBITER_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            unit_passed++;                                                                         \
        } else {                                                                                   \
            unit_failed++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

/* Removes a test database and its WAL and shared-memory files. */
static inline void unit_rm_db(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    int i;
    for (i = 0; i < 3; i++) {
        char f[512];
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        remove(f);
    }
}

static inline int unit_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
    return unit_failed == 0 ? 0 : 1;
}

#endif
