/* test_db.c: src/db.c: migrations, version refusal, statements, and the
 * group-commit writer under concurrency. */
#include "db.h"
#include "unit.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char path[256];

static int insert_secret(struct db_conn *c, void *arg)
{
    sqlite3_stmt *st = db_stmt(c, SQL_SECRET_PUT);
    char name[32];
    int rc;
    snprintf(name, sizeof name, "k%ld", (long)(intptr_t)arg);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, "v", 1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
    db_done(st);
    /* Odd ids fail after writing: their row must be rolled back alone. */
    return ((intptr_t)arg % 2 == 1) ? ERR_CONFLICT : rc;
}

/* 40 KB rows under fresh names: ten WAL pages a write. */
static int insert_big(struct db_conn *c, void *arg)
{
    static char blob[40 * 1024];
    sqlite3_stmt *st = db_stmt(c, SQL_SECRET_PUT);
    char name[32];
    int rc;
    snprintf(name, sizeof name, "big%ld", (long)(intptr_t)arg);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, blob, sizeof blob, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
    db_done(st);
    return rc;
}

/* n writes of fn, ids base to base+n-1; with odd_conflicts the odd ids
 * are expected to fail with ERR_CONFLICT (insert_secret), else none. */
struct worker {
    struct db *db;
    db_write_fn fn;
    int base, n, odd_conflicts, failures;
};

/* A row in audit_log, which the test watches for deletes only. */
static int insert_audit(struct db_conn *c, void *arg)
{
    sqlite3_stmt *st = db_stmt(c, SQL_AUDIT_INSERT);
    (void)arg;
    sqlite3_bind_int64(st, 1, 1);
    sqlite3_bind_text(st, 3, "test", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, "{}", -1, SQLITE_STATIC);
    return db_step_done(st);
}

static void *writer_thread(void *p)
{
    struct worker *w = p;
    int i;
    for (i = 0; i < w->n; i++) {
        int rc = db_write(w->db, w->fn, (void *)(intptr_t)(w->base + i));
        if (rc != (w->odd_conflicts && (w->base + i) % 2 == 1 ? ERR_CONFLICT : 0))
            w->failures++;
    }
    return NULL;
}

/* A write that holds the writer's transaction open until the main thread
 * has read (or 30 s have passed): in_tx is posted once its row is written,
 * read_done by the reader. */
static sem_t in_tx, read_done;

static int slow_write(struct db_conn *c, void *arg)
{
    struct timespec until;
    (void)arg;
    insert_secret(c, (void *)(intptr_t)9000);
    sem_post(&in_tx);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    while (sem_timedwait(&read_done, &until) != 0 && errno == EINTR)
        ;
    return 0;
}

static void *slow_thread(void *db)
{
    db_write(db, slow_write, NULL);
    return NULL;
}

struct reading {
    struct db *db;
    int stop;
};

/* Reads without pause until told to stop, as request threads do. */
static void *reader_thread(void *p)
{
    struct reading *r = p;
    while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        struct db_conn *c = db_reader(r->db);
        sqlite3_stmt *st = db_stmt(c, SQL_SECRET_GET);
        sqlite3_bind_text(st, 1, "big1", -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        db_done(st);
    }
    return NULL;
}

static off_t file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? sb.st_size : 0;
}

static int64_t count_secrets(struct db *db)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(c->h, "SELECT count(*) FROM secrets WHERE name LIKE 'k%'", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int main(void)
{
    struct db *db = NULL;
    char err[512];
    int applied = -1, i;
    struct worker w[16];
    pthread_t th[16];
    struct db_stats st;
    sqlite3 *raw;

    snprintf(path, sizeof path, "/tmp/arbiter-test-db-%d.db", (int)getpid());
    unlink(path);
    CHECK(db_open(path, &db, err, sizeof err) == 0);
    CHECK(db_schema_version(db) == 0);
    CHECK(db_migrate(db, &applied, err, sizeof err) == 0);
    CHECK(applied == db_schema_latest() && applied >= 1);
    CHECK(db_schema_version(db) == db_schema_latest());
    CHECK(db_migrate(db, &applied, err, sizeof err) == 0 && applied == 0); /* idempotent */

    /* Every declared statement prepares against the migrated schema. */
    for (i = 0; i < SQL__COUNT; i++)
        CHECK(db_stmt(db_reader(db), (enum sql_id)i) != NULL);
    db_reader_idle(db);

    {
        /* Pragmas: WAL, foreign keys, FULL sync, read-only readers. */
        sqlite3_stmt *s = NULL;
        struct db_conn *c = db_reader(db);
        sqlite3_prepare_v2(c->h,
                           "SELECT * FROM pragma_journal_mode, pragma_foreign_keys,"
                           " pragma_synchronous",
                           -1, &s, NULL);
        CHECK(sqlite3_step(s) == SQLITE_ROW);
        CHECK_STR((const char *)sqlite3_column_text(s, 0), "wal");
        CHECK(sqlite3_column_int(s, 1) == 1);
        CHECK(sqlite3_column_int(s, 2) == 2); /* FULL */
        sqlite3_finalize(s);
        CHECK(sqlite3_exec(c->h, "INSERT INTO secrets VALUES ('x', 'y')", NULL, NULL, NULL) !=
              SQLITE_OK);
    }

    /* Inline writes (no writer thread yet), and the change epoch: it moves
     * with every write to a watched table, committed or rolled back, and
     * stays put for other tables. */
    {
        uint64_t e0, e1;
        CHECK(db_watch(db, "secrets", DB_WATCH_INSERT) == 0);
        CHECK(db_watch(db, "audit_log", DB_WATCH_DELETE) == 0);
        e0 = db_epoch(db);
        CHECK(db_write(db, insert_audit, NULL) == 0); /* an insert: not watched there */
        CHECK(db_epoch(db) == e0);
        CHECK(db_write(db, insert_secret, (void *)(intptr_t)1000) == 0);
        e1 = db_epoch(db);
        CHECK(e1 > e0);
        CHECK(db_write(db, insert_secret, (void *)(intptr_t)1001) == ERR_CONFLICT);
        CHECK(db_epoch(db) > e1);
        CHECK(count_secrets(db) == 1);
    }

    /* Group commit: 16 threads x 50 writes; half fail and roll back alone. */
    CHECK(db_writer_start(db) == 0);
    for (i = 0; i < 16; i++) {
        w[i] = (struct worker){db, insert_secret, 2000 + i * 100, 50, 1, 0};
        pthread_create(&th[i], NULL, writer_thread, &w[i]);
    }
    for (i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].failures == 0);
    }
    CHECK(count_secrets(db) == 1 + 16 * 25);
    db_stats_get(db, &st);
    CHECK(st.writes >= 16 * 50);
    CHECK(st.batches < st.writes); /* concurrent writes shared commits */
    CHECK(st.failed_commits == 0);
    printf("group commit: %llu writes in %llu batches\n", (unsigned long long)st.writes,
           (unsigned long long)st.batches);

    {
        /* Reads never wait for the writer: while a write holds the write
         * transaction (it waits for this read before it commits), a reader
         * answers from the last commit. A reader that waited for the writer
         * would see the row after the write gave up waiting, and fail. */
        pthread_t slow;
        int64_t before = count_secrets(db), during;
        sem_init(&in_tx, 0, 0);
        sem_init(&read_done, 0, 0);
        pthread_create(&slow, NULL, slow_thread, db);
        while (sem_wait(&in_tx) != 0)
            ;
        during = count_secrets(db);
        sem_post(&read_done);
        CHECK(during == before); /* the open write is not visible */
        pthread_join(slow, NULL);
        CHECK(count_secrets(db) == before + 1); /* db_write returned: committed */
    }
    {
        /* The WAL stays bounded under continuous writes while readers
         * read: 40 MB go through it, yet it never holds more than
         * DB_WAL_MAX_FRAMES pages plus one batch (4 writes of 40 KB: 11
         * pages each, and their b-tree pages), however slow the machine
         * is, because the writer checkpoints and restarts it itself. A WAL
         * frame is a page and a 24-byte header; the file has a 32-byte
         * header. */
        struct reading rd = {db, 0};
        pthread_t readers[2], bth[4];
        struct worker bw[4];
        char wal[300];
        off_t biggest = 0;
        snprintf(wal, sizeof wal, "%s-wal", path);
        for (i = 0; i < 2; i++)
            pthread_create(&readers[i], NULL, reader_thread, &rd);
        for (i = 0; i < 4; i++) {
            bw[i] = (struct worker){db, insert_big, 100000 + i * 1000, 250, 0, 0};
            pthread_create(&bth[i], NULL, writer_thread, &bw[i]);
        }
        for (i = 0; i < 4; i++) {
            pthread_join(bth[i], NULL);
            CHECK(bw[i].failures == 0);
            if (file_size(wal) > biggest)
                biggest = file_size(wal);
        }
        __atomic_store_n(&rd.stop, 1, __ATOMIC_SEQ_CST);
        for (i = 0; i < 2; i++)
            pthread_join(readers[i], NULL);
        printf("WAL after 40 MB of writes: %lld bytes at most\n", (long long)biggest);
        CHECK(biggest > 0 && biggest <= 32 + (DB_WAL_MAX_FRAMES + 4 * 20) * (4096 + 24));
    }
    db_close(db);
    db_close(NULL);

    /* A database newer than the binary is refused with a clear message. */
    CHECK(sqlite3_open(path, &raw) == SQLITE_OK);
    CHECK(sqlite3_exec(raw, "PRAGMA user_version=999", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(raw);
    err[0] = '\0';
    db = NULL;
    CHECK(db_open(path, &db, err, sizeof err) == ERR_CONFLICT && db == NULL);
    CHECK(strstr(err, "newer than this arbiter") != NULL);

    unit_rm_db(path);
    return unit_done("test_db");
}
