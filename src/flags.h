/* flags.h: a labeler's flag on the item of one of their tasks: broken,
 * unsafe, needs expertise, or another reason given in words. Flags reach
 * the lead on the item's page and in the raw export; they change nothing
 * in leasing (a labeler who cannot judge an item skips it too). */
#ifndef ARBITER_FLAGS_H
#define ARBITER_FLAGS_H

#include "auth.h"
#include "db.h"

#include <jansson.h>
#include <stdint.h>

#define FLAG_NOTE_MAX 1000

/* 1 when s is a flag kind: broken, unsafe, needs_expertise, other. */
int flag_kind_valid(const char *s);

/* Raises flag kind (with note, NULL for none; required for "other") on
 * task_id's item as p, the task's labeler (else ERR_NOT_FOUND). The same
 * kind on the same task again keeps the first (retry-safe): *created says
 * whether this one was new. *out: the task's flags, [{"kind", "note",
 * "at"}] (new reference). ERR_DB. Thread-safe. */
int flag_raise(struct db *db, int64_t task_id, const struct principal *p, const char *kind,
               const char *note, int *created, json_t **out);

/* The flags of item_id for its page: [{"task_id", "labeler", "kind",
 * "note", "at"}] (new reference), or NULL on error. */
json_t *flags_of_item(struct db_conn *c, int64_t item_id);

#endif
