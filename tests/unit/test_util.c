/* test_util.c: src/util.c */
#include "unit.h"
#include "util.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void)
{
    char s[64];
    int64_t t = 0;
    struct buf b = {0};
    static const char *const allowed[] = {"a", "b", NULL};
    json_t *o;
    CHECK(sodium_init() >= 0);

    /* Nesting depth: arrays and objects count, brackets inside strings
     * (escaped quotes included) do not. */
    CHECK(util_json_too_deep("[[1]]", 5, 2) == 0);
    CHECK(util_json_too_deep("[[[1]]]", 7, 2) == 1);
    CHECK(util_json_too_deep("{\"a\":{\"b\":{}}}", 16, 2) == 1);
    CHECK(util_json_too_deep("[\"[[[[\"]", 8, 1) == 0);
    CHECK(util_json_too_deep("[\"\\\"[[[[\"]", 10, 1) == 0);
    CHECK(util_json_too_deep("[1][2][3]", 9, 1) == 0);
    CHECK(util_json_too_deep(NULL, 0, 1) == 0);
    {
        static char bomb[2000];
        memset(bomb, '[', 1000);
        memset(bomb + 1000, ']', 1000);
        CHECK(util_json_too_deep(bomb, sizeof bomb, JSON_DEPTH_MAX) == 1);
        CHECK(util_json_too_deep(bomb + 1000 - 64, 128, JSON_DEPTH_MAX) == 0);
        CHECK(util_json_too_deep(bomb + 1000 - 65, 130, JSON_DEPTH_MAX) == 1);
    }
    /* Same text: line ends as a browser makes them, white space at the ends. */
    CHECK(util_text_same("a\r\nb", "a\nb"));
    CHECK(util_text_same("a\rb", "a\nb"));
    CHECK(util_text_same("  text\n", "text"));
    CHECK(util_text_same("", " \n"));
    CHECK(!util_text_same("a b", "a  b"));
    CHECK(!util_text_same("abc", "abd"));
    CHECK(!util_text_same("abc", "ab"));
    CHECK(!util_text_same("a\n\nb", "a\nb"));

    util_time_iso(0, s, sizeof s);
    CHECK_STR(s, "1970-01-01T00:00:00Z");
    CHECK(util_parse_iso("2026-11-22T10:40:00Z", &t) == 0 && t == 1795344000);
    util_time_iso(t, s, sizeof s);
    CHECK_STR(s, "2026-11-22T10:40:00Z");
    CHECK(util_parse_iso("2026-11-22 10:40", &t) == -1);
    CHECK(util_parse_iso("2026-11-22T10:40:00Zjunk", &t) == -1);
    {
        int64_t n = 0;
        CHECK(util_parse_int("42", 1, 100, &n) == 0 && n == 42);
        CHECK(util_parse_int("-3", -5, 5, &n) == 0 && n == -3);
        CHECK(util_parse_int("0", 1, 100, &n) == -1);
        CHECK(util_parse_int("", 0, 100, &n) == -1 && util_parse_int("+4", 0, 100, &n) == -1);
        CHECK(util_parse_int(" 4", 0, 100, &n) == -1 && util_parse_int("4x", 0, 100, &n) == -1);
        CHECK(util_parse_int("99999999999999999999", 0, INT64_MAX, &n) == -1); /* overflow */
    }
    util_time_iso_ms(1795344000123LL, s, sizeof s);
    CHECK_STR(s, "2026-11-22T10:40:00.123Z");
    util_time_iso_ms(-1, s, sizeof s);
    CHECK_STR(s, "1969-12-31T23:59:59.999Z");
    util_time_iso(951782400, s, sizeof s); /* a leap day */
    CHECK_STR(s, "2000-02-29T00:00:00Z");
    {
        /* The hand-made formatter agrees with gmtime_r and strftime. */
        int i, same = 1;
        for (i = 0; i < 200000 && same; i++) {
            time_t v = (time_t)((int64_t)randombytes_uniform(4000000) * 97 - 100000000LL +
                                (int64_t)randombytes_uniform(86400));
            struct tm tm;
            char want[64];
            gmtime_r(&v, &tm);
            strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
            util_time_iso((int64_t)v, s, sizeof s);
            same = strcmp(s, want) == 0;
        }
        CHECK(same);
    }

    util_b64url((const uint8_t *)"\xfb\xff\xfe", 3, s, sizeof s);
    CHECK_STR(s, "-__-");          /* url-safe alphabet, no padding */
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
