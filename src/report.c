/* report.c: the human-evaluation report (see report.h; every figure is
 * explained in docs/reports.md).
 *
 * One pass over the job's judgments, item by item (judgments_job_item):
 * each item's judgments are gathered, then every question adds them to its
 * accumulators: model against model outcomes (pairwise, and rank as its
 * pairwise outcomes), rating histograms per model, label counts, position
 * bias from the recorded shown order, agreement units, each labeler's
 * agreement with the others (leave one out) and gold. The figures come
 * from the accumulators at the end; nothing holds all judgments. */
#include "report.h"

#include "export.h"
#include "items.h"
#include "jspan.h"
#include "judges.h"
#include "stats.h"
#include "tasks.h"
#include "users.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESP ITEM_RESPONSES_MAX
#define ITEM_JUDGMENTS_MAX 64 /* overlap is at most 20; revisions do not add rows */
#define PAGE_ROWS 2048
#define REPORT_JUDGES_MAX 16 /* model judges compared in one report */
#define UNITS_MAX 256        /* agreement units of one item and question */
#define Z95 1.959963984540054

void report_opts_default(struct report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->samples = 1000;
    o->seed = 1;
}

int report_opt_set(struct report_opts *o, const char *name, const char *value, const char **why)
{
    char *end;
    int64_t n;
    if (strcmp(name, "samples") == 0) {
        if (util_parse_int(value, 0, 10000, &n) == 0) {
            o->samples = (int)n;
            return 0;
        }
        *why = "must be an integer from 0 to 10000";
    } else if (strcmp(name, "seed") == 0) {
        unsigned long long seed = strtoull(value, &end, 10);
        if (value[0] >= '0' && value[0] <= '9' && *end == '\0') {
            o->seed = seed;
            return 0;
        }
        *why = "must be a non-negative integer";
    } else if (strcmp(name, "alpha") == 0) {
        if (strcmp(value, "ordinal") == 0 || strcmp(value, "interval") == 0) {
            o->interval = value[0] == 'i';
            return 0;
        }
        *why = "must be ordinal or interval";
    } else if (strcmp(name, "ties") == 0) {
        if (strcmp(value, "half") == 0 || strcmp(value, "davidson") == 0) {
            o->davidson = value[0] == 'd';
            return 0;
        }
        *why = "must be half or davidson";
    } else if (strncmp(name, "metadata.", 9) == 0 && name[9] != '\0') {
        if (o->nfilters < REPORT_FILTERS_MAX) {
            o->fkey[o->nfilters] = name + 9;
            o->fvalue[o->nfilters++] = value;
            return 0;
        }
        *why = "at most 8 filters";
    } else {
        return ERR_NOT_FOUND;
    }
    return ERR_INVALID;
}

/* ---- models and labelers ---- */

struct names {
    char *v[REPORT_MODELS_MAX];
    int n;
};

static int name_index(struct names *t, const char *s)
{
    int i;
    for (i = 0; i < t->n; i++)
        if (strcmp(t->v[i], s) == 0)
            return i;
    if (t->n == REPORT_MODELS_MAX || (t->v[t->n] = strdup(s)) == NULL)
        return -1;
    return t->n++;
}

struct labeler {
    int64_t id;
    int idx; /* in the table */
    char name[AUTH_NAME_MAX + 1];
    int64_t judgments, skips;
    double *secs; /* seconds from shown (else leased) to submitted */
    int64_t nsecs, cap;
    double *act; /* active seconds, where the page measured them */
    int64_t nact, act_cap;
    int64_t agree_units;
    double agree;
    int64_t gold_total, gold_right;
    int64_t first_wins, decided; /* position bias, over comparison questions */
    double pb_p, pb_holm;        /* its test, and Holm-adjusted over labelers */
};

/* Labelers are allocated one by one: judgments being gathered point at
 * them while the table grows. */
struct labelers {
    struct labeler **v;
    int n, cap;
};

static struct labeler *labeler_of(struct labelers *t, int64_t id)
{
    int i;
    for (i = t->n - 1; i >= 0; i--) /* few labelers; the last found is likeliest */
        if (t->v[i]->id == id)
            return t->v[i];
    if (t->n == t->cap) {
        struct labeler **nv =
            realloc(t->v, sizeof *nv * (size_t)(t->cap = t->cap ? t->cap * 2 : 8));
        if (nv == NULL)
            return NULL;
        t->v = nv;
    }
    if ((t->v[t->n] = calloc(1, sizeof *t->v[t->n])) == NULL)
        return NULL;
    t->v[t->n]->id = id;
    t->v[t->n]->idx = t->n;
    return t->v[t->n++];
}

/* ---- per question ---- */

/* Agreement intervals resample the items of questions with at most this
 * many values (the work is resamples x values). */
#define AGREE_VALUES_MAX 2000000

/* One pair of models in the item being read: the lower-numbered model's
 * score (a win 1, a tie 1/2) over its comparisons with the other. */
#define ITEM_PAIRS_MAX (MAX_RESP * (MAX_RESP - 1) / 2)
struct itpair {
    int i, j;
    double s, n;
};

struct qacc {
    const struct question *q;
    /* Comparisons clustered by item: per ordered pair (i's share against
     * j) and per model (against all), for the design effect. */
    struct stats_cluster *cl, *clm;
    struct itpair it[ITEM_PAIRS_MAX];
    int nit;
    /* Ratings clustered by item, per slot (sums of an item's scores); and
     * per pair of models (i < j) the paired differences of their items'
     * mean scores, for Wilcoxon's test. */
    struct stats_cluster *rcl;
    struct dvec {
        double *v;
        int n, cap;
    } * pd;
    int points; /* values of the agreement domain */
    int64_t answers, ties, both_bad, decided, first_wins;
    double *wins, *tie; /* REPORT_MODELS_MAX^2: comparisons */
    double *sw;         /* pairwise with strength: i's strength-weighted score against j */
    int64_t *hist;      /* ratings: per model x point (thumbs: down, up) */
    double *rank_sum, *top1;
    int64_t *rank_n;
    int64_t *label_count; /* labels */
    int64_t texts, edited, unchanged, unanswered;
    double chars;
    struct stats_agree agree;
    /* Categorical questions (pairwise, one label): every label of a unit
     * with two or more, for Dawid-Skene. */
    int ds_k, ds_n, ds_cap, ds_units, ds_ucap;
    int *ds_off, *ds_lab;  /* per unit its first label; per label its labeler */
    unsigned char *ds_val; /* per label its class */
    /* Every agreement unit (its item and values), for intervals on alpha
     * and kappa by resampling items; nu_ units, values from uoff. */
    int items_seen, nu, ucap, nvals, vcap;
    int *uitem, *uoff, *ulen;
    unsigned char *uvals;
    int ustop; /* too many to keep: no intervals */
    /* Model judges. The people's: the consensus of each unit of the item
     * being read (its unique most common value; -1: none), in unit order.
     * A judge's (ref: the people's): its value of each unit against that
     * consensus, kconf[consensus * points + judge's], and per item the
     * units it agreed on over those compared (items as clusters). */
    int cons[UNITS_MAX], ncons;
    struct qacc *ref;
    int64_t *kconf;
    struct stats_cluster kcl;
    double k_same, k_units;
};

static int qacc_init(struct qacc *a, const struct question *q)
{
    double dom[128];
    int i, n = 0;
    const size_t mm = (size_t)REPORT_MODELS_MAX * REPORT_MODELS_MAX;
    memset(a, 0, sizeof *a);
    a->q = q;
    switch (q->type) {
    case Q_PAIRWISE: n = 4; break;    /* response 1, response 2, tie, both bad */
    case Q_RANK: n = MAX_RESP; break; /* place 1..20 */
    case Q_RATING: n = q->thumbs ? 2 : q->max - q->min + 1; break;
    case Q_LABELS: n = q->multiple ? 2 : q->n_options; break;
    case Q_TEXT: n = 0; break;
    }
    for (i = 0; i < n && i < 128; i++)
        dom[i] = q->type == Q_RATING && !q->thumbs ? q->min + i : q->type == Q_RANK ? i + 1 : i;
    a->points = n;
    if (n > 0 && stats_agree_init(&a->agree, dom, n) != 0)
        return -1;
    if (q->type == Q_PAIRWISE || (q->type == Q_LABELS && !q->multiple))
        a->ds_k = n;
    if (q->type == Q_PAIRWISE || q->type == Q_RANK) {
        a->wins = calloc(mm, sizeof *a->wins);
        a->tie = calloc(mm, sizeof *a->tie);
        a->cl = calloc(mm, sizeof *a->cl);
        if (q->type == Q_PAIRWISE && q->strength > 0 && (a->sw = calloc(mm, sizeof *a->sw)) == NULL)
            return -1;
        a->clm = calloc(REPORT_MODELS_MAX, sizeof *a->clm);
        if (a->wins == NULL || a->tie == NULL || a->cl == NULL || a->clm == NULL)
            return -1;
    }
    if (q->type == Q_RANK) {
        a->rank_sum = calloc(REPORT_MODELS_MAX, sizeof *a->rank_sum);
        a->top1 = calloc(REPORT_MODELS_MAX, sizeof *a->top1);
        a->rank_n = calloc(REPORT_MODELS_MAX, sizeof *a->rank_n);
        if (a->rank_sum == NULL || a->top1 == NULL || a->rank_n == NULL)
            return -1;
    }
    /* A slot per model, and one more for overall ratings of items with
     * several responses (they belong to no model). */
    if (q->type == Q_RATING &&
        (a->hist = calloc(((size_t)REPORT_MODELS_MAX + 1) * (size_t)n, sizeof *a->hist)) == NULL)
        return -1;
    if (q->type == Q_RATING &&
        (a->rcl = calloc((size_t)REPORT_MODELS_MAX + 1, sizeof *a->rcl)) == NULL)
        return -1;
    if (q->type == Q_RATING && q->per_response && !q->thumbs &&
        (a->pd = calloc(mm, sizeof *a->pd)) == NULL)
        return -1;
    if (q->type == Q_LABELS &&
        (a->label_count = calloc((size_t)q->n_options + 1, sizeof *a->label_count)) == NULL)
        return -1;
    return 0;
}

static void qacc_free(struct qacc *a)
{
    free(a->wins);
    free(a->tie);
    free(a->cl);
    free(a->clm);
    free(a->sw);
    free(a->rcl);
    if (a->pd != NULL) {
        size_t x;
        for (x = 0; x < (size_t)REPORT_MODELS_MAX * REPORT_MODELS_MAX; x++)
            free(a->pd[x].v);
        free(a->pd);
    }
    free(a->hist);
    free(a->rank_sum);
    free(a->top1);
    free(a->rank_n);
    free(a->label_count);
    free(a->uitem);
    free(a->uoff);
    free(a->ulen);
    free(a->uvals);
    free(a->ds_off);
    free(a->ds_lab);
    free(a->ds_val);
    free(a->kconf);
    if (a->points > 0)
        stats_agree_free(&a->agree);
}

/* One judgment of the item being read: its answers as stored text, read
 * with the span scanner for the comparison and rating questions; jansson
 * parses them only for what needs decoded strings (labels, text, gold). */
struct jrec {
    struct labeler *who;
    char *raw;
    size_t raw_len;
    json_t *answers; /* parsed on first use (ans_of) */
    int shown[MAX_RESP], nshown;
    int has_act; /* added an active time to who->act */
};

/* The item being read, from its stored text. */
struct cur {
    int loaded;
    int n; /* responses */
    char idbuf[MAX_RESP][68];
    const char *ids[MAX_RESP];
    struct jspan text_span[MAX_RESP];
    json_t *texts[MAX_RESP]; /* decoded on first use (text_of) */
    int model[MAX_RESP];     /* index into the model table */
    json_t *gold;            /* owned */
    char *data;              /* owned copy of the item's text */
    struct jrec j[ITEM_JUDGMENTS_MAX];
    int nj;
    struct jrec jj[REPORT_JUDGES_MAX]; /* model judges' judgments ... */
    int jjudge[REPORT_JUDGES_MAX];     /* ... and whose (build.judges) */
    int njj;
};

static json_t *ans_of(struct jrec *r)
{
    if (r->answers == NULL)
        r->answers = json_loadb(r->raw, r->raw_len, 0, NULL);
    return r->answers;
}

/* The span of the answer to question name; 0, or -1 when absent. */
static int ans_span(const struct jrec *r, const char *name, struct jspan *out)
{
    struct jspan all = {r->raw, r->raw_len};
    return jspan_member(all, name, out) == 0 && !(out->len == 4 && memcmp(out->p, "null", 4) == 0)
               ? 0
               : -1;
}

static const char *text_of(struct cur *c, int i)
{
    if (i < 0 || i >= c->n)
        return NULL;
    if (c->texts[i] == NULL)
        c->texts[i] = json_loadb(c->text_span[i].p, c->text_span[i].len, JSON_DECODE_ANY, NULL);
    return json_string_value(c->texts[i]);
}

/* The response whose id is the JSON string span s (ids need no escapes). */
static int resp_of_span(const struct cur *c, struct jspan s)
{
    int i;
    if (s.len < 2 || s.p[0] != '"')
        return -1;
    for (i = 0; i < c->n; i++)
        if (strlen(c->ids[i]) == s.len - 2 && memcmp(c->ids[i], s.p + 1, s.len - 2) == 0)
            return i;
    return -1;
}

/* An integer span ("-12"); 0, or -1. */
static int span_int(struct jspan s, long *out)
{
    char b[24];
    char *end;
    if (s.len == 0 || s.len >= sizeof b)
        return -1;
    memcpy(b, s.p, s.len);
    b[s.len] = '\0';
    *out = strtol(b, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* Places of the responses in a rank answer (its span): 1 + how many are
 * strictly better (ties share a place); 0 for a response not ranked. */
static int places(const struct cur *c, struct jspan a, int *place)
{
    struct jspan groups[MAX_RESP], members[MAX_RESP];
    int group[MAX_RESP], size[MAX_RESP + 1] = {0}, i, g, ng, nm, k;
    for (i = 0; i < c->n; i++)
        group[i] = -1;
    if ((ng = jspan_elements(a, groups, MAX_RESP)) < 0)
        return -1;
    for (k = 0; k < ng; k++) {
        if (groups[k].len > 0 && groups[k].p[0] == '[') {
            nm = jspan_elements(groups[k], members, MAX_RESP);
        } else {
            members[0] = groups[k];
            nm = 1;
        }
        for (i = 0; i < nm; i++) {
            int r = resp_of_span(c, members[i]);
            if (r >= 0)
                group[r] = k, size[k]++;
        }
    }
    for (i = 0; i < c->n; i++) {
        int above = 0;
        for (g = 0; g < group[i] && group[i] >= 0; g++)
            above += size[g];
        place[i] = group[i] >= 0 ? above + 1 : 0;
    }
    return 0;
}

/* Counts a comparison toward its item's pair (see item_flush). */
static void item_pair(struct qacc *a, int mi, int mj, double score)
{
    int i = mi < mj ? mi : mj, j = mi < mj ? mj : mi, k;
    for (k = 0; k < a->nit && !(a->it[k].i == i && a->it[k].j == j); k++)
        ;
    if (k == a->nit) {
        if (k == ITEM_PAIRS_MAX)
            return;
        a->it[a->nit++] = (struct itpair){i, j, 0, 0};
    }
    a->it[k].s += mi < mj ? score : 1 - score;
    a->it[k].n += 1;
}

/* The item's comparisons as one cluster of each pair and of each model. */
static void item_flush(struct qacc *a)
{
    const int M = REPORT_MODELS_MAX;
    int mod[2 * ITEM_PAIRS_MAX], nm = 0, k, x;
    double ms[2 * ITEM_PAIRS_MAX], mn[2 * ITEM_PAIRS_MAX];
    for (k = 0; k < a->nit; k++) {
        const struct itpair *t = &a->it[k];
        int side;
        stats_cluster_add(&a->cl[t->i * M + t->j], t->s, t->n);
        stats_cluster_add(&a->cl[t->j * M + t->i], t->n - t->s, t->n);
        for (side = 0; side < 2; side++) {
            int m = side == 0 ? t->i : t->j;
            for (x = 0; x < nm && mod[x] != m; x++)
                ;
            if (x == nm) {
                mod[nm] = m;
                ms[nm] = mn[nm] = 0;
                nm++;
            }
            ms[x] += side == 0 ? t->s : t->n - t->s;
            mn[x] += t->n;
        }
    }
    for (x = 0; x < nm; x++)
        stats_cluster_add(&a->clm[mod[x]], ms[x], mn[x]);
    a->nit = 0;
}

static void compare(struct qacc *a, int mi, int mj, int outcome /* 1: i, 0: tie, -1: j */)
{
    if (mi == mj || mi < 0 || mj < 0)
        return;
    item_pair(a, mi, mj, outcome > 0 ? 1 : outcome < 0 ? 0 : 0.5);
    if (outcome > 0)
        a->wins[mi * REPORT_MODELS_MAX + mj]++;
    else if (outcome < 0)
        a->wins[mj * REPORT_MODELS_MAX + mi]++;
    else {
        a->tie[mi * REPORT_MODELS_MAX + mj]++;
        a->tie[mj * REPORT_MODELS_MAX + mi]++;
    }
}

/* Agreement of one unit: the coders' value indexes (-1: no value); also
 * each labeler's agreement with the mode of the others. */
static void unit(struct qacc *a, struct cur *c, const int *val)
{
    int idx[ITEM_JUDGMENTS_MAX] = {0}, m = 0, k, top1 = -1, c1 = 0, c2 = 0;
    unsigned char count[128];
    for (k = 0; k < c->nj; k++)
        if (val[k] >= 0 && val[k] < 128)
            idx[m++] = val[k];
    if (a->ref != NULL) {
        /* A judge's unit: one value, against the people's consensus. */
        int u = a->ncons++, h = u < a->ref->ncons ? a->ref->cons[u] : -1;
        if (h >= 0 && m == 1 && idx[0] < a->points) {
            a->kconf[h * a->points + idx[0]]++;
            a->k_same += h == idx[0];
            a->k_units++;
        }
        return;
    }
    if (a->ncons < UNITS_MAX) {
        int most = -1, tied = 0, cnt[128];
        for (k = 0; k < m; k++)
            cnt[idx[k]] = 0;
        for (k = 0; k < m; k++)
            cnt[idx[k]]++;
        for (k = 0; k < m; k++)
            if (most < 0 || cnt[idx[k]] > cnt[most])
                most = idx[k], tied = 0;
            else if (idx[k] != most && cnt[idx[k]] == cnt[most])
                tied = 1;
        a->cons[a->ncons++] = tied ? -1 : most;
    }
    stats_agree_unit(&a->agree, idx, m);
    if (m < 2)
        return;
    if (!a->ustop && (a->nvals + m > AGREE_VALUES_MAX)) {
        a->ustop = 1;
    } else if (!a->ustop) {
        if (a->nu == a->ucap) {
            int cap = a->ucap ? a->ucap * 2 : 256;
            int *x = realloc(a->uitem, sizeof *x * (size_t)cap), *y, *z;
            if (x != NULL)
                a->uitem = x;
            y = realloc(a->uoff, sizeof *y * (size_t)cap);
            if (y != NULL)
                a->uoff = y;
            z = realloc(a->ulen, sizeof *z * (size_t)cap);
            if (z != NULL)
                a->ulen = z;
            if (x != NULL && y != NULL && z != NULL)
                a->ucap = cap;
            else
                a->ustop = 1;
        }
        if (a->nvals + m > a->vcap && !a->ustop) {
            int cap = (a->vcap + m) * 2;
            unsigned char *v = realloc(a->uvals, (size_t)cap);
            if (v != NULL) {
                a->uvals = v;
                a->vcap = cap;
            } else {
                a->ustop = 1;
            }
        }
        if (!a->ustop) {
            a->uitem[a->nu] = a->items_seen;
            a->uoff[a->nu] = a->nvals;
            a->ulen[a->nu++] = m;
            /* Sorted: a unit is a multiset of values. */
            for (k = 0; k < m; k++) {
                int x = a->nvals + k, v = idx[k];
                while (x > a->nvals && a->uvals[x - 1] > v) {
                    a->uvals[x] = a->uvals[x - 1];
                    x--;
                }
                a->uvals[x] = (unsigned char)v;
            }
            a->nvals += m;
        }
    }
    if (a->ds_k > 0) {
        /* Grown by half: a million labels take 5 MB. */
        if (a->ds_n + c->nj > a->ds_cap) {
            int cap = a->ds_cap + a->ds_cap / 2 + c->nj + 64;
            int *l = realloc(a->ds_lab, sizeof *l * (size_t)cap);
            unsigned char *v;
            if (l != NULL)
                a->ds_lab = l;
            v = realloc(a->ds_val, (size_t)cap);
            if (v != NULL)
                a->ds_val = v;
            if (l != NULL && v != NULL)
                a->ds_cap = cap;
        }
        if (a->ds_units + 2 > a->ds_ucap) {
            int cap = a->ds_ucap + a->ds_ucap / 2 + 64;
            int *o = realloc(a->ds_off, sizeof *o * (size_t)cap);
            if (o != NULL) {
                a->ds_off = o;
                a->ds_ucap = cap;
            }
        }
        if (a->ds_n + c->nj <= a->ds_cap && a->ds_units + 2 <= a->ds_ucap) {
            a->ds_off[a->ds_units] = a->ds_n;
            for (k = 0; k < c->nj; k++)
                if (val[k] >= 0 && val[k] < a->ds_k) {
                    a->ds_lab[a->ds_n] = c->j[k].who->idx;
                    a->ds_val[a->ds_n++] = (unsigned char)val[k];
                }
            a->ds_off[++a->ds_units] = a->ds_n;
        }
    }
    /* The two largest counts of the unit's values: the others of a coder
     * with the most common value v have c1 - 1 of it, or c2 of the next. */
    for (k = 0; k < m; k++)
        count[idx[k]] = 0;
    for (k = 0; k < m; k++)
        count[idx[k]]++;
    for (k = 0; k < m; k++) {
        int v = idx[k];
        if (v == top1)
            continue;
        if (count[v] > c1) {
            if (top1 >= 0)
                c2 = c1;
            top1 = v;
            c1 = count[v];
        } else if (count[v] > c2) {
            c2 = count[v];
        }
    }
    for (k = 0; k < c->nj; k++) {
        int v = val[k], mine, top;
        if (v < 0 || v >= 128)
            continue;
        mine = count[v] - 1; /* the others with my value */
        top = v == top1 ? (c1 - 1 > c2 ? c1 - 1 : c2) : c1;
        /* Agrees when its value is a (possibly shared) mode of the others. */
        c->j[k].who->agree_units++;
        c->j[k].who->agree += mine == top;
    }
}

static void add_item(struct qacc *a, struct cur *c)
{
    const struct question *q = a->q;
    int val[ITEM_JUDGMENTS_MAX], k, r, s, o;
    a->items_seen++; /* units of this item carry this number */
    a->ncons = 0;
    for (k = 0; k < c->nj; k++)
        val[k] = -1;
    switch (q->type) {
    case Q_PAIRWISE:
        for (k = 0; k < c->nj; k++) {
            struct jspan ans, w;
            if (c->n != 2 || ans_span(&c->j[k], q->name, &ans) != 0 ||
                jspan_member(ans, "winner", &w) != 0)
                continue;
            a->answers++;
            r = resp_of_span(c, w);
            if (r >= 0) {
                val[k] = r;
                compare(a, c->model[r], c->model[1 - r], 1);
                if (a->sw != NULL && c->model[r] >= 0 && c->model[1 - r] >= 0 &&
                    c->model[r] != c->model[1 - r]) {
                    /* A win of strength s of S scores 1/2 + s / 2S (no
                     * strength given: a full win). */
                    struct jspan sp;
                    long st = q->strength;
                    if (jspan_member(ans, "strength", &sp) == 0 && span_int(sp, &st) == 0 &&
                        (st < 1 || st > q->strength))
                        st = q->strength;
                    a->sw[c->model[r] * REPORT_MODELS_MAX + c->model[1 - r]] +=
                        0.5 + (double)st / (2.0 * q->strength);
                    a->sw[c->model[1 - r] * REPORT_MODELS_MAX + c->model[r]] +=
                        0.5 - (double)st / (2.0 * q->strength);
                }
                a->decided++;
                a->first_wins += c->j[k].nshown > 0 && c->j[k].shown[0] == r;
                c->j[k].who->decided++;
                c->j[k].who->first_wins += c->j[k].nshown > 0 && c->j[k].shown[0] == r;
            } else if (w.len == 5 && memcmp(w.p, "\"tie\"", 5) == 0) {
                val[k] = 2;
                a->ties++;
                compare(a, c->model[0], c->model[1], 0);
                if (a->sw != NULL && c->model[0] >= 0 && c->model[1] >= 0 &&
                    c->model[0] != c->model[1]) {
                    a->sw[c->model[0] * REPORT_MODELS_MAX + c->model[1]] += 0.5;
                    a->sw[c->model[1] * REPORT_MODELS_MAX + c->model[0]] += 0.5;
                }
            } else {
                val[k] = 3;
                a->both_bad++;
            }
        }
        item_flush(a);
        unit(a, c, val);
        break;
    case Q_RANK: {
        int place[ITEM_JUDGMENTS_MAX][MAX_RESP];
        memset(place, 0, sizeof place[0] * (size_t)c->nj);
        for (k = 0; k < c->nj; k++) {
            struct jspan ans;
            if (ans_span(&c->j[k], q->name, &ans) != 0 || places(c, ans, place[k]) != 0) {
                place[k][0] = -1;
                continue;
            }
            a->answers++;
            for (r = 0; r < c->n; r++) {
                int mr = c->model[r], ties = 0;
                if (place[k][r] == 0 || mr < 0)
                    continue;
                a->rank_sum[mr] += place[k][r];
                a->rank_n[mr]++;
                for (s = 0; s < c->n; s++)
                    ties += place[k][s] == 1;
                if (place[k][r] == 1)
                    a->top1[mr] += 1.0 / ties; /* a shared first place is shared */
                for (s = r + 1; s < c->n; s++)
                    if (place[k][s] > 0)
                        compare(a, mr, c->model[s],
                                place[k][r] < place[k][s]   ? 1
                                : place[k][r] > place[k][s] ? -1
                                                            : 0);
            }
            /* Position bias: the first shown against the second shown. */
            if (c->j[k].nshown >= 2) {
                int p0 = place[k][c->j[k].shown[0]], p1 = place[k][c->j[k].shown[1]];
                if (p0 > 0 && p1 > 0 && p0 != p1) {
                    a->decided++;
                    a->first_wins += p0 < p1;
                    c->j[k].who->decided++;
                    c->j[k].who->first_wins += p0 < p1;
                }
            }
        }
        item_flush(a);
        for (r = 0; r < c->n; r++) {
            for (k = 0; k < c->nj; k++)
                val[k] = place[k][0] >= 0 && place[k][r] > 0 ? place[k][r] - 1 : -1;
            unit(a, c, val);
        }
        break;
    }
    case Q_RATING: {
        double rmean[MAX_RESP];
        for (r = 0; r < MAX_RESP; r++)
            rmean[r] = NAN; /* an overall rating has one slot */
        for (r = 0; r < (q->per_response ? c->n : 1); r++) {
            double ysum = 0, yn = 0;
            int slot = -1;
            for (k = 0; k < c->nj; k++) {
                struct jspan ans, v;
                int m = q->per_response ? c->model[r] : c->n == 1 ? c->model[0] : -1;
                long score;
                val[k] = -1;
                if (ans_span(&c->j[k], q->name, &ans) != 0)
                    continue;
                if (!q->per_response)
                    v = ans;
                else if (jspan_member(ans, c->ids[r], &v) != 0)
                    continue;
                if (q->thumbs && v.len == 4 && memcmp(v.p, "true", 4) == 0)
                    val[k] = 1;
                else if (q->thumbs && v.len == 5 && memcmp(v.p, "false", 5) == 0)
                    val[k] = 0;
                else if (!q->thumbs && span_int(v, &score) == 0)
                    val[k] = (int)(score - q->min);
                if (val[k] < 0 || val[k] >= a->points)
                    continue;
                if (r == 0)
                    a->answers++;
                /* Overall ratings of several responses belong to no model:
                 * they count under the last slot. */
                o = m >= 0 ? m : REPORT_MODELS_MAX;
                a->hist[(size_t)o * (size_t)a->points + (size_t)val[k]]++;
                ysum += q->thumbs ? val[k] : q->min + val[k];
                yn++;
                slot = o;
            }
            if (slot >= 0)
                stats_cluster_add(&a->rcl[slot], ysum, yn);
            rmean[r] = yn > 0 ? ysum / yn : NAN;
            unit(a, c, val);
        }
        /* Paired differences: two models' responses to the same item. */
        for (r = 0; a->pd != NULL && r < c->n; r++)
            for (s = r + 1; s < c->n; s++) {
                int mr = c->model[r], ms = c->model[s];
                struct dvec *dv;
                if (mr < 0 || ms < 0 || mr == ms || isnan(rmean[r]) || isnan(rmean[s]))
                    continue;
                dv = &a->pd[(mr < ms ? mr : ms) * REPORT_MODELS_MAX + (mr < ms ? ms : mr)];
                if (dv->n == dv->cap) {
                    double *nv =
                        realloc(dv->v, sizeof *nv * (size_t)(dv->cap = dv->cap ? dv->cap * 2 : 16));
                    if (nv == NULL)
                        continue;
                    dv->v = nv;
                }
                dv->v[dv->n++] = mr < ms ? rmean[r] - rmean[s] : rmean[s] - rmean[r];
            }
        break;
    }
    case Q_LABELS:
        for (k = 0; k < c->nj; k++) {
            json_t *ans = json_object_get(ans_of(&c->j[k]), q->name), *v;
            size_t i;
            if (!json_is_array(ans))
                continue;
            a->answers++;
            json_array_foreach(ans, i, v)
            {
                for (o = 0; o < q->n_options; o++)
                    if (json_is_string(v) && strcmp(json_string_value(v), q->options[o]) == 0) {
                        a->label_count[o]++;
                        if (!q->multiple)
                            val[k] = o;
                    }
            }
        }
        if (!q->multiple) {
            unit(a, c, val);
        } else {
            for (o = 0; o < q->n_options; o++) {
                for (k = 0; k < c->nj; k++) {
                    json_t *ans = json_object_get(ans_of(&c->j[k]), q->name), *v;
                    size_t i;
                    val[k] = json_is_array(ans) ? 0 : -1;
                    json_array_foreach(ans, i, v) if (json_is_string(v) &&
                                                      strcmp(json_string_value(v), q->options[o]) ==
                                                          0) val[k] = 1;
                }
                unit(a, c, val);
            }
        }
        break;
    case Q_TEXT: {
        /* An edit is a text that is none of the item's responses as it
         * was (judgments.h): a prefill left unchanged, or a response
         * pasted back, is counted apart. */
        for (k = 0; k < c->nj; k++) {
            const char *t = json_string_value(json_object_get(ans_of(&c->j[k]), q->name));
            int same = 0, ri;
            if (t == NULL) {
                a->unanswered++;
                continue;
            }
            for (ri = 0; ri < c->n && !same; ri++) {
                const char *rt = text_of(c, ri);
                same = rt != NULL && util_text_same(rt, t);
            }
            a->answers++;
            a->texts++;
            if (same) {
                a->unchanged++;
                continue;
            }
            a->edited++;
            a->chars += (double)util_utf8_len(t);
        }
        break;
    }
    }
}

/* Gold: the labeler's answer equals the item's expected answer (for a
 * pairwise question, the winner). */
static void gold(const struct job *j, struct cur *c)
{
    int k, qi;
    if (!json_is_object(c->gold))
        return;
    for (k = 0; k < c->nj; k++)
        for (qi = 0; qi < j->cfg.n_questions; qi++) {
            const struct question *q = &j->cfg.questions[qi];
            json_t *want = json_object_get(c->gold, q->name), *got;
            if (want == NULL)
                continue;
            got = json_object_get(ans_of(&c->j[k]), q->name);
            c->j[k].who->gold_total++;
            if (q->type == Q_PAIRWISE)
                c->j[k].who->gold_right +=
                    json_equal(json_object_get(want, "winner"), json_object_get(got, "winner"));
            else
                c->j[k].who->gold_right += json_equal(want, got);
        }
}

static int item_passes(json_t *meta, const struct report_opts *o)
{
    int i;
    for (i = 0; i < o->nfilters; i++) {
        json_t *v = json_object_get(meta, o->fkey[i]);
        char num[64];
        const char *s = json_string_value(v);
        if (s == NULL && json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            s = num;
        } else if (s == NULL && json_is_boolean(v)) {
            s = json_is_true(v) ? "true" : "false";
        }
        if (s == NULL || strcmp(s, o->fvalue[i]) != 0)
            return 0;
    }
    return 1;
}

/* Reads the item's stored text: responses (ids, models, text spans), gold
 * and, when the report is filtered, whether its metadata passes. */
static int load_item(struct cur *c, const char *data, size_t len, struct names *models,
                     const struct report_opts *o, int *pass)
{
    static const char *const keys[] = {"responses", "gold", "metadata"};
    static const char *const rkeys[] = {"id", "model", "text"};
    struct jspan item, m[3], list[MAX_RESP], f[3];
    int i, n;
    c->n = 0;
    c->nj = 0;
    *pass = 1;
    if ((c->data = malloc(len + 1)) == NULL)
        return ERR_NOMEM;
    memcpy(c->data, data, len);
    c->data[len] = '\0';
    item.p = c->data;
    item.len = len;
    c->loaded = 1;
    if (jspan_members(item, keys, 3, m) < 0 || m[0].p == NULL ||
        (n = jspan_elements(m[0], list, MAX_RESP)) < 0)
        return ERR_DB;
    if (m[1].p != NULL)
        c->gold = json_loadb(m[1].p, m[1].len, 0, NULL);
    if (o->nfilters > 0) {
        json_t *meta = m[2].p != NULL ? json_loadb(m[2].p, m[2].len, 0, NULL) : NULL;
        *pass = item_passes(meta, o);
        json_decref(meta);
        if (!*pass)
            return 0; /* sliced away: its models are not the report's */
    }
    for (i = 0; i < n; i++) {
        char model[256];
        if (jspan_members(list[i], rkeys, 3, f) < 0 || f[0].p == NULL || f[2].p == NULL ||
            f[0].len < 2 || f[0].len - 2 >= sizeof c->idbuf[i])
            return ERR_DB;
        memcpy(c->idbuf[i], f[0].p + 1, f[0].len - 2);
        c->idbuf[i][f[0].len - 2] = '\0';
        c->ids[i] = c->idbuf[i];
        c->text_span[i] = f[2];
        c->texts[i] = NULL;
        if (f[1].p == NULL) { /* no model given: the response id stands in */
            snprintf(model, sizeof model, "response:%s", c->ids[i]);
        } else if (memchr(f[1].p, '\\', f[1].len) == NULL && f[1].len - 2 < sizeof model) {
            memcpy(model, f[1].p + 1, f[1].len - 2);
            model[f[1].len - 2] = '\0';
        } else { /* escapes: let jansson decode the name */
            json_t *s = json_loadb(f[1].p, f[1].len, JSON_DECODE_ANY, NULL);
            snprintf(model, sizeof model, "%s", json_string_value(s) ? json_string_value(s) : "?");
            json_decref(s);
        }
        if ((c->model[i] = name_index(models, model)) < 0)
            return ERR_INVALID;
        c->n = i + 1;
    }
    return 0;
}

/* ---- output ---- */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(round(v * 1e6) / 1e6) : json_null();
}

static json_t *interval(double lo, double hi)
{
    return json_pack("[oo]", num(lo), num(hi));
}

/* 95% intervals on alpha and Fleiss' kappa: 200 resamples of the items
 * (with all their units), seeded; percentiles. */
#define AGREE_RESAMPLES 200
/* An item's units (first unit, count) and their hash, for grouping items
 * whose units are alike. */
struct ispan {
    uint64_t h;
    int first, n;
};

static int cmp_ispan(const void *x, const void *y)
{
    const struct ispan *a = x, *b = y;
    return a->h < b->h ? -1 : a->h > b->h ? 1 : a->first - b->first;
}

static int same_units(const struct qacc *a, const struct ispan *x, const struct ispan *y)
{
    int u;
    if (x->n != y->n)
        return 0;
    for (u = 0; u < x->n; u++) {
        int p = x->first + u, q = y->first + u;
        if (a->ulen[p] != a->ulen[q] ||
            memcmp(a->uvals + a->uoff[p], a->uvals + a->uoff[q], (size_t)a->ulen[p]) != 0)
            return 0;
    }
    return 1;
}

static void agreement_intervals(struct qacc *a, enum alpha_level level, const struct report_opts *o,
                                json_t *out)
{
    int items = a->items_seen, b, u, g, ns = 0, ng = 0, nal = 0, nka = 0;
    struct ispan *sp = NULL;
    int *grp_n = NULL, *grp_rep = NULL;
    double al[AGREE_RESAMPLES], ka[AGREE_RESAMPLES];
    struct stats_rng rng;
    if (a->ustop || a->nu < 2 || o->samples == 0) {
        json_object_set_new(out, "alpha_ci", json_null());
        json_object_set_new(out, "fleiss_kappa_ci", json_null());
        if (a->ustop)
            json_object_set_new(
                out, "ci_why",
                json_string(
                    "more than 2,000,000 values: not resampled (the intervals would be narrow)"));
        return;
    }
    sp = malloc(sizeof *sp * (size_t)a->nu);
    grp_n = calloc((size_t)a->nu + 1, sizeof *grp_n);
    grp_rep = calloc((size_t)a->nu + 1, sizeof *grp_rep);
    if (sp == NULL || grp_n == NULL || grp_rep == NULL)
        goto out;
    /* Items with units, each hashed over its units' sorted values. */
    for (u = 0; u < a->nu; u++) {
        int k;
        if (ns == 0 || a->uitem[u] != a->uitem[sp[ns - 1].first]) {
            sp[ns].first = u;
            sp[ns].n = 0;
            sp[ns++].h = 1469598103934665603ULL;
        }
        sp[ns - 1].n++;
        sp[ns - 1].h = (sp[ns - 1].h ^ (uint64_t)(a->ulen[u] + 256)) * 1099511628211ULL;
        for (k = 0; k < a->ulen[u]; k++)
            sp[ns - 1].h = (sp[ns - 1].h ^ a->uvals[a->uoff[u] + k]) * 1099511628211ULL;
    }
    /* Alike items form a group (a resample draws how many of each). */
    qsort(sp, (size_t)ns, sizeof *sp, cmp_ispan);
    for (u = 0; u < ns; u++) {
        if (ng > 0 && sp[grp_rep[ng - 1]].h == sp[u].h &&
            same_units(a, &sp[grp_rep[ng - 1]], &sp[u])) {
            grp_n[ng - 1]++;
            continue;
        }
        grp_rep[ng] = u;
        grp_n[ng++] = 1;
    }
    stats_rng_seed(&rng, o->seed ^ 0x5a17);
    for (b = 0; b < AGREE_RESAMPLES; b++) {
        struct stats_agree t;
        double x;
        int64_t left = items;
        double mass = items;
        if (stats_agree_init(&t, a->agree.values, a->agree.nv) != 0)
            break;
        /* A multinomial draw of `items` items over the groups (and the
         * items without units), as binomials. */
        for (g = 0; g < ng && left > 0; g++) {
            int64_t d = stats_binomial(&rng, left, grp_n[g] / mass);
            const struct ispan *r = &sp[grp_rep[g]];
            left -= d;
            mass -= grp_n[g];
            for (u = 0; d > 0 && u < r->n; u++) {
                int idx[ITEM_JUDGMENTS_MAX], m = a->ulen[r->first + u], k;
                for (k = 0; k < m; k++)
                    idx[k] = a->uvals[a->uoff[r->first + u] + k];
                stats_agree_units(&t, idx, m, (int)d);
            }
        }
        if (stats_agree_alpha(&t, level, &x) == 0)
            al[nal++] = x;
        if (stats_agree_fleiss(&t, &x) == 0)
            ka[nka++] = x;
        stats_agree_free(&t);
    }
    {
        double l, h;
        stats_interval95(al, nal, &l, &h);
        json_object_set_new(out, "alpha_ci",
                            nal >= AGREE_RESAMPLES / 2 ? interval(l, h) : json_null());
        stats_interval95(ka, nka, &l, &h);
        json_object_set_new(out, "fleiss_kappa_ci",
                            nka >= AGREE_RESAMPLES / 2 ? interval(l, h) : json_null());
    }
out:
    free(sp);
    free(grp_n);
    free(grp_rep);
}

static json_t *agreement_json(struct qacc *a, const struct report_opts *o)
{
    enum alpha_level level = a->q->type == Q_PAIRWISE || a->q->type == Q_LABELS ||
                                     (a->q->type == Q_RATING && a->q->thumbs)
                                 ? ALPHA_NOMINAL
                             : o->interval ? ALPHA_INTERVAL
                                           : ALPHA_ORDINAL;
    static const char *const names[] = {"nominal", "ordinal", "interval"};
    double alpha = NAN, kappa = NAN;
    int has_alpha = stats_agree_alpha(&a->agree, level, &alpha) == 0;
    int has_kappa = stats_agree_fleiss(&a->agree, &kappa) == 0;
    json_t *out = json_pack("{sosssosososisi}", "alpha", has_alpha ? num(alpha) : json_null(),
                            "level", names[level], "percent", num(stats_agree_percent(&a->agree)),
                            "fleiss_kappa", has_kappa ? num(kappa) : json_null(), "fleiss_raters",
                            has_kappa ? json_integer(a->agree.raters) : json_null(), "units",
                            a->agree.units, "pairable_values", a->agree.pairable);
    /* Alpha is undefined for two reasons that mean opposite things: too
     * little to compare, or every value the same (nothing varies, so no
     * disagreement can be expected or observed: perfect agreement). */
    if (out != NULL && !has_alpha)
        json_object_set_new(
            out, "alpha_undefined",
            json_string(a->agree.pairable > 0
                            ? "no variation: every labeler gave every unit the same value"
                            : "too few units with two labelers"));
    if (out != NULL)
        json_object_set_new(out, "unanimous", json_boolean(!has_alpha && a->agree.pairable > 0));
    if (out != NULL)
        agreement_intervals(a, level, o, out);
    return out;
}

/* A win-rate row: counts, the share, and Wilson's interval on the
 * effective counts (the comparisons clustered by item). */
/* How many more judgments would make the 95% interval of a share p (now
 * of n, with design effect deff) exclude `from` with 80% power, if p is
 * the truth: 0 when it already does, -1 when p is not beyond `from` (no
 * amount of data would). */
static double more_for_power(double p, double n, double deff, double lo, double hi, double from)
{
    double need;
    if ((p > from && lo > from) || (p < from && hi < from))
        return 0;
    if (p == from)
        return -1;
    need = (Z95 + 0.8416212335729143) * (Z95 + 0.8416212335729143) * p * (1 - p) /
           ((p - from) * (p - from)) * deff;
    return need > n ? ceil(need - n) : 1;
}

static json_t *win_row(const char *model, const char *opponent, double ww, double ll, double tt,
                       const struct stats_cluster *c)
{
    double n = ww + ll + tt, l, h, deff, more;
    json_t *row;
    stats_cluster_wilson(c, stats_cluster_z95(c), &l, &h, &deff);
    more = more_for_power((ww + tt / 2) / n, n, deff, l, h, 0.5);
    row = json_pack("{sssIsIsIsIsosososo}", "model", model, "wins", (json_int_t)ww, "losses",
                    (json_int_t)ll, "ties", (json_int_t)tt, "n", (json_int_t)n, "win_rate",
                    num((ww + tt / 2) / n), "ci", interval(l, h), "design_effect", num(deff),
                    "n_effective", num(n / deff));
    if (row != NULL)
        json_object_set_new(row, "more_for_80_power",
                            more < 0 ? json_null() : json_integer((json_int_t)more));
    if (row != NULL && opponent != NULL)
        json_object_set_new(row, "opponent", json_string(opponent));
    return row;
}

/* Bradley-Terry over one connected set of models: the fit (with the prior
 * when the set separates into groups), and with samples the draws, into
 * bt rows (rating, ci, component, group), diffs (every pair's difference)
 * and fits. map[0..k): the models, as indexes into the question's. */
static int bt_component(struct qacc *a, struct names *models, const struct report_opts *o,
                        const int *map, int k, int comp, json_t *bt, json_t *diffs, json_t *fits,
                        json_t *separated, int *prior_used)
{
    const int M = REPORT_MODELS_MAX;
    double *w = calloc((size_t)k * (size_t)k + 1, sizeof *w),
           *se = calloc((size_t)k * (size_t)k + 1, sizeof *se);
    double *ne = calloc((size_t)k * (size_t)k + 1, sizeof *ne),
           *rating = calloc((size_t)k + 1, sizeof *rating);
    double *draws = NULL, *col = NULL, *lo = calloc((size_t)k + 1, sizeof *lo),
           *hi = calloc((size_t)k + 1, sizeof *hi);
    int *group = calloc((size_t)k + 1, sizeof *group), x, y, it, prior = 0, ng, failed = 0, rc = -1;
    size_t base = json_array_size(bt); /* this set's first row in bt */
    if (w == NULL || se == NULL || ne == NULL || rating == NULL || lo == NULL || hi == NULL ||
        group == NULL)
        goto out;
    for (x = 0; x < k; x++)
        for (y = 0; y < k; y++) {
            int i = map[x], j = map[y];
            const struct stats_cluster *c = &a->cl[i * M + j];
            double deff = stats_cluster_deff(c);
            w[x * k + y] = a->wins[i * M + j] + 0.5 * a->tie[i * M + j];
            if (x != y && c->n > 0) {
                se[x * k + y] = c->s / deff;
                ne[x * k + y] = c->n / deff;
            }
        }
    if (o->davidson) {
        /* Wins alone and ties apart, raw and effective. */
        double *dw = calloc((size_t)k * (size_t)k + 1, sizeof *dw),
               *dt = calloc((size_t)k * (size_t)k + 1, sizeof *dt);
        double nu = NAN;
        if (dw == NULL || dt == NULL) {
            free(dw);
            free(dt);
            goto out;
        }
        for (x = 0; x < k; x++)
            for (y = 0; y < k; y++) {
                dw[x * k + y] = a->wins[map[x] * M + map[y]];
                dt[x * k + y] = a->tie[map[x] * M + map[y]];
            }
        it = stats_davidson(k, dw, dt, rating, &nu, &prior);
        json_array_append_new(fits, json_pack("{sisisbsbssso}", "component", comp, "iterations",
                                              it < 0 ? 10000 : it, "converged", it > 0, "prior",
                                              prior, "tie_model", "davidson", "nu", num(nu)));
        if (o->samples > 0) {
            for (x = 0; x < k; x++)
                for (y = 0; y < k; y++) {
                    double deff = stats_cluster_deff(&a->cl[map[x] * M + map[y]]);
                    dw[x * k + y] /= deff;
                    dt[x * k + y] /= deff;
                }
            draws = malloc(sizeof *draws * (size_t)k * (size_t)o->samples);
            if (draws != NULL)
                failed = stats_davidson_draws(k, dw, dt, o->samples, o->seed + (uint64_t)comp,
                                              draws, NULL);
        }
        free(dw);
        free(dt);
    } else {
        it = stats_bt(k, w, rating, &prior);
        json_array_append_new(fits, json_pack("{sisisbsbss}", "component", comp, "iterations",
                                              it < 0 ? 10000 : it, "converged", it > 0, "prior",
                                              prior, "tie_model", "half"));
    }
    *prior_used |= prior;
    ng = stats_bt_groups(k, w, group);
    if (ng > 1) {
        json_t *gs = json_array();
        int g;
        for (g = 0; g < ng; g++) {
            json_t *names = json_array();
            for (x = 0; x < k; x++)
                if (group[x] == g)
                    json_array_append_new(names, json_string(models->v[map[x]]));
            json_array_append_new(gs, names);
        }
        json_array_append_new(separated, json_pack("{siso}", "component", comp, "groups", gs));
    }
    if (o->samples > 0) {
        if (draws == NULL) {
            draws = malloc(sizeof *draws * (size_t)k * (size_t)o->samples);
            if (draws != NULL)
                failed = stats_bt_draws(k, se, ne, o->samples, o->seed + (uint64_t)comp, draws);
        }
        col = malloc(sizeof *col * (size_t)o->samples);
        if (draws == NULL || col == NULL)
            goto out;
        for (x = 0; x < k; x++) {
            for (y = 0; y < o->samples; y++)
                col[y] = draws[(size_t)y * (size_t)k + (size_t)x];
            stats_interval95(col, o->samples, &lo[x], &hi[x]);
        }
        json_object_set_new(json_array_get(fits, json_array_size(fits) - 1), "draws_not_converged",
                            json_integer(failed));
    }
    for (x = 0; x < k; x++)
        json_array_append_new(
            bt, json_pack("{sssosososisisi}", "model", models->v[map[x]], "rating", num(rating[x]),
                          "ci", o->samples > 0 ? interval(lo[x], hi[x]) : json_null(), "rank",
                          json_null(), "order", 1, "component", comp, "group", group[x]));
    /* Every pair of the set once: the difference of ratings, with (from the
     * draws) its interval and a two-sided p-value from its mean and
     * spread; Holm adjusts them over the question (comparisons_json). */
    for (x = 0; x < k; x++)
        for (y = x + 1; y < k; y++) {
            double mean = 0, var = 0, d, pe, pn, dl, dh;
            int t, below = 0, above = 0, far;
            json_t *row = json_pack(
                "{sssssisosososososIsI}", "model", models->v[map[x]], "opponent", models->v[map[y]],
                "component", comp, "difference", num(rating[x] - rating[y]), "ci", json_null(), "p",
                json_null(), "p_holm", json_null(), "significant", json_null(), "_x",
                (json_int_t)(base + (size_t)x), "_y", (json_int_t)(base + (size_t)y));
            if (o->samples > 1) {
                for (t = 0; t < o->samples; t++) {
                    d = draws[(size_t)t * (size_t)k + (size_t)x] -
                        draws[(size_t)t * (size_t)k + (size_t)y];
                    col[t] = d;
                    mean += d;
                    below += d <= 0;
                    above += d >= 0;
                }
                mean /= o->samples;
                for (t = 0; t < o->samples; t++)
                    var += (col[t] - mean) * (col[t] - mean);
                var /= o->samples - 1;
                stats_interval95(col, o->samples, &dl, &dh);
                json_object_set_new(row, "ci", interval(dl, dh));
                /* The two-sided tail of the draws beyond 0 (the p at which
                 * the percentile interval would reach 0); when no draw is
                 * beyond it, the normal tail from their mean and spread if
                 * smaller, for the resolution Holm needs past 1/samples. */
                far = below < above ? below : above;
                pe = 2.0 * (far + 1) / (o->samples + 1);
                pn = var > 0 ? 2 * stats_normal_sf(fabs(mean) / sqrt(var)) : 1;
                json_object_set_new(row, "p", num(fmin(1, far == 0 && pn < pe ? pn : pe)));
            }
            json_array_append_new(diffs, row);
        }
    rc = 0;
out:
    free(w);
    free(se);
    free(ne);
    free(rating);
    free(draws);
    free(col);
    free(lo);
    free(hi);
    free(group);
    return rc;
}

/* Ranks from the tests: 1 + the models of the same set significantly
 * better (Holm-adjusted p below 0.05, over every pair of the question);
 * order: 1 + those of the set rated higher. Never across sets. */
static void bt_ranks(json_t *bt, json_t *diffs, int tested)
{
    size_t i, j, n = json_array_size(diffs), nb = json_array_size(bt);
    double *p = calloc(n + 1, sizeof *p), *adj = calloc(n + 1, sizeof *adj);
    int *rank = calloc(nb + 1, sizeof *rank);
    json_t *v, *u;
    if (p == NULL || adj == NULL || rank == NULL)
        goto out;
    json_array_foreach(diffs, i, v) p[i] = json_number_value(json_object_get(v, "p"));
    if (tested)
        stats_holm(p, (int)n, adj);
    json_array_foreach(diffs, i, v)
    {
        json_int_t x = json_integer_value(json_object_get(v, "_x")),
                   y = json_integer_value(json_object_get(v, "_y"));
        if (tested) {
            int sig = adj[i] < 0.05;
            json_object_set_new(v, "p_holm", num(adj[i]));
            json_object_set_new(v, "significant", json_boolean(sig));
            if (sig && json_number_value(json_object_get(v, "difference")) > 0)
                rank[y]++;
            else if (sig)
                rank[x]++;
        }
        json_object_del(v, "_x");
        json_object_del(v, "_y");
    }
    json_array_foreach(bt, i, v)
    {
        json_int_t comp = json_integer_value(json_object_get(v, "component"));
        int order = 1;
        json_array_foreach(
            bt, j, u) if (j != i && json_integer_value(json_object_get(u, "component")) == comp &&
                          json_number_value(json_object_get(u, "rating")) >
                              json_number_value(json_object_get(v, "rating"))) order++;
        json_object_set_new(v, "order", json_integer(order));
        json_object_set_new(v, "rank", tested ? json_integer(1 + rank[i]) : json_null());
    }
out:
    free(p);
    free(adj);
    free(rank);
}

/* "A, B and C" from a JSON array of names, into b. */
static void names_text(json_t *names, char *b, size_t n)
{
    size_t i, len = 0, k = json_array_size(names);
    json_t *v;
    b[0] = '\0';
    json_array_foreach(names, i, v)
    {
        int w = snprintf(b + len, len < n ? n - len : 0, "%s%s",
                         i == 0       ? ""
                         : i + 1 == k ? " and "
                                      : ", ",
                         json_string_value(v));
        if (w < 0 || len + (size_t)w >= n)
            break;
        len += (size_t)w;
    }
}

/* What a reader must know before comparing ratings: sets of models never
 * compared with each other, and groups that won every comparison with
 * another. */
static json_t *bt_notes(json_t *comps, json_t *separated)
{
    json_t *notes = json_array(), *v;
    size_t i, g;
    char a[1024], b[1024], sets[1500], line[4096];
    if (json_array_size(comps) > 1) {
        json_t *parts = json_array();
        json_array_foreach(comps, i, v)
        {
            names_text(v, a, sizeof a);
            json_array_append_new(parts, json_string(a));
        }
        for (i = 0, sets[0] = '\0'; i < json_array_size(parts); i++)
            snprintf(sets + strlen(sets), sizeof sets - strlen(sets), "%s{%s}", i ? ", " : "",
                     json_string_value(json_array_get(parts, i)));
        snprintf(line, sizeof line,
                 "These sets of models were never compared with each other, directly or through "
                 "other models: %s. "
                 "Ratings are on a separate scale in each set (each set's mean is 1000) and models "
                 "are ranked within "
                 "their set only.",
                 sets);
        json_array_append_new(notes, json_string(line));
        json_decref(parts);
    }
    json_array_foreach(separated, i, v)
    {
        json_t *gs = json_object_get(v, "groups");
        for (g = 0; g + 1 < json_array_size(gs); g++) {
            names_text(json_array_get(gs, g), a, sizeof a);
            names_text(json_array_get(gs, g + 1), b, sizeof b);
            snprintf(line, sizeof line,
                     "%s never lost a comparison with %s (nor tied one): how much better cannot be "
                     "estimated "
                     "(there is no finite maximum-likelihood rating), so the ratings use a prior "
                     "of half a win each "
                     "way per pair that met, and their gap says little.",
                     a, b);
            json_array_append_new(notes, json_string(line));
        }
    }
    return notes;
}

static json_t *comparisons_json(struct qacc *a, struct names *models, const struct report_opts *o)
{
    const int M = REPORT_MODELS_MAX, m = models->n;
    json_t *pairs = json_array(), *overall = json_array(), *bt = json_array(),
           *diffs = json_array();
    json_t *fits = json_array(), *separated = json_array(), *comps = json_array(), *out = NULL,
           *notes = NULL;
    int i, j, prior = 0, ncomp = 0, *active = calloc((size_t)m + 1, sizeof *active);
    int *comp = calloc((size_t)m + 1, sizeof *comp), *map = calloc((size_t)m + 1, sizeof *map);
    if (active == NULL || comp == NULL || map == NULL || pairs == NULL || overall == NULL ||
        bt == NULL || diffs == NULL || fits == NULL || separated == NULL || comps == NULL)
        goto done;
    for (i = 0; i < m; i++)
        for (j = 0; j < m; j++)
            if (a->wins[i * M + j] + a->tie[i * M + j] > 0)
                active[i] = active[j] = 1;
    for (i = 0; i < m; i++) {
        double wins = 0, losses = 0, ties = 0;
        if (!active[i])
            continue;
        for (j = 0; j < m; j++) {
            double ww = a->wins[i * M + j], ll = a->wins[j * M + i], tt = a->tie[i * M + j];
            if (j == i || ww + ll + tt == 0)
                continue;
            json_array_append_new(
                pairs, win_row(models->v[i], models->v[j], ww, ll, tt, &a->cl[i * M + j]));
            if (a->sw != NULL)
                json_object_set_new(json_array_get(pairs, json_array_size(pairs) - 1),
                                    "strength_weighted_win_rate",
                                    num(a->sw[i * M + j] / (ww + ll + tt)));
            wins += ww;
            losses += ll;
            ties += tt;
        }
        json_array_append_new(overall, win_row(models->v[i], NULL, wins, losses, ties, &a->clm[i]));
    }
    /* The connected sets of models (who met whom, directly or through
     * others): ratings are comparable within a set only. */
    for (i = 0; i < m; i++)
        comp[i] = -1;
    for (i = 0; i < m; i++) {
        int head = 0, tail = 0, k;
        if (!active[i] || comp[i] >= 0)
            continue;
        comp[i] = ncomp;
        map[tail++] = i;
        while (head < tail) {
            int x = map[head++];
            for (j = 0; j < m; j++)
                if (comp[j] < 0 &&
                    a->wins[x * M + j] + a->wins[j * M + x] + a->tie[x * M + j] > 0) {
                    comp[j] = ncomp;
                    map[tail++] = j;
                }
        }
        {
            json_t *names = json_array();
            for (k = 0; k < tail; k++)
                json_array_append_new(names, json_string(models->v[map[k]]));
            json_array_append_new(comps, names);
        }
        if (bt_component(a, models, o, map, tail, ncomp, bt, diffs, fits, separated, &prior) != 0)
            goto done;
        ncomp++;
    }
    bt_ranks(bt, diffs, o->samples > 1);
    notes = bt_notes(comps, separated);
    {
        double l, h;
        stats_wilson((double)a->first_wins, (double)a->decided, Z95, &l, &h);
        double pb = stats_binom_test_half(a->first_wins, a->decided);
        out = json_pack(
            "{sososos{sIsIsosososssb}sbsos{sosososbsososo}}", "win_rates", pairs, "overall",
            overall, "bradley_terry", bt, "position_bias", "first_shown_wins",
            (json_int_t)a->first_wins, "decided", (json_int_t)a->decided, "rate",
            a->decided > 0 ? num((double)a->first_wins / (double)a->decided) : json_null(), "ci",
            a->decided > 0 ? interval(l, h) : json_null(), "p",
            a->decided > 0 ? num(pb) : json_null(), "test",
            "exact binomial, two-sided, against 1/2", "significant", a->decided > 0 && pb < 0.05,
            "bt_prior", prior, "differences", diffs, "bt", "components", comps, "separated",
            separated, "fits", fits, "comparable", ncomp <= 1 && json_array_size(separated) == 0,
            "notes", notes, "samples", json_integer(o->samples), "methods",
            json_pack(
                "{ssssssss}", "win_rate",
                "Wilson 95% on effective counts (comparisons over their cluster-robust design "
                "effect, items as clusters), t quantile for items - 1 degrees of freedom",
                "rating",
                o->davidson
                    ? "Davidson's tie model (MLE by fixed point); 95% percentile interval of draws "
                      "from Dirichlet(wins, losses, ties + 1/2) on effective counts"
                    : "Bradley-Terry MLE (MM), a tie half a win each; 95% percentile interval of "
                      "draws from Jeffreys-smoothed pair shares on effective counts",
                "difference",
                "difference of ratings; 95% percentile interval of the draws; two-sided p: twice "
                "the share of draws beyond 0 (+1 over samples + 1), or the normal tail when none "
                "is and it is smaller",
                "rank",
                "1 + the models of the same set significantly better (Holm-adjusted p < 0.05); "
                "null without samples"));
        json_object_set_new(json_object_get(out, "bt"), "tie_model",
                            json_string(o->davidson ? "davidson" : "half"));
        pairs = overall = bt = diffs = comps = separated = fits = notes = NULL;
    }
done:
    json_decref(pairs);
    json_decref(overall);
    json_decref(bt);
    json_decref(diffs);
    json_decref(comps);
    json_decref(separated);
    json_decref(fits);
    json_decref(notes);
    free(active);
    free(comp);
    free(map);
    return out;
}

static json_t *ratings_json(struct qacc *a, struct names *models)
{
    const struct question *q = a->q;
    json_t *list = json_array();
    int mi, p;
    for (mi = 0; mi <= models->n; mi++) {
        int slot = mi == models->n ? REPORT_MODELS_MAX : mi;
        const int64_t *h = a->hist + (size_t)slot * (size_t)a->points;
        int64_t n = 0, cum = 0;
        double sum = 0, sq = 0, median = NAN, lo, hi;
        json_t *hist = json_object(), *row;
        for (p = 0; p < a->points; p++) {
            double v = q->thumbs ? p : q->min + p;
            n += h[p];
            sum += v * (double)h[p];
            sq += v * v * (double)h[p];
        }
        if (n == 0) {
            json_decref(hist);
            continue;
        }
        for (p = 0; p < a->points; p++) {
            char key[16];
            if (q->thumbs)
                snprintf(key, sizeof key, "%s", p ? "up" : "down");
            else
                snprintf(key, sizeof key, "%d", q->min + p);
            json_object_set_new(hist, key, json_integer(h[p]));
            /* The median from the histogram: the middle value(s). */
            if (isnan(median) && (cum += h[p]) * 2 >= n) {
                double v = q->thumbs ? p : q->min + p;
                if (cum * 2 == n && n % 2 == 0) {
                    int p2 = p + 1;
                    while (p2 < a->points && h[p2] == 0)
                        p2++;
                    median = p2 < a->points ? (v + (q->thumbs ? p2 : q->min + p2)) / 2 : v;
                } else {
                    median = v;
                }
            }
        }
        if (q->thumbs) {
            double deff;
            stats_cluster_wilson(&a->rcl[slot], stats_cluster_z95(&a->rcl[slot]), &lo, &hi, &deff);
            row = json_pack("{sssIsIsososo}", "model",
                            mi == models->n ? "(overall)" : models->v[mi], "n", (json_int_t)n, "up",
                            (json_int_t)h[1], "thumbs_up_rate", num((double)h[1] / (double)n), "ci",
                            interval(lo, hi), "design_effect", num(deff));
        } else {
            /* Student's t on the cluster-robust standard error (items as
             * clusters; never below the plain one), k - 1 degrees of
             * freedom for k items, clipped to the scale. */
            const struct stats_cluster *cl = &a->rcl[slot];
            double mean = sum / (double)n,
                   var = n > 1 ? (sq - sum * sum / (double)n) / (double)(n - 1) : 0;
            double vplain = var / (double)n, vc = NAN, se, df, half;
            if (cl->k >= 2)
                vc = cl->k / (cl->k - 1) * (cl->ss - 2 * mean * cl->sn + mean * mean * cl->nn) /
                     (cl->n * cl->n);
            se = isnan(vc) || vc < vplain ? vplain : vc;
            /* Every score alike is no certainty: at least the spread of
             * one score in n being one point off (se 1/n). */
            se = sqrt(se < 1.0 / ((double)n * (double)n) ? 1.0 / ((double)n * (double)n) : se);
            df = cl->k >= 2 ? cl->k - 1 : (double)n - 1;
            half = n > 1 && df >= 1 ? stats_t_quantile(0.975, df) * se : NAN;
            lo = mean - half < q->min ? q->min : mean - half;
            hi = mean + half > q->max ? q->max : mean + half;
            row = json_pack("{sssIsosososososo}", "model",
                            mi == models->n ? "(overall)" : models->v[mi], "n", (json_int_t)n,
                            "mean", num(mean), "median", num(median), "ci",
                            isnan(half) ? json_null() : interval(lo, hi), "sd", num(sqrt(var)),
                            "items", json_integer((json_int_t)cl->k), "design_effect",
                            num(vplain > 0 && !isnan(vc) && vc > vplain ? vc / vplain : 1));
        }
        json_object_set_new(row, "histogram", hist);
        json_array_append_new(list, row);
    }
    return list;
}

/* Two models rated on the same items: Wilcoxon's signed-rank test of the
 * per-item differences of their mean scores, Holm-adjusted over pairs. */
static json_t *paired_json(struct qacc *a, struct names *models)
{
    json_t *list = json_array(), *v;
    double *pv, *adj;
    int i, j, np = 0;
    size_t x, most = (size_t)models->n * (size_t)models->n / 2 + 1;
    if (a->pd == NULL)
        return list;
    pv = calloc(most, sizeof *pv);
    adj = calloc(most, sizeof *adj);
    if (pv == NULL || adj == NULL) {
        free(pv);
        free(adj);
        return list;
    }
    for (i = 0; i < models->n; i++)
        for (j = i + 1; j < models->n; j++) {
            struct dvec *dv = &a->pd[i * REPORT_MODELS_MAX + j];
            double w = NAN, z = NAN, p = NAN, mean = 0;
            int used = 0, k, ok;
            json_t *row;
            if (dv->n == 0)
                continue;
            for (k = 0; k < dv->n; k++)
                mean += dv->v[k] / dv->n;
            ok = stats_wilcoxon(dv->v, dv->n, &w, &z, &p, &used) == 0 && used >= 6;
            row = json_pack("{sssssisosisososososo}", "model", models->v[i], "opponent",
                            models->v[j], "items", dv->n, "mean_difference", num(mean), "nonzero",
                            used, "w", ok ? num(w) : json_null(), "z", ok ? num(z) : json_null(),
                            "p", ok ? num(p) : json_null(), "p_holm", json_null(), "significant",
                            json_null());
            if (!ok)
                json_object_set_new(row, "why",
                                    json_string("fewer than 6 items where the two differ"));
            else
                pv[np++] = p;
            json_array_append_new(list, row);
        }
    stats_holm(pv, np, adj);
    np = 0;
    json_array_foreach(list, x, v) if (json_is_number(json_object_get(v, "p")))
    {
        json_object_set_new(v, "p_holm", num(adj[np]));
        json_object_set_new(v, "significant", json_boolean(adj[np] < 0.05));
        np++;
    }
    free(pv);
    free(adj);
    return list;
}

/* Dawid-Skene over the question's units with two labels or more: the
 * class shares, each labeler's estimated accuracy (and confusion), and how
 * often the competence-weighted consensus differs from the plain majority. */
static json_t *dawid_skene_json(struct qacc *a, struct labelers *labs)
{
    const struct question *q = a->q;
    int k = a->ds_k, units = a->ds_units, n = a->ds_n, L = labs->n, it, u, c, l, i, same = 0;
    double *prior, *conf, *post;
    int64_t *said = NULL;
    json_t *classes = json_array(), *rows = json_array(), *out;
    if (units == 0 || (double)units * k > 2e7) {
        json_decref(classes);
        json_decref(rows);
        return json_pack("{ss}", "why",
                         units == 0 ? "no item has two labels" : "too many items times classes");
    }
    prior = calloc((size_t)k, sizeof *prior);
    conf = calloc((size_t)L * (size_t)k * (size_t)k + 1, sizeof *conf);
    post = calloc((size_t)units * (size_t)k, sizeof *post);
    if (prior == NULL || conf == NULL || post == NULL) {
        free(prior);
        free(conf);
        free(post);
        json_decref(classes);
        json_decref(rows);
        return json_null();
    }
    it = stats_dawid_skene(a->ds_off, a->ds_lab, a->ds_val, units, L, k, prior, conf, post);
    said = calloc((size_t)L + 1, sizeof *said);
    for (i = 0; said != NULL && i < n; i++)
        said[a->ds_lab[i]]++;
    for (c = 0; c < k; c++)
        json_array_append_new(classes, json_string(q->type == Q_LABELS ? q->options[c]
                                                   : c == 0            ? "first response"
                                                   : c == 1            ? "second response"
                                                   : c == 2            ? "tie"
                                                                       : "both bad"));
    for (l = 0; l < L; l++) {
        double acc = 0;
        json_t *m = json_array();
        if (said == NULL || said[l] == 0) {
            json_decref(m);
            continue;
        }
        for (c = 0; c < k; c++) {
            json_t *row = json_array();
            acc += prior[c] * conf[((size_t)l * (size_t)k + (size_t)c) * (size_t)k + (size_t)c];
            for (i = 0; i < k; i++)
                json_array_append_new(
                    row, num(conf[((size_t)l * (size_t)k + (size_t)c) * (size_t)k + (size_t)i]));
            json_array_append_new(m, row);
        }
        json_array_append_new(rows,
                              json_pack("{sssIsoso}", "labeler", labs->v[l]->name, "labels",
                                        (json_int_t)said[l], "accuracy", num(acc), "confusion", m));
    }
    /* The consensus against the plain majority (first of a tie). */
    for (u = 0; u < units; u++) {
        int votes[256] = {0}, maj = 0, best = 0;
        for (i = a->ds_off[u]; i < a->ds_off[u + 1]; i++)
            votes[a->ds_val[i]]++;
        for (c = 1; c < k && c < 256; c++)
            maj = votes[c] > votes[maj] ? c : maj;
        for (c = 1; c < k; c++)
            best = post[u * k + c] > post[u * k + best] ? c : best;
        same += best == maj;
    }
    {
        json_t *pr = json_array();
        for (c = 0; c < k; c++)
            json_array_append_new(pr, num(prior[c]));
        out = json_pack("{sisbsosososiso}", "iterations", it < 0 ? 200 : it, "converged", it > 0,
                        "classes", classes, "prior", pr, "labelers", rows, "units", units,
                        "consensus_differs_from_majority", num((double)(units - same) / units));
    }
    free(prior);
    free(conf);
    free(post);
    free(said);
    return out;
}

static json_t *question_json(struct qacc *a, struct names *models, struct labelers *labs,
                             const struct report_opts *o)
{
    static const char *const types[] = {"pairwise", "rank", "rating", "text", "labels"};
    const struct question *q = a->q;
    json_t *out = json_pack("{sssssI}", "name", q->name, "type", types[q->type], "answers",
                            (json_int_t)a->answers);
    int i;
    if (out == NULL)
        return NULL;
    if (q->type == Q_PAIRWISE || q->type == Q_RANK) {
        json_t *c = comparisons_json(a, models, o);
        if (c != NULL)
            json_object_update(out, c);
        json_decref(c);
    }
    if (q->type == Q_PAIRWISE) {
        json_object_set_new(out, "ties", json_integer(a->ties));
        json_object_set_new(out, "both_bad", json_integer(a->both_bad));
    }
    if (q->type == Q_RANK) {
        json_t *ranks = json_array();
        for (i = 0; i < models->n; i++) {
            double lo, hi;
            if (a->rank_n[i] == 0)
                continue;
            stats_wilson(a->top1[i], (double)a->rank_n[i], Z95, &lo, &hi);
            json_array_append_new(
                ranks,
                json_pack("{sssIsososo}", "model", models->v[i], "n", (json_int_t)a->rank_n[i],
                          "mean_rank", num(a->rank_sum[i] / (double)a->rank_n[i]), "top1_rate",
                          num(a->top1[i] / (double)a->rank_n[i]), "top1_ci", interval(lo, hi)));
        }
        json_object_set_new(out, "ranks", ranks);
    }
    if (q->type == Q_RATING) {
        json_object_set_new(out, "scale",
                            q->thumbs ? json_string("thumbs")
                                      : json_pack("{sisi}", "min", q->min, "max", q->max));
        json_object_set_new(out, "models", ratings_json(a, models));
        if (q->per_response && !q->thumbs)
            json_object_set_new(out, "paired", paired_json(a, models));
    }
    if (q->type == Q_LABELS) {
        json_t *labels = json_array();
        for (i = 0; i < q->n_options; i++)
            json_array_append_new(
                labels, json_pack("{sssIso}", "label", q->options[i], "count",
                                  (json_int_t)a->label_count[i], "rate",
                                  a->answers ? num((double)a->label_count[i] / (double)a->answers)
                                             : json_null()));
        json_object_set_new(out, "labels", labels);
    }
    if (q->type == Q_TEXT) {
        json_object_set_new(out, "texts", json_integer(a->texts));
        json_object_set_new(out, "edited", json_integer(a->edited));
        json_object_set_new(out, "unchanged", json_integer(a->unchanged));
        json_object_set_new(out, "unanswered", json_integer(a->unanswered));
        json_object_set_new(out, "mean_chars",
                            a->edited ? num(a->chars / (double)a->edited) : json_null());
    }
    if (a->points > 0 && a->ref == NULL)
        json_object_set_new(out, "agreement", agreement_json(a, o));
    if (a->ds_k > 0 && a->ref == NULL)
        json_object_set_new(out, "dawid_skene", dawid_skene_json(a, labs));
    return out;
}

/* A judge's agreement with the people's consensus on one question: over
 * the units both gave a value, the share alike (Wilson on effective
 * counts, items as clusters) and Cohen's kappa, with the counts (rows:
 * the people's consensus, columns: the judge). */
static json_t *judge_vs_people_json(struct qacc *a)
{
    const struct question *q = a->q;
    int p = a->points, x, y;
    double n = 0, diag = 0, pe = 0, lo, hi, deff;
    json_t *classes = json_array(), *counts = json_array();
    for (x = 0; x < p; x++) {
        json_t *row = json_array();
        for (y = 0; y < p; y++) {
            n += (double)a->kconf[x * p + y];
            json_array_append_new(row, json_integer(a->kconf[x * p + y]));
        }
        diag += (double)a->kconf[x * p + x];
        json_array_append_new(counts, row);
    }
    for (x = 0; x < p; x++) {
        double rs = 0, cs = 0;
        for (y = 0; y < p; y++) {
            rs += (double)a->kconf[x * p + y];
            cs += (double)a->kconf[y * p + x];
        }
        if (n > 0)
            pe += (rs / n) * (cs / n);
        if (q->type == Q_PAIRWISE)
            json_array_append_new(classes, json_string(x == 0   ? "first response"
                                                       : x == 1 ? "second response"
                                                       : x == 2 ? "tie"
                                                                : "both bad"));
        else if (q->type == Q_LABELS)
            json_array_append_new(
                classes, json_string(q->multiple ? (x ? "chosen" : "not chosen") : q->options[x]));
        else if (q->type == Q_RATING && q->thumbs)
            json_array_append_new(classes, json_string(x ? "up" : "down"));
        else if (q->type == Q_RATING)
            json_array_append_new(classes, json_integer(q->min + x));
        else
            json_array_append_new(classes, json_integer(x + 1)); /* rank: the place */
    }
    if (n == 0) {
        json_decref(classes);
        json_decref(counts);
        return json_pack("{sisnsnsnsnss}", "units", 0, "accuracy", "accuracy_ci", "kappa",
                         "confusion", "why",
                         "no unit has both a consensus of the people and the judge's answer");
    }
    stats_cluster_wilson(&a->kcl, stats_cluster_z95(&a->kcl), &lo, &hi, &deff);
    return json_pack("{sIsosososos{soso}}", "units", (json_int_t)n, "accuracy", num(diag / n),
                     "accuracy_ci", interval(lo, hi), "design_effect", num(deff),
                     /* All in one class on both sides: no chance to correct for. */
                     "kappa", pe < 1 ? num((diag / n - pe) / (1 - pe)) : json_null(), "confusion",
                     "classes", classes, "counts", counts);
}

static json_t *labelers_json(struct labelers *t)
{
    json_t *list = json_array();
    double *agree = malloc(sizeof *agree * (size_t)(t->n + 1)),
           *gold = malloc(sizeof *gold * (size_t)(t->n + 1));
    double med_agree, med_gold;
    int i, na = 0, ng = 0;
    if (agree == NULL || gold == NULL) {
        free(agree);
        free(gold);
        return list;
    }
    for (i = 0; i < t->n; i++) {
        if (t->v[i]->agree_units > 0)
            agree[na++] = t->v[i]->agree / (double)t->v[i]->agree_units;
        if (t->v[i]->gold_total > 0)
            gold[ng++] = (double)t->v[i]->gold_right / (double)t->v[i]->gold_total;
    }
    med_agree = stats_median(agree, na);
    med_gold = stats_median(gold, ng);
    /* Position bias per labeler: the exact test of each, Holm-adjusted
     * over the labelers who made comparisons. */
    {
        double *pv = calloc((size_t)t->n + 1, sizeof *pv),
               *adj = calloc((size_t)t->n + 1, sizeof *adj);
        int *at = calloc((size_t)t->n + 1, sizeof *at), np = 0;
        for (i = 0; pv != NULL && adj != NULL && at != NULL && i < t->n; i++)
            if (t->v[i]->decided > 0) {
                pv[np] = stats_binom_test_half(t->v[i]->first_wins, t->v[i]->decided);
                at[np++] = i;
            }
        if (pv != NULL && adj != NULL && at != NULL) {
            stats_holm(pv, np, adj);
            for (i = 0; i < np; i++)
                t->v[at[i]]->pb_holm = adj[i], t->v[at[i]]->pb_p = pv[i];
        }
        free(pv);
        free(adj);
        free(at);
    }
    for (i = 0; i < t->n; i++) {
        struct labeler *l = t->v[i];
        double a = l->agree_units ? l->agree / (double)l->agree_units : NAN;
        double g = l->gold_total ? (double)l->gold_right / (double)l->gold_total : NAN;
        /* Far below the rest: 0.2 under the median of the labelers, with
         * at least 10 units (or gold answers) behind the figure. */
        int low_agree = na >= 3 && l->agree_units >= 10 && a < med_agree - 0.2;
        int low_gold = ng >= 2 && l->gold_total >= 10 && g < med_gold - 0.2;
        /* Biased: the first-shown response won significantly more (or
         * less) often than half, after Holm, with 10 decisions or more. */
        int biased = l->decided >= 10 && l->pb_holm < 0.05;
        json_t *row = json_pack("{sssIsIsososIsosIsb}", "labeler", l->name, "judgments",
                                (json_int_t)l->judgments, "skips", (json_int_t)l->skips,
                                "median_seconds", num(stats_median(l->secs, (int)l->nsecs)),
                                "agreement", num(a), "agreement_units", (json_int_t)l->agree_units,
                                "gold_accuracy", num(g), "gold_answers", (json_int_t)l->gold_total,
                                "flag", low_agree || low_gold || biased);
        if (l->decided > 0) {
            double pl, ph;
            stats_wilson((double)l->first_wins, (double)l->decided, Z95, &pl, &ph);
            json_object_set_new(
                row, "position_bias",
                json_pack("{sIsIsososososb}", "first_shown_wins", (json_int_t)l->first_wins,
                          "decided", (json_int_t)l->decided, "rate",
                          num((double)l->first_wins / (double)l->decided), "ci", interval(pl, ph),
                          "p", num(l->pb_p), "p_holm", num(l->pb_holm), "biased", biased));
        } else {
            json_object_set_new(row, "position_bias", json_null());
        }
        json_object_set_new(row, "median_active_seconds",
                            num(l->nact > 0 ? stats_median(l->act, (int)l->nact) : NAN));
        if (low_agree || low_gold || biased) {
            char why[256];
            snprintf(
                why, sizeof why, "%s%s%s%s%s",
                low_agree && low_gold ? "agreement and gold accuracy far below the other labelers"
                : low_agree           ? "agreement far below the other labelers"
                : low_gold            ? "gold accuracy far below the other labelers"
                                      : "",
                (low_agree || low_gold) && biased ? "; " : "",
                biased ? "a position bias: picked the response shown " : "",
                biased ? ((double)l->first_wins * 2 > (double)l->decided ? "first" : "second") : "",
                biased ? " significantly more often than chance" : "");
            json_object_set_new(row, "flag_reason", json_string(why));
        }
        json_array_append_new(list, row);
    }
    free(agree);
    free(gold);
    return list;
}

/* ---- the decision ---- */

/* The job's acceptance rule against the report's own figures: every check
 * must pass; a check without data fails, saying so. */
static json_t *decision_json(json_t *rule, json_t *questions)
{
    const char *qname = json_string_value(json_object_get(rule, "question"));
    const char *cand = json_string_value(json_object_get(rule, "candidate"));
    const char *base = json_string_value(json_object_get(rule, "baseline"));
    json_t *q = NULL, *v, *checks = json_array();
    size_t i;
    int pass = 1;
    json_array_foreach(questions, i,
                       v) if (qname != NULL && strcmp(json_string_value(json_object_get(v, "name")),
                                                      qname) == 0) q = v;
    if (cand != NULL && base != NULL) {
        double need = json_number_value(json_object_get(rule, "min_win_rate_lower"));
        json_t *row = NULL, *ci;
        json_array_foreach(
            json_object_get(q, "win_rates"), i,
            v) if (strcmp(json_string_value(json_object_get(v, "model")), cand) == 0 &&
                   strcmp(json_string_value(json_object_get(v, "opponent")), base) == 0) row = v;
        ci = json_object_get(row, "ci");
        if (row == NULL) {
            pass = 0;
            json_array_append_new(checks, json_pack("{sssssfsbss}", "check", "win_rate_lower",
                                                    "question", qname, "threshold", need, "pass", 0,
                                                    "why", "the candidate never met the baseline"));
        } else {
            double lower = json_number_value(json_array_get(ci, 0));
            double p = json_number_value(json_object_get(row, "win_rate"));
            double more =
                p > need ? more_for_power(p, json_number_value(json_object_get(row, "n")),
                                          json_number_value(json_object_get(row, "design_effect")),
                                          lower, 1, need)
                         : -1;
            int ok = lower >= need;
            pass &= ok;
            json_array_append_new(
                checks, json_pack("{sssssssssOsOsOsfsb}", "check", "win_rate_lower", "question",
                                  qname, "candidate", cand, "baseline", base, "win_rate",
                                  json_object_get(row, "win_rate"), "ci", ci, "n",
                                  json_object_get(row, "n"), "threshold", need, "pass", ok));
            /* Enough data? What 80% power to clear the threshold takes,
             * if the observed rate is the truth. */
            json_object_set_new(json_array_get(checks, json_array_size(checks) - 1),
                                "more_for_80_power",
                                more < 0 ? json_null() : json_integer((json_int_t)more));
        }
    }
    if (json_is_true(json_object_get(rule, "no_position_bias"))) {
        json_t *pb = json_object_get(q, "position_bias");
        int decided = (int)json_integer_value(json_object_get(pb, "decided"));
        int ok = !json_is_true(json_object_get(pb, "significant"));
        pass &= ok;
        json_array_append_new(
            checks,
            json_pack("{sssssOsOsOsb}", "check", "no_position_bias", "question", qname, "rate",
                      pb != NULL ? json_object_get(pb, "rate") : json_null(), "p",
                      pb != NULL ? json_object_get(pb, "p") : json_null(), "decided",
                      pb != NULL ? json_object_get(pb, "decided") : json_null(), "pass", ok));
        if (decided == 0)
            json_object_set_new(json_array_get(checks, json_array_size(checks) - 1), "why",
                                json_string("no decided comparison to test"));
    }
    if (json_object_get(rule, "min_alpha") != NULL) {
        double need = json_number_value(json_object_get(rule, "min_alpha"));
        json_t *ag = json_object_get(q, "agreement"), *alpha = json_object_get(ag, "alpha");
        int unanimous = json_is_true(json_object_get(ag, "unanimous"));
        int ok = (json_is_number(alpha) && json_number_value(alpha) >= need) || unanimous;
        pass &= ok;
        json_array_append_new(checks, json_pack("{sssssOsfsb}", "check", "alpha", "question", qname,
                                                "alpha", alpha != NULL ? alpha : json_null(),
                                                "threshold", need, "pass", ok));
        if (!json_is_number(alpha))
            json_object_set_new(
                json_array_get(checks, json_array_size(checks) - 1), "why",
                json_string(unanimous
                                ? "every labeler gave every unit the same value: perfect agreement "
                                  "(alpha is undefined when nothing varies), which passes"
                                : "no agreement figure: too few items with two labelers"));
    }
    return json_pack("{sOsbso}", "rule", rule, "pass", pass, "checks", checks);
}

/* ---- the pass ---- */

/* A model judge: its figures per question, apart from the people's. */
struct judge {
    char name[JUDGE_NAME_MAX + 1];
    struct labeler who; /* its position bias over comparison questions */
    struct qacc *q;
    int64_t judgments, items_with_people;
};

struct build {
    const struct job *j;
    const struct report_opts *o;
    struct names models;
    struct labelers labs;
    struct qacc *q;
    struct cur cur;
    int64_t items, judgments;
    int has_judges;
    struct judge judges[REPORT_JUDGES_MAX];
    int njudges;
    int64_t judges_left_out; /* judgments of judges past REPORT_JUDGES_MAX */
};

static struct judge *judge_of(struct build *b, const char *name)
{
    int i, qi;
    struct judge *g;
    for (i = 0; i < b->njudges; i++)
        if (strcmp(b->judges[i].name, name) == 0)
            return &b->judges[i];
    if (b->njudges == REPORT_JUDGES_MAX)
        return NULL;
    g = &b->judges[b->njudges];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    snprintf(g->who.name, sizeof g->who.name, "%s", name);
    g->who.idx = -1;
    if ((g->q = calloc((size_t)b->j->cfg.n_questions + 1, sizeof *g->q)) == NULL)
        return NULL;
    for (qi = 0; qi < b->j->cfg.n_questions; qi++) {
        struct qacc *a = &g->q[qi];
        if (qacc_init(a, &b->j->cfg.questions[qi]) != 0 ||
            (a->points > 0 &&
             (a->kconf = calloc((size_t)a->points * (size_t)a->points, sizeof *a->kconf)) == NULL))
            return NULL; /* freed with the build */
        a->ref = &b->q[qi];
    }
    b->njudges++;
    return g;
}

/* Drops the item's data (after it counted, or when it was cut). */
static void drop_item(struct cur *c)
{
    int k;
    for (k = 0; k < c->nj; k++) {
        free(c->j[k].raw);
        json_decref(c->j[k].answers);
        c->j[k].answers = NULL;
    }
    for (k = 0; k < c->njj; k++) {
        free(c->jj[k].raw);
        json_decref(c->jj[k].answers);
        c->jj[k].answers = NULL;
    }
    c->njj = 0;
    for (k = 0; k < c->n; k++) {
        json_decref(c->texts[k]);
        c->texts[k] = NULL;
    }
    c->nj = 0;
    c->n = 0;
    json_decref(c->gold);
    c->gold = NULL;
    free(c->data);
    c->data = NULL;
    c->loaded = 0;
}

static void flush_item(struct build *b)
{
    int qi, k;
    struct cur *c = &b->cur;
    for (qi = 0; qi < b->j->cfg.n_questions; qi++)
        b->q[qi].ncons = 0; /* no people's judgment: no consensus */
    if (c->loaded && c->nj > 0) {
        b->items++;
        for (qi = 0; qi < b->j->cfg.n_questions; qi++)
            add_item(&b->q[qi], c);
        gold(b->j, c);
    }
    /* Each judge's judgment as the item's only one, in the judge's own
     * accumulators (which compare it with the people's consensus). */
    for (k = 0; c->loaded && k < c->njj; k++) {
        struct judge *g = &b->judges[c->jjudge[k]];
        struct jrec keep = c->j[0];
        int nj = c->nj;
        g->judgments++;
        g->items_with_people += nj > 0;
        c->j[0] = c->jj[k];
        c->nj = 1;
        for (qi = 0; qi < b->j->cfg.n_questions; qi++) {
            struct qacc *a = &g->q[qi];
            a->k_same = a->k_units = 0;
            add_item(a, c);
            if (a->k_units > 0)
                stats_cluster_add(&a->kcl, a->k_same, a->k_units);
        }
        c->jj[k] = c->j[0];
        c->j[0] = keep;
        c->nj = nj;
    }
    drop_item(c);
}

static int push(double **v, int64_t *n, int64_t *cap, double x)
{
    if (*n == *cap) {
        double *nv = realloc(*v, sizeof *nv * (size_t)(*cap = *cap ? *cap * 2 : 64));
        if (nv == NULL)
            return ERR_NOMEM;
        *v = nv;
    }
    (*v)[(*n)++] = x;
    return 0;
}

static int add_secs(struct labeler *l, double s)
{
    return push(&l->secs, &l->nsecs, &l->cap, s);
}

/* A judgment's answers (column 2) and shown order (3) into r. */
static int jrec_read(struct jrec *r, sqlite3_stmt *st)
{
    r->answers = NULL;
    r->has_act = 0;
    r->raw_len = (size_t)sqlite3_column_bytes(st, 2);
    if ((r->raw = malloc(r->raw_len + 1)) == NULL)
        return ERR_NOMEM;
    memcpy(r->raw, sqlite3_column_text(st, 2), r->raw_len);
    r->raw[r->raw_len] = '\0';
    r->nshown = task_shown_parse((const char *)sqlite3_column_text(st, 3), r->shown, MAX_RESP);
    if (r->nshown < 0)
        r->nshown = 0; /* no position for the bias figure */
    return 0;
}

static int read_judgments(struct db *db, struct build *b)
{
    int64_t after = 0, item = 0;
    int rc = 0, keep = 1;
    for (;;) {
        struct db_conn *c = db_reader(db);
        sqlite3_stmt *st =
            c != NULL ? db_stmt(c, b->has_judges ? SQL_REPORT_PAGE_JUDGES : SQL_REPORT_PAGE) : NULL;
        int n = 0, step = SQLITE_DONE;
        int64_t last_whole = after;
        if (st == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, b->j->id);
        sqlite3_bind_int64(st, 2, after);
        sqlite3_bind_int(st, 3, PAGE_ROWS);
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            struct jrec *r;
            n++;
            if (id != item) {
                if (item != 0) {
                    flush_item(b);
                    last_whole = item;
                }
                item = id;
                {
                    sqlite3_stmt *is = db_stmt(c, SQL_REPORT_ITEM);
                    rc = ERR_DB;
                    if (is != NULL) {
                        sqlite3_bind_int64(is, 1, id);
                        if (sqlite3_step(is) == SQLITE_ROW)
                            rc = load_item(&b->cur, (const char *)sqlite3_column_text(is, 0),
                                           (size_t)sqlite3_column_bytes(is, 0), &b->models, b->o,
                                           &keep);
                        db_done(is);
                    }
                }
                if (rc != 0)
                    break;
            }
            if (!keep)
                continue;
            if (b->has_judges && sqlite3_column_type(st, 7) != SQLITE_NULL) {
                /* A model judge's: kept apart, counted when the item is. */
                struct judge *g = judge_of(b, (const char *)sqlite3_column_text(st, 7));
                if (g == NULL && b->njudges < REPORT_JUDGES_MAX) {
                    rc = ERR_NOMEM;
                    break;
                }
                if (g == NULL || b->cur.njj == REPORT_JUDGES_MAX) {
                    b->judges_left_out++;
                    continue;
                }
                r = &b->cur.jj[b->cur.njj];
                r->who = &g->who;
                if ((rc = jrec_read(r, st)) != 0)
                    break;
                b->cur.jjudge[b->cur.njj++] = (int)(g - b->judges);
                continue;
            }
            if (b->cur.nj == ITEM_JUDGMENTS_MAX)
                continue;
            r = &b->cur.j[b->cur.nj];
            if ((r->who = labeler_of(&b->labs, sqlite3_column_int64(st, 1))) == NULL ||
                jrec_read(r, st) != 0) {
                rc = ERR_NOMEM;
                break;
            }
            b->cur.nj++;
            b->judgments++;
            r->who->judgments++;
            rc = add_secs(r->who,
                          (double)(sqlite3_column_int64(st, 5) - sqlite3_column_int64(st, 4)) /
                              1000.0);
            r->has_act = sqlite3_column_type(st, 6) != SQLITE_NULL;
            if (rc == 0 && r->has_act)
                rc = push(&r->who->act, &r->who->nact, &r->who->act_cap,
                          (double)sqlite3_column_int64(st, 6) / 1000.0);
        }
        if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
            rc = ERR_DB;
        db_done(st);
        if (rc != 0)
            break;
        if (n < PAGE_ROWS) {
            flush_item(b); /* the end: the last item is whole */
            break;
        }
        /* A full page: its last item may go on; read it again whole. */
        {
            int k;
            for (k = 0; k < b->cur.nj; k++) {
                b->cur.j[k].who->judgments--;
                b->cur.j[k].who->nsecs--;
                b->cur.j[k].who->nact -= b->cur.j[k].has_act;
            }
            b->judgments -= b->cur.nj;
            drop_item(&b->cur);
        }
        if (last_whole == after) {
            rc = ERR_DB; /* one item filled a page: cannot happen */
            break;
        }
        after = last_whole;
        item = 0;
    }
    flush_item(b);
    return rc;
}

static int read_skips(struct db *db, struct build *b)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_REPORT_SKIPS) : NULL;
    int step;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, b->j->id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct labeler *l;
        if (b->o->nfilters > 0) {
            json_t *root = json_loadb((const char *)sqlite3_column_text(st, 1),
                                      (size_t)sqlite3_column_bytes(st, 1), 0, NULL);
            int pass = root != NULL && item_passes(json_object_get(root, "metadata"), b->o);
            json_decref(root);
            if (!pass)
                continue;
        }
        if ((l = labeler_of(&b->labs, sqlite3_column_int64(st, 0))) == NULL)
            break;
        l->skips++;
    }
    db_done(st);
    return step == SQLITE_DONE ? 0 : ERR_DB;
}

static json_t *judges_json_of(struct build *b)
{
    json_t *list = json_array();
    int i, qi;
    for (i = 0; i < b->njudges; i++) {
        struct judge *g = &b->judges[i];
        json_t *qs = json_array(), *pb;
        for (qi = 0; qi < b->j->cfg.n_questions; qi++) {
            json_t *qj = question_json(&g->q[qi], &b->models, &b->labs, b->o);
            if (qj != NULL && g->q[qi].points > 0)
                json_object_set_new(qj, "agreement_with_people", judge_vs_people_json(&g->q[qi]));
            json_array_append_new(qs, qj);
        }
        if (g->who.decided > 0) {
            double lo, hi, p = stats_binom_test_half(g->who.first_wins, g->who.decided);
            stats_wilson((double)g->who.first_wins, (double)g->who.decided, Z95, &lo, &hi);
            pb = json_pack("{sIsIsososossso}", "first_shown_wins", (json_int_t)g->who.first_wins,
                           "decided", (json_int_t)g->who.decided, "rate",
                           num((double)g->who.first_wins / (double)g->who.decided), "ci",
                           interval(lo, hi), "p", num(p), "test",
                           "exact binomial, two-sided, against 1/2", "biased",
                           json_boolean(g->who.decided >= 10 && p < 0.05));
        } else {
            pb = json_null();
        }
        json_array_append_new(list, json_pack("{sssIsIsoso}", "judge", g->name, "judgments",
                                              (json_int_t)g->judgments, "items_with_people",
                                              (json_int_t)g->items_with_people, "position_bias", pb,
                                              "questions", qs));
    }
    return list;
}

int report_build(struct db *db, const struct job *j, const struct report_opts *o, json_t **out,
                 const char **why)
{
    struct build *b = calloc(1, sizeof *b);
    struct db_conn *c = db_reader(db);
    json_t *questions = NULL, *filters = NULL, *models = NULL;
    int rc = 0, i;
    int64_t cursor = 0;
    *out = NULL;
    if (b == NULL || c == NULL) {
        free(b);
        return ERR_NOMEM;
    }
    b->j = j;
    b->o = o;
    b->q = calloc((size_t)j->cfg.n_questions + 1, sizeof *b->q);
    if (b->q == NULL)
        rc = ERR_NOMEM;
    for (i = 0; rc == 0 && i < j->cfg.n_questions; i++)
        if (qacc_init(&b->q[i], &j->cfg.questions[i]) != 0)
            rc = ERR_NOMEM;
    /* The cursor first: a judgment that lands while the report is read
     * may or may not be in it, but the cursor says what surely is. */
    if (rc == 0)
        rc = export_cursor(c, j->id, &cursor);
    if (rc == 0 && (b->has_judges = judges_any(c, j->id)) < 0)
        rc = ERR_DB;
    if (rc == 0)
        rc = read_judgments(db, b);
    if (rc == ERR_INVALID)
        *why = "more models than a report can compare (256)";
    if (rc == 0)
        rc = read_skips(db, b);
    /* Labeler names: leads see who their labelers are. */
    for (i = 0; rc == 0 && i < b->labs.n; i++) {
        struct user u;
        if (user_get(c, b->labs.v[i]->id, &u) == 0)
            snprintf(b->labs.v[i]->name, sizeof b->labs.v[i]->name, "%s", u.name);
    }
    if (rc == 0) {
        questions = json_array();
        filters = json_object();
        models = json_array();
        for (i = 0; i < j->cfg.n_questions; i++)
            json_array_append_new(questions, question_json(&b->q[i], &b->models, &b->labs, o));
        for (i = 0; i < o->nfilters; i++)
            json_object_set_new(filters, o->fkey[i], json_string(o->fvalue[i]));
        for (i = 0; i < b->models.n; i++)
            json_array_append_new(models, json_string(b->models.v[i]));
        *out =
            json_pack("{s{sIss}sIsoso sIsI s{sIsI}soso}", "job", "id", (json_int_t)j->id, "name",
                      j->cfg.name, "cursor", (json_int_t)cursor, "filters", filters, "models",
                      models, "items", (json_int_t)b->items, "judgments", (json_int_t)b->judgments,
                      "bootstrap", "samples", (json_int_t)o->samples, "seed", (json_int_t)o->seed,
                      "questions", questions, "labelers", labelers_json(&b->labs));
        /* The labeler table shows each labeler's Dawid-Skene accuracy per
         * categorical question. */
        if (*out != NULL) {
            json_t *qv, *dl, *row;
            size_t qi, di, ri;
            json_array_foreach(json_object_get(*out, "labelers"), ri, row)
                json_object_set_new(row, "competence", json_object());
            json_array_foreach(json_object_get(*out, "questions"), qi, qv) json_array_foreach(
                json_object_get(json_object_get(qv, "dawid_skene"), "labelers"), di, dl)
                json_array_foreach(
                    json_object_get(*out, "labelers"), ri,
                    row) if (strcmp(json_string_value(json_object_get(row, "labeler")),
                                    json_string_value(json_object_get(dl, "labeler"))) == 0)
                    json_object_set(json_object_get(row, "competence"),
                                    json_string_value(json_object_get(qv, "name")),
                                    json_object_get(dl, "accuracy"));
        }
        if (*out != NULL)
            /* Every interval's method and level, in one place. */
            json_object_set_new(
                *out, "intervals",
                json_pack(
                    "{sfssssssssssssssssss}", "level", 0.95, "agreement",
                    "percentile of 200 resamples of the items (seeded), for alpha and Fleiss' "
                    "kappa",
                    "win_rate",
                    "Wilson on effective counts (items as clusters: comparisons over the "
                    "cluster-robust design effect), t quantile for items - 1 degrees of freedom",
                    "bt_rating",
                    "percentile of draws from Jeffreys-smoothed pair shares on effective counts, "
                    "refitted",
                    "bt_difference",
                    "percentile of the same draws; p from their tail, Holm-adjusted over pairs",
                    "rating_mean",
                    "Student's t, items - 1 degrees of freedom, cluster-robust standard error, "
                    "clipped to the scale",
                    "thumbs_up_rate",
                    "Wilson on effective counts (items as clusters), t quantile for items - 1 "
                    "degrees of freedom",
                    "position_bias", "Wilson; exact binomial test against 1/2", "top1_rate",
                    "Wilson (judgments as independent)", "rating_paired_test",
                    "Wilcoxon signed-rank, normal approximation with tie and continuity "
                    "corrections, Holm over pairs"));
        if (*out != NULL) {
            json_t *warn = json_array();
            if (!j->cfg.randomize_order)
                json_array_append_new(
                    warn,
                    json_string("Responses were shown in a fixed order (randomize_order is off): a "
                                "preference "
                                "for a model cannot be told apart from a preference for a "
                                "position. Win rates, "
                                "ratings and the decision compare positions as much as models."));
            json_object_set_new(*out, "warnings", warn);
        }
        if (*out != NULL) {
            /* Model judges, apart from every figure above. */
            json_object_set_new(*out, "judges", judges_json_of(b));
            if (b->judges_left_out > 0)
                json_array_append_new(
                    json_object_get(*out, "warnings"),
                    json_string("More than 16 model judges judged this job: the report compares "
                                "the first 16 it met."));
        }
        if (*out == NULL)
            rc = ERR_NOMEM;
        else if (j->cfg.acceptance != NULL)
            json_object_set_new(
                *out, "decision",
                decision_json(j->cfg.acceptance, json_object_get(*out, "questions")));
        else
            json_object_set_new(*out, "decision", json_null());
    }
    for (i = 0; i < j->cfg.n_questions && b->q != NULL; i++)
        qacc_free(&b->q[i]);
    for (i = 0; i < b->njudges; i++) {
        int qi;
        for (qi = 0; qi < j->cfg.n_questions && b->judges[i].q != NULL; qi++)
            qacc_free(&b->judges[i].q[qi]);
        free(b->judges[i].q);
        free(b->judges[i].who.secs);
    }
    /* A judge whose accumulators failed to start is past njudges. */
    if (b->njudges < REPORT_JUDGES_MAX && b->judges[b->njudges].q != NULL) {
        int qi;
        for (qi = 0; qi < j->cfg.n_questions; qi++)
            qacc_free(&b->judges[b->njudges].q[qi]);
        free(b->judges[b->njudges].q);
    }
    for (i = 0; i < b->models.n; i++)
        free(b->models.v[i]);
    for (i = 0; i < b->labs.n; i++) {
        free(b->labs.v[i]->secs);
        free(b->labs.v[i]->act);
        free(b->labs.v[i]);
    }
    free(b->labs.v);
    free(b->q);
    free(b);
    return rc;
}

/* ---- JSON Lines: a line per figure ---- */

static int put_line(char **lines, size_t *len, size_t *cap, json_t *row)
{
    char *s = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n;
    json_decref(row);
    if (s == NULL)
        return ERR_NOMEM;
    n = strlen(s);
    if (*len + n + 2 > *cap) {
        size_t nc = (*cap + n + 2) * 2;
        char *nl = realloc(*lines, nc);
        if (nl == NULL) {
            free(s);
            return ERR_NOMEM;
        }
        *lines = nl;
        *cap = nc;
    }
    memcpy(*lines + *len, s, n);
    (*lines)[*len + n] = '\n';
    *len += n + 1;
    (*lines)[*len] = '\0';
    free(s);
    return 0;
}

/* {"figure": figure, "question": q (if any), ...fields of obj}. */
static json_t *figure(const char *fig, const char *q, json_t *obj)
{
    json_t *row = json_pack("{ss}", "figure", fig);
    if (row != NULL && q != NULL)
        json_object_set_new(row, "question", json_string(q));
    if (row != NULL && json_is_object(obj))
        json_object_update(row, obj);
    return row;
}

int report_jsonl(json_t *report, char **lines, size_t *len)
{
    static const char *const arrays[][2] = {{"win_rates", "win_rate"},
                                            {"overall", "win_rate_overall"},
                                            {"bradley_terry", "bt_rating"},
                                            {"differences", "bt_difference"},
                                            {"ranks", "rank"},
                                            {"models", "rating"},
                                            {"paired", "rating_paired_test"},
                                            {"labels", "label"}};
    size_t cap = 0, i, k;
    json_t *q, *v, *summary;
    int rc;
    *lines = NULL;
    *len = 0;
    summary = json_pack(
        "{sOsOsOsOsOsOsOsO}", "intervals", json_object_get(report, "intervals"), "job",
        json_object_get(report, "job"), "cursor", json_object_get(report, "cursor"), "items",
        json_object_get(report, "items"), "judgments", json_object_get(report, "judgments"),
        "filters", json_object_get(report, "filters"), "models", json_object_get(report, "models"),
        "bootstrap", json_object_get(report, "bootstrap"));
    if ((rc = put_line(lines, len, &cap, figure("summary", NULL, summary))) != 0)
        return rc;
    json_decref(summary);
    json_array_foreach(json_object_get(report, "questions"), i, q)
    {
        const char *name = json_string_value(json_object_get(q, "name"));
        size_t a;
        for (a = 0; a < sizeof arrays / sizeof arrays[0]; a++)
            json_array_foreach(
                json_object_get(q, arrays[a][0]), k,
                v) if ((rc = put_line(lines, len, &cap, figure(arrays[a][1], name, v))) !=
                       0) return rc;
        if ((v = json_object_get(q, "bt")) != NULL) {
            json_t *fit = json_deep_copy(v);
            json_object_set(fit, "bt_prior", json_object_get(q, "bt_prior"));
            rc = put_line(lines, len, &cap, figure("bt_fit", name, fit));
            json_decref(fit);
            if (rc != 0)
                return rc;
        }
        if ((v = json_object_get(q, "position_bias")) != NULL &&
            (rc = put_line(lines, len, &cap, figure("position_bias", name, v))) != 0)
            return rc;
        if ((v = json_object_get(q, "agreement")) != NULL &&
            (rc = put_line(lines, len, &cap, figure("agreement", name, v))) != 0)
            return rc;
    }
    json_array_foreach(json_object_get(report, "warnings"), k, v)
    {
        json_t *w = json_pack("{sO}", "text", v);
        rc = put_line(lines, len, &cap, figure("warning", NULL, w));
        json_decref(w);
        if (rc != 0)
            return rc;
    }
    json_array_foreach(json_object_get(report, "labelers"), k,
                       v) if ((rc = put_line(lines, len, &cap, figure("labeler", NULL, v))) !=
                              0) return rc;
    /* Model judges: a line for each, then its figures named judge_*, each
     * with the judge's name. */
    json_array_foreach(json_object_get(report, "judges"), i, v)
    {
        static const char *const jarrays[][2] = {{"win_rates", "judge_win_rate"},
                                                 {"bradley_terry", "judge_bt_rating"},
                                                 {"models", "judge_rating"},
                                                 {"labels", "judge_label"}};
        json_t *head = json_deep_copy(v), *jname = json_object_get(v, "judge"), *x;
        size_t a, e;
        json_object_del(head, "questions");
        rc = put_line(lines, len, &cap, figure("judge", NULL, head));
        json_decref(head);
        if (rc != 0)
            return rc;
        json_array_foreach(json_object_get(v, "questions"), k, q)
        {
            const char *name = json_string_value(json_object_get(q, "name"));
            for (a = 0; a < sizeof jarrays / sizeof jarrays[0]; a++)
                json_array_foreach(json_object_get(q, jarrays[a][0]), e, x)
                {
                    json_t *row = json_deep_copy(x);
                    json_object_set(row, "judge", jname);
                    rc = put_line(lines, len, &cap, figure(jarrays[a][1], name, row));
                    json_decref(row);
                    if (rc != 0)
                        return rc;
                }
            if ((x = json_object_get(q, "agreement_with_people")) != NULL) {
                json_t *row = json_deep_copy(x);
                json_object_set(row, "judge", jname);
                rc = put_line(lines, len, &cap, figure("judge_agreement", name, row));
                json_decref(row);
                if (rc != 0)
                    return rc;
            }
        }
    }
    if ((v = json_object_get(report, "decision")) != NULL && json_is_object(v) &&
        (rc = put_line(lines, len, &cap, figure("decision", NULL, v))) != 0)
        return rc;
    return 0;
}
