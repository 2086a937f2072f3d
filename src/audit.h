/* audit.h: the audit log. Entries are written inside the same write
 * transaction as the change they record, so the log never disagrees with
 * the data. */
#ifndef ARBITER_AUDIT_H
#define ARBITER_AUDIT_H

#include "db.h"

#include <jansson.h>
#include <stdint.h>

/* Appends an entry. actor_id <= 0 means anonymous or the command line.
 * detail (borrowed, may be NULL) is stored as JSON text. Call only from a
 * db_write function (c is the writer). Returns 0 or ERR_DB. */
int audit_add(struct db_conn *c, int64_t actor_id, const char *action, const char *subject,
              const char *addr, json_t *detail);

#endif
