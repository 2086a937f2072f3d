/* backup.c: online backups and restores (see backup.h). */
#include "backup.h"

#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_BYTES 4096

/* Writes the message into err (room n) and gives -1. */
static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    int rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int fsync_parent(const char *path)
{
    char copy[PATH_BYTES];
    snprintf(copy, sizeof copy, "%s", path);
    return fsync_path(dirname(copy), 1);
}

static int64_t count_of(sqlite3 *h, const char *table)
{
    char q[96];
    sqlite3_stmt *st;
    int64_t n = -1;
    snprintf(q, sizeof q, "SELECT count(*) FROM %s", table);
    if (sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Checks the database h (integrity_check says "ok", the schema is known)
 * and counts what it holds. */
static int check_copy(sqlite3 *h, const char *path, struct backup_counts *c, char *err, size_t n)
{
    sqlite3_stmt *st;
    const char *res;
    int ok;
    struct stat sb;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return fail(err, n, "%s: %s", path, sqlite3_errmsg(h));
    ok = sqlite3_step(st) == SQLITE_ROW &&
         (res = (const char *)sqlite3_column_text(st, 0)) != NULL && strcmp(res, "ok") == 0;
    sqlite3_finalize(st);
    if (!ok)
        return fail(err, n, "%s: the integrity check failed", path);
    if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fail(err, n, "%s: %s", path, sqlite3_errmsg(h));
    }
    c->schema = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (c->schema > db_schema_latest())
        return fail(err, n,
                    "%s: written by a newer Arbiter (its schema is newer than this binary's)",
                    path);
    c->users = count_of(h, "users");
    c->jobs = count_of(h, "jobs");
    c->items = count_of(h, "items");
    c->judgments = count_of(h, "judgments");
    if (c->users < 0 || c->jobs < 0 || c->items < 0 || c->judgments < 0)
        return fail(err, n, "%s: not an Arbiter database", path);
    c->bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    return 0;
}

/* Copies src (an open connection) into the new file tmp as one snapshot,
 * checks it, makes it a single file and fsyncs it. */
static int copy_to(sqlite3 *src, const char *tmp, struct backup_counts *c, char *err, size_t n)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b;
    int rc, tries = 0;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fail(err, n, "%s: %s", tmp, sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return -1;
    }
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == NULL) {
        fail(err, n, "backup: %s", sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return -1;
    }
    /* All pages in one step: one read transaction, one snapshot. A busy
     * source (a checkpoint's moment) is retried. */
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (++tries > 600)
            break;
        sqlite3_sleep(50);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        fail(err, n, "backup: %s", sqlite3_errstr(rc));
        sqlite3_close(dst);
        return -1;
    }
    /* The copy carries the source's WAL mode; a backup is one file. */
    rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = check_copy(dst, tmp, c, err, n) == 0 ? SQLITE_OK : SQLITE_ERROR;
    else
        fail(err, n, "%s: %s", tmp, sqlite3_errmsg(dst));
    sqlite3_close(dst);
    if (rc != SQLITE_OK)
        return -1;
    if (fsync_path(tmp, 0) != 0)
        return fail(err, n, "%s: %s", tmp, strerror(errno));
    return 0;
}

int backup_make(const char *db_path, const char *out, struct backup_counts *counts, char *err,
                size_t errn)
{
    char tmp[PATH_BYTES];
    sqlite3 *src = NULL;
    int rc;
    struct stat sb;
    memset(counts, 0, sizeof *counts);
    if (stat(out, &sb) == 0)
        return fail(err, errn, "%s exists: a backup never overwrites a file", out);
    if (stat(db_path, &sb) != 0)
        return fail(err, errn, "%s: %s", db_path, strerror(errno));
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.partial", out) >= sizeof tmp)
        return fail(err, errn, "%s: the path is too long", out);
    unlink(tmp); /* a backup that died before its rename */
    /* Read-write (nothing is written): a WAL database needs its shared
     * memory file, which a read-only connection may not create. */
    if (sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fail(err, errn, "%s: %s", db_path, sqlite3_errmsg(src));
        sqlite3_close(src);
        return -1;
    }
    sqlite3_busy_timeout(src, 5000);
    rc = copy_to(src, tmp, counts, err, errn);
    sqlite3_close(src);
    if (rc == 0 && rename(tmp, out) != 0)
        rc = fail(err, errn, "%s: %s", out, strerror(errno));
    if (rc == 0 && fsync_parent(out) != 0)
        rc = fail(err, errn, "%s: %s", out, strerror(errno));
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* The lock file beside the database: serve holds it, restore takes it. */
static int lock_fd(const char *db_path, char *err, size_t errn)
{
    char path[PATH_BYTES];
    int fd;
    snprintf(path, sizeof path, "%s.lock", db_path);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail(err, errn, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        fail(err, errn, "%s is in use by a running arbiter serve", db_path);
        return -1;
    }
    return fd;
}

int backup_lock_for_serve(const char *db_path, char *err, size_t errn)
{
    return lock_fd(db_path, err, errn) < 0 ? -1 : 0; /* held until exit */
}

int backup_restore(const char *db_path, const char *from, struct backup_counts *counts, char *kept,
                   char *err, size_t errn)
{
    char tmp[PATH_BYTES], side[PATH_BYTES];
    sqlite3 *src = NULL;
    struct stat sb;
    int fd, rc;
    memset(counts, 0, sizeof *counts);
    kept[0] = '\0';
    if ((fd = lock_fd(db_path, err, errn)) < 0)
        return -1;
    if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fail(err, errn, "%s: %s", from, sqlite3_errmsg(src));
        sqlite3_close(src);
        close(fd);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.restoring", db_path);
    unlink(tmp);
    rc = check_copy(src, from, counts, err, errn);
    if (rc == 0)
        rc = copy_to(src, tmp, counts, err, errn);
    sqlite3_close(src);
    if (rc == 0 && stat(db_path, &sb) == 0) {
        /* Keep the database being replaced, whole: its WAL folded in first. */
        sqlite3 *old = NULL;
        time_t now = time(NULL);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", gmtime(&now));
        if (sqlite3_open_v2(db_path, &old, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            sqlite3_busy_timeout(old, 5000) != SQLITE_OK ||
            sqlite3_exec(old, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE", NULL,
                         NULL, NULL) != SQLITE_OK)
            rc = fail(err, errn, "%s: %s", db_path, sqlite3_errmsg(old));
        sqlite3_close(old);
        snprintf(side, sizeof side, "%s.before-restore-%s", db_path, stamp);
        if (rc == 0 && rename(db_path, side) != 0)
            rc = fail(err, errn, "%s: %s", db_path, strerror(errno));
        if (rc == 0)
            snprintf(kept, PATH_BYTES, "%s", side);
    }
    if (rc == 0) {
        char extra[PATH_BYTES];
        snprintf(extra, sizeof extra, "%s-wal", db_path);
        unlink(extra);
        snprintf(extra, sizeof extra, "%s-shm", db_path);
        unlink(extra);
        if (rename(tmp, db_path) != 0 || fsync_parent(db_path) != 0)
            rc = fail(err, errn, "%s: %s", db_path, strerror(errno));
    }
    if (rc != 0)
        unlink(tmp);
    close(fd);
    return rc;
}
