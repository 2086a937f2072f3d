/* items.c: import lines, the streamed all-or-nothing import, and reading
 * items back (see items.h).
 *
 * The import never holds the body in memory: lines are parsed one at a
 * time as they arrive and their normalised form goes to an anonymous
 * temporary file. What stays in memory is a hash set of the ids seen (to
 * refuse duplicates) and the first ITEM_ERRORS_MAX errors. Only when every
 * line is good are the file's items inserted, so a bad line changes nothing
 * and the writer is never held while the body is still arriving over the
 * network. They go in a step of a few thousand per write (step_write), so
 * labelers' writes go on between the steps, behind a gate that hides them
 * until the last step commits (010_import_gate.sql): a failed or killed
 * import leaves nothing visible, and its items are then deleted. */
#include "items.h"

#include "judges.h"

#include "audit.h"
#include "browse.h"
#include "flags.h"
#include "judgments.h"
#include "valid.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- one line ---- */

static int id_valid(const char *s)
{
    const unsigned char *p;
    if (*s == '\0' || util_utf8_len(s) > ITEM_ID_MAX)
        return 0;
    for (p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int resp_id_valid(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > 64 || strcmp(s, "tie") == 0 || strcmp(s, "both_bad") == 0)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

/* A non-empty string field copied into the item, or a problem. */
static void copy_text(json_t *from, const char *key, int required, json_t *to, const char *to_key,
                      const char *base, struct problems *pr)
{
    const char *s = valid_str(from, base, key, required, 1000000, pr);
    char f[256];
    if (s == NULL)
        return;
    if (required && s[strspn(s, " \t\r\n")] == '\0') {
        valid_path(f, sizeof f, base, key);
        problems_add(pr, f, "must not be empty");
        return;
    }
    json_object_set_new(to, to_key, json_string(s));
}

static void parse_messages(json_t *msgs, json_t *item, struct problems *pr)
{
    static const char *const keys[] = {"role", "content", NULL};
    json_t *out, *m;
    size_t i, n = json_is_array(msgs) ? json_array_size(msgs) : 0;
    if (n == 0 || n > 500) {
        problems_add(pr, "messages", "must be a list of 1 to 500 {role, content} messages");
        return;
    }
    out = json_array();
    json_array_foreach(msgs, i, m)
    {
        char base[32], f[64];
        const char *role, *content;
        snprintf(base, sizeof base, "messages[%zu]", i);
        if (!json_is_object(m)) {
            problems_add(pr, base, "must be {\"role\", \"content\"}");
            continue;
        }
        valid_keys(m, base, keys, pr);
        role = valid_str(m, base, "role", 1, 16, pr);
        content = valid_str(m, base, "content", 1, 1000000, pr);
        valid_path(f, sizeof f, base, "role");
        if (role != NULL && strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
            strcmp(role, "assistant") != 0) {
            problems_add(pr, f, "must be system, user or assistant");
            role = NULL;
        }
        if (i == n - 1 && role != NULL && strcmp(role, "user") != 0)
            problems_add(pr, f, "the last message must be from the user");
        if (role != NULL && content != NULL)
            json_array_append_new(out, json_pack("{ssss}", "role", role, "content", content));
    }
    json_object_set_new(item, "messages", out);
}

/* responses: native [{id?, model?, text}] or Bedrock [{response, modelIdentifier?}]. */
static void parse_responses(json_t *arr, int bedrock, const char *key, json_t *item,
                            struct problems *pr)
{
    static const char *const native_keys[] = {"id", "model", "text", NULL};
    static const char *const bedrock_keys[] = {"response", "modelIdentifier", NULL};
    json_t *out, *r;
    size_t i, j, n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (n == 0 || n > ITEM_RESPONSES_MAX) {
        problems_add(pr, key,
                     n == 0 && arr == NULL ? "is required" : "must be a list of 1 to 20 responses");
        return;
    }
    out = json_array();
    json_array_foreach(arr, i, r)
    {
        char base[48], f[64], idx[24];
        const char *id = NULL, *model, *text;
        json_t *idv;
        snprintf(base, sizeof base, "%s[%zu]", key, i);
        snprintf(idx, sizeof idx, "%zu", i);
        if (!json_is_object(r)) {
            problems_add(pr, base, "must be an object");
            continue;
        }
        valid_keys(r, base, bedrock ? bedrock_keys : native_keys, pr);
        idv = bedrock ? NULL : json_object_get(r, "id");
        valid_path(f, sizeof f, base, "id");
        if (idv == NULL || json_is_null(idv))
            id = idx; /* the id defaults to the index */
        else if (json_is_string(idv) && resp_id_valid(json_string_value(idv)))
            id = json_string_value(idv);
        else
            problems_add(
                pr, f,
                "must be 1-64 letters, digits, '_', '-' or '.' (not \"tie\" or \"both_bad\")");
        for (j = 0; id != NULL && j < json_array_size(out); j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(out, j), "id")), id) == 0) {
                problems_add(pr, f, "repeats the response id \"%s\"", id);
                id = NULL;
            }
        model = valid_str(r, base, bedrock ? "modelIdentifier" : "model", 0, 200, pr);
        text = valid_str(r, base, bedrock ? "response" : "text", 1, 1000000, pr);
        if (id != NULL && text != NULL) {
            json_t *o = json_pack("{ss}", "id", id);
            if (model != NULL)
                json_object_set_new(o, "model", json_string(model));
            json_object_set_new(o, "text", json_string(text));
            json_array_append_new(out, o);
        }
    }
    json_object_set_new(item, "responses", out);
}

/* Does the item fit the questions (response counts, prefill ids)? */
static void check_fit(const struct job_config *cfg, json_t *item, struct problems *pr)
{
    const char *ids[ITEM_RESPONSES_MAX];
    int n = item_response_ids(item, ids), i, k;
    for (i = 0; i < cfg->n_questions; i++) {
        const struct question *q = &cfg->questions[i];
        if (q->type == Q_PAIRWISE && n != 2)
            problems_add(pr, "responses",
                         "question \"%s\" is pairwise: exactly 2 responses needed, not %d", q->name,
                         n);
        else if (q->type == Q_RANK && n < 2)
            problems_add(pr, "responses",
                         "question \"%s\" is a ranking: at least 2 responses needed", q->name);
        if (q->type == Q_TEXT && q->prefill == PREFILL_RESPONSE) {
            for (k = 0; k < n && strcmp(ids[k], q->prefill_id) != 0; k++)
                ;
            if (k == n)
                problems_add(pr, "responses",
                             "question \"%s\" prefills response \"%s\", which is missing", q->name,
                             q->prefill_id);
        }
    }
}

/* A stable id for a line without one: "h-" and 16 hex digits of its hash,
 * so importing the same line twice is refused as a duplicate. */
static void hash_id(const char *line, size_t len, char out[ITEM_ID_BYTES + 1])
{
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)line, len, NULL, 0);
    snprintf(out, ITEM_ID_BYTES + 1, "h-");
    sodium_bin2hex(out + 2, ITEM_ID_MAX - 1, h, sizeof h);
}

int item_parse_line(const struct job_config *cfg, const char *line, size_t len, struct buf *out,
                    struct buf *ids, char ext_id[ITEM_ID_BYTES + 1], int *n_responses,
                    struct problems *pr)
{
    static const char *const native_keys[] = {"id",        "prompt",   "messages", "responses",
                                              "reference", "metadata", "gold",     NULL};
    static const char *const bedrock_keys[] = {"prompt", "referenceResponse", "category",
                                               "modelResponses", NULL};
    json_error_t jerr;
    json_t *in, *item = NULL, *v;
    int bedrock, before = pr->count, rc = ERR_INVALID;
    char *text = NULL;
    /* Before the recursive parser sees it, and so before json_dumps would
     * recurse through a deep metadata value. */
    if (util_json_too_deep(line, len, JSON_DEPTH_MAX)) {
        problems_add(pr, "", "nested deeper than %d levels", JSON_DEPTH_MAX);
        return ERR_INVALID;
    }
    in = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (in == NULL) {
        problems_add(pr, "", "malformed JSON at column %d: %s", jerr.column, jerr.text);
        return ERR_INVALID;
    }
    if (!json_is_object(in)) {
        problems_add(pr, "", "must be a JSON object");
        goto out;
    }
    bedrock = json_object_get(in, "responses") == NULL &&
              (json_object_get(in, "modelResponses") != NULL ||
               json_object_get(in, "referenceResponse") != NULL ||
               json_object_get(in, "category") != NULL);
    item = json_object();
    valid_keys(in, "", bedrock ? bedrock_keys : native_keys, pr);
    /* id */
    v = bedrock ? NULL : json_object_get(in, "id");
    if (v == NULL || json_is_null(v)) {
        hash_id(line, len, ext_id);
    } else if (json_is_integer(v)) {
        snprintf(ext_id, ITEM_ID_BYTES + 1, "%lld", (long long)json_integer_value(v));
    } else if (json_is_string(v) && id_valid(json_string_value(v)) &&
               strlen(json_string_value(v)) == json_string_length(v)) {
        snprintf(ext_id, ITEM_ID_BYTES + 1, "%s", json_string_value(v));
    } else {
        problems_add(pr, "id", "must be a string of 1 to %d characters without control characters",
                     ITEM_ID_MAX);
        ext_id[0] = '\0';
    }
    json_object_set_new(item, "id", json_string(ext_id));
    /* prompt or messages */
    if (!bedrock && json_object_get(in, "messages") != NULL) {
        if (json_object_get(in, "prompt") != NULL)
            problems_add(pr, "prompt", "give either prompt or messages, not both");
        parse_messages(json_object_get(in, "messages"), item, pr);
    } else {
        if (json_object_get(in, "prompt") == NULL)
            problems_add(pr, "prompt", "is required (or messages, for a chat)");
        else
            copy_text(in, "prompt", 1, item, "prompt", "", pr);
    }
    parse_responses(json_object_get(in, bedrock ? "modelResponses" : "responses"), bedrock,
                    bedrock ? "modelResponses" : "responses", item, pr);
    copy_text(in, bedrock ? "referenceResponse" : "reference", 0, item, "reference", "", pr);
    if (bedrock) {
        const char *cat = valid_str(in, "", "category", 0, 200, pr);
        if (cat != NULL)
            json_object_set_new(item, "metadata", json_pack("{ss}", "category", cat));
        json_object_set_new(item, "source", json_string("bedrock"));
    } else if ((v = json_object_get(in, "metadata")) != NULL && !json_is_null(v)) {
        if (!json_is_object(v))
            problems_add(pr, "metadata", "must be an object");
        else
            json_object_set(item, "metadata", v);
    }
    if (pr->count == before)
        check_fit(cfg, item, pr);
    if (!bedrock && (v = json_object_get(in, "gold")) != NULL && !json_is_null(v) &&
        pr->count == before) {
        const char *rid[ITEM_RESPONSES_MAX];
        int n = item_response_ids(item, rid), k;
        json_t *gold = json_is_object(v) ? json_deep_copy(v) : json_incref(v);
        /* Shorthand: a pairwise gold answer may be just the winner's id. */
        for (k = 0; json_is_object(gold) && k < cfg->n_questions; k++) {
            json_t *g = json_object_get(gold, cfg->questions[k].name);
            if (cfg->questions[k].type == Q_PAIRWISE && json_is_string(g))
                json_object_set_new(gold, cfg->questions[k].name, json_pack("{sO}", "winner", g));
        }
        if (job_answers_check(cfg, gold, rid, n, 1, "gold", pr) == 0)
            json_object_set(item, "gold", gold);
        json_decref(gold);
    }
    if (pr->count > before)
        goto out;
    *n_responses = (int)json_array_size(json_object_get(item, "responses"));
    text = json_dumps(item, JSON_COMPACT);
    if (text == NULL || buf_puts(out, text) != 0) {
        rc = ERR_NOMEM;
        goto out;
    }
    {
        const char *rid[ITEM_RESPONSES_MAX];
        int k, n = item_response_ids(item, rid);
        buf_puts(ids, "[");
        for (k = 0; k < n; k++) {
            /* Response ids are [A-Za-z0-9_.-]: no escaping needed. */
            buf_printf(ids, "%s\"%s\"", k ? "," : "", rid[k]);
        }
        if (buf_puts(ids, "]") != 0) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
    rc = 0;
out:
    free(text);
    json_decref(item);
    json_decref(in);
    return rc;
}

int item_ids_of(json_t *arr, const char **ids)
{
    json_t *v;
    size_t i;
    int n = 0;
    json_array_foreach(arr, i, v)
    {
        if (n < ITEM_RESPONSES_MAX && json_is_string(v))
            ids[n++] = json_string_value(v);
    }
    return n;
}

int item_response_ids(json_t *data, const char **ids)
{
    json_t *r;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(data, "responses"), i, r)
    {
        if (n == ITEM_RESPONSES_MAX)
            break;
        ids[n++] = json_string_value(json_object_get(r, "id"));
    }
    return n;
}

/* ---- a set of ids seen in this import ---- */

struct idset {
    char **slot;
    size_t cap, len;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Adds s; 1 when it was already there, 0 when added, -1 out of memory. */
static int idset_add(struct idset *set, const char *s)
{
    size_t i;
    if (set->len * 2 >= set->cap) {
        struct idset bigger = {NULL, set->cap ? set->cap * 2 : 1024, 0};
        bigger.slot = calloc(bigger.cap, sizeof *bigger.slot);
        if (bigger.slot == NULL)
            return -1;
        for (i = 0; i < set->cap; i++)
            if (set->slot[i] != NULL) {
                size_t k = fnv1a(set->slot[i]) & (bigger.cap - 1);
                while (bigger.slot[k] != NULL)
                    k = (k + 1) & (bigger.cap - 1);
                bigger.slot[k] = set->slot[i];
                bigger.len++;
            }
        free(set->slot);
        *set = bigger;
    }
    for (i = fnv1a(s) & (set->cap - 1); set->slot[i] != NULL; i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slot[i], s) == 0)
            return 1;
    if ((set->slot[i] = strdup(s)) == NULL)
        return -1;
    set->len++;
    return 0;
}

static void idset_free(struct idset *set)
{
    size_t i;
    for (i = 0; i < set->cap; i++)
        free(set->slot[i]);
    free(set->slot);
}

/* ---- the import ---- */

struct import {
    struct db *db;
    int64_t job_id, questions_rev;
    struct job job;
    struct import_result *res;
    struct idset seen;
    FILE *staged; /* "<n_responses>\t<ext_id>\t<ids>\t<json>\n" per good line */
    int64_t staged_lines;
    int stage_errno; /* the first failed write's errno, 0 while all succeeded */
    struct buf norm, ids;
    int64_t actor;
    const char *addr;
    /* The inserter (insert_steps): on a thread of its own once a step's
     * worth of good lines is staged, so the steps go in while the body is
     * still being read. Under mu: */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t ready_lines; /* staged, flushed and all good so far: the inserter's to take */
    off_t ready_bytes;
    int staging_done;   /* every line is staged, and good */
    int staging_failed; /* a bad line or a failure: insert no more, remove the steps */
    int insert_over, insert_rc;
    const char *insert_why; /* the inserter's ERR_CONFLICT or ERR_DB, static text */
    pthread_t inserter;
    int inserter_started;
    /* The inserter's own: where it reads the staged file, and how far. */
    struct buf rd;
    size_t rd_pos;
    off_t rd_off;
    int64_t taken_lines;
};

static void line_error(struct import *im, int64_t lineno, struct problems *pr)
{
    json_t *p;
    size_t i;
    im->res->bad_lines++;
    json_array_foreach(pr->list, i, p)
    {
        if (json_array_size(im->res->errors) >= ITEM_ERRORS_MAX)
            break;
        json_array_append_new(im->res->errors, json_pack("{sIsOsO}", "line", (json_int_t)lineno,
                                                         "field", json_object_get(p, "field"),
                                                         "message", json_object_get(p, "message")));
    }
}

static int exists_in_job(struct db_conn *c, int64_t job_id, const char *ext_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_ITEM_EXISTS);
    int yes;
    if (st == NULL)
        return 0;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_text(st, 2, ext_id, -1, SQLITE_STATIC);
    yes = sqlite3_step(st) == SQLITE_ROW;
    db_done(st);
    return yes;
}

/* A write to the staging file failed: ERR_NO_SPACE when the disk (or a
 * quota) is full, else ERR_DB; res->why says which. */
static int stage_failed(struct import *im)
{
    if (im->stage_errno == 0)
        im->stage_errno = errno != 0 ? errno : EIO;
    if (im->stage_errno == ENOSPC || im->stage_errno == EDQUOT || im->stage_errno == EFBIG) {
        im->res->why = "no space left to stage the import; nothing was imported (free space "
                       "next to the database, or set --staging-dir)";
        return ERR_NO_SPACE;
    }
    im->res->why = "the import could not be staged (I/O error); nothing was imported";
    return ERR_DB;
}

/* An unlinked staging file in dir (NULL: the directory of the database),
 * so it vanishes whatever happens. NULL with errno on failure. */
static FILE *stage_open(struct db *db, const char *dir)
{
    char path[4096];
    const char *slash;
    FILE *f;
    int fd, n;
    if (dir == NULL) {
        const char *dbp = db_path(db);
        slash = strrchr(dbp, '/');
        n = slash == NULL ? snprintf(path, sizeof path, "./.arbiter-import-XXXXXX")
                          : snprintf(path, sizeof path, "%.*s/.arbiter-import-XXXXXX",
                                     (int)(slash - dbp), dbp);
    } else {
        n = snprintf(path, sizeof path, "%s/.arbiter-import-XXXXXX", dir);
    }
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    if ((fd = mkstemp(path)) < 0)
        return NULL;
    unlink(path);
    if ((f = fdopen(fd, "w+")) == NULL)
        close(fd);
    return f;
}

static int one_line(struct import *im, struct db_conn *c, char *line, size_t len, int64_t lineno)
{
    struct problems pr = {0};
    char ext_id[ITEM_ID_BYTES + 1] = "";
    int n = 0, rc;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3; /* a UTF-8 byte order mark */
        len -= 3;
    }
    if (strspn(line, " \t") >= len)
        return 0; /* blank lines are allowed */
    im->res->lines++;
    im->norm.len = 0;
    im->ids.len = 0;
    rc = item_parse_line(&im->job.cfg, line, len, &im->norm, &im->ids, ext_id, &n, &pr);
    if (rc == 0) {
        int dup = idset_add(&im->seen, ext_id);
        if (dup < 0)
            rc = ERR_NOMEM;
        else if (dup > 0)
            problems_add(&pr, "id", "repeats the id \"%s\" of an earlier line", ext_id);
        else if (exists_in_job(c, im->job_id, ext_id))
            problems_add(&pr, "id", "the job already has an item \"%s\"", ext_id);
    }
    if (pr.count > 0)
        line_error(im, lineno, &pr);
    else if (rc == 0 && im->res->bad_lines == 0 &&
             fprintf(im->staged, "%d\t%s\t%.*s\t%.*s\n", n, ext_id, (int)im->ids.len, im->ids.data,
                     (int)im->norm.len, im->norm.data) < 0)
        rc = stage_failed(im);
    else if (rc == 0 && im->res->bad_lines == 0)
        im->staged_lines++;
    json_decref(pr.list);
    return rc == ERR_NOMEM || rc == ERR_NO_SPACE || rc == ERR_DB ? rc : 0;
}

/* ---- inserting, in steps ---- */

/* A step inserts at most this many items, or this many bytes of them, in
 * one write: a few milliseconds of the writer, so a labeler's write waits
 * for one step, never for a whole import (010_import_gate.sql). */
#define IMPORT_STEP_ITEMS 2000
#define IMPORT_STEP_BYTES (4 << 20)
/* Why an import whose staged lines cannot be read back fails. */
#define READ_BACK "the staged import could not be read back; nothing was imported"
/* How many of an abandoned import's items one write deletes. */
#define DISCARD_STEP 5000

/* The jobs this process is inserting into. A second import into one of
 * them waits for the first (it may then find its ids taken); the gate of
 * a job held by another process refuses the import instead. */
static pthread_mutex_t inserting_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inserting_cv = PTHREAD_COND_INITIALIZER;
#define INSERTING_MAX 64
static int64_t inserting[INSERTING_MAX];
static int n_inserting;

static int inserting_at(int64_t job_id)
{
    int i;
    for (i = 0; i < n_inserting; i++)
        if (inserting[i] == job_id)
            return i;
    return -1;
}

static void inserting_enter(int64_t job_id)
{
    pthread_mutex_lock(&inserting_mu);
    while (inserting_at(job_id) >= 0 || n_inserting == INSERTING_MAX)
        pthread_cond_wait(&inserting_cv, &inserting_mu);
    inserting[n_inserting++] = job_id;
    pthread_mutex_unlock(&inserting_mu);
}

static void inserting_leave(int64_t job_id)
{
    int i;
    pthread_mutex_lock(&inserting_mu);
    if ((i = inserting_at(job_id)) >= 0)
        inserting[i] = inserting[--n_inserting];
    pthread_cond_broadcast(&inserting_cv);
    pthread_mutex_unlock(&inserting_mu);
}

static int64_t gate_of(struct db_conn *c, int64_t job_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_IMPORT_GATE);
    int64_t g = -1;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, job_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        g = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
    db_done(st);
    return g;
}

/* Clears job_id's gate, if it is still gate: the import's items show, or
 * (after a discard) the job takes imports again. */
static int gate_close(struct db_conn *c, int64_t job_id, int64_t gate)
{
    sqlite3_stmt *st = db_stmt(c, SQL_IMPORT_END);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, gate);
    return db_step_done(st);
}

struct step_op {
    struct import *im;
    int64_t gate;  /* the import's first item id; 0 before its first step */
    int64_t limit; /* lines this step may take, all ready */
    off_t ready;   /* the bytes they end within */
    int last;      /* they are the import's last */
    int64_t taken; /* lines this step inserted */
    int done;      /* this step committed the import */
};

/* The next staged line, its '\n' included, read at the inserter's own
 * offset and never past ready bytes: its length, or -1 when no whole line
 * is there, on a read error or out of memory. */
static ssize_t staged_line(struct import *im, char **line, off_t ready)
{
    struct buf *b = &im->rd;
    if (b->data == NULL && buf_reserve(b, 65536) != 0)
        return -1;
    for (;;) {
        char *start = b->data + im->rd_pos;
        char *nl = memchr(start, '\n', b->len - im->rd_pos);
        size_t want;
        ssize_t got;
        if (nl != NULL) {
            *line = start;
            im->rd_pos += (size_t)(nl - start) + 1;
            return nl - start + 1;
        }
        if (im->rd_pos > 0) {
            memmove(b->data, start, b->len - im->rd_pos);
            b->len -= im->rd_pos;
            im->rd_pos = 0;
        }
        if (im->rd_off >= ready)
            return -1;
        want = ready - im->rd_off < 65536 ? (size_t)(ready - im->rd_off) : 65536;
        if (buf_reserve(b, want) != 0)
            return -1;
        got = pread(fileno(im->staged), b->data + b->len, want, im->rd_off);
        if (got <= 0)
            return -1;
        b->len += (size_t)got;
        im->rd_off += got;
    }
}

/* One step: checks the job and the gate (opening it on the first step),
 * inserts the step's staged items, and on the last closes the gate with
 * the audit entry, so the items appear together. */
static int step_write(struct db_conn *c, void *arg)
{
    struct step_op *op = arg;
    struct import *im = op->im;
    struct job now;
    size_t bytes = 0;
    int64_t t = util_now(), g;
    int rc = job_load(c, im->job_id, &now);
    op->taken = 0;
    if (rc != 0)
        return rc;
    if (now.status == JOB_CLOSED || now.questions_rev != im->questions_rev) {
        im->insert_why = now.status == JOB_CLOSED ? "the job is closed"
                                                  : "the job's questions changed during the import";
        job_free_fields(&now);
        return ERR_CONFLICT;
    }
    job_free_fields(&now);
    if (op->gate == 0) {
        sqlite3_stmt *st = db_stmt(c, SQL_IMPORT_BEGIN);
        if (st == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, im->job_id);
        if ((rc = db_step_done(st)) != 0)
            return rc;
        if (sqlite3_changes(c->h) != 1) {
            im->insert_why = "another process is importing into this job";
            return ERR_CONFLICT;
        }
        if ((op->gate = gate_of(c, im->job_id)) <= 0)
            return ERR_DB;
    } else if ((g = gate_of(c, im->job_id)) != op->gate) {
        if (g < 0)
            return ERR_DB;
        im->insert_why = "the import was interrupted (the server restarted meanwhile)";
        return ERR_CONFLICT;
    }
    while (op->taken < op->limit && bytes < IMPORT_STEP_BYTES) {
        char *line = NULL, *tab1, *tab2, *tab3;
        ssize_t len = staged_line(im, &line, op->ready);
        sqlite3_stmt *st = db_stmt(c, SQL_ITEM_INSERT);
        int step;
        if (len <= 0 || st == NULL) {
            im->insert_why = READ_BACK;
            return ERR_DB;
        }
        line[len - 1] = '\0';
        tab1 = strchr(line, '\t');
        tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;
        tab3 = tab2 != NULL ? strchr(tab2 + 1, '\t') : NULL;
        if (tab3 == NULL) {
            im->insert_why = READ_BACK;
            return ERR_DB;
        }
        *tab1 = *tab2 = *tab3 = '\0';
        sqlite3_bind_int64(st, 1, im->job_id);
        sqlite3_bind_text(st, 2, tab1 + 1, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, tab3 + 1, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, atoi(line));
        sqlite3_bind_text(st, 5, tab2 + 1, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, t);
        step = sqlite3_step(st);
        db_done(st);
        if (step == SQLITE_CONSTRAINT) {
            im->insert_why = "another import added one of these ids meanwhile";
            return ERR_CONFLICT;
        }
        if (step != SQLITE_DONE)
            return ERR_DB;
        op->taken++;
        bytes += (size_t)len;
    }
    if (!op->last || op->taken < op->limit)
        return 0;
    if (im->taken_lines + op->taken != im->staged_lines) {
        im->insert_why = READ_BACK;
        return ERR_DB;
    }
    {
        char subject[32];
        json_t *detail;
        if ((rc = gate_close(c, im->job_id, op->gate)) != 0)
            return rc;
        snprintf(subject, sizeof subject, "job:%lld", (long long)im->job_id);
        detail = json_pack("{sI}", "items", (json_int_t)(im->taken_lines + op->taken));
        rc = audit_add(c, im->actor, "items_import", subject, im->addr, detail);
        json_decref(detail);
    }
    if (rc == 0)
        op->done = 1;
    return rc;
}

struct discard_op {
    int64_t job_id, gate, deleted;
    int left; /* items may remain: another step is needed */
};

/* Deletes a step of an unfinished import's items; the step that finds
 * none left closes its gate. */
static int discard_write(struct db_conn *c, void *arg)
{
    struct discard_op *op = arg;
    sqlite3_stmt *st;
    int64_t g = gate_of(c, op->job_id);
    int rc, n;
    if (g < 0)
        return ERR_DB; /* the items stay hidden; the caller says so */
    if (g != op->gate) {
        op->left = 0; /* not this import's gate any more */
        return 0;
    }
    if ((st = db_stmt(c, SQL_IMPORT_DISCARD)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->job_id);
    sqlite3_bind_int64(st, 2, op->gate);
    sqlite3_bind_int(st, 3, DISCARD_STEP);
    if ((rc = db_step_done(st)) != 0)
        return rc;
    n = sqlite3_changes(c->h);
    op->deleted += n;
    op->left = n > 0;
    return op->left ? 0 : gate_close(c, op->job_id, op->gate);
}

/* Removes what an unfinished import inserted, a step at a time (its items
 * are invisible meanwhile). The number deleted, or < 0 when a write
 * failed: the items stay hidden, and serve's start-up finishes the work. */
static int64_t discard(struct db *db, int64_t job_id, int64_t gate)
{
    struct discard_op op = {job_id, gate, 0, 1};
    while (op.left)
        if (db_write(db, discard_write, &op) != 0)
            return -1;
    return op.deleted;
}

int items_import_recover(struct db *db, FILE *log)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st;
    int64_t *jobs = NULL, *gates = NULL;
    int n, i, rc = 0;
    if (c == NULL || (st = db_stmt(c, SQL_IMPORT_UNFINISHED)) == NULL)
        return ERR_DB;
    n = db_int64_rows(st, &jobs, &gates);
    db_reader_idle(db);
    if (n < 0)
        return ERR_DB;
    for (i = 0; i < n; i++) {
        int64_t gone = discard(db, jobs[i], gates[i]);
        if (gone < 0) {
            rc = ERR_DB;
            break;
        }
        if (log != NULL)
            fprintf(log, "arbiter: job %lld: an interrupted import's %lld items were discarded\n",
                    (long long)jobs[i], (long long)gone);
    }
    free(jobs);
    free(gates);
    return rc;
}

/* The inserter stopped because the staging failed. */
#define INSERT_CANCELLED 1

/* Inserts the staged lines a step per write as they are made ready, until
 * the staging is done (the last step shows them) or failed; on any failure
 * removes the steps already committed. Its result is in im->insert_rc. */
static void insert_steps(struct import *im)
{
    struct step_op op = {im, 0, 0, 0, 0, 0, 0};
    int rc = 0;
    inserting_enter(im->job_id);
    for (;;) {
        int64_t avail;
        pthread_mutex_lock(&im->mu);
        while (!im->staging_failed && !im->staging_done &&
               im->ready_lines - im->taken_lines < IMPORT_STEP_ITEMS)
            pthread_cond_wait(&im->cv, &im->mu);
        avail = im->ready_lines - im->taken_lines;
        op.ready = im->ready_bytes;
        op.last = im->staging_done && avail <= IMPORT_STEP_ITEMS;
        rc = im->staging_failed ? INSERT_CANCELLED : 0;
        pthread_mutex_unlock(&im->mu);
        if (rc != 0)
            break;
        op.limit = avail < IMPORT_STEP_ITEMS ? avail : IMPORT_STEP_ITEMS;
        if ((rc = db_write(im->db, step_write, &op)) != 0)
            break;
        im->taken_lines += op.taken;
        if (op.done) {
            im->res->imported = im->taken_lines;
            break;
        }
    }
    if (rc != 0 && op.gate > 0 && discard(im->db, im->job_id, op.gate) < 0)
        fprintf(stderr,
                "arbiter: job %lld: a failed import's items could not be removed yet; they "
                "stay hidden and the next start removes them\n",
                (long long)im->job_id);
    inserting_leave(im->job_id);
    pthread_mutex_lock(&im->mu);
    im->insert_rc = rc;
    im->insert_over = 1;
    pthread_mutex_unlock(&im->mu);
}

static void *insert_thread(void *arg)
{
    insert_steps(arg);
    return NULL;
}

/* Makes the lines staged so far the inserter's (flushed first), and done
 * says they are all, at once; the first call before the end starts the
 * inserter. 0, or the staging's failure. */
static int stage_ready(struct import *im, int done)
{
    off_t at;
    if (fflush(im->staged) != 0 || ferror(im->staged) || (at = ftello(im->staged)) < 0)
        return stage_failed(im);
    pthread_mutex_lock(&im->mu);
    im->ready_lines = im->staged_lines;
    im->ready_bytes = at;
    im->staging_done = done;
    pthread_cond_signal(&im->cv);
    pthread_mutex_unlock(&im->mu);
    if (!im->inserter_started && !done &&
        pthread_create(&im->inserter, NULL, insert_thread, im) == 0)
        im->inserter_started = 1; /* else the steps go in after the staging, on this thread */
    return 0;
}

/* Tells the inserter to stop and remove what it inserted. */
static void stage_abandon(struct import *im)
{
    pthread_mutex_lock(&im->mu);
    im->staging_failed = 1;
    pthread_cond_signal(&im->cv);
    pthread_mutex_unlock(&im->mu);
}

/* The inserter's failure, when it stopped early: its result, else 0. */
static int insert_failed(struct import *im)
{
    int rc;
    pthread_mutex_lock(&im->mu);
    rc = im->insert_over ? im->insert_rc : 0;
    pthread_mutex_unlock(&im->mu);
    return rc;
}

/* Reads, checks and stages the body (from the line to the staging's end,
 * where stage_ready hands the last lines over), on the caller's reader. */
static int stage_body(struct import *im, item_read_fn rd, void *ctx)
{
    struct import_result *res = im->res;
    struct db_conn *c = db_reader(im->db);
    struct buf line = {0};
    char *chunk = malloc(65536);
    int64_t lineno = 0;
    int rc = 0, skipping = 0;
    long n;
    if (c == NULL || chunk == NULL) {
        free(chunk);
        return c == NULL ? ERR_DB : ERR_NOMEM;
    }
    while ((n = rd(ctx, chunk, 65536)) > 0) {
        char *p = chunk, *end = chunk + n;
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t take = (size_t)((nl != NULL ? nl : end) - p);
            if (!skipping && line.len + take > ITEM_LINE_MAX) {
                struct problems pr = {0};
                problems_add(&pr, "", "the line is longer than %d bytes", ITEM_LINE_MAX);
                res->lines++;
                line_error(im, lineno + 1, &pr);
                json_decref(pr.list);
                skipping = 1;
                line.len = 0;
            }
            if (!skipping && buf_append(&line, p, take) != 0) {
                rc = ERR_NOMEM;
                goto out;
            }
            p += take;
            if (nl != NULL) {
                lineno++;
                p++;
                if (!skipping && (rc = one_line(im, c, line.data != NULL ? line.data : "", line.len,
                                                lineno)) != 0)
                    goto out;
                skipping = 0;
                line.len = 0;
                if (res->bad_lines == 0 &&
                    im->staged_lines - im->ready_lines >= IMPORT_STEP_ITEMS &&
                    (rc = stage_ready(im, 0)) != 0)
                    goto out;
            }
        }
        db_reader_idle(im->db);
        if (res->bad_lines > 0 && im->inserter_started && !im->staging_failed)
            stage_abandon(im); /* nothing will be imported: stop inserting now */
        if ((rc = insert_failed(im)) != 0) {
            res->why = im->insert_why; /* the job closed meanwhile, say: stop reading */
            goto out;
        }
    }
    if (n < 0) {
        res->why = "the request body could not be read";
        rc = ERR_BAD_REQUEST;
        goto out;
    }
    if (!skipping && line.len > 0 && (rc = one_line(im, c, line.data, line.len, ++lineno)) != 0)
        goto out;
    if (res->bad_lines > 0) {
        rc = ERR_INVALID;
        goto out;
    }
    if (res->lines == 0) {
        struct problems pr = {0};
        problems_add(&pr, "", "the file has no items");
        line_error(im, 0, &pr);
        json_decref(pr.list);
        rc = ERR_INVALID;
        goto out;
    }
    rc = stage_ready(im, 1);
out:
    db_reader_idle(im->db);
    free(chunk);
    buf_free(&line);
    return rc;
}

struct stager {
    struct import *im;
    item_read_fn rd;
    void *ctx;
    int rc;
};

/* The staging on a thread of its own at a lower priority: parsing a big
 * body is bulk work, and on a busy machine labelers' requests go first.
 * (A thread may lower its own priority, but raising it back needs a
 * privilege, so a pooled request thread is not used for it.) */
static void *stager_main(void *arg)
{
    struct stager *sg = arg;
    setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
    pthread_setname_np(pthread_self(), "arbiter-import");
    sg->rc = stage_body(sg->im, sg->rd, sg->ctx);
    db_reader_release(sg->im->db);
    return NULL;
}

int items_import(struct db *db, int64_t job_id, item_read_fn rd, void *ctx, int64_t actor_id,
                 const char *addr, const char *staging_dir, struct import_result *res)
{
    struct import im;
    struct db_conn *c = db_reader(db);
    struct stager sg = {&im, rd, ctx, 0};
    pthread_t stager;
    int rc;
    memset(res, 0, sizeof *res);
    memset(&im, 0, sizeof im);
    im.db = db;
    im.job_id = job_id;
    im.res = res;
    im.actor = actor_id;
    im.addr = addr;
    res->errors = json_array();
    if (c == NULL)
        return ERR_DB;
    if ((rc = job_load(c, job_id, &im.job)) != 0)
        return rc;
    db_reader_idle(db);
    im.questions_rev = im.job.questions_rev;
    pthread_mutex_init(&im.mu, NULL);
    pthread_cond_init(&im.cv, NULL);
    if (im.job.status == JOB_CLOSED) {
        res->why = "the job is closed";
        rc = ERR_CONFLICT;
        goto out;
    }
    if ((im.staged = stage_open(db, staging_dir)) == NULL) {
        rc = stage_failed(&im);
        if (rc == ERR_DB)
            res->why = "cannot create the import's staging file (check --staging-dir)";
        goto out;
    }
    if (pthread_create(&stager, NULL, stager_main, &sg) == 0) {
        pthread_join(stager, NULL);
        rc = sg.rc;
    } else {
        rc = stage_body(&im, rd, ctx);
    }
    if (rc != 0)
        goto out;
    if (im.inserter_started) {
        pthread_join(im.inserter, NULL);
        im.inserter_started = 0;
    } else {
        insert_steps(&im); /* a small import: its one step, on this thread */
    }
    if ((rc = im.insert_rc) != 0)
        res->why = im.insert_why;
out:
    if (im.inserter_started) {
        stage_abandon(&im);
        pthread_join(im.inserter, NULL);
    }
    if (rc != 0)
        res->imported = 0;
    pthread_mutex_destroy(&im.mu);
    pthread_cond_destroy(&im.cv);
    if (im.staged != NULL)
        fclose(im.staged);
    buf_free(&im.rd);
    buf_free(&im.norm);
    buf_free(&im.ids);
    idset_free(&im.seen);
    job_free_fields(&im.job);
    return rc;
}

/* ---- reading ---- */

static void read_item(sqlite3_stmt *st, struct item *out)
{
    out->id = sqlite3_column_int64(st, 0);
    out->job_id = sqlite3_column_int64(st, 1);
    db_col_text(st, 2, out->ext_id, sizeof out->ext_id);
    out->data = json_loadb((const char *)sqlite3_column_blob(st, 3),
                           (size_t)sqlite3_column_bytes(st, 3), 0, NULL);
    out->n_responses = sqlite3_column_int(st, 4);
    out->claims = sqlite3_column_int(st, 5);
    out->judged = sqlite3_column_int(st, 6);
}

int item_load(struct db_conn *c, int64_t id, struct item *out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_ITEM_BY_ID);
    int rc;
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_item(st, out);
    db_done(st);
    if (rc == SQLITE_ROW && out->data == NULL)
        return ERR_DB;
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
}

void item_clear(struct item *it)
{
    json_decref(it->data);
    it->data = NULL;
}

int item_by_ext(struct db_conn *c, int64_t job_id, const char *ext_id, struct item *out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_ITEM_BY_EXT);
    int rc;
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_text(st, 2, ext_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_item(st, out);
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
    return out->data == NULL ? ERR_DB : 0;
}

int item_detail(struct db_conn *c, int64_t job_id, int overlap, const char *ext_id,
                const struct principal *p, json_t **out)
{
    sqlite3_stmt *st;
    json_t *judgments = NULL, *skips = NULL, *leases = NULL, *flags = NULL, *o;
    int64_t *ids = NULL;
    struct item it;
    int rc, n = 0, k;
    *out = NULL;
    if ((rc = item_by_ext(c, job_id, ext_id, &it)) != 0)
        return rc;
    /* Judgment ids first: judgment_json reads with statements of its own. */
    rc = 0;
    if ((st = db_stmt(c, SQL_ITEM_JUDGMENTS)) == NULL)
        rc = ERR_DB;
    else {
        sqlite3_bind_int64(st, 1, it.id);
        if ((n = db_int64_rows(st, &ids, NULL)) < 0)
            rc = ERR_DB;
    }
    judgments = json_array();
    for (k = 0; rc == 0 && k < n; k++) {
        json_t *g = NULL;
        if ((rc = judgment_json(c, ids[k], 0, p, 1, &g)) == 0)
            json_array_append_new(judgments, g);
    }
    free(ids);
    skips = json_array();
    if (rc == 0 && (st = db_stmt(c, SQL_ITEM_SKIPS)) != NULL) {
        sqlite3_bind_int64(st, 1, it.id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *reason = (const char *)sqlite3_column_text(st, 2);
            json_array_append_new(
                skips,
                json_pack("{sIsssososb}", "task_id", (json_int_t)sqlite3_column_int64(st, 0),
                          "labeler", (const char *)sqlite3_column_text(st, 1), "reason",
                          reason != NULL && reason[0] != '\0' ? json_string(reason) : json_null(),
                          "at", util_json_time_ms(sqlite3_column_int64(st, 3)), "released",
                          sqlite3_column_int(st, 4)));
        }
        db_done(st);
    }
    leases = json_array();
    if (rc == 0 && (st = db_stmt(c, SQL_ITEM_LEASES)) != NULL) {
        sqlite3_bind_int64(st, 1, it.id);
        sqlite3_bind_int64(st, 2, util_now_ms());
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(
                leases, json_pack("{sIsssoso}", "task_id", (json_int_t)sqlite3_column_int64(st, 0),
                                  "labeler", (const char *)sqlite3_column_text(st, 1), "leased_at",
                                  util_json_time_ms(sqlite3_column_int64(st, 2)), "expires_at",
                                  util_json_time_ms(sqlite3_column_int64(st, 3))));
        db_done(st);
    }
    flags = rc == 0 ? flags_of_item(c, it.id) : NULL;
    if (rc == 0 && flags == NULL)
        rc = ERR_DB;
    if (rc != 0) {
        json_decref(judgments);
        json_decref(skips);
        json_decref(leases);
        item_clear(&it);
        return rc;
    }
    {
        char why[300];
        int pending_skips = 0, stuck;
        size_t i;
        json_t *v;
        json_array_foreach(skips, i, v)
        {
            if (!json_is_true(json_object_get(v, "released")))
                pending_skips++;
        }
        stuck = item_stuck(c, job_id, it.id, overlap, it.judged, it.claims, why, sizeof why);
        if (stuck < 0) {
            json_decref(judgments);
            json_decref(skips);
            json_decref(leases);
            json_decref(flags);
            item_clear(&it);
            return ERR_DB;
        }
        /* judged counts the judgments not rejected: the others were. */
        o = json_pack("{s{sssOsisisisisbss}sosososo}", "item", "key", it.ext_id, "item", it.data,
                      "judgments", it.judged, "claims", it.claims, "skips", pending_skips, "flags",
                      (int)json_array_size(flags), "complete", it.judged >= overlap, "status",
                      item_status_name(it.judged, it.claims, pending_skips,
                                       (int)json_array_size(judgments) - it.judged, stuck, overlap),
                      "judgments", judgments, "skips", skips, "leases", leases, "flags", flags);
        if (o != NULL)
            json_object_set_new(json_object_get(o, "item"), "stuck",
                                stuck ? json_string(why) : json_null());
    }
    /* Model judges' judgments, apart from the people's (judges.h). */
    if (o != NULL) {
        json_t *jj = judges_of_item(c, it.id);
        if (jj == NULL) {
            json_decref(o);
            item_clear(&it);
            return ERR_DB;
        }
        json_object_set_new(o, "judges", jj);
    }
    item_clear(&it);
    if (o == NULL)
        return ERR_NOMEM;
    *out = o;
    return 0;
}
