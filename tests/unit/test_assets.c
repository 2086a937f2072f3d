/* test_assets.c: src/assets.c and the embedded table made by src/embed.c */
#include "assets.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    struct asset_data a;
    size_t i;
    CHECK(assets_count > 0);
    for (i = 1; i < assets_count; i++)
        CHECK(strcmp(assets_table[i - 1].path, assets_table[i].path) < 0); /* sorted */
    CHECK(assets_get(NULL, "static/app.css", &a) == 0 && a.len > 0 && a.owned == NULL);
    CHECK(assets_get(NULL, "templates/login.html", &a) == 0 &&
          strstr((const char *)a.data, "<form") != NULL);
    CHECK(assets_get(NULL, "schema/001_accounts.sql", &a) == 0);
    CHECK(assets_get(NULL, "static/nope.css", &a) != 0);
    CHECK(assets_get(NULL, "static/../schema/001_accounts.sql", &a) != 0);
    CHECK(assets_get(NULL, "/etc/passwd", &a) != 0);
    CHECK(assets_get(NULL, "src/main.c", &a) != 0);
    CHECK(assets_get(NULL, "static/", &a) != 0);
    /* From disk, as with serve --assets: same bytes as embedded. */
    CHECK(assets_get(".", "static/app.css", &a) == 0 && a.owned != NULL);
    {
        struct asset_data e;
        assets_get(NULL, "static/app.css", &e);
        CHECK(a.len == e.len && memcmp(a.data, e.data, a.len) == 0);
    }
    assets_release(&a);
    assets_release(NULL);
    CHECK(assets_get(".", "static/../../etc/passwd", &a) != 0);
    CHECK_STR(assets_mime("web/x.js"), "text/javascript; charset=utf-8");
    CHECK_STR(assets_mime("static/a.css"), "text/css; charset=utf-8");
    CHECK_STR(assets_mime("static/a.bin"), "application/octet-stream");
    return unit_done("test_assets");
}
