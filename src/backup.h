/* backup.h: online backups and restores of the SQLite database
 * (docs/operations.md). A backup is a consistent snapshot taken while the
 * server runs: one read transaction of SQLite's backup API, so writers go
 * on (WAL) and everything committed before it started is in it. It is
 * written beside the target, checked (integrity_check), made a single
 * self-contained file (no WAL), fsync'd and renamed into place: a backup
 * file is whole or absent. A restore replaces the database from a
 * backup while no server uses it (serve holds the database's lock file);
 * the database it replaces is kept beside it. */
#ifndef ARBITER_BACKUP_H
#define ARBITER_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/* What a backup or restore holds, for its message. */
struct backup_counts {
    int64_t bytes, users, jobs, items, judgments;
    int schema;
};

/* Copies the database at db_path to out (which must not exist). 0, or -1
 * with a message in err. */
int backup_make(const char *db_path, const char *out, struct backup_counts *counts, char *err,
                size_t errn);

/* Replaces the database at db_path with the backup from (checked first;
 * a backup of a newer schema is refused). The replaced database, if any,
 * is moved to *kept (room for 4096 bytes; "" when there was none). Fails
 * while a server holds db_path's lock. 0, or -1 with a message in err. */
int backup_restore(const char *db_path, const char *from, struct backup_counts *counts, char *kept,
                   char *err, size_t errn);

/* Takes db_path's lock file for a server (held until the process exits).
 * 0, or -1 with a message in err when another process holds it. */
int backup_lock_for_serve(const char *db_path, char *err, size_t errn);

#endif
