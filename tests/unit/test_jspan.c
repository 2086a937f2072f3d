/* test_jspan.c: src/jspan.c against jansson on hand-written and random
 * JSON, and src/tasks.c's task_render (the lease's spliced answer) against
 * the same view built as a jansson tree. */
#include "items.h"
#include "jspan.h"
#include "tasks.h"
#include "unit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct jspan span(const char *s)
{
    struct jspan v = {s, strlen(s)};
    return v;
}

/* 1 when span v holds exactly the JSON text of want. */
static int span_is(struct jspan v, const char *want)
{
    return v.len == strlen(want) && memcmp(v.p, want, v.len) == 0;
}

static void test_handwritten(void)
{
    struct jspan v, list[4];
    const char *obj = " { \"a\" : [1, {\"b\": \"x\\\"}\"}], \"s\":\"q\\\\\", \"n\": -1.5e3,"
                      " \"t\":true , \"e\":{} }";
    const char *end;
    CHECK(jspan_member(span(obj), "a", &v) == 0 && span_is(v, "[1, {\"b\": \"x\\\"}\"}]"));
    CHECK(jspan_member(span(obj), "s", &v) == 0 && span_is(v, "\"q\\\\\""));
    CHECK(jspan_member(span(obj), "n", &v) == 0 && span_is(v, "-1.5e3"));
    CHECK(jspan_member(span(obj), "t", &v) == 0 && span_is(v, "true"));
    CHECK(jspan_member(span(obj), "e", &v) == 0 && span_is(v, "{}"));
    CHECK(jspan_member(span(obj), "b", &v) == -1); /* nested keys are not members */
    CHECK(jspan_member(span(obj), "x", &v) == -1);
    CHECK(jspan_member(span("[1]"), "a", &v) == -1);
    CHECK(jspan_elements(span("[ 1 , \"]\" ,[2,3], {} ]"), list, 4) == 4 &&
          span_is(list[1], "\"]\"") && span_is(list[2], "[2,3]") && span_is(list[3], "{}"));
    CHECK(jspan_elements(span("[]"), list, 4) == 0);
    CHECK(jspan_elements(span("[1,2,3,4,5]"), list, 4) == -1); /* more than max */
    CHECK(jspan_elements(span("{}"), list, 4) == -1);
    /* Malformed or cut short: refused, never read past the end. */
    end = "{\"a\": [1, 2}";
    CHECK(jspan_skip(end, end + strlen(end)) == NULL);
    end = "\"open";
    CHECK(jspan_skip(end, end + strlen(end)) == NULL);
    end = "{\"a\":1}";
    CHECK(jspan_skip(end, end + 5) == NULL);
    CHECK(jspan_member(span("{\"a\" 1}"), "a", &v) == -1);
    CHECK(jspan_member(span("{\"a\":1,}"), "b", &v) == -1);
    CHECK(jspan_elements(span("[1 2]"), list, 4) == -1);
}

/* A random JSON value of bounded depth, with strings full of escapes. */
static json_t *random_value(int depth)
{
    static const char *const pieces[] = {"a",        "\"", "\\", "}", "]", ",",    ":",
                                         "\xc3\xa9", "\n", " ",  "{", "[", "\x01", "x y"};
    uint32_t kind = randombytes_uniform(depth > 0 ? 7 : 5);
    char s[64] = "";
    int i, n;
    json_t *v;
    switch (kind) {
    case 0: return json_integer((json_int_t)randombytes_uniform(2000000) - 1000000);
    case 1: return json_real((double)randombytes_uniform(100000) / 7.0);
    case 2: return randombytes_uniform(3) == 0 ? json_null() : json_boolean(randombytes_uniform(2));
    case 3:
    case 4:
        n = (int)randombytes_uniform(6);
        for (i = 0; i < n; i++)
            strcat(s, pieces[randombytes_uniform(sizeof pieces / sizeof *pieces)]);
        return json_string(s);
    case 5:
        v = json_array();
        n = (int)randombytes_uniform(5);
        for (i = 0; i < n; i++)
            json_array_append_new(v, random_value(depth - 1));
        return v;
    default:
        v = json_object();
        n = (int)randombytes_uniform(5);
        for (i = 0; i < n; i++) {
            snprintf(s, sizeof s, "k%u", (unsigned)randombytes_uniform(8));
            json_object_set_new(v, s, random_value(depth - 1));
        }
        return v;
    }
}

/* Every member and element span found in random documents, compact and
 * indented, parses to the value jansson holds there. */
static void test_random_against_jansson(void)
{
    int round, bad = 0;
    for (round = 0; round < 3000; round++) {
        json_t *doc = json_object(), *arr = json_array(), *v;
        size_t flags = round % 2 ? JSON_COMPACT : JSON_INDENT(2), i;
        char *text;
        const char *key;
        struct jspan got, list[8];
        int n;
        for (i = 0; i < 4; i++)
            json_array_append_new(arr, random_value(3));
        json_object_set_new(doc, "list", arr);
        for (i = 0; i < 3; i++) {
            char k[8];
            snprintf(k, sizeof k, "m%zu", i);
            json_object_set_new(doc, k, random_value(3));
        }
        text = json_dumps(doc, flags);
        json_object_foreach(doc, key, v)
        {
            json_t *back;
            if (jspan_member(span(text), key, &got) != 0) {
                bad++;
                continue;
            }
            back = json_loadb(got.p, got.len, JSON_DECODE_ANY, NULL);
            bad += back == NULL || !json_equal(back, v);
            json_decref(back);
        }
        jspan_member(span(text), "list", &got);
        n = jspan_elements(got, list, 8);
        bad += n != 4;
        for (i = 0; n == 4 && i < 4; i++) {
            json_t *back = json_loadb(list[i].p, list[i].len, JSON_DECODE_ANY, NULL);
            bad += back == NULL || !json_equal(back, json_array_get(arr, i));
            json_decref(back);
        }
        free(text);
        json_decref(doc);
    }
    CHECK(bad == 0);
}

/* The view task_render splices, built the slow way as a tree. */
static json_t *expected_view(const struct task *t, json_t *item)
{
    json_t *resp = json_object_get(item, "responses"), *shown = json_array(), *view;
    int i;
    for (i = 0; i < t->n_shown; i++) {
        json_t *r = json_array_get(resp, (size_t)t->shown[i]);
        json_array_append_new(shown, json_pack("{sOsO}", "id", json_object_get(r, "id"), "text",
                                               json_object_get(r, "text")));
    }
    view = json_pack("{sO}", "id", json_object_get(item, "id"));
    if (json_object_get(item, "messages") != NULL)
        json_object_set(view, "messages", json_object_get(item, "messages"));
    else
        json_object_set(view, "prompt", json_object_get(item, "prompt"));
    json_object_set_new(view, "responses", shown);
    return json_pack("{sIsIsssososo}", "id", (json_int_t)t->id, "job_id", (json_int_t)t->job_id,
                     "state", "leased", "leased_at", util_json_time_ms(t->leased_at), "expires_at",
                     util_json_time_ms(t->expires_at), "item", view);
}

/* Items as import normalises them (prompt or chat, tricky texts, models,
 * metadata and a reference that the view must leave out), each shown in a random
 * order: task_render gives exactly the tree view. */
static void test_task_render(void)
{
    static const char *const lines[] = {
        "{\"id\": \"q\\\"1\", \"prompt\": \"<script>alert(1)</script> \\\\ \\u00e9\","
        " \"responses\": [{\"id\": \"a\", \"model\": \"m1\", \"text\": \"}],\\\"x\"},"
        " {\"id\": \"b\", \"model\": \"m2\", \"text\": \"\\n\\t\"}], \"metadata\": {\"text\": 1}}",
        "{\"id\": \"c1\", \"messages\": [{\"role\": \"system\", \"content\": \"s\"},"
        " {\"role\": \"user\", \"content\": \"u \\\"q\\\"\"}], \"responses\": [{\"text\": \"r0\"},"
        " {\"text\": \"r1\"}, {\"text\": \"r2\", \"model\": \"m\"}]}",
        "{\"id\": \"g\", \"prompt\": \"p\", \"responses\": [{\"text\": \"only\"}],"
        " \"reference\": \"the gold text\"}",
    };
    struct job_config none;
    size_t i;
    int round;
    memset(&none, 0, sizeof none);
    for (i = 0; i < sizeof lines / sizeof *lines; i++) {
        struct buf out = {0}, ids = {0};
        struct problems pr = {0};
        char id[ITEM_ID_BYTES + 1];
        int n = 0, rc = item_parse_line(&none, lines[i], strlen(lines[i]), &out, &ids, id, &n, &pr);
        json_t *item = rc == 0 ? json_loadb(out.data, out.len, 0, NULL) : NULL;
        CHECK(item != NULL);
        for (round = 0; item != NULL && round < 20; round++) {
            struct task t;
            struct buf b = {0};
            const char *text;
            json_t *got, *want;
            int k;
            memset(&t, 0, sizeof t);
            t.id = 10 + round;
            t.job_id = 3;
            t.leased_at = 1795000000123LL + round;
            t.expires_at = t.leased_at + 600000;
            t.n_shown = n;
            for (k = 0; k < n; k++)
                t.shown[k] = k;
            for (k = n - 1; k > 0; k--) {
                int j = (int)randombytes_uniform((uint32_t)k + 1), s = t.shown[k];
                t.shown[k] = t.shown[j];
                t.shown[j] = s;
            }
            t.item = out.data;
            t.item_len = out.len;
            text = task_render(&t, &b) == 0 ? b.data : NULL;
            got = text != NULL ? json_loadb(text, b.len, 0, NULL) : NULL;
            want = expected_view(&t, item);
            CHECK(got != NULL && json_equal(got, want));
            CHECK(text != NULL && strstr(text, "\"model\"") == NULL &&
                  strstr(text, "reference") == NULL && strstr(text, "metadata") == NULL);
            json_decref(got);
            json_decref(want);
            buf_free(&b);
        }
        if (item != NULL) {
            /* A shown index the stored item lacks is left out, cleanly. */
            struct task t;
            struct buf b = {0};
            json_t *got;
            memset(&t, 0, sizeof t);
            t.n_shown = 2;
            t.shown[0] = ITEM_RESPONSES_MAX - 1;
            t.shown[1] = 0;
            t.item = out.data;
            t.item_len = out.len;
            got = task_render(&t, &b) == 0 ? json_loadb(b.data, b.len, 0, NULL) : NULL;
            CHECK(got != NULL &&
                  json_array_size(json_object_get(json_object_get(got, "item"), "responses")) == 1);
            json_decref(got);
            buf_free(&b);
        }
        json_decref(item);
        json_decref(pr.list);
        buf_free(&out);
        buf_free(&ids);
    }
}

/* An escaped quote at every position around the scanner's switch from
 * its byte loop to memchr (24 bytes into a string). */
static void test_escape_at_switch(void)
{
    int at;
    for (at = 0; at < 40; at++) {
        char txt[128];
        struct jspan arr, el[4];
        int k = 0, i;
        txt[k++] = '[';
        txt[k++] = '"';
        for (i = 0; i < at; i++)
            txt[k++] = 'x';
        txt[k++] = '\\';
        txt[k++] = '"';
        for (i = 0; i < 5; i++)
            txt[k++] = 'y';
        memcpy(txt + k, "\",1]", 5);
        k += 5;
        txt[k] = '\0';
        arr.p = txt;
        arr.len = (size_t)k;
        CHECK(jspan_elements(arr, el, 4) == 2 && el[1].len == 1 && el[1].p[0] == '1');
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_handwritten();
    test_random_against_jansson();
    test_task_render();
    test_escape_at_switch();
    return unit_done("jspan");
}
