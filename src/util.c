/* util.c: the helpers declared in util.h. Everything here is thread-safe
 * and allocation is explicit: buffers grow on the heap, nothing is global. */
#include "util.h"

#include <civetweb.h>
#include <ctype.h>
#include <jansson.h>

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t util_now(void)
{
    return (int64_t)time(NULL);
}

int64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Formats Unix time t (+ milli ms, or -1 for none) as RFC 3339 UTC by
 * hand: gmtime_r and strftime cost more than a whole exported row. The
 * date is Howard Hinnant's civil_from_days. */
static void iso(int64_t t, int milli, char *out, size_t n)
{
    int64_t days = (t >= 0 ? t : t - 86399) / 86400, sec = t - days * 86400, era, yy;
    unsigned doe, yoe, doy, mp, d, m;
    char b[32];
    int y, k = 0;
    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = (unsigned)(days - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = (int)(yy + (m <= 2));
    if (y < 0 || y > 9999) {
        snprintf(out, n, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(sec / 3600),
                 (int)(sec / 60 % 60), (int)(sec % 60));
        return;
    }
#define TWO(v) (b[k++] = (char)('0' + (v) / 10), b[k++] = (char)('0' + (v) % 10))
    TWO(y / 100);
    TWO(y % 100);
    b[k++] = '-';
    TWO(m);
    b[k++] = '-';
    TWO(d);
    b[k++] = 'T';
    TWO((int)(sec / 3600));
    b[k++] = ':';
    TWO((int)(sec / 60 % 60));
    b[k++] = ':';
    TWO((int)(sec % 60));
#undef TWO
    if (milli >= 0) {
        b[k++] = '.';
        b[k++] = (char)('0' + milli / 100);
        b[k++] = (char)('0' + milli / 10 % 10);
        b[k++] = (char)('0' + milli % 10);
    }
    b[k++] = 'Z';
    b[k++] = '\0';
    if ((size_t)k > n)
        k = (int)n, b[k - 1] = '\0';
    memcpy(out, b, (size_t)k);
}

int util_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long n;
    if (s[0] == '\0' || (s[0] != '-' && (s[0] < '0' || s[0] > '9')))
        return -1;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

void util_time_iso_ms(int64_t ms, char *out, size_t n)
{
    int64_t t = (ms >= 0 ? ms : ms - 999) / 1000;
    iso(t, (int)(ms - t * 1000), out, n);
}

json_t *util_json_time_ms(int64_t ms)
{
    char s[40];
    if (ms <= 0)
        return json_null();
    util_time_iso_ms(ms, s, sizeof s);
    return json_string(s);
}

void util_time_iso(int64_t t, char *out, size_t n)
{
    iso(t, -1, out, n);
}

json_t *util_json_time(int64_t t)
{
    char s[32];
    if (t <= 0)
        return json_null();
    util_time_iso(t, s, sizeof s);
    return json_string(s);
}

int util_parse_iso(const char *s, int64_t *t)
{
    struct tm tm;
    const char *end;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    *t = (int64_t)timegm(&tm);
    return 0;
}

size_t util_b64_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void util_b64url(const uint8_t *bin, size_t n, char *out, size_t out_n)
{
    sodium_bin2base64(out, out_n, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int util_str_eq_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return sodium_memcmp(a, b, la) == 0;
}

size_t util_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

const char *util_json_unknown_key(json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const char *const *a;
        (void)v;
        for (a = allowed; *a != NULL; a++)
            if (strcmp(*a, key) == 0)
                break;
        if (*a == NULL)
            return key;
    }
    return NULL;
}

int buf_reserve(struct buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *d;
        while (cap < b->len + n + 1)
            cap *= 2;
        d = realloc(b->data, cap);
        if (d == NULL)
            return ERR_NOMEM;
        b->data = d;
        b->cap = cap;
    }
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return ERR_NOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ERR_INVALID;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    {
        char *big = malloc((size_t)n + 1);
        int rc;
        if (big == NULL)
            return ERR_NOMEM;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        rc = buf_append(b, big, (size_t)n);
        free(big);
        return rc;
    }
}

void buf_free(struct buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int buf_html_escape(struct buf *b, const char *s)
{
    int rc = 0;
    for (; *s != '\0' && rc == 0; s++) {
        switch (*s) {
        case '&': rc = buf_puts(b, "&amp;"); break;
        case '<': rc = buf_puts(b, "&lt;"); break;
        case '>': rc = buf_puts(b, "&gt;"); break;
        case '"': rc = buf_puts(b, "&quot;"); break;
        case '\'': rc = buf_puts(b, "&#39;"); break;
        default: rc = buf_append(b, s, 1);
        }
    }
    return rc;
}

int util_json_too_deep(const char *s, size_t len, int max)
{
    size_t i;
    int depth = 0, in_string = 0;
    for (i = 0; i < len; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++; /* the escaped character, whatever it is */
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max)
                return 1;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* The next character of s past *i for util_text_same: "\r\n" and "\r"
 * read as "\n". */
static int text_next(const char *s, size_t *i)
{
    char ch = s[*i];
    if (ch == '\0')
        return -1;
    (*i)++;
    if (ch == '\r') {
        if (s[*i] == '\n')
            (*i)++;
        return '\n';
    }
    return (unsigned char)ch;
}

/* The extent of s without white space at either end: [*from, *to). */
static void text_trim(const char *s, size_t *from, size_t *to)
{
    size_t a = 0, b = strlen(s);
    while (a < b && strchr(" \t\r\n", s[a]) != NULL)
        a++;
    while (b > a && strchr(" \t\r\n", s[b - 1]) != NULL)
        b--;
    *from = a;
    *to = b;
}

int util_text_same(const char *a, const char *b)
{
    size_t ia, ea, ib, eb;
    text_trim(a, &ia, &ea);
    text_trim(b, &ib, &eb);
    while (ia < ea && ib < eb) {
        if (text_next(a, &ia) != text_next(b, &ib))
            return 0;
    }
    return ia >= ea && ib >= eb;
}

/* ---- query strings ---- */

static int utf8_ok(const char *s)
{
    json_t *v = json_string(s); /* NULL unless s is UTF-8 */
    json_decref(v);
    return v != NULL;
}

int util_query_next(const char **qs, char *name, size_t nn, char *value, size_t vn)
{
    const char *s = *qs, *amp, *eq, *p;
    int a, b, name_ok;
    name[0] = value[0] = '\0';
    while (*s == '&')
        s++;
    *qs = s;
    if (*s == '\0')
        return 0;
    amp = strchr(s, '&');
    if (amp == NULL)
        amp = s + strlen(s);
    eq = memchr(s, '=', (size_t)(amp - s));
    *qs = amp;
    a = mg_url_decode(s, (int)((eq != NULL ? eq : amp) - s), name, (int)nn, 1);
    name_ok = a >= 0 && strlen(name) == (size_t)a && utf8_ok(name);
    for (p = s; name_ok && p < (eq != NULL ? eq : amp); p++)
        if (*p == '%' &&
            (amp - p < 3 || !isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2])))
            name_ok = 0;
    if (!name_ok) {
        name[0] = '\0';
        return -1;
    }
    for (p = eq != NULL ? eq + 1 : amp; p < amp; p++)
        if (*p == '%' &&
            (amp - p < 3 || !isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2])))
            return -1;
    b = eq != NULL ? mg_url_decode(eq + 1, (int)(amp - eq - 1), value, (int)vn, 1) : 0;
    if (b < 0 || strlen(value) != (size_t)b || !utf8_ok(value)) {
        value[0] = '\0';
        return -1;
    }
    return 1;
}
