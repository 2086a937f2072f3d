/* test_util.c: src/util.c */
#include "unit.h"
#include "util.h"

#include <sodium.h>
#include <stdlib.h>

int main(void)
{
    char s[64];
    int64_t t = 0;
    struct buf b = {0};
    static const char *const allowed[] = {"a", "b", NULL};
    json_t *o;
    CHECK(sodium_init() >= 0);

    util_time_iso(0, s, sizeof s);
    CHECK_STR(s, "1970-01-01T00:00:00Z");
    CHECK(util_parse_iso("2026-11-22T10:40:00Z", &t) == 0 && t == 1795344000);
    util_time_iso(t, s, sizeof s);
    CHECK_STR(s, "2026-11-22T10:40:00Z");
    CHECK(util_parse_iso("2026-11-22 10:40", &t) == -1);
    CHECK(util_parse_iso("2026-11-22T10:40:00Zjunk", &t) == -1);

    util_b64url((const uint8_t *)"\xfb\xff\xfe", 3, s, sizeof s);
    CHECK_STR(s, "-__-"); /* url-safe alphabet, no padding */
    CHECK(util_b64_len(32) == 44); /* 43 characters and the NUL */

    CHECK(util_str_eq_ct("abc", "abc"));
    CHECK(!util_str_eq_ct("abc", "abd"));
    CHECK(!util_str_eq_ct("abc", "abcd"));

    CHECK(util_utf8_len("héllo") == 5);
    CHECK(util_utf8_len("日本語") == 3);

    o = json_pack("{sisi}", "a", 1, "b", 2);
    CHECK(util_json_unknown_key(o, allowed) == NULL);
    json_object_set_new(o, "zz", json_null());
    CHECK(util_json_unknown_key(o, allowed) != NULL);
    CHECK_STR(util_json_unknown_key(o, allowed), "zz");
    json_decref(o);

    CHECK(buf_printf(&b, "%d-%s", 42, "x") == 0);
    CHECK_STR(b.data, "42-x");
    buf_free(&b);
    for (t = 0; t < 1000; t++)
        buf_puts(&b, "0123456789");
    CHECK(b.len == 10000 && b.data[10000] == '\0');
    buf_free(&b);
    CHECK(buf_printf(&b, "%0600d", 7) == 0 && b.len == 600); /* past the stack buffer */
    buf_free(&b);
    buf_html_escape(&b, "<img src=x onerror=\"a('&')\">");
    CHECK_STR(b.data, "&lt;img src=x onerror=&quot;a(&#39;&amp;&#39;)&quot;&gt;");
    buf_free(&b);
    buf_free(NULL);
    return unit_done("test_util");
}
