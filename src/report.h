/* report.h: the human-evaluation report of a job (docs/reports.md): model
 * comparisons (win rates with Wilson intervals that count items as the
 * independent units, Bradley-Terry ratings per connected set with seeded
 * draws for intervals, paired differences and Holm-tested ranks), ratings per
 * model, position bias, agreement per question, labelers, and the job's
 * acceptance decision. The job's judgments are read item by item in pages
 * of short read transactions; the same data, seed and filters always give
 * the same report. */
#ifndef ARBITER_REPORT_H
#define ARBITER_REPORT_H

#include "db.h"
#include "jobs.h"

#include <jansson.h>
#include <stdint.h>

#define REPORT_FILTERS_MAX 8
#define REPORT_MODELS_MAX 256

struct report_opts {
    int samples;   /* draws for the rating intervals and tests (1000) */
    uint64_t seed; /* (1) */
    int interval;  /* ratings' alpha at the interval level, not ordinal */
    int davidson;  /* ties by Davidson's model, not as half a win each */
    int nfilters;  /* items whose metadata[key] equals value */
    const char *fkey[REPORT_FILTERS_MAX], *fvalue[REPORT_FILTERS_MAX];
};

void report_opts_default(struct report_opts *o);

/* Sets option name from value: samples, seed, alpha (ordinal|interval),
 * ties (half|davidson),
 * or metadata.KEY (a filter). 0, ERR_NOT_FOUND, or ERR_INVALID (*why). */
int report_opt_set(struct report_opts *o, const char *name, const char *value, const char **why);

/* Builds the report of job j into *out (a new reference). 0, ERR_DB,
 * ERR_NOMEM, or ERR_INVALID with *why (more models than
 * REPORT_MODELS_MAX). */
int report_build(struct db *db, const struct job *j, const struct report_opts *o, json_t **out,
                 const char **why);

/* The report as JSON Lines, a line per figure, appended to *lines (a
 * string owned by the caller, freed with free). 0 or ERR_NOMEM. */
int report_jsonl(json_t *report, char **lines, size_t *len);

#endif
