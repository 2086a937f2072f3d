/* assets.c: lookup of the embedded (or on-disk, in development) files. */
#include "assets.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int path_ok(const char *path)
{
    static const char *const roots[] = {"web/", "templates/", "static/", "schema/", NULL};
    const char *const *r;
    if (strstr(path, "..") != NULL || strchr(path, '\\') != NULL)
        return 0;
    for (r = roots; *r != NULL; r++)
        if (strncmp(path, *r, strlen(*r)) == 0 && path[strlen(*r)] != '\0')
            return 1;
    return 0;
}

static int read_file(const char *dir, const char *path, struct asset_data *out)
{
    char full[4096];
    FILE *f;
    long n;
    char *data = NULL;
    int rc = ERR_NOT_FOUND;

    if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, path) >= sizeof full)
        return ERR_NOT_FOUND;
    f = fopen(full, "rb");
    if (f == NULL)
        return ERR_NOT_FOUND;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    data = malloc((size_t)n + 1);
    if (data == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (fread(data, 1, (size_t)n, f) != (size_t)n)
        goto out;
    data[n] = '\0';
    out->data = (const unsigned char *)data;
    out->len = (size_t)n;
    out->owned = data;
    data = NULL;
    rc = 0;
out:
    free(data);
    fclose(f);
    return rc;
}

int assets_get(const char *dir, const char *path, struct asset_data *out)
{
    size_t lo = 0, hi = assets_count;
    memset(out, 0, sizeof *out);
    if (!path_ok(path))
        return ERR_NOT_FOUND;
    if (dir != NULL)
        return read_file(dir, path, out);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(assets_table[mid].path, path);
        if (c == 0) {
            out->data = assets_table[mid].data;
            out->len = assets_table[mid].len;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return ERR_NOT_FOUND;
}

void assets_release(struct asset_data *a)
{
    if (a == NULL)
        return;
    free(a->owned);
    a->owned = NULL;
}

const char *assets_mime(const char *path)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".html", "text/html; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/schema+json"},
        {".woff2", "font/woff2"},
        {".sql", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    size_t i;
    if (dot != NULL)
        for (i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].mime;
    return "application/octet-stream";
}
