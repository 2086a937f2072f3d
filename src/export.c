/* export.c: the JSON Lines exports (see export.h; the formats and their
 * derivation rules are in docs/formats.md).
 *
 * raw lines are spliced from the stored text (the item's normalised JSON
 * and the answers as stored), so the biggest export parses nothing. The
 * training formats parse the item and the answers of each judgment with
 * jansson and derive from them: demonstrations (sft, openai-chat), pairs
 * (preference, openai-preference) and labels (kto). With aggregate=majority
 * a job's judgments are read item by item and the votes of each item's
 * labelers decide its rows; with aggregate=dawid-skene a first pass fits
 * each labeler's reliability and the second decides by the posterior. */
#include "export.h"

#include "items.h"
#include "jspan.h"
#include "stats.h"
#include "tasks.h"
#include "util.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_ROWS 512
#define PAGE_BYTES (1 << 20) /* a page ends early past this much output */
#define MAX_RESP ITEM_RESPONSES_MAX

static const char *const format_names[] = {
    "raw", "sft", "openai-chat", "preference", "openai-preference", "kto"};

const char *export_format_name(enum export_format f)
{
    return format_names[f];
}

void export_opts_default(struct export_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = EXPORT_RAW;
    o->min_agreement = 0.5;
    o->min_gap = 1;
}

int export_opt_set(struct export_opts *o, const char *name, const char *value, const char **why)
{
    int64_t n;
    int i;
    if (strcmp(name, "format") == 0) {
        for (i = 0; i <= EXPORT_KTO; i++)
            if (strcmp(value, format_names[i]) == 0) {
                o->format = (enum export_format)i;
                return 0;
            }
        *why = "must be raw, sft, openai-chat, preference, openai-preference or kto";
    } else if (strcmp(name, "since") == 0) {
        if (util_parse_int(value, 0, INT64_MAX, &n) == 0) {
            o->since = n;
            return 0;
        }
        *why = "must be a cursor an earlier export named (an integer >= 0)";
    } else if (strcmp(name, "review") == 0) {
        static const char *const modes[] = {"default", "accepted", "all"};
        for (i = 0; i < 3; i++)
            if (strcmp(value, modes[i]) == 0) {
                o->review = (enum export_review)i;
                return 0;
            }
        *why = "must be default (all but rejected judgments), accepted or all";
    } else if (strcmp(name, "aggregate") == 0) {
        static const char *const modes[] = {"none", "majority", "dawid-skene"};
        for (i = 0; i < 3; i++)
            if (strcmp(value, modes[i]) == 0) {
                o->aggregate = (enum export_aggregate)i;
                return 0;
            }
        *why = "must be none, majority or dawid-skene";
    } else if (strcmp(name, "min_agreement") == 0) {
        char *end;
        double d = strtod(value, &end);
        if (value[0] != '\0' && *end == '\0' && d >= 0.5 && d <= 1) {
            o->min_agreement = d;
            return 0;
        }
        *why = "must be a number from 0.5 to 1";
    } else if (strcmp(name, "question") == 0) {
        if (value[0] != '\0') {
            o->question = value;
            return 0;
        }
        *why = "must name a question";
    } else if (strcmp(name, "rank_pairs") == 0) {
        if (strcmp(value, "all") == 0 || strcmp(value, "best") == 0) {
            o->rank_best = value[0] == 'b';
            return 0;
        }
        *why = "must be all or best";
    } else if (strcmp(name, "min_gap") == 0) {
        if (util_parse_int(value, 1, 2000, &n) == 0) {
            o->min_gap = (int)n;
            return 0;
        }
        *why = "must be an integer from 1 to 2000";
    } else if (strcmp(name, "best_rated") == 0 || strcmp(name, "kto_good") == 0 ||
               strcmp(name, "kto_bad") == 0) {
        if (util_parse_int(value, -1000, 1000, &n) == 0) {
            if (name[0] == 'b') {
                o->has_best_rated = 1;
                o->best_rated = (int)n;
            } else if (strcmp(name, "kto_good") == 0) {
                o->has_kto_good = 1;
                o->kto_good = (int)n;
            } else {
                o->has_kto_bad = 1;
                o->kto_bad = (int)n;
            }
            return 0;
        }
        *why = "must be a score (an integer from -1000 to 1000)";
    } else {
        return ERR_NOT_FOUND;
    }
    return ERR_INVALID;
}

/* Whether question q feeds format f. */
static int feeds(const struct question *q, enum export_format f, const struct export_opts *o)
{
    switch (f) {
    case EXPORT_RAW: return 1;
    case EXPORT_SFT:
    case EXPORT_OPENAI_CHAT:
        return q->type == Q_TEXT ||
               (o->has_best_rated && q->type == Q_RATING && !q->thumbs && q->per_response);
    case EXPORT_PREFERENCE:
    case EXPORT_OPENAI_PREFERENCE:
        return q->type == Q_PAIRWISE || q->type == Q_RANK ||
               (q->type == Q_RATING && q->per_response);
    case EXPORT_KTO: return q->type == Q_RATING;
    }
    return 0;
}

static int used(const struct question *q, const struct export_opts *o)
{
    return feeds(q, o->format, o) && (o->question == NULL || strcmp(o->question, q->name) == 0);
}

int export_opts_check(const struct export_opts *o, const struct job *j, const char **why,
                      const char **field)
{
    int i, any = 0;
    *field = NULL;
    if (o->aggregate != EXPORT_AGG_NONE && o->format != EXPORT_PREFERENCE &&
        o->format != EXPORT_OPENAI_PREFERENCE && o->format != EXPORT_KTO) {
        *why = "aggregate applies to the preference, openai-preference and kto formats";
        *field = "aggregate";
        return ERR_INVALID;
    }
    if (o->has_kto_good && o->has_kto_bad && o->kto_bad >= o->kto_good) {
        *why = "must be below kto_good";
        *field = "kto_bad";
        return ERR_INVALID;
    }
    for (i = 0; i < j->cfg.n_questions; i++) {
        const struct question *q = &j->cfg.questions[i];
        if (o->question != NULL && strcmp(o->question, q->name) == 0 && !feeds(q, o->format, o)) {
            *why = "this question gives no rows in this format";
            *field = "question";
            return ERR_INVALID;
        }
        any |= used(q, o);
    }
    if (!any) {
        *why = o->question != NULL ? "the job has no such question"
               : o->format == EXPORT_SFT || o->format == EXPORT_OPENAI_CHAT
                   ? "the job has no text question (or rating, with best_rated)"
               : o->format == EXPORT_KTO ? "the job has no rating question"
                                         : "the job has no pairwise, rank or rating question";
        *field = o->question != NULL ? "question" : "format";
        return ERR_INVALID;
    }
    return 0;
}

int export_cursor(struct db_conn *c, int64_t job_id, int64_t *cursor)
{
    return db_int64(c, SQL_EXPORT_CURSOR, job_id, cursor);
}

/* ---- output ---- */

struct out {
    struct buf b;
    export_sink sink;
    void *ctx;
    int64_t rows;
    const unsigned char *key;
    int64_t job_id;
    /* a small cache of labeler pseudonyms */
    int64_t pseud_id[16];
    char pseud[16][20];
};

static int flush(struct out *o)
{
    int rc = 0;
    if (o->b.len > 0)
        rc = o->sink(o->ctx, o->b.data, o->b.len);
    o->b.len = 0;
    return rc;
}

/* Appends value v as one line. */
static int line(struct out *o, json_t *v)
{
    char *s;
    int rc;
    if (v == NULL)
        return ERR_NOMEM;
    s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (s == NULL)
        return ERR_NOMEM;
    rc = buf_puts(&o->b, s) != 0 || buf_puts(&o->b, "\n") != 0 ? ERR_NOMEM : 0;
    free(s);
    o->rows += rc == 0;
    return rc;
}

/* "lab-" and 12 hex digits: a keyed hash of job and labeler, the same in
 * every export of the job, different between jobs, and not reversible
 * without the server key. */
static const char *pseudonym(struct out *o, int64_t labeler)
{
    int slot = (int)(labeler % 16);
    if (o->pseud_id[slot] != labeler || o->pseud[slot][0] == '\0') {
        char msg[64];
        unsigned char h[6];
        int i;
        snprintf(msg, sizeof msg, "labeler:%lld:%lld", (long long)o->job_id, (long long)labeler);
        crypto_generichash(h, sizeof h, (const unsigned char *)msg, strlen(msg), o->key, 32);
        memcpy(o->pseud[slot], "lab-", 4);
        for (i = 0; i < 6; i++)
            snprintf(o->pseud[slot] + 4 + 2 * i, 3, "%02x", h[i]);
        o->pseud_id[slot] = labeler;
    }
    return o->pseud[slot];
}

/* ---- raw: spliced ---- */

/* Appends a literal, then the decimal n (the row's hot path: no printf). */
static int put_num(struct buf *b, const char *lit, int64_t n)
{
    char d[24];
    int k = (int)sizeof d;
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    do
        d[--k] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (n < 0)
        d[--k] = '-';
    return buf_puts(b, lit) != 0 || buf_append(b, d + k, sizeof d - (size_t)k) != 0 ? -1 : 0;
}

/* Appends a literal, then ms as seconds with three decimals ("41.200"). */
static int put_ms(struct buf *b, const char *lit, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    return put_num(b, lit, ms / 1000) != 0 || buf_append(b, ".", 1) != 0 ||
                   buf_append(b,
                              (char[]){(char)('0' + ms % 1000 / 100), (char)('0' + ms % 100 / 10),
                                       (char)('0' + ms % 10)},
                              3) != 0
               ? -1
               : 0;
}

/* A text column as a JSON string (escaped by jansson), or null. */
static int comment_field(struct buf *b, sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    json_t *v;
    char *enc;
    int rc;
    if (t == NULL)
        return buf_puts(b, "null");
    v = json_string(t);
    enc = v != NULL ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    rc = enc != NULL ? buf_puts(b, enc) : -1;
    free(enc);
    json_decref(v);
    return rc;
}

static int time_field(struct buf *b, const char *lit, int64_t ms)
{
    char t[40];
    util_time_iso_ms(ms, t, sizeof t);
    return buf_puts(b, lit) != 0 || buf_puts(b, t) != 0 || buf_append(b, "\"", 1) != 0 ? -1 : 0;
}

static int raw_row(struct out *o, sqlite3_stmt *st)
{
    static const char *const keys[] = {"id", "responses", "messages", "prompt", "metadata"};
    const char *data = (const char *)sqlite3_column_text(st, 9);
    struct jspan item = {data, (size_t)sqlite3_column_bytes(st, 9)}, m[5], list[MAX_RESP];
    int shown[MAX_RESP], n, k, i, bad;
    int64_t leased = sqlite3_column_int64(st, 8), created = sqlite3_column_int64(st, 4);
    int64_t shown_at = sqlite3_column_int64(st, 10), active = sqlite3_column_int64(st, 11);
    const char *review = (const char *)sqlite3_column_text(st, 12);
    const char *flags = (const char *)sqlite3_column_text(st, 14);
    /* From when the task was shown (the page said so), else from its lease. */
    int64_t took = created - (shown_at > 0 ? shown_at : leased);
    struct buf *b = &o->b;
    size_t start = b->len;
    /* One pass over the item's stored text finds what the row splices. */
    if (data == NULL || jspan_members(item, keys, 5, m) < 0 || m[0].p == NULL || m[1].p == NULL ||
        (m[2].p == NULL && m[3].p == NULL) || (n = jspan_elements(m[1], list, MAX_RESP)) < 0 ||
        (k = task_shown_parse((const char *)sqlite3_column_text(st, 7), shown, MAX_RESP)) < 0)
        return ERR_DB;
    bad = put_num(b, "{\"job_id\":", o->job_id) != 0 ||
          put_num(b, ",\"judgment_id\":", sqlite3_column_int64(st, 0)) != 0 ||
          put_num(b, ",\"seq\":", sqlite3_column_int64(st, 1)) != 0 ||
          buf_puts(b, ",\"item_id\":") != 0 || buf_append(b, m[0].p, m[0].len) != 0 ||
          buf_puts(b, m[2].p != NULL ? ",\"messages\":" : ",\"prompt\":") != 0 ||
          buf_append(b, m[2].p != NULL ? m[2].p : m[3].p, m[2].p != NULL ? m[2].len : m[3].len) !=
              0 ||
          buf_puts(b, ",\"responses\":[") != 0;
    for (i = 0; i < k && !bad; i++) {
        if (shown[i] < 0 || shown[i] >= n)
            return ERR_DB;
        bad = (i > 0 && buf_append(b, ",", 1) != 0) ||
              buf_append(b, list[shown[i]].p, list[shown[i]].len) != 0;
    }
    bad = bad || buf_puts(b, "],\"shown_order\":[") != 0;
    for (i = 0; i < k && !bad; i++) {
        struct jspan rid;
        bad = jspan_member(list[shown[i]], "id", &rid) != 0 ||
              (i > 0 && buf_append(b, ",", 1) != 0) || buf_append(b, rid.p, rid.len) != 0;
    }
    bad = bad || buf_puts(b, "],\"answers\":") != 0 ||
          buf_append(b, sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2)) != 0 ||
          buf_puts(b, ",\"labeler\":\"") != 0 ||
          buf_puts(b, pseudonym(o, sqlite3_column_int64(st, 6))) != 0 ||
          time_field(b, "\",\"leased_at\":\"", leased) != 0 ||
          (shown_at > 0 ? time_field(b, ",\"shown_at\":\"", shown_at)
                        : buf_puts(b, ",\"shown_at\":null")) != 0 ||
          time_field(b, ",\"submitted_at\":\"", created) != 0 ||
          time_field(b, ",\"updated_at\":\"", sqlite3_column_int64(st, 5)) != 0;
    bad = bad || put_ms(b, ",\"duration_seconds\":", took) != 0 ||
          (shown_at > 0 ? put_ms(b, ",\"active_seconds\":", active)
                        : buf_puts(b, ",\"active_seconds\":null")) != 0 ||
          buf_puts(b, ",\"review\":") != 0 ||
          buf_puts(b, review == NULL     ? "null"
                      : review[0] == 'a' ? "\"accepted\""
                                         : "\"rejected\"") != 0 ||
          buf_puts(b, ",\"comment\":") != 0 || comment_field(b, st, 13) != 0 ||
          /* The labeler's flags on the item, as SQLite's json_group_array wrote them. */
          buf_puts(b, ",\"flags\":") != 0 || buf_puts(b, flags != NULL ? flags : "[]") != 0 ||
          put_num(b, ",\"revision\":", sqlite3_column_int(st, 3)) != 0 ||
          buf_puts(b, ",\"metadata\":") != 0 ||
          (m[4].p != NULL ? buf_append(b, m[4].p, m[4].len) : buf_puts(b, "{}")) != 0 ||
          buf_puts(b, "}\n") != 0;
    if (bad) {
        b->len = start;
        return ERR_NOMEM;
    }
    o->rows++;
    return 0;
}

/* ---- the training formats: parsed ---- */

/* An item as the derivations need it (parsed from items.data). */
struct xitem {
    json_t *root;       /* owned */
    const char *prompt; /* or NULL for a chat */
    json_t *messages;   /* borrowed from root; NULL for a prompt */
    int n;
    const char *ids[MAX_RESP], *texts[MAX_RESP];
};

static int xitem_load(const char *data, size_t len, struct xitem *it)
{
    json_t *resp, *r;
    size_t i;
    memset(it, 0, sizeof *it);
    it->root = json_loadb(data, len, 0, NULL);
    if (it->root == NULL)
        return ERR_DB;
    it->prompt = json_string_value(json_object_get(it->root, "prompt"));
    it->messages = json_object_get(it->root, "messages");
    resp = json_object_get(it->root, "responses");
    json_array_foreach(resp, i, r)
    {
        if (i >= MAX_RESP)
            break;
        it->ids[i] = json_string_value(json_object_get(r, "id"));
        it->texts[i] = json_string_value(json_object_get(r, "text"));
        if (it->ids[i] == NULL || it->texts[i] == NULL)
            return ERR_DB;
        it->n = (int)i + 1;
    }
    return it->prompt != NULL || json_is_array(it->messages) ? 0 : ERR_DB;
}

static int resp_index(const struct xitem *it, const char *id)
{
    int i;
    for (i = 0; id != NULL && i < it->n; i++)
        if (strcmp(it->ids[i], id) == 0)
            return i;
    return -1;
}

static json_t *assistant(const char *text)
{
    return json_pack("{ssss}", "role", "assistant", "content", text);
}

/* The conversation before the answer: the chat, or the prompt as a user turn. */
static json_t *turns(const struct xitem *it)
{
    if (it->messages != NULL)
        return json_deep_copy(it->messages);
    return json_pack("[{ssss}]", "role", "user", "content", it->prompt);
}

static int demonstration(struct out *o, const struct xitem *it, const char *text,
                         enum export_format f)
{
    json_t *m;
    if (text == NULL || text[strspn(text, " \t\r\n")] == '\0')
        return 0; /* a blank answer teaches nothing */
    if (f == EXPORT_SFT && it->messages == NULL)
        return line(o, json_pack("{ssss}", "prompt", it->prompt, "completion", text));
    m = turns(it);
    if (m == NULL || json_array_append_new(m, assistant(text)) != 0) {
        json_decref(m);
        return ERR_NOMEM;
    }
    return line(o, json_pack("{so}", "messages", m));
}

/* margin < 0: none known. */
static int pair(struct out *o, const struct xitem *it, int c, int r, double margin,
                enum export_format f)
{
    json_t *row;
    if (strcmp(it->texts[c], it->texts[r]) == 0)
        return 0; /* the same text both chosen and rejected teaches nothing */
    if (f == EXPORT_OPENAI_PREFERENCE)
        return line(o, json_pack("{s{so}s[o]s[o]}", "input", "messages", turns(it),
                                 "preferred_output", assistant(it->texts[c]),
                                 "non_preferred_output", assistant(it->texts[r])));
    if (it->messages == NULL)
        row = json_pack("{ssssss}", "prompt", it->prompt, "chosen", it->texts[c], "rejected",
                        it->texts[r]);
    else
        row = json_pack("{sos[o]s[o]}", "prompt", json_deep_copy(it->messages), "chosen",
                        assistant(it->texts[c]), "rejected", assistant(it->texts[r]));
    if (row != NULL && margin >= 0)
        json_object_set_new(row, "margin", json_real(margin));
    return line(o, row);
}

static int kto_line(struct out *o, const struct xitem *it, int k, int label)
{
    if (it->messages == NULL)
        return line(o, json_pack("{sssssb}", "prompt", it->prompt, "completion", it->texts[k],
                                 "label", label));
    return line(o, json_pack("{sos[o]sb}", "prompt", json_deep_copy(it->messages), "completion",
                             assistant(it->texts[k]), "label", label));
}

/* The pairs one answer gives: chosen, rejected and margin (-1: none). */
struct pairs {
    int n;
    int c[MAX_RESP * MAX_RESP], r[MAX_RESP * MAX_RESP];
    double m[MAX_RESP * MAX_RESP];
};

static void pairs_add(struct pairs *p, int c, int r, double m)
{
    if (c >= 0 && r >= 0 && c != r && p->n < MAX_RESP * MAX_RESP) {
        p->c[p->n] = c;
        p->r[p->n] = r;
        p->m[p->n++] = m;
    }
}

static void pairs_of(const struct question *q, json_t *a, const struct xitem *it,
                     const struct export_opts *o, struct pairs *p)
{
    p->n = 0;
    if (q->type == Q_PAIRWISE && it->n == 2) {
        int w = resp_index(it, json_string_value(json_object_get(a, "winner")));
        json_t *s = json_object_get(a, "strength");
        if (w >= 0)
            pairs_add(p, w, 1 - w, json_is_integer(s) ? (double)json_integer_value(s) : -1);
    } else if (q->type == Q_RANK) {
        int group[MAX_RESP], i, j;
        size_t g, e;
        json_t *grp, *v;
        for (i = 0; i < MAX_RESP; i++)
            group[i] = -1;
        json_array_foreach(a, g, grp)
        {
            if (json_is_array(grp)) {
                json_array_foreach(grp, e, v)
                {
                    int k = resp_index(it, json_string_value(v));
                    if (k >= 0)
                        group[k] = (int)g;
                }
            } else {
                int k = resp_index(it, json_string_value(grp));
                if (k >= 0)
                    group[k] = (int)g;
            }
        }
        for (i = 0; i < it->n; i++)
            for (j = 0; j < it->n; j++)
                if (group[i] >= 0 && group[j] > group[i] && (!o->rank_best || group[i] == 0))
                    pairs_add(p, i, j, (double)(group[j] - group[i]));
    } else if (q->type == Q_RATING && q->per_response) {
        int i, j;
        for (i = 0; i < it->n; i++)
            for (j = 0; j < it->n; j++) {
                json_t *x = json_object_get(a, it->ids[i]), *y = json_object_get(a, it->ids[j]);
                if (q->thumbs) {
                    if (json_is_true(x) && json_is_false(y))
                        pairs_add(p, i, j, -1);
                } else if (json_is_integer(x) && json_is_integer(y) &&
                           json_integer_value(x) - json_integer_value(y) >= o->min_gap) {
                    pairs_add(p, i, j, (double)(json_integer_value(x) - json_integer_value(y)));
                }
            }
    }
}

/* KTO labels of one rating answer: label[k] is 1, 0, or -1 (none). */
static void labels_of(const struct question *q, json_t *a, const struct xitem *it,
                      const struct export_opts *o, int *label)
{
    int k;
    for (k = 0; k < it->n; k++) {
        json_t *v = q->per_response ? json_object_get(a, it->ids[k]) : it->n == 1 ? a : NULL;
        label[k] = -1;
        if (json_is_boolean(v)) {
            label[k] = json_is_true(v);
        } else if (json_is_integer(v)) {
            long long s = json_integer_value(v);
            /* Default: the upper half of the scale is good, the lower bad,
             * the middle point (odd scales) neither. */
            int good = o->has_kto_good ? s >= o->kto_good : 2 * s > (long long)q->min + q->max;
            int bad = o->has_kto_bad ? s <= o->kto_bad : 2 * s < (long long)q->min + q->max;
            label[k] = good ? 1 : bad ? 0 : -1;
        }
    }
}

/* The rows of one judgment (aggregate=none). */
static int derive(struct out *o, const struct job *j, const struct export_opts *opt,
                  const struct xitem *it, json_t *answers)
{
    /* A judgment gives a pair, or a response's KTO label, once: the first
     * question (in the job's order) that gives it decides its margin. */
    unsigned char seen[MAX_RESP][MAX_RESP], labelled[MAX_RESP];
    int qi, rc = 0, i;
    memset(seen, 0, sizeof seen);
    memset(labelled, 0, sizeof labelled);
    for (qi = 0; qi < j->cfg.n_questions && rc == 0; qi++) {
        const struct question *q = &j->cfg.questions[qi];
        json_t *a = json_object_get(answers, q->name);
        if (a == NULL || json_is_null(a) || !used(q, opt))
            continue;
        switch (opt->format) {
        case EXPORT_SFT:
        case EXPORT_OPENAI_CHAT:
            if (q->type == Q_TEXT) {
                /* A response's text left as it was is no demonstration
                 * (judgments.h): only edits and new texts are. */
                const char *t = json_string_value(a);
                for (i = 0; t != NULL && i < it->n; i++)
                    if (util_text_same(it->texts[i], t))
                        t = NULL;
                rc = demonstration(o, it, t, opt->format);
            } else { /* best_rated: the single best response, if good enough */
                int best = -1, tie = 0;
                long long top = 0;
                for (i = 0; i < it->n; i++) {
                    json_t *v = json_object_get(a, it->ids[i]);
                    if (!json_is_integer(v))
                        continue;
                    if (best < 0 || json_integer_value(v) > top) {
                        best = i;
                        top = json_integer_value(v);
                        tie = 0;
                    } else if (json_integer_value(v) == top) {
                        tie = 1;
                    }
                }
                if (best >= 0 && !tie && top >= opt->best_rated)
                    rc = demonstration(o, it, it->texts[best], opt->format);
            }
            break;
        case EXPORT_PREFERENCE:
        case EXPORT_OPENAI_PREFERENCE: {
            static __thread struct pairs p;
            pairs_of(q, a, it, opt, &p);
            for (i = 0; i < p.n && rc == 0; i++)
                if (!seen[p.c[i]][p.r[i]]++)
                    rc = pair(o, it, p.c[i], p.r[i], p.m[i], opt->format);
            break;
        }
        case EXPORT_KTO: {
            int label[MAX_RESP];
            labels_of(q, a, it, opt, label);
            for (i = 0; i < it->n && rc == 0; i++)
                if (label[i] >= 0 && !labelled[i]++)
                    rc = kto_line(o, it, i, label[i]);
            break;
        }
        case EXPORT_RAW: break;
        }
    }
    return rc;
}

/* ---- aggregate=majority and aggregate=dawid-skene: votes per item ---- */

#define ITEM_VOTERS 64 /* overlap is at most 20; review=all adds none */

/* An item's votes, judgment by judgment: over[k][i][j] when judgment k
 * prefers response i to j; label[k][i]: its KTO label of response i (1,
 * 0, or -1: none). */
struct votes {
    int n;
    int64_t labeler[ITEM_VOTERS];
    unsigned char over[ITEM_VOTERS][MAX_RESP][MAX_RESP];
    signed char label[ITEM_VOTERS][MAX_RESP];
};

static void vote(const struct job *j, const struct export_opts *opt, const struct xitem *it,
                 json_t *answers, int64_t labeler, struct votes *v)
{
    static __thread struct pairs p;
    int qi, i, label[MAX_RESP];
    unsigned char labelled[MAX_RESP];
    if (v->n == ITEM_VOTERS)
        return;
    memset(v->over[v->n], 0, sizeof v->over[v->n]);
    memset(v->label[v->n], -1, sizeof v->label[v->n]);
    memset(labelled, 0, sizeof labelled);
    v->labeler[v->n] = labeler;
    for (qi = 0; qi < j->cfg.n_questions; qi++) {
        const struct question *q = &j->cfg.questions[qi];
        json_t *a = json_object_get(answers, q->name);
        if (a == NULL || json_is_null(a) || !used(q, opt))
            continue;
        if (opt->format == EXPORT_KTO) {
            labels_of(q, a, it, opt, label);
            for (i = 0; i < it->n; i++)
                if (label[i] >= 0 && !labelled[i]++)
                    v->label[v->n][i] = (signed char)label[i];
            continue;
        }
        /* A judgment votes for a pair once, whatever its questions say. */
        pairs_of(q, a, it, opt, &p);
        for (i = 0; i < p.n; i++)
            v->over[v->n][p.c[i]][p.r[i]] = 1;
    }
    v->n++;
}

/* The units of an item: its pairs of responses i < j (class 0: i is
 * preferred, 1: j is), or its responses (class 0: bad, 1: good). A
 * judgment's class of unit u, or -1 when it says nothing of it. */
static int units_of(const struct export_opts *opt, const struct xitem *it)
{
    return opt->format == EXPORT_KTO ? it->n : it->n * (it->n - 1) / 2;
}

static int class_of(const struct export_opts *opt, const struct xitem *it, const struct votes *v,
                    int k, int u, int *i, int *j)
{
    if (opt->format == EXPORT_KTO) {
        *i = *j = u;
        return v->label[k][u];
    }
    for (*i = 0; u >= it->n - 1 - *i; (*i)++)
        u -= it->n - 1 - *i;
    *j = *i + 1 + u;
    return v->over[k][*i][*j] && !v->over[k][*j][*i]   ? 0
           : v->over[k][*j][*i] && !v->over[k][*i][*j] ? 1
                                                       : -1;
}

/* The rows of one item from its labelers' votes: a pair when more of them
 * prefer one side and that side holds at least min_agreement of the item's
 * judgments; a KTO label likewise. */
static int decide(struct out *o, const struct export_opts *opt, const struct xitem *it,
                  const struct votes *v)
{
    int u, k, rc = 0;
    double n = v->n;
    for (u = 0; u < units_of(opt, it) && rc == 0; u++) {
        int c[2] = {0, 0}, i, j;
        for (k = 0; k < v->n; k++) {
            int x = class_of(opt, it, v, k, u, &i, &j);
            if (x >= 0)
                c[x]++;
        }
        if (opt->format == EXPORT_KTO) {
            if (c[1] != c[0] && (c[1] > c[0] ? c[1] : c[0]) / n >= opt->min_agreement)
                rc = kto_line(o, it, u, c[1] > c[0]);
        } else if (c[0] != c[1] && (c[0] > c[1] ? c[0] : c[1]) / n >= opt->min_agreement) {
            rc = c[0] > c[1] ? pair(o, it, i, j, -1, opt->format)
                             : pair(o, it, j, i, -1, opt->format);
        }
    }
    return rc;
}

/* Dawid-Skene over the job: the first pass gathers every unit with two
 * labels or more; EM estimates each labeler's 2 x 2 confusion and the
 * class shares; the second pass decides each unit by its posterior. */
struct ds {
    /* labeler ids to indexes: open addressing, a power of two */
    int64_t *key;
    int *idx;
    int slots, labs;
    int *off, *lab, units, ucap, n, cap;
    unsigned char *val;
    int stop; /* too many labels to keep */
    double prior[2];
    double *conf; /* labs x 2 x 2; then one more: the pooled confusion */
    int iterations;
};

#define DS_LABELS_MAX (8 << 20)

static int ds_labeler(struct ds *d, int64_t id, int add)
{
    int h, i;
    if (add && 2 * (d->labs + 1) > d->slots) {
        int ns = d->slots ? d->slots * 2 : 64, k;
        int64_t *nk = malloc(sizeof *nk * (size_t)ns);
        int *ni = malloc(sizeof *ni * (size_t)ns);
        if (nk == NULL || ni == NULL) {
            free(nk);
            free(ni);
            return -1;
        }
        for (k = 0; k < ns; k++)
            ni[k] = -1;
        for (k = 0; k < d->slots; k++)
            if (d->idx[k] >= 0) {
                for (h = (int)((uint64_t)d->key[k] * 0x9e3779b97f4a7c15ULL >> 40) & (ns - 1);
                     ni[h] >= 0; h = (h + 1) & (ns - 1))
                    ;
                nk[h] = d->key[k];
                ni[h] = d->idx[k];
            }
        free(d->key);
        free(d->idx);
        d->key = nk;
        d->idx = ni;
        d->slots = ns;
    }
    if (d->slots == 0)
        return -1;
    for (h = (int)((uint64_t)id * 0x9e3779b97f4a7c15ULL >> 40) & (d->slots - 1), i = 0;
         i < d->slots; h = (h + 1) & (d->slots - 1), i++) {
        if (d->idx[h] < 0) {
            if (!add)
                return -1;
            d->key[h] = id;
            return d->idx[h] = d->labs++;
        }
        if (d->key[h] == id)
            return d->idx[h];
    }
    return -1;
}

static int ds_gather(struct ds *d, const struct export_opts *opt, const struct xitem *it,
                     const struct votes *v)
{
    int u, k, i, j;
    for (u = 0; u < units_of(opt, it) && !d->stop; u++) {
        int m = 0;
        for (k = 0; k < v->n; k++)
            m += class_of(opt, it, v, k, u, &i, &j) >= 0;
        if (m < 2)
            continue;
        if (d->n + m > DS_LABELS_MAX) {
            d->stop = 1;
            break;
        }
        if (d->n + m > d->cap) {
            int cap = d->cap + d->cap / 2 + m + 1024;
            int *l = realloc(d->lab, sizeof *l * (size_t)cap);
            unsigned char *x;
            if (l == NULL)
                return ERR_NOMEM;
            d->lab = l;
            if ((x = realloc(d->val, (size_t)cap)) == NULL)
                return ERR_NOMEM;
            d->val = x;
            d->cap = cap;
        }
        if (d->units + 2 > d->ucap) {
            int cap = d->ucap + d->ucap / 2 + 1024, *o = realloc(d->off, sizeof *o * (size_t)cap);
            if (o == NULL)
                return ERR_NOMEM;
            d->off = o;
            d->ucap = cap;
        }
        d->off[d->units] = d->n;
        for (k = 0; k < v->n; k++) {
            int x = class_of(opt, it, v, k, u, &i, &j), l;
            if (x < 0)
                continue;
            if ((l = ds_labeler(d, v->labeler[k], 1)) < 0)
                return ERR_NOMEM;
            d->lab[d->n] = l;
            d->val[d->n++] = (unsigned char)x;
        }
        d->off[++d->units] = d->n;
    }
    return 0;
}

/* EM, then the pooled confusion (the mean of the labelers') for labelers
 * no unit with two labels told anything about. With no such unit at all,
 * every labeler counts alike: the decision is the majority's. */
static int ds_fit(struct ds *d)
{
    double *post;
    int l, x;
    d->conf = calloc((size_t)(d->labs + 1) * 4, sizeof *d->conf);
    post = malloc(sizeof *post * (size_t)(d->units > 0 ? d->units : 1) * 2);
    if (d->conf == NULL || post == NULL) {
        free(post);
        return ERR_NOMEM;
    }
    d->prior[0] = d->prior[1] = 0.5;
    if (d->units > 0 && d->labs > 0)
        d->iterations = stats_dawid_skene(d->off, d->lab, d->val, d->units, d->labs, 2, d->prior,
                                          d->conf, post);
    free(post);
    for (x = 0; x < 4; x++) {
        double s = 0;
        for (l = 0; l < d->labs; l++)
            s += d->conf[l * 4 + x];
        d->conf[d->labs * 4 + x] = d->labs > 0 ? s / d->labs : (x == 0 || x == 3) ? 0.75 : 0.25;
    }
    return 0;
}

/* The rows of one item by the posterior of each unit's class: a row when
 * one class is likelier than the other and has at least min_agreement. */
static int decide_ds(struct out *o, const struct export_opts *opt, const struct xitem *it,
                     const struct votes *v, struct ds *d)
{
    int u, k, rc = 0;
    for (u = 0; u < units_of(opt, it) && rc == 0; u++) {
        double lp[2] = {log(d->prior[0] > 0 ? d->prior[0] : 1e-300),
                        log(d->prior[1] > 0 ? d->prior[1] : 1e-300)};
        double p0;
        int i = 0, j = 0, any = 0, c;
        for (k = 0; k < v->n; k++) {
            int x = class_of(opt, it, v, k, u, &i, &j), l;
            if (x < 0)
                continue;
            l = ds_labeler(d, v->labeler[k], 0);
            if (l < 0)
                l = d->labs; /* pooled */
            for (c = 0; c < 2; c++)
                lp[c] += log(d->conf[(l * 2 + c) * 2 + x]);
            any = 1;
        }
        if (!any)
            continue;
        p0 = 1.0 / (1.0 + exp(lp[1] - lp[0]));
        if (p0 == 0.5 || (p0 > 0.5 ? p0 : 1 - p0) < opt->min_agreement)
            continue;
        if (opt->format == EXPORT_KTO)
            rc = kto_line(o, it, u, p0 < 0.5);
        else
            rc = p0 > 0.5 ? pair(o, it, i, j, -1, opt->format) : pair(o, it, j, i, -1, opt->format);
    }
    return rc;
}

static void ds_free(struct ds *d)
{
    free(d->key);
    free(d->idx);
    free(d->off);
    free(d->lab);
    free(d->val);
    free(d->conf);
}

/* ---- the passes ---- */

static int run_judgments(struct db *db, const struct job *j, const struct export_opts *opt,
                         int64_t cursor, struct out *o)
{
    int64_t last = opt->since;
    for (;;) {
        struct db_conn *c = db_reader(db);
        sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_EXPORT_PAGE) : NULL;
        int n = 0, rc = 0, step = SQLITE_DONE;
        if (st == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, j->id);
        sqlite3_bind_int64(st, 2, last);
        sqlite3_bind_int64(st, 3, cursor);
        sqlite3_bind_int(st, 4, PAGE_ROWS);
        sqlite3_bind_int(st, 5, (int)opt->review);
        /* One statement per page: its read transaction ends with the
         * reset below, before the page goes to the (maybe slow) client. */
        while (rc == 0 && o->b.len < PAGE_BYTES && (step = sqlite3_step(st)) == SQLITE_ROW) {
            n++;
            last = sqlite3_column_int64(st, 1);
            if (opt->format == EXPORT_RAW) {
                rc = raw_row(o, st);
            } else {
                struct xitem it = {0};
                json_t *answers = json_loadb((const char *)sqlite3_column_text(st, 2),
                                             (size_t)sqlite3_column_bytes(st, 2), 0, NULL);
                rc = answers == NULL ? ERR_DB
                                     : xitem_load((const char *)sqlite3_column_text(st, 9),
                                                  (size_t)sqlite3_column_bytes(st, 9), &it);
                if (rc == 0)
                    rc = derive(o, j, opt, &it, answers);
                json_decref(it.root);
                json_decref(answers);
            }
        }
        if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
            rc = ERR_DB;
        db_done(st);
        if (rc != 0)
            return rc;
        /* The page goes to a client that may be slow: without a reader. */
        db_reader_release(db);
        if (flush(o) != 0)
            return -1;
        if (n == 0 || (n < PAGE_ROWS && step == SQLITE_DONE))
            return 0;
    }
}

/* Reads the job's judgments item by item. Without d: decides each item
 * by the majority; with d and gather: adds each item's units to d; with d
 * alone: decides each item by d's fit. */
static int run_items(struct db *db, const struct job *j, const struct export_opts *opt,
                     int64_t cursor, struct out *o, struct ds *d, int gather)
{
    const int limit = PAGE_ROWS * 4;
    int64_t after = 0;
    struct votes *v = malloc(sizeof *v);
    struct xitem it = {0};
    int rc = 0;
    if (v == NULL)
        return ERR_NOMEM;
    v->n = 0;
    for (;;) {
        struct db_conn *c = db_reader(db);
        sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_EXPORT_ITEMS_PAGE) : NULL;
        int64_t item = 0, next_after = after;
        int n = 0, step = SQLITE_DONE, fresh = 0, cut = 0;
        if (st == NULL) {
            rc = ERR_DB;
            break;
        }
        sqlite3_bind_int64(st, 1, j->id);
        sqlite3_bind_int64(st, 2, after);
        sqlite3_bind_int64(st, 3, cursor);
        sqlite3_bind_int(st, 4, limit);
        sqlite3_bind_int(st, 5, (int)opt->review);
        /* Rows come item by item; an item is decided when the next one
         * starts, or at the end of the job's rows. */
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            json_t *answers;
            n++;
            if (id != item) {
                if (item != 0) {
                    if (gather)
                        rc = ds_gather(d, opt, &it, v);
                    else if (fresh)
                        rc = d != NULL ? decide_ds(o, opt, &it, v, d) : decide(o, opt, &it, v);
                    next_after = item;
                }
                json_decref(it.root);
                it.root = NULL;
                if (rc != 0 || o->b.len >= PAGE_BYTES) {
                    cut = 1; /* this page ends here; the item starts the next */
                    break;
                }
                item = id;
                fresh = 0;
                v->n = 0;
                if ((rc = xitem_load((const char *)sqlite3_column_text(st, 3),
                                     (size_t)sqlite3_column_bytes(st, 3), &it)) != 0)
                    break;
            }
            /* An item is exported again when a judgment of it changed
             * since the last pull; its votes are all of its judgments. */
            fresh |= sqlite3_column_int64(st, 1) > opt->since;
            answers = json_loadb((const char *)sqlite3_column_text(st, 2),
                                 (size_t)sqlite3_column_bytes(st, 2), 0, NULL);
            if (answers == NULL) {
                rc = ERR_DB;
                break;
            }
            vote(j, opt, &it, answers, sqlite3_column_int64(st, 4), v);
            json_decref(answers);
        }
        if (rc == 0 && !cut) {
            if (step != SQLITE_DONE)
                rc = ERR_DB;
            else if (n < limit && item != 0) {
                /* The end of the job's rows: the last item is whole. */
                if (gather)
                    rc = ds_gather(d, opt, &it, v);
                else if (fresh)
                    rc = d != NULL ? decide_ds(o, opt, &it, v, d) : decide(o, opt, &it, v);
                next_after = item;
            } else if (n == limit) {
                cut = 1; /* a full page: its last item may go on */
            }
        }
        json_decref(it.root);
        it.root = NULL;
        db_done(st);
        if (rc != 0)
            break;
        db_reader_release(db);
        if (flush(o) != 0) {
            rc = -1;
            break;
        }
        if (!cut)
            break;
        if (next_after == after) {
            /* One item filled a whole page: impossible with at most 20
             * judgments per item (overlap), but never loop forever. */
            rc = ERR_DB;
            break;
        }
        after = next_after;
    }
    json_decref(it.root);
    free(v);
    return rc;
}

int export_run(struct db *db, const struct job *j, const struct export_opts *opt, int64_t cursor,
               const unsigned char key[32], export_sink sink, void *ctx, int64_t *rows)
{
    struct out *o = calloc(1, sizeof *o);
    int rc;
    if (o == NULL)
        return ERR_NOMEM;
    o->sink = sink;
    o->ctx = ctx;
    o->key = key;
    o->job_id = j->id;
    if (opt->aggregate == EXPORT_AGG_DAWID_SKENE) {
        /* Two passes over the same judgments (seq <= cursor): the fit
         * sees every judgment whatever since says, so a pull decides an
         * item as a full export would. */
        struct ds d;
        memset(&d, 0, sizeof d);
        rc = run_items(db, j, opt, cursor, o, &d, 1);
        if (rc == 0)
            rc = ds_fit(&d);
        if (rc == 0)
            rc = run_items(db, j, opt, cursor, o, &d, 0);
        ds_free(&d);
    } else if (opt->aggregate == EXPORT_AGG_MAJORITY) {
        rc = run_items(db, j, opt, cursor, o, NULL, 0);
    } else {
        rc = run_judgments(db, j, opt, cursor, o);
    }
    if (rc == 0 && flush(o) != 0)
        rc = -1;
    *rows = o->rows;
    buf_free(&o->b);
    free(o);
    return rc;
}
