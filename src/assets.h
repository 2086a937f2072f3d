/* assets.h: the files of web/, templates/, static/ and schema/, compiled
 * into the binary by the build (see src/embed.c), or read from a directory
 * while developing (serve --assets DIR). */
#ifndef ARBITER_ASSETS_H
#define ARBITER_ASSETS_H

#include <stddef.h>

struct asset {
    const char *path;          /* relative to the source tree: "web/login.js" */
    const unsigned char *data; /* NUL-terminated for convenience */
    size_t len;
};

/* The embedded table, sorted by path, ended by a zeroed entry. */
extern const struct asset assets_table[];
extern const size_t assets_count;

/* An asset's bytes: embedded (owned == NULL) or read from disk (owned is the
 * heap copy, released by assets_release). */
struct asset_data {
    const unsigned char *data;
    size_t len;
    void *owned;
};

/* Finds path (e.g. "static/app.css"). With dir == NULL the embedded copy is
 * used, else dir/path is read from disk. Paths with "..", a leading "/" or
 * outside the four asset folders are refused. Returns 0 or ERR_NOT_FOUND.
 * Thread-safe. */
int assets_get(const char *dir, const char *path, struct asset_data *out);
void assets_release(struct asset_data *a);

/* The MIME type for a path, from its extension. */
const char *assets_mime(const char *path);

#endif
