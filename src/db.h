/* db.h: the database. One SQLite file in WAL mode; a read connection per
 * thread that reads; one writer thread that owns the only write connection
 * and commits concurrent requests together (group commit) with
 * synchronous=FULL, answering each only once its commit is on disk.
 * db.c knows no HTTP and no concept rules. */
#ifndef ARBITER_DB_H
#define ARBITER_DB_H

#include "sql.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* A connection and its prepared statements; used by one thread at a time. */
struct db;
struct db_conn {
    sqlite3 *h;
    sqlite3_stmt *stmt[SQL__COUNT];
    struct db *db; /* a reader's pool */
};

/* Opens (creating if missing) the database at path, sets WAL, foreign keys,
 * busy_timeout and synchronous=FULL, and checks the schema version: a
 * database newer than this binary is refused with a message in err.
 * Returns 0 and *out (freed with db_close), or an error. */
int db_open(const char *path, struct db **out, char *err, size_t errn);

/* The path the database was opened with (borrowed for db's life). */
const char *db_path(struct db *db);

/* Applies pending schema/NNN_*.sql migrations in order, each in its own
 * transaction, tracked by PRAGMA user_version. *applied counts them. */
int db_migrate(struct db *db, int *applied, char *err, size_t errn);

/* The schema version of the database, and the newest this binary knows. */
int db_schema_version(struct db *db);
int db_schema_latest(void);

/* The writer checkpoints once the WAL holds DB_CHECKPOINT_FRAMES pages,
 * without waiting for readers; should the WAL still reach
 * DB_WAL_MAX_FRAMES (readers kept every checkpoint from finishing), it
 * waits for them, so the WAL never holds much more than DB_WAL_MAX_FRAMES
 * pages plus one batch's. */
#define DB_CHECKPOINT_FRAMES 1000
#define DB_WAL_MAX_FRAMES (4 * DB_CHECKPOINT_FRAMES)

/* Starts the writer thread. Before it runs, db_write executes inline. */
int db_writer_start(struct db *db);

/* Stops the writer (after draining queued writes), closes the writer and the
 * calling thread's reader, and frees db. db_close(NULL) does nothing. */
void db_close(struct db *db);

/* The calling thread's read connection: taken from the pool on first use
 * (waiting while all max readers are taken), kept by the thread until
 * db_reader_release. Read-only (query_only). NULL on failure. */
struct db_conn *db_reader(struct db *db);

/* Resets the thread's reader's statements and gives it back to the pool
 * (the dispatcher, after each request; an export, before it writes a page
 * to a slow client). Nothing when the thread holds none. */
void db_reader_release(struct db *db);

/* Read connections: at most n at once (1..DB_READERS_MAX; default
 * DB_READERS_DEFAULT); requests past that wait for one. */
#define DB_READERS_DEFAULT 32
#define DB_READERS_MAX 1024
void db_set_readers(struct db *db, int n);

/* Resets every statement of the calling thread's reader, releasing any read
 * snapshot a caller forgot; the dispatcher calls it after each request. */
void db_reader_idle(struct db *db);

/* A write: runs on the writer connection inside the batch's transaction,
 * inside its own savepoint. Returning non-zero rolls back this write only. */
typedef int (*db_write_fn)(struct db_conn *c, void *arg);

/* Queues fn and waits until its batch is committed (fsync'd) or failed.
 * Returns fn's result, or ERR_DB if the commit failed. Thread-safe. */
int db_write(struct db *db, db_write_fn fn, void *arg);

/* Group commit's gathering. A request that is about to write at once (the
 * labeling loop's lease, submit, skip and revise) announces it with
 * db_write_expected; its db_write, or db_write_expected_end when it ends
 * without writing, withdraws the announcement. While announced writes are
 * pending, the writer holds a batch back for at most GATHER_US so they
 * commit together: under load that turns many small fsync'd commits into
 * few larger ones. A lone request never waits: it is the only one pending. */
void db_write_expected(struct db *db);
void db_write_expected_end(struct db *db);

/* The prepared statement id on c, reset and with bindings cleared. Borrowed:
 * finish with sqlite3_reset (db_done). NULL on prepare failure. */
sqlite3_stmt *db_stmt(struct db_conn *c, enum sql_id id);
void db_done(sqlite3_stmt *st);

/* Steps a statement that returns no rows (INSERT, UPDATE, DELETE,
 * transaction control) and resets it: 0 when it ran to SQLITE_DONE, else
 * ERR_DB. st NULL (a failed db_stmt) is ERR_DB. */
int db_step_done(sqlite3_stmt *st);

/* Runs statement id with one integer parameter and reads the integer in the
 * first column of its one row into *out (0 when there is no row). 0, or
 * ERR_DB when it fails or returns no row. */
int db_int64(struct db_conn *c, enum sql_id id, int64_t arg, int64_t *out);

/* Steps st (bound by the caller) to its end and resets it, collecting the
 * integer of column 0 of every row into *first and, when second is not
 * NULL, of column 1 into *second: malloc'd arrays the caller frees (NULL
 * when there is no row). For the rows a write changes one by one, read
 * before the first change. The number of rows, or -1 (out of memory, or
 * the statement failed) with nothing to free. */
int db_int64_rows(sqlite3_stmt *st, int64_t **first, int64_t **second);

/* Change epochs, for caches of rows read on readers. After db_watch(db,
 * table, ops) (before db_writer_start; table borrowed for db's life),
 * db_epoch changes whenever a transaction that made one of ops (a set of
 * DB_WATCH_* bits) on a row of table commits or rolls back, and also
 * during it. So a cache that reads db_epoch before it reads a row, keeps
 * the row with that epoch, and trusts it only while db_epoch still equals
 * it, never serves a row changed since. Changes made by another process
 * (the CLI) are not seen: such caches also expire by time. db_watch: 0 or
 * ERR_NOMEM past DB_WATCH_MAX tables. db_epoch is thread-safe. */
#define DB_WATCH_MAX 4
enum { DB_WATCH_INSERT = 1, DB_WATCH_UPDATE = 2, DB_WATCH_DELETE = 4 };
int db_watch(struct db *db, const char *table, unsigned ops);
uint64_t db_epoch(struct db *db);

/* Counters for /metrics. */
struct db_stats {
    uint64_t batches, writes, failed_commits;
    uint64_t batch_hist[6]; /* batch sizes: 1, 2-4, 5-16, 17-64, 65-256, more */
};
void db_stats_get(struct db *db, struct db_stats *out);

/* Reads one column as a NUL-terminated string copy into out (truncated). */
void db_col_text(sqlite3_stmt *st, int col, char *out, size_t n);

#endif
