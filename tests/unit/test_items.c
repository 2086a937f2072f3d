/* test_items.c: src/items.c: import lines (native, chat, Bedrock), the
 * problems named for bad lines, the all-or-nothing streamed import on a
 * real database, and a mutation fuzz of the line parser. Also the median
 * of src/progress.c. */
#include "items.h"
#include "progress.h"
#include "unit.h"
#include "users.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct job_config cfg;

static int line(const char *text, struct buf *out, char *id, int *n, const char *field)
{
    struct problems pr = {0};
    struct buf ids = {0};
    int rc = item_parse_line(&cfg, text, strlen(text), out, &ids, id, n, &pr), found = 0;
    json_t *p;
    size_t i;
    json_array_foreach(pr.list, i, p) if (field != NULL &&
                                          strcmp(json_string_value(json_object_get(p, "field")),
                                                 field) == 0) found = 1;
    if (field != NULL && !found)
        fprintf(stderr, "  (no problem %s for %s)\n", field, text);
    json_decref(pr.list);
    buf_free(&ids);
    return field != NULL ? (rc != 0 && found) : rc == 0;
}

static void test_lines(void)
{
    struct buf out = {0};
    char id[ITEM_ID_BYTES + 1];
    int n = 0;
    json_t *v;
    CHECK(
        line("{\"id\": \"q1\", \"prompt\": \"p\", \"responses\": [{\"id\": \"a\", \"model\": \"m\","
             " \"text\": \"x\"}, {\"text\": \"y\"}], \"metadata\": {\"k\": 1}}",
             &out, id, &n, NULL));
    CHECK_STR(id, "q1");
    CHECK(n == 2);
    v = json_loadb(out.data, out.len, 0, NULL);
    CHECK(v != NULL && strcmp(json_string_value(json_object_get(
                                  json_array_get(json_object_get(v, "responses"), 1), "id")),
                              "1") == 0);
    json_decref(v);
    out.len = 0;
    CHECK(line("{\"id\": 7, \"messages\": [{\"role\": \"system\", \"content\": \"s\"},"
               " {\"role\": \"user\", \"content\": \"u\"}], \"responses\": [{\"text\": \"x\"},"
               " {\"text\": \"y\"}], \"gold\": {\"better\": \"0\"}}",
               &out, id, &n, NULL));
    CHECK_STR(id, "7");
    CHECK(strstr(out.data, "\"gold\":{\"better\":{\"winner\":\"0\"}}") != NULL);
    out.len = 0;
    CHECK(line("{\"prompt\": \"What?\", \"referenceResponse\": \"r\", \"category\": \"c\","
               " \"modelResponses\": [{\"response\": \"x\", \"modelIdentifier\": \"m1\"},"
               " {\"response\": \"y\", \"modelIdentifier\": \"m2\"}]}",
               &out, id, &n, NULL));
    CHECK(strncmp(id, "h-", 2) == 0 && strlen(id) == 18);
    CHECK(strstr(out.data, "\"source\":\"bedrock\"") != NULL &&
          strstr(out.data, "\"model\":\"m2\"") != NULL);
    /* Bad lines name their field. */
    CHECK(line("{\"prompt\": \"p\"}", &out, id, &n, "responses"));
    CHECK(
        line("{\"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}]}", &out, id, &n, "responses"));
    CHECK(line("{\"prompt\": \"\", \"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}]}", &out,
               id, &n, "prompt"));
    CHECK(line("{\"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}]}", &out, id, &n, "prompt"));
    CHECK(line("{\"prompt\": \"p\", \"responses\": [{\"id\": \"a\", \"text\": \"x\"}, {\"id\": "
               "\"a\", \"text\": \"y\"}]}",
               &out, id, &n, "responses[1].id"));
    CHECK(line("{\"prompt\": \"p\", \"responses\": [{\"id\": \"a b\", \"text\": \"x\"}, {\"text\": "
               "\"y\"}]}",
               &out, id, &n, "responses[0].id"));
    CHECK(line("{\"prompt\": \"p\", \"responses\": [{\"text\": 1}, {\"text\": \"y\"}]}", &out, id,
               &n, "responses[0].text"));
    CHECK(line("{\"id\": \"a\\u0001\", \"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, "
               "{\"text\": \"y\"}]}",
               &out, id, &n, "id"));
    CHECK(line("{\"messages\": [], \"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}]}", &out,
               id, &n, "messages"));
    CHECK(line("{\"messages\": [{\"role\": \"user\", \"content\": \"u\", \"x\": 1}], "
               "\"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}]}",
               &out, id, &n, "messages[0].x"));
    CHECK(line("{\"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}], "
               "\"gold\": {\"nope\": 1}}",
               &out, id, &n, "gold.nope"));
    CHECK(line("{\"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}], "
               "\"metadata\": 3}",
               &out, id, &n, "metadata"));
    CHECK(line("{\"prompt\": \"p\", \"modelResponses\": [{\"response\": \"x\", \"model\": \"m\"}, "
               "{\"response\": \"y\"}]}",
               &out, id, &n, "modelResponses[0].model"));
    CHECK(line("{\"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}, "
               "{\"text\": \"z\"}]}",
               &out, id, &n, "responses"));
    {
        /* Ids count characters (200), and keep every byte of them: 200
         * three-byte characters are 600 bytes, stored whole. */
        char big[2200];
        size_t k, at = 0;
        at += (size_t)snprintf(big, sizeof big, "{\"id\": \"");
        for (k = 0; k < 200; k++)
            at += (size_t)snprintf(big + at, sizeof big - at, "\xe5\x95\x8f");
        snprintf(big + at, sizeof big - at,
                 "\", \"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}]}");
        out.len = 0;
        CHECK(line(big, &out, id, &n, NULL));
        CHECK(strlen(id) == 600 && memcmp(id, "\xe5\x95\x8f", 3) == 0 &&
              memcmp(id + 597, "\xe5\x95\x8f", 3) == 0);
        memmove(big + 8 + 3, big + 8, strlen(big + 8) + 1); /* one more: 201 */
        memcpy(big + 8, "\xe5\x95\x8f", 3);
        CHECK(line(big, &out, id, &n, "id"));
    }
    {
        /* Nesting past 64 levels is refused before any parser recurses. */
        char deep[400];
        snprintf(
            deep, sizeof deep,
            "{\"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, {\"text\": \"y\"}],"
            " \"metadata\": {\"a\": %.*s1%.*s}}",
            70, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            70, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
        CHECK(line(deep, &out, id, &n, ""));
    }
    CHECK(line("[1]", &out, id, &n, ""));
    CHECK(line("{\"prompt\": ", &out, id, &n, ""));
    buf_free(&out);
}

static void test_fuzz(void)
{
    static const char *seeds[] = {
        "{\"id\": \"q1\", \"prompt\": \"p\", \"responses\": [{\"id\": \"a\", \"text\": \"x\"}, "
        "{\"id\": \"b\", \"text\": \"y\"}], \"gold\": {\"better\": \"a\"}}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"u\"}], \"responses\": [{\"text\": "
        "\"x\"}, {\"text\": \"y\"}]}",
        "{\"prompt\": \"p\", \"category\": \"c\", \"modelResponses\": [{\"response\": \"x\"}, "
        "{\"response\": \"y\"}]}"};
    static const char bytes[] = "{}[]\",:0123456789ab\\u -";
    unsigned seed = 99;
    int i, ok = 0, bad = 0;
    for (i = 0; i < 30000; i++) {
        const char *src = seeds[i % 3];
        size_t len = strlen(src), k, edits = 1 + (seed = seed * 1103515245 + 12345) % 3;
        char *m = malloc(len + 1), id[ITEM_ID_BYTES + 1];
        struct buf out = {0}, ids = {0};
        struct problems pr = {0};
        int n = 0, rc;
        memcpy(m, src, len + 1);
        for (k = 0; k < edits; k++) {
            size_t at = (seed = seed * 1103515245 + 12345) % len;
            m[at] = bytes[(seed >> 9) % (sizeof bytes - 1)];
        }
        rc = item_parse_line(&cfg, m, len, &out, &ids, id, &n, &pr);
        if (rc == 0 && pr.count == 0 && out.len > 0 && n == 2)
            ok++;
        else if (rc != 0 && pr.count > 0)
            bad++;
        else
            CHECK(!"a result without a matching problem list");
        json_decref(pr.list);
        buf_free(&out);
        buf_free(&ids);
        free(m);
    }
    CHECK(ok > 0 && bad > 0);
}

struct mem {
    const char *p;
    size_t left, step;
};

static long mem_read(void *ctx, char *buf, size_t n)
{
    struct mem *m = ctx;
    size_t k = n < m->step ? n : m->step;
    if (k > m->left)
        k = m->left;
    memcpy(buf, m->p, k);
    m->p += k;
    m->left -= k;
    return (long)k;
}

static void test_import(void)
{
    const char *path = "build/tests/test_items.db";
    struct db *db = NULL;
    struct auth *auth = NULL;
    struct auth_config ac;
    struct import_result res;
    char err[256];
    int applied, i;
    int64_t owner = 0, job = 0;
    const char *why = NULL;
    struct buf body = {0};
    struct mem m;
    unit_rm_db(path);
    auth_config_default(&ac);
    ac.pw_memlimit = 8 << 20;
    ac.pw_opslimit = 1;
    CHECK(db_open(path, &db, err, sizeof err) == 0 &&
          db_migrate(db, &applied, err, sizeof err) == 0);
    CHECK(auth_new(db, &ac, &auth) == 0);
    CHECK(user_create(auth, "lead", ROLE_LEAD, "lead password 1", 0, 0, "t", &owner, &why) == 0);
    CHECK(job_create(db, &cfg, owner, owner, "t", &job) == 0);
    for (i = 0; i < 500; i++)
        buf_printf(&body,
                   "{\"id\": \"q%d\", \"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, "
                   "{\"text\": \"y\"}]}\r\n",
                   i);
    /* A bad line in the middle: nothing is imported. */
    buf_puts(&body, "{\"id\": \"q3\", \"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, "
                    "{\"text\": \"y\"}]}\n");
    m = (struct mem){body.data, body.len, 333};
    CHECK(items_import(db, job, mem_read, &m, owner, "t", NULL, &res) == ERR_INVALID);
    CHECK(res.bad_lines == 1 && res.imported == 0 && res.lines == 501);
    CHECK(json_integer_value(json_object_get(json_array_get(res.errors, 0), "line")) == 501);
    json_decref(res.errors);
    body.len -= strlen("{\"id\": \"q3\", \"prompt\": \"p\", \"responses\": [{\"text\": \"x\"}, "
                       "{\"text\": \"y\"}]}\n");
    m = (struct mem){body.data, body.len, 4096};
    CHECK(items_import(db, job, mem_read, &m, owner, "t", NULL, &res) == 0);
    CHECK(res.imported == 500 && res.bad_lines == 0);
    json_decref(res.errors);
    {
        struct item it;
        CHECK(item_load(db_reader(db), 1, &it) == 0 && strcmp(it.ext_id, "q0") == 0 &&
              it.n_responses == 2);
        item_clear(&it);
    }
    /* The same ids again are duplicates of items the job has. */
    m = (struct mem){body.data, body.len, 65536};
    CHECK(items_import(db, job, mem_read, &m, owner, "t", NULL, &res) == ERR_INVALID);
    CHECK(res.bad_lines == 500 && json_array_size(res.errors) == ITEM_ERRORS_MAX);
    json_decref(res.errors);
    m = (struct mem){"\n \n", 3, 10};
    CHECK(items_import(db, job, mem_read, &m, owner, "t", NULL, &res) == ERR_INVALID);
    json_decref(res.errors);
    buf_free(&body);
    auth_free(auth);
    db_close(db);
    unit_rm_db(path);
}

static void test_median(void)
{
    double a[] = {1, 2, 3, 10}, b[] = {4};
    CHECK(progress_median(a, 4) == 2.5);
    CHECK(progress_median(a, 3) == 2);
    CHECK(progress_median(b, 1) == 4);
    CHECK(progress_median(b, 0) == 0);
}

int main(void)
{
    struct problems pr = {0};
    json_t *q = json_loads("[{\"name\": \"better\", \"type\": \"pairwise\", \"allow_tie\": true}]",
                           0, NULL);
    if (sodium_init() < 0)
        return 1;
    job_questions_parse(q, &cfg, &pr);
    cfg.name = strdup("t");
    cfg.instructions = strdup("");
    cfg.overlap = 1;
    cfg.lease_seconds = 60;
    json_decref(q);
    test_lines();
    test_fuzz();
    test_import();
    test_median();
    job_config_clear(&cfg);
    return unit_done("test_items");
}
