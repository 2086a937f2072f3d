/* questions.c: a job's questions and the answers to them (see jobs.h):
 * the question schema (pairwise, rank, rating, text, labels), parsed and
 * validated field by field with every problem collected, their normalised
 * JSON, and the exact check of a judgment's answers against them. Pure:
 * no database, no HTTP; thread-safe. */
#include "items.h"
#include "jobs.h"

#include "util.h"
#include "valid.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const qtype_names[] = {"pairwise", "rank", "rating", "text", "labels"};

const char *job_qtype_name(enum qtype t)
{
    return qtype_names[t];
}

static int name_valid(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > QUESTION_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* ---- questions ---- */

void job_question_clear(struct question *q)
{
    int i;
    free(q->help);
    free(q->title);
    json_decref(q->scale_labels);
    for (i = 0; i < q->n_options; i++)
        free(q->options[i]);
    free(q->options);
    memset(q, 0, sizeof *q);
}

static void parse_scale(json_t *o, const char *base, struct question *q, struct problems *pr)
{
    static const char *const keys[] = {"min", "max", "labels", NULL};
    json_t *scale = json_object_get(o, "scale");
    char f[256];
    valid_path(f, sizeof f, base, "scale");
    if (json_is_string(scale) && strcmp(json_string_value(scale), "thumbs") == 0) {
        q->thumbs = 1;
        return;
    }
    if (!json_is_object(scale)) {
        problems_add(pr, f,
                     scale == NULL ? "is required: \"thumbs\" or {\"min\", \"max\"}"
                                   : "must be \"thumbs\" or {\"min\", \"max\", \"labels\"}");
        return;
    }
    valid_keys(scale, f, keys, pr);
    q->min = q->max = 0;
    if (json_object_get(scale, "min") == NULL || json_object_get(scale, "max") == NULL) {
        problems_add(pr, f, "needs both min and max");
        return;
    }
    valid_int(scale, f, "min", -1000, 1000, &q->min, pr);
    valid_int(scale, f, "max", -1000, 1000, &q->max, pr);
    if (q->max <= q->min) {
        char g[300];
        valid_path(g, sizeof g, f, "max");
        problems_add(pr, g, "must be greater than min");
    } else if (q->max - q->min > 100) {
        problems_add(pr, f, "at most 101 points");
    }
    {
        json_t *labels = json_object_get(scale, "labels"), *v;
        const char *key;
        char g[300];
        valid_path(g, sizeof g, f, "labels");
        if (labels == NULL || json_is_null(labels))
            return;
        if (!json_is_object(labels)) {
            problems_add(pr, g, "must be an object such as {\"1\": \"poor\", \"5\": \"great\"}");
            return;
        }
        json_object_foreach(labels, key, v)
        {
            char h[400], *end;
            long k = strtol(key, &end, 10);
            valid_path(h, sizeof h, g, key);
            if (*key == '\0' || *end != '\0' || k < q->min || k > q->max)
                problems_add(pr, h, "must be a point of the scale (%d to %d)", q->min, q->max);
            else if (!json_is_string(v) || util_utf8_len(json_string_value(v)) > 200)
                problems_add(pr, h, "must be a string of at most 200 characters");
        }
        q->scale_labels = json_incref(labels);
    }
}

static void parse_question(json_t *o, int idx, struct question *q, struct problems *pr)
{
    static const char *const common[] = {"name", "title", "type", "required", "help", NULL};
    static const char *const k_pair[] = {"name",           "title",    "type",
                                         "required",       "help",     "allow_tie",
                                         "allow_both_bad", "strength", NULL};
    static const char *const k_rank[] = {"name", "title",      "type", "required",
                                         "help", "allow_ties", NULL};
    static const char *const k_rating[] = {"name", "title", "type",         "required",
                                           "help", "scale", "per_response", NULL};
    static const char *const k_text[] = {"name",    "title",     "type",      "required", "help",
                                         "prefill", "min_chars", "max_chars", NULL};
    static const char *const k_labels[] = {"name", "title",   "type",     "required",
                                           "help", "options", "multiple", NULL};
    char base[64], f[256];
    const char *name, *type, *help, *title;
    int t;
    snprintf(base, sizeof base, "questions[%d]", idx);
    memset(q, 0, sizeof *q);
    q->required = 1;
    if (!json_is_object(o)) {
        problems_add(pr, base, "must be an object");
        return;
    }
    name = valid_str(o, base, "name", 1, QUESTION_NAME_MAX, pr);
    valid_path(f, sizeof f, base, "name");
    if (name != NULL && !name_valid(name))
        problems_add(pr, f, "must be 1-64 letters, digits, '_' or '-'");
    else if (name != NULL)
        snprintf(q->name, sizeof q->name, "%s", name);
    type = valid_str(o, base, "type", 1, 32, pr);
    for (t = 0; type != NULL && t < 5 && strcmp(type, qtype_names[t]) != 0; t++)
        ;
    if (type == NULL || t == 5) {
        if (type != NULL) {
            valid_path(f, sizeof f, base, "type");
            problems_add(pr, f, "must be pairwise, rank, rating, text or labels");
        }
        valid_keys(o, base, common, pr);
        return;
    }
    q->type = (enum qtype)t;
    valid_bool(o, base, "required", &q->required, pr);
    help = valid_str(o, base, "help", 0, 2000, pr);
    if (help != NULL)
        q->help = strdup(help);
    title = valid_str(o, base, "title", 0, QUESTION_TITLE_MAX, pr);
    if (title != NULL && title[strspn(title, " \t\r\n")] != '\0')
        q->title = strdup(title);
    switch (q->type) {
    case Q_PAIRWISE: {
        json_t *s = json_object_get(o, "strength");
        valid_keys(o, base, k_pair, pr);
        valid_bool(o, base, "allow_tie", &q->allow_tie, pr);
        valid_bool(o, base, "allow_both_bad", &q->allow_both_bad, pr);
        if (json_is_false(s) || json_is_null(s) || s == NULL) {
            q->strength = 0;
        } else if (!json_is_integer(s) || json_integer_value(s) < 1 || json_integer_value(s) > 3) {
            valid_path(f, sizeof f, base, "strength");
            problems_add(pr, f, "must be 1, 2 or 3 (the strongest level), or false");
        } else {
            q->strength = (int)json_integer_value(s);
        }
        break;
    }
    case Q_RANK:
        valid_keys(o, base, k_rank, pr);
        valid_bool(o, base, "allow_ties", &q->allow_ties, pr);
        break;
    case Q_RATING:
        valid_keys(o, base, k_rating, pr);
        q->per_response = 1;
        valid_bool(o, base, "per_response", &q->per_response, pr);
        parse_scale(o, base, q, pr);
        break;
    case Q_TEXT: {
        const char *prefill = valid_str(o, base, "prefill", 0, 80, pr);
        valid_keys(o, base, k_text, pr);
        q->max_chars = 20000;
        valid_int(o, base, "min_chars", 0, 100000, &q->min_chars, pr);
        valid_int(o, base, "max_chars", 1, 100000, &q->max_chars, pr);
        if (q->max_chars < q->min_chars) {
            valid_path(f, sizeof f, base, "max_chars");
            problems_add(pr, f, "must be at least min_chars");
        }
        valid_path(f, sizeof f, base, "prefill");
        if (prefill == NULL || strcmp(prefill, "none") == 0) {
            q->prefill = PREFILL_NONE;
        } else if (strcmp(prefill, "best") == 0) {
            q->prefill = PREFILL_BEST;
        } else if (strncmp(prefill, "response:", 9) == 0 && name_valid(prefill + 9)) {
            q->prefill = PREFILL_RESPONSE;
            snprintf(q->prefill_id, sizeof q->prefill_id, "%s", prefill + 9);
        } else {
            problems_add(pr, f, "must be \"response:<id>\", \"best\" or \"none\"");
        }
        break;
    }
    case Q_LABELS: {
        json_t *opts = json_object_get(o, "options"), *v;
        size_t i, j;
        valid_keys(o, base, k_labels, pr);
        valid_bool(o, base, "multiple", &q->multiple, pr);
        valid_path(f, sizeof f, base, "options");
        if (!json_is_array(opts) || json_array_size(opts) == 0 ||
            json_array_size(opts) > LABELS_MAX) {
            problems_add(pr, f, "must be a list of 1 to %d labels", LABELS_MAX);
            break;
        }
        q->options = calloc(json_array_size(opts), sizeof *q->options);
        json_array_foreach(opts, i, v)
        {
            char g[300];
            snprintf(g, sizeof g, "%s[%zu]", f, i);
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                util_utf8_len(json_string_value(v)) > 64 ||
                strlen(json_string_value(v)) != json_string_length(v)) {
                problems_add(pr, g, "must be a label of 1 to 64 characters");
                continue;
            }
            for (j = 0; q->options != NULL && j < (size_t)q->n_options; j++)
                if (strcmp(q->options[j], json_string_value(v)) == 0)
                    break;
            if (j < (size_t)q->n_options)
                problems_add(pr, g, "repeats the label \"%s\"", json_string_value(v));
            else if (q->options != NULL)
                q->options[q->n_options++] = strdup(json_string_value(v));
        }
        break;
    }
    }
}

int job_questions_parse(json_t *arr, struct job_config *cfg, struct problems *pr)
{
    size_t i, j;
    int before = pr->count;
    json_t *v;
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > JOB_QUESTIONS_MAX) {
        problems_add(pr, "questions", "must be a list of 1 to %d questions", JOB_QUESTIONS_MAX);
        return ERR_INVALID;
    }
    cfg->questions = calloc(json_array_size(arr), sizeof *cfg->questions);
    if (cfg->questions == NULL)
        return ERR_NOMEM;
    json_array_foreach(arr, i, v)
    {
        struct question *q = &cfg->questions[cfg->n_questions++];
        parse_question(v, (int)i, q, pr);
        for (j = 0; j < i && q->name[0] != '\0'; j++)
            if (strcmp(cfg->questions[j].name, q->name) == 0) {
                char f[64];
                snprintf(f, sizeof f, "questions[%zu].name", i);
                problems_add(pr, f, "repeats the name of questions[%zu]", j);
            }
    }
    return pr->count > before ? ERR_INVALID : 0;
}

json_t *job_questions_json(const struct job_config *cfg)
{
    json_t *arr = json_array();
    int i, k;
    for (i = 0; i < cfg->n_questions; i++) {
        const struct question *q = &cfg->questions[i];
        json_t *o = json_pack("{sssssb}", "name", q->name, "type", qtype_names[q->type], "required",
                              q->required);
        if (q->title != NULL)
            json_object_set_new(o, "title", json_string(q->title));
        if (q->help != NULL)
            json_object_set_new(o, "help", json_string(q->help));
        switch (q->type) {
        case Q_PAIRWISE:
            json_object_set_new(o, "allow_tie", json_boolean(q->allow_tie));
            json_object_set_new(o, "allow_both_bad", json_boolean(q->allow_both_bad));
            json_object_set_new(o, "strength",
                                q->strength > 0 ? json_integer(q->strength) : json_false());
            break;
        case Q_RANK: json_object_set_new(o, "allow_ties", json_boolean(q->allow_ties)); break;
        case Q_RATING:
            if (q->thumbs) {
                json_object_set_new(o, "scale", json_string("thumbs"));
            } else {
                json_t *scale = json_pack("{sisi}", "min", q->min, "max", q->max);
                if (q->scale_labels != NULL)
                    json_object_set(scale, "labels", q->scale_labels);
                json_object_set_new(o, "scale", scale);
            }
            json_object_set_new(o, "per_response", json_boolean(q->per_response));
            break;
        case Q_TEXT:
            if (q->prefill == PREFILL_RESPONSE) {
                char p[80];
                snprintf(p, sizeof p, "response:%s", q->prefill_id);
                json_object_set_new(o, "prefill", json_string(p));
            } else {
                json_object_set_new(o, "prefill",
                                    json_string(q->prefill == PREFILL_BEST ? "best" : "none"));
            }
            json_object_set_new(o, "min_chars", json_integer(q->min_chars));
            json_object_set_new(o, "max_chars", json_integer(q->max_chars));
            break;
        case Q_LABELS: {
            json_t *opts = json_array();
            for (k = 0; k < q->n_options; k++)
                json_array_append_new(opts, json_string(q->options[k]));
            json_object_set_new(o, "options", opts);
            json_object_set_new(o, "multiple", json_boolean(q->multiple));
            break;
        }
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* ---- answers ---- */

static int resp_index(const char *const *ids, int n, const char *id)
{
    int i;
    for (i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return i;
    return -1;
}

/* Rank: a permutation of the response ids, flat or (allow_ties) grouped. */
static void check_rank(const struct question *q, json_t *v, const char *f, const char *const *ids,
                       int n, struct problems *pr)
{
    int seen[64] = {0}, count = 0, grouped = 0;
    size_t i, j;
    json_t *e, *g;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        problems_add(pr, f, "must be a list of response ids, best first");
        return;
    }
    json_array_foreach(v, i, e)
    {
        size_t m = json_is_array(e) ? json_array_size(e) : 1;
        if (json_is_array(e))
            grouped = 1;
        if (json_is_array(e) && !q->allow_ties) {
            problems_add(pr, f, "ties are not allowed in this ranking");
            return;
        }
        if (json_is_array(e) && m == 0) {
            problems_add(pr, f, "a tie group must not be empty");
            return;
        }
        for (j = 0; j < m; j++) {
            int k;
            g = json_is_array(e) ? json_array_get(e, j) : e;
            if (!json_is_string(g)) {
                problems_add(pr, f, "must hold response ids (strings)");
                return;
            }
            k = resp_index(ids, n, json_string_value(g));
            if (k < 0) {
                problems_add(pr, f, "\"%s\" is not a response of this item", json_string_value(g));
                return;
            }
            if (seen[k]++) {
                problems_add(pr, f, "ranks \"%s\" twice: not a permutation", json_string_value(g));
                return;
            }
            count++;
        }
    }
    (void)grouped;
    if (count != n)
        problems_add(pr, f, "ranks %d of the %d responses: not a permutation", count, n);
}

static void check_score(const struct question *q, json_t *v, const char *f, struct problems *pr)
{
    if (q->thumbs) {
        if (!json_is_boolean(v))
            problems_add(pr, f, "must be true (thumbs up) or false (thumbs down)");
        return;
    }
    if (!json_is_integer(v) || json_integer_value(v) < q->min || json_integer_value(v) > q->max)
        problems_add(pr, f, "must be an integer from %d to %d", q->min, q->max);
}

static void check_answer(const struct question *q, json_t *v, const char *f, const char *const *ids,
                         int n, struct problems *pr)
{
    char g[300];
    switch (q->type) {
    case Q_PAIRWISE: {
        static const char *const keys[] = {"winner", "strength", NULL};
        const char *w;
        json_t *s;
        int is_resp;
        if (!json_is_object(v)) {
            problems_add(pr, f, "must be {\"winner\": ...}");
            return;
        }
        valid_keys(v, f, keys, pr);
        w = valid_str(v, f, "winner", 1, 64, pr);
        if (w == NULL)
            return;
        valid_path(g, sizeof g, f, "winner");
        is_resp = resp_index(ids, n, w) >= 0;
        if (!is_resp && !(q->allow_tie && strcmp(w, "tie") == 0) &&
            !(q->allow_both_bad && strcmp(w, "both_bad") == 0)) {
            problems_add(pr, g, "must be the id of one of the two responses%s%s",
                         q->allow_tie ? " or \"tie\"" : "",
                         q->allow_both_bad ? " or \"both_bad\"" : "");
            return;
        }
        s = json_object_get(v, "strength");
        valid_path(g, sizeof g, f, "strength");
        if (q->strength == 0 || !is_resp) {
            if (s != NULL && !json_is_null(s))
                problems_add(pr, g,
                             q->strength == 0 ? "this question asks no strength"
                                              : "only a winner has a strength");
        } else if (s == NULL || json_is_null(s)) {
            problems_add(pr, g, "is required (1 to %d)", q->strength);
        } else if (!json_is_integer(s) || json_integer_value(s) < 1 ||
                   json_integer_value(s) > q->strength) {
            problems_add(pr, g, "must be an integer from 1 to %d", q->strength);
        }
        return;
    }
    case Q_RANK: check_rank(q, v, f, ids, n, pr); return;
    case Q_RATING:
        if (q->per_response) {
            const char *key;
            json_t *e;
            int i;
            if (!json_is_object(v)) {
                problems_add(pr, f, "must be an object with a score per response id");
                return;
            }
            json_object_foreach(v, key, e)
            {
                valid_path(g, sizeof g, f, key);
                if (resp_index(ids, n, key) < 0)
                    problems_add(pr, g, "is not a response of this item");
                else
                    check_score(q, e, g, pr);
            }
            for (i = 0; i < n; i++)
                if (json_object_get(v, ids[i]) == NULL) {
                    valid_path(g, sizeof g, f, ids[i]);
                    problems_add(pr, g, "is required: every response is rated");
                }
        } else {
            check_score(q, v, f, pr);
        }
        return;
    case Q_TEXT: {
        size_t len;
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            problems_add(pr, f, "must be a string");
            return;
        }
        len = util_utf8_len(json_string_value(v));
        if (len < (size_t)q->min_chars || len > (size_t)q->max_chars)
            problems_add(pr, f, "must have %d to %d characters (has %zu)", q->min_chars,
                         q->max_chars, len);
        else if (q->required &&
                 json_string_value(v)[strspn(json_string_value(v), " \t\r\n")] == '\0')
            problems_add(pr, f, "must not be blank");
        return;
    }
    case Q_LABELS: {
        size_t i, j;
        json_t *e;
        if (!json_is_array(v)) {
            problems_add(pr, f, "must be a list of labels");
            return;
        }
        if (!q->multiple && json_array_size(v) != 1) {
            problems_add(pr, f, "takes exactly one label");
            return;
        }
        json_array_foreach(v, i, e)
        {
            int k;
            for (k = 0; json_is_string(e) && k < q->n_options; k++)
                if (strcmp(q->options[k], json_string_value(e)) == 0)
                    break;
            if (!json_is_string(e) || k == q->n_options) {
                problems_add(pr, f, "holds a label that is not an option");
                return;
            }
            for (j = 0; j < i; j++)
                if (json_equal(json_array_get(v, j), e)) {
                    problems_add(pr, f, "repeats the label \"%s\"", json_string_value(e));
                    return;
                }
        }
        return;
    }
    }
}

int job_answers_check(const struct job_config *cfg, json_t *answers, const char *const *resp_ids,
                      int n_resp, int partial, const char *prefix, struct problems *pr)
{
    const char *key;
    json_t *v;
    int before = pr->count, i;
    char f[256];
    if (!json_is_object(answers)) {
        problems_add(pr, prefix, "must be an object of answers by question name");
        return ERR_INVALID;
    }
    json_object_foreach(answers, key, v)
    {
        for (i = 0; i < cfg->n_questions && strcmp(cfg->questions[i].name, key) != 0; i++)
            ;
        if (i == cfg->n_questions) {
            valid_path(f, sizeof f, prefix, key);
            problems_add(pr, f, "is not a question of this job");
        }
    }
    for (i = 0; i < cfg->n_questions; i++) {
        const struct question *q = &cfg->questions[i];
        valid_path(f, sizeof f, prefix, q->name);
        v = json_object_get(answers, q->name);
        if (v == NULL || json_is_null(v)) {
            if (q->required && !partial)
                problems_add(pr, f, "is required");
            continue;
        }
        check_answer(q, v, f, resp_ids, n_resp, pr);
    }
    return pr->count > before ? ERR_INVALID : 0;
}

/* The position of each response id in a ranking (tie groups share one),
 * into pos[i] for ids[i]; -1 when absent. */
static void rank_positions(json_t *v, const char *const *ids, int n, int *pos)
{
    size_t i, j;
    json_t *e;
    int k;
    for (k = 0; k < n; k++)
        pos[k] = -1;
    json_array_foreach(v, i, e)
    {
        size_t m = json_is_array(e) ? json_array_size(e) : 1;
        for (j = 0; j < m; j++) {
            json_t *g = json_is_array(e) ? json_array_get(e, j) : e;
            if (json_is_string(g) && (k = resp_index(ids, n, json_string_value(g))) >= 0)
                pos[k] = (int)i;
        }
    }
}

static int cmp_int(int a, int b)
{
    return (a > b) - (a < b);
}

static double score_distance(const struct question *q, json_t *a, json_t *b)
{
    if (q->thumbs)
        return json_equal(a, b) ? 0.0 : 1.0;
    if (!json_is_integer(a) || !json_is_integer(b) || q->max == q->min)
        return json_equal(a, b) ? 0.0 : 1.0;
    return fabs((double)(json_integer_value(a) - json_integer_value(b))) / (q->max - q->min);
}

/* How far apart two valid answers to q are, from 0 (the same) to 1. */
static double answer_distance(const struct question *q, json_t *a, json_t *b,
                              const char *const *ids, int n)
{
    switch (q->type) {
    case Q_PAIRWISE:
        return json_equal(json_object_get(a, "winner"), json_object_get(b, "winner")) ? 0.0 : 1.0;
    case Q_RANK: {
        /* Kendall distance: the share of response pairs ordered otherwise
         * (a tie against an order counts half). */
        int pa[ITEM_RESPONSES_MAX], pb[ITEM_RESPONSES_MAX], i, k, pairs = 0;
        double d = 0;
        if (n > ITEM_RESPONSES_MAX)
            n = ITEM_RESPONSES_MAX;
        rank_positions(a, ids, n, pa);
        rank_positions(b, ids, n, pb);
        for (i = 0; i < n; i++)
            for (k = i + 1; k < n; k++) {
                int x = cmp_int(pa[i], pa[k]), y = cmp_int(pb[i], pb[k]);
                pairs++;
                d += x == y ? 0.0 : (x == 0 || y == 0) ? 0.5 : 1.0;
            }
        return pairs > 0 ? d / pairs : 0.0;
    }
    case Q_RATING: {
        const char *key;
        json_t *e;
        double d = 0;
        int m = 0;
        if (!q->per_response)
            return score_distance(q, a, b);
        json_object_foreach(a, key, e)
        {
            json_t *f = json_object_get(b, key);
            if (f != NULL) {
                d += score_distance(q, e, f);
                m++;
            }
        }
        return m > 0 ? d / m : 0.0;
    }
    case Q_LABELS: {
        size_t i, j, both = 0, na = json_array_size(a), nb = json_array_size(b);
        for (i = 0; i < na; i++)
            for (j = 0; j < nb; j++)
                if (json_equal(json_array_get(a, i), json_array_get(b, j)))
                    both++;
        return na + nb - both > 0 ? 1.0 - (double)both / (double)(na + nb - both) : 0.0;
    }
    case Q_TEXT: break;
    }
    return 0.0;
}

double job_answers_disagreement(const struct job_config *cfg, json_t *const *answers, int n,
                                const char *const *resp_ids, int n_resp)
{
    double total = 0;
    int i, a, b, counted = 0;
    for (i = 0; i < cfg->n_questions; i++) {
        const struct question *q = &cfg->questions[i];
        double d = 0;
        int pairs = 0;
        if (q->type == Q_TEXT)
            continue;
        for (a = 0; a < n; a++) {
            json_t *x = json_object_get(answers[a], q->name);
            if (x == NULL || json_is_null(x))
                continue;
            for (b = a + 1; b < n; b++) {
                json_t *y = json_object_get(answers[b], q->name);
                if (y == NULL || json_is_null(y))
                    continue;
                d += answer_distance(q, x, y, resp_ids, n_resp);
                pairs++;
            }
        }
        if (pairs > 0) {
            total += d / pairs;
            counted++;
        }
    }
    return counted > 0 ? total / counted : -1.0;
}
