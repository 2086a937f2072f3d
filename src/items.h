/* items.h: items and their import. An item is one prompt (or chat) with
 * 1..N model responses, imported as one JSON line: Arbiter's own format or
 * a Bedrock evaluation-dataset line, detected per line. Imports are all or
 * nothing: the body is streamed through a line parser that validates and
 * normalises each line into a temporary file, and only a file without bad
 * lines is inserted, in one write. */
#ifndef ARBITER_ITEMS_H
#define ARBITER_ITEMS_H

#include "auth.h"
#include "db.h"
#include "jobs.h"
#include "util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* An item id is 1 to ITEM_ID_MAX Unicode characters (code points, as every
 * limit in the API is counted); in UTF-8 that is at most ITEM_ID_BYTES. */
#define ITEM_ID_MAX 200
#define ITEM_ID_BYTES (ITEM_ID_MAX * 4)
#define ITEM_RESPONSES_MAX 20
#define ITEM_LINE_MAX (8 << 20) /* bytes in one import line */
#define ITEM_ERRORS_MAX 100     /* bad lines listed in an answer */

/* Parses and validates one import line against a job's questions. On
 * success returns 0, the normalised item JSON (compact, one line) in *out
 * (appended), its response ids as a JSON array in *ids (appended), its id
 * in ext_id and its number of responses. Otherwise
 * ERR_INVALID with each problem in *pr (field paths inside the line).
 * Pure; thread-safe. */
int item_parse_line(const struct job_config *cfg, const char *line, size_t len, struct buf *out,
                    struct buf *ids, char ext_id[ITEM_ID_BYTES + 1], int *n_responses,
                    struct problems *pr);

/* Reads up to n bytes of the import body: > 0 bytes read, 0 at the end,
 * < 0 on error. */
typedef long (*item_read_fn)(void *ctx, char *buf, size_t n);

struct import_result {
    int64_t lines;    /* non-blank lines read */
    int64_t imported; /* items inserted (0 unless every line was good) */
    int64_t bad_lines;
    json_t *errors;  /* owned: [{"line", "field", "message"}], first ITEM_ERRORS_MAX */
    const char *why; /* ERR_CONFLICT, ERR_TOO_LARGE, ERR_BAD_REQUEST: static text */
};

/* Imports items into job_id from rd, staging the normalised lines in an
 * unlinked file in staging_dir (NULL: the database's directory, so the
 * staging is bounded by the space the database has, not by /tmp). Every
 * write to the staging file is checked. Returns 0, ERR_INVALID (bad lines:
 * res->errors), ERR_NOT_FOUND, ERR_CONFLICT (the job is closed, or changed
 * meanwhile), ERR_TOO_LARGE, ERR_BAD_REQUEST (the body could not be read),
 * ERR_NO_SPACE (the staging ran out of space: nothing imported), ERR_DB.
 * Free res->errors with json_decref. */
int items_import(struct db *db, int64_t job_id, item_read_fn rd, void *ctx, int64_t actor_id,
                 const char *addr, const char *staging_dir, struct import_result *res);

/* Removes what imports a kill or crash interrupted (their items, hidden
 * behind the job's gate), naming each on log. serve calls it at start-up,
 * before it takes requests. 0 or ERR_DB. */
int items_import_recover(struct db *db, FILE *log);

/* A stored item. */
struct item {
    int64_t id, job_id;
    char ext_id[ITEM_ID_BYTES + 1];
    json_t *data; /* owned: the normalised item */
    int n_responses, claims, judged;
};

/* The page of one item of job_id for p, who manages the job, by its
 * imported id: {"item": {"key", "item" (all of it: models, metadata,
 * gold), "judgments", "claims", "complete"}, "judgments": [every judgment
 * with its versions and reviews], "skips": [{"task_id", "labeler",
 * "reason", "at"}], "leases": [{"task_id", "labeler", "leased_at",
 * "expires_at"}] (live ones)}. New reference in *out; 0, ERR_NOT_FOUND,
 * ERR_DB. */
int item_detail(struct db_conn *c, int64_t job_id, int overlap, const char *ext_id,
                const struct principal *p, json_t **out);

/* Loads item id (0, ERR_NOT_FOUND, ERR_DB); free with item_clear. */
int item_load(struct db_conn *c, int64_t id, struct item *out);
/* The same by the item's imported id in job_id. */
int item_by_ext(struct db_conn *c, int64_t job_id, const char *ext_id, struct item *out);
void item_clear(struct item *it);

/* The response ids of a normalised item, borrowed from data, into ids
 * (room for ITEM_RESPONSES_MAX). Returns how many. */
int item_response_ids(json_t *data, const char **ids);

/* The same from a stored response_ids JSON array (borrowed from arr). */
int item_ids_of(json_t *arr, const char **ids);

#endif
