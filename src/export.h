/* export.h: JSON Lines exports of a job's judgments, for training
 * pipelines (formats in docs/formats.md, schemas in schema/export/).
 *
 * An export is streamed: rows are read in pages, each page in its own
 * short read transaction, and written to a sink as they are made, so
 * memory stays flat and the writer is never held up, whatever the job's
 * size. Every judgment carries seq, the job's change counter (bumped by a
 * submit or a revision); an export covers since < seq <= cursor, where the
 * cursor is the job's last seq when the export starts. Pulling again with
 * since = that cursor gives only what was judged or revised after it. */
#ifndef ARBITER_EXPORT_H
#define ARBITER_EXPORT_H

#include "db.h"
#include "jobs.h"

#include <stdint.h>

enum export_format {
    EXPORT_RAW,
    EXPORT_SFT,
    EXPORT_OPENAI_CHAT,
    EXPORT_PREFERENCE,
    EXPORT_OPENAI_PREFERENCE,
    EXPORT_KTO,
};

/* Which judgments an export takes (review=): those not rejected (the
 * default), the accepted only, or every one (raw rows then say which). */
enum export_review { EXPORT_REVIEW_DEFAULT, EXPORT_REVIEW_ACCEPTED, EXPORT_REVIEW_ALL };

/* Rows per judgment (none), or per item decided by its judgments together:
 * by the strict majority, or by the Dawid-Skene posterior, which weighs
 * each labeler by their reliability estimated over the whole job. */
enum export_aggregate { EXPORT_AGG_NONE, EXPORT_AGG_MAJORITY, EXPORT_AGG_DAWID_SKENE };

struct export_opts {
    enum export_format format;
    enum export_review review;
    int64_t since;                   /* seq; 0: from the start */
    enum export_aggregate aggregate; /* a row per item (and pair) unless none */
    double min_agreement;            /* majority: least share of the votes (0.5..1);
                                      * dawid-skene: least posterior probability */
    const char *question;            /* only this question; NULL: every fitting one */
    int rank_best;                   /* rank_pairs=best: the top against each other */
    int min_gap;                     /* rating pairs: least score gap (1) */
    int has_best_rated;              /* sft: also the best-rated response ... */
    int best_rated;                  /* ... when its score is at least this */
    int has_kto_good, kto_good;      /* kto: label true at >= kto_good ... */
    int has_kto_bad, kto_bad;        /* ... false at <= kto_bad; default: the
                                      * scale's upper and lower halves */
};

/* Defaults: raw, since 0, aggregate none, min_agreement 0.5, min_gap 1. */
void export_opts_default(struct export_opts *o);

/* Sets option name (a query parameter or CLI flag without "--") from
 * value. 0, ERR_NOT_FOUND (no such option) or ERR_INVALID with *why. */
int export_opt_set(struct export_opts *o, const char *name, const char *value, const char **why);

/* Checks the options against each other and against job j. 0 or
 * ERR_INVALID with *why and *field. */
int export_opts_check(const struct export_opts *o, const struct job *j, const char **why,
                      const char **field);

const char *export_format_name(enum export_format f);

/* The job's cursor now: its last seq (0 when nothing is judged). */
int export_cursor(struct db_conn *c, int64_t job_id, int64_t *cursor);

/* Receives the export's bytes; returns 0, or -1 to stop (the client left). */
typedef int (*export_sink)(void *ctx, const char *data, size_t len);

/* Streams the rows of job j in since < seq <= cursor to sink. key: the
 * server key (auth_key_load), for labeler pseudonyms. *rows counts the
 * lines written. 0, ERR_DB, ERR_NOMEM, or -1 when the sink stopped. */
int export_run(struct db *db, const struct job *j, const struct export_opts *o, int64_t cursor,
               const unsigned char key[32], export_sink sink, void *ctx, int64_t *rows);

#endif
