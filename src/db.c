/* db.c: connections, migrations and the group-commit writer (see db.h).
 *
 * Writes: request threads queue a db_write_fn and sleep on a semaphore of
 * their own (posted without the queue's mutex, so a woken thread does not
 * contend for it). The writer thread takes everything queued (after
 * waiting briefly for writes announced with db_write_expected), runs it in one BEGIN IMMEDIATE ...
 * COMMIT with a savepoint per write (so one failing write does not spoil its batch), and wakes the
 * writers only after COMMIT returned: with synchronous=FULL in WAL mode that means the WAL was
 * fsync'd. Many concurrent requests thus share one fsync instead of paying one each.
 *
 * Checkpoints: the writer checkpoints itself, once the WAL has grown past
 * DB_CHECKPOINT_FRAMES, right after it has woken a batch's requests (so no
 * answer waits for a checkpoint), and the next write transaction then
 * starts the WAL again from its beginning. A checkpointer thread of its
 * own, racing the writer's appends, was tried: it rarely caught up at a
 * moment the WAL could restart, so under load the WAL grew to hundreds of
 * megabytes, every fsync also wrote the file's new size, and readers
 * searched a growing WAL index (docs/architecture.md).
 *
 * Reads: each thread gets its own connection (a pthread key), so reads
 * never wait for the writer: WAL readers see the last committed snapshot. */
#include "db.h"

#include "assets.h"
#include "util.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* A queued write. Each waiter sleeps on its own condition variable, so a
 * finished batch wakes exactly its writers, not every thread waiting. */
struct db_op {
    db_write_fn fn;
    void *arg;
    int rc;
    sem_t done; /* posted by the writer without the queue's mutex */
    struct db_op *next;
};

/* How long a connection waits for another's lock before giving up. */
#define DB_BUSY_TIMEOUT_MS 5000
/* The longest a batch is held back for announced writes (db.h). */
#define GATHER_US 1000

struct db {
    char *path;
    struct db_conn *writer;
    int wal_frames; /* the WAL's size after the last commit (writer only) */
    /* Watched tables (db_watch) and the epoch their committed changes
     * advance; watch_dirty: the open transaction changed one. */
    const char *watched[DB_WATCH_MAX];
    unsigned watched_ops[DB_WATCH_MAX];
    int n_watched, watch_dirty;
    uint64_t epoch;
    pthread_key_t reader_key;
    /* Read connections are pooled, not one per thread: a request takes
     * one at its first read and gives it back when it ends, so thousands
     * of worker threads share max_readers connections. */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct db_conn **pool; /* idle connections */
    int pool_idle, readers, max_readers;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_t thread;
    int running, stopping;
    int expected;  /* announced writes not queued yet (db_write_expected) */
    int gathering; /* the writer holds a batch back for them */
    struct db_op *head, *tail;
    struct db_stats stats; /* updated with __atomic builtins */
};

static void conn_close(struct db_conn *c)
{
    int i;
    if (c == NULL)
        return;
    for (i = 0; i < SQL__COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->h);
    free(c);
}

static int conn_open(const char *path, int reader, struct db_conn **out, char *err, size_t errn)
{
    struct db_conn *c = calloc(1, sizeof *c);
    /* A reader's page cache is reset whenever another connection
     * committed, so under load only the writer's cache stays warm: give
     * it room. */
    const char *pragmas = reader ? "PRAGMA foreign_keys=ON;"
                                   " PRAGMA synchronous=FULL; PRAGMA query_only=1;"
                                 : "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
                                   " PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;";
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (reader ? 0 : SQLITE_OPEN_CREATE);
    if (c == NULL)
        return ERR_NOMEM;
    /* The busy timeout comes first: journal_mode=WAL already needs a lock,
     * and while the server (or another CLI) holds one, a connection
     * without it would fail at once with "database is locked". */
    if (sqlite3_open_v2(path, &c->h, flags, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(c->h, DB_BUSY_TIMEOUT_MS) != SQLITE_OK ||
        sqlite3_exec(c->h, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        if (err != NULL)
            snprintf(err, errn, "cannot open database %s: %s", path,
                     c->h != NULL ? sqlite3_errmsg(c->h) : "out of memory");
        conn_close(c);
        return ERR_DB;
    }
    *out = c;
    return 0;
}

static void reader_destroy(void *p)
{
    struct db_conn *c = p;
    struct db *db = c != NULL ? c->db : NULL;
    conn_close(c);
    if (db != NULL) {
        pthread_mutex_lock(&db->pool_mu);
        db->readers--;
        pthread_cond_signal(&db->pool_cv);
        pthread_mutex_unlock(&db->pool_mu);
    }
}

static int user_version(sqlite3 *h)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The number NNN of "schema/NNN_name.sql", or -1 for other assets. */
static int migration_number(const char *path)
{
    int n = 0, digits = 0;
    const char *p;
    size_t len = strlen(path);
    if (strncmp(path, "schema/", 7) != 0 || len < 4 || strcmp(path + len - 4, ".sql") != 0)
        return -1;
    for (p = path + 7; *p >= '0' && *p <= '9'; p++, digits++)
        n = n * 10 + (*p - '0');
    return (digits == 3 && *p == '_') ? n : -1;
}

int db_schema_latest(void)
{
    size_t i;
    int latest = 0;
    for (i = 0; i < assets_count; i++) {
        int n = migration_number(assets_table[i].path);
        if (n > latest)
            latest = n;
    }
    return latest;
}

int db_schema_version(struct db *db)
{
    return user_version(db->writer->h);
}

/* SQLite's update hook on the writer connection: a row of a watched table
 * changes (db_watch). */
static void update_hook(void *arg, int op, const char *dbname, const char *table,
                        sqlite3_int64 rowid)
{
    struct db *db = arg;
    unsigned bit = op == SQLITE_INSERT   ? DB_WATCH_INSERT
                   : op == SQLITE_UPDATE ? DB_WATCH_UPDATE
                                         : DB_WATCH_DELETE;
    int i;
    (void)dbname;
    (void)rowid;
    for (i = 0; i < db->n_watched; i++)
        if ((db->watched_ops[i] & bit) != 0 && strcmp(table, db->watched[i]) == 0) {
            db->watch_dirty = 1;
            __atomic_add_fetch(&db->epoch, 1, __ATOMIC_SEQ_CST);
            return;
        }
}

int db_watch(struct db *db, const char *table, unsigned ops)
{
    if (db->n_watched == DB_WATCH_MAX)
        return ERR_NOMEM;
    db->watched_ops[db->n_watched] = ops;
    db->watched[db->n_watched++] = table;
    return 0;
}

uint64_t db_epoch(struct db *db)
{
    return __atomic_load_n(&db->epoch, __ATOMIC_SEQ_CST);
}

int db_open(const char *path, struct db **out, char *err, size_t errn)
{
    struct db *db = calloc(1, sizeof *db);
    int rc, v;
    if (db == NULL)
        return ERR_NOMEM;
    db->path = strdup(path);
    pthread_mutex_init(&db->mu, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&db->work_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    pthread_key_create(&db->reader_key, reader_destroy);
    pthread_mutex_init(&db->pool_mu, NULL);
    pthread_cond_init(&db->pool_cv, NULL);
    db->max_readers = DB_READERS_DEFAULT;
    if ((db->pool = calloc(DB_READERS_MAX, sizeof *db->pool)) == NULL) {
        db_close(db);
        return ERR_NOMEM;
    }
    rc = conn_open(path, 0, &db->writer, err, errn);
    if (rc != 0) {
        db_close(db);
        return rc;
    }
    sqlite3_update_hook(db->writer->h, update_hook, db);
    v = user_version(db->writer->h);
    if (v > db_schema_latest()) {
        snprintf(err, errn,
                 "database %s has schema version %d, newer than this arbiter (%d): "
                 "use a newer arbiter binary",
                 path, v, db_schema_latest());
        db_close(db);
        return ERR_CONFLICT;
    }
    *out = db;
    return 0;
}

const char *db_path(struct db *db)
{
    return db->path;
}

int db_migrate(struct db *db, int *applied, char *err, size_t errn)
{
    int version = user_version(db->writer->h), next;
    *applied = 0;
    /* assets_table is sorted by path, hence by NNN. */
    for (next = version + 1; next <= db_schema_latest(); next++) {
        size_t i;
        char *msg = NULL;
        char setv[64];
        for (i = 0; i < assets_count && migration_number(assets_table[i].path) != next; i++)
            ;
        if (i == assets_count) {
            snprintf(err, errn, "migration %03d is missing", next);
            return ERR_DB;
        }
        snprintf(setv, sizeof setv, "PRAGMA user_version=%d; COMMIT;", next);
        if (sqlite3_exec(db->writer->h, "BEGIN IMMEDIATE;", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db->writer->h, (const char *)assets_table[i].data, NULL, NULL, &msg) !=
                SQLITE_OK ||
            sqlite3_exec(db->writer->h, setv, NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errn, "migration %s failed: %s", assets_table[i].path,
                     msg != NULL ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(db->writer->h, "ROLLBACK", NULL, NULL, NULL);
            return ERR_DB;
        }
        (*applied)++;
    }
    return 0;
}

sqlite3_stmt *db_stmt(struct db_conn *c, enum sql_id id)
{
    sqlite3_stmt *st = c->stmt[id];
    if (st == NULL) {
        if (sqlite3_prepare_v3(c->h, sql_text(id), -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            fprintf(stderr, "arbiter: prepare %d: %s\n", (int)id, sqlite3_errmsg(c->h));
            return NULL;
        }
        c->stmt[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

void db_done(sqlite3_stmt *st)
{
    if (st != NULL)
        sqlite3_reset(st);
}

int db_step_done(sqlite3_stmt *st)
{
    int rc = st != NULL && sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
    db_done(st);
    return rc;
}

int db_int64(struct db_conn *c, enum sql_id id, int64_t arg, int64_t *out)
{
    sqlite3_stmt *st = db_stmt(c, id);
    int rc;
    *out = 0;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, arg);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    db_done(st);
    return rc == SQLITE_ROW ? 0 : ERR_DB;
}

int db_int64_rows(sqlite3_stmt *st, int64_t **first, int64_t **second)
{
    int64_t *v = NULL, *w = NULL;
    int n = 0, cap = 0, rc;
    *first = NULL;
    if (second != NULL)
        *second = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            int64_t *nv = realloc(v, sizeof *v * (size_t)(cap = cap ? cap * 2 : 64));
            int64_t *nw = second != NULL ? realloc(w, sizeof *w * (size_t)cap) : NULL;
            if (nv != NULL)
                v = nv;
            if (nw != NULL)
                w = nw;
            if (nv == NULL || (second != NULL && nw == NULL)) {
                rc = SQLITE_NOMEM;
                break;
            }
        }
        v[n] = sqlite3_column_int64(st, 0);
        if (second != NULL)
            w[n] = sqlite3_column_int64(st, 1);
        n++;
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        free(v);
        free(w);
        return -1;
    }
    *first = v;
    if (second != NULL)
        *second = w;
    return n;
}

void db_col_text(sqlite3_stmt *st, int col, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

struct db_conn *db_reader(struct db *db)
{
    struct db_conn *c = pthread_getspecific(db->reader_key);
    int open_new = 0;
    if (c != NULL)
        return c;
    pthread_mutex_lock(&db->pool_mu);
    while (db->pool_idle == 0 && db->readers >= db->max_readers)
        pthread_cond_wait(&db->pool_cv, &db->pool_mu);
    if (db->pool_idle > 0) {
        c = db->pool[--db->pool_idle];
    } else {
        db->readers++; /* counted now, opened outside the lock */
        open_new = 1;
    }
    pthread_mutex_unlock(&db->pool_mu);
    if (open_new && conn_open(db->path, 1, &c, NULL, 0) != 0) {
        pthread_mutex_lock(&db->pool_mu);
        db->readers--;
        pthread_cond_signal(&db->pool_cv);
        pthread_mutex_unlock(&db->pool_mu);
        return NULL;
    }
    c->db = db;
    pthread_setspecific(db->reader_key, c);
    return c;
}

void db_reader_release(struct db *db)
{
    struct db_conn *c = pthread_getspecific(db->reader_key);
    if (c == NULL)
        return;
    db_reader_idle(db);
    pthread_setspecific(db->reader_key, NULL);
    pthread_mutex_lock(&db->pool_mu);
    db->pool[db->pool_idle++] = c;
    pthread_cond_signal(&db->pool_cv);
    pthread_mutex_unlock(&db->pool_mu);
}

void db_set_readers(struct db *db, int n)
{
    pthread_mutex_lock(&db->pool_mu);
    db->max_readers = n < 1 ? 1 : n > DB_READERS_MAX ? DB_READERS_MAX : n;
    pthread_cond_broadcast(&db->pool_cv);
    pthread_mutex_unlock(&db->pool_mu);
}

void db_reader_idle(struct db *db)
{
    struct db_conn *c = pthread_getspecific(db->reader_key);
    int i;
    if (c == NULL)
        return;
    for (i = 0; i < SQL__COUNT; i++)
        if (c->stmt[i] != NULL)
            sqlite3_reset(c->stmt[i]);
}

/* Runs one of the writer's prepared transaction statements. */
static int exec(struct db_conn *c, enum sql_id id)
{
    return db_step_done(db_stmt(c, id));
}

static void count_batch(struct db *db, uint64_t n, int failed)
{
    int b = n <= 1 ? 0 : n <= 4 ? 1 : n <= 16 ? 2 : n <= 64 ? 3 : n <= 256 ? 4 : 5;
    __atomic_add_fetch(&db->stats.batches, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->stats.writes, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->stats.batch_hist[b], 1, __ATOMIC_RELAXED);
    if (failed)
        __atomic_add_fetch(&db->stats.failed_commits, 1, __ATOMIC_RELAXED);
}

/* Runs a list of ops in one transaction; sets each op's rc. */
static void run_batch(struct db *db, struct db_op *ops)
{
    struct db_op *op;
    uint64_t n = 0;
    int failed = 0;
    if (exec(db->writer, SQL_TX_BEGIN) != 0) {
        for (op = ops; op != NULL; op = op->next, n++)
            op->rc = ERR_DB;
        count_batch(db, n, 1);
        return;
    }
    for (op = ops; op != NULL; op = op->next, n++) {
        /* Some errors (a full disk, an I/O error) make SQLite roll the
         * whole transaction back by itself. Then nothing of the batch will
         * commit, and a savepoint now would open a new transaction that
         * RELEASE commits on its own: later writes would land while their
         * batch is reported failed. So the batch stops there, failed. */
        if (sqlite3_get_autocommit(db->writer->h) || exec(db->writer, SQL_TX_SAVEPOINT) != 0) {
            failed = 1;
            break;
        }
        op->rc = op->fn(db->writer, op->arg);
        if (op->rc != 0)
            exec(db->writer, SQL_TX_ROLLBACK_TO);
        exec(db->writer, SQL_TX_RELEASE);
    }
    if (failed || sqlite3_get_autocommit(db->writer->h) || exec(db->writer, SQL_TX_COMMIT) != 0) {
        for (; op != NULL; op = op->next, n++)
            ; /* the ops not run count as written, and failed */
        failed = 1;
    }
    if (failed) {
        fprintf(stderr, "arbiter: commit failed: %s\n", sqlite3_errmsg(db->writer->h));
        if (!sqlite3_get_autocommit(db->writer->h))
            exec(db->writer, SQL_TX_ROLLBACK);
        for (op = ops; op != NULL; op = op->next)
            op->rc = ERR_DB;
    }
    if (db->watch_dirty) {
        /* Again after the commit: a reader that read the epoch before this
         * point may have read the rows as they were (db_epoch). */
        db->watch_dirty = 0;
        __atomic_add_fetch(&db->epoch, 1, __ATOMIC_SEQ_CST);
    }
    count_batch(db, n, failed);
}

static void *writer_main(void *arg)
{
    struct db *db = arg;
    /* The writer is every write's bottleneck: when request threads keep
     * both cores busy, it must not wait behind them for a CPU. Raising a
     * thread's priority needs privileges; without them this does nothing. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), -10);
    pthread_setname_np(pthread_self(), "arbiter-writer");
    pthread_mutex_lock(&db->mu);
    for (;;) {
        struct db_op *batch, *op;
        while (db->head == NULL && !db->stopping)
            pthread_cond_wait(&db->work_cv, &db->mu);
        if (db->head == NULL)
            break; /* stopping and drained */
        if (db->expected > 0 && !db->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += GATHER_US * 1000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            db->gathering = 1;
            while (db->expected > 0 && !db->stopping &&
                   pthread_cond_timedwait(&db->work_cv, &db->mu, &until) == 0)
                ;
            db->gathering = 0;
        }
        batch = db->head;
        db->head = db->tail = NULL;
        pthread_mutex_unlock(&db->mu);
        run_batch(db, batch);
        /* Woken without the mutex, a waiter does not contend for it. */
        for (op = batch; op != NULL;) {
            /* op lives on its waiter's stack: read next before waking it. */
            struct db_op *next = op->next;
            sem_post(&op->done);
            op = next;
        }
        if (db->wal_frames >= DB_CHECKPOINT_FRAMES) {
            /* A passive checkpoint never waits, but it cannot finish while
             * a reader still reads frames it would overwrite; then the WAL
             * cannot start again and grows. Past DB_WAL_MAX_FRAMES the
             * writer waits for those readers (a request's reads are single
             * short statements) so that it can: the WAL stays under
             * DB_WAL_MAX_FRAMES plus one batch, whatever the load. */
            int mode = db->wal_frames >= DB_WAL_MAX_FRAMES ? SQLITE_CHECKPOINT_RESTART
                                                           : SQLITE_CHECKPOINT_PASSIVE;
            sqlite3_wal_checkpoint_v2(db->writer->h, NULL, mode, NULL, NULL);
            db->wal_frames = 0;
        }
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

/* Called by SQLite on the writer thread after each commit. */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int frames)
{
    struct db *db = arg;
    (void)h;
    (void)name;
    db->wal_frames = frames;
    return SQLITE_OK;
}

int db_writer_start(struct db *db)
{
    /* The writer checkpoints itself (writer_main), after answering. */
    sqlite3_exec(db->writer->h, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
    sqlite3_wal_hook(db->writer->h, wal_hook, db);
    if (pthread_create(&db->thread, NULL, writer_main, db) != 0)
        return ERR_DB;
    db->running = 1;
    return 0;
}

/* The calling thread's announced write, if any (db_write_expected). */
static __thread int announced;

/* Withdraws the calling thread's announcement; called with db->mu held.
 * A gathering writer is woken when nothing announced is left. */
static void withdraw(struct db *db)
{
    if (!announced)
        return;
    announced = 0;
    if (--db->expected == 0 && db->gathering)
        pthread_cond_signal(&db->work_cv);
}

void db_write_expected(struct db *db)
{
    if (announced)
        return;
    pthread_mutex_lock(&db->mu);
    if (db->running) {
        announced = 1;
        db->expected++;
    }
    pthread_mutex_unlock(&db->mu);
}

void db_write_expected_end(struct db *db)
{
    if (!announced)
        return;
    pthread_mutex_lock(&db->mu);
    withdraw(db);
    pthread_mutex_unlock(&db->mu);
}

int db_write(struct db *db, db_write_fn fn, void *arg)
{
    struct db_op op = {fn, arg, 0, {{0}}, NULL};
    pthread_mutex_lock(&db->mu);
    withdraw(db);
    if (!db->running) {
        /* No writer thread (the CLI, or start-up): run inline. */
        run_batch(db, &op);
        pthread_mutex_unlock(&db->mu);
        return op.rc;
    }
    if (db->stopping) {
        pthread_mutex_unlock(&db->mu);
        return ERR_BUSY;
    }
    sem_init(&op.done, 0, 0);
    /* op lives on this stack until the writer posts op.done below. */
    if (db->tail != NULL)
        db->tail->next = &op;
    else
        /* cppcheck-suppress autoVariables */
        db->head = &op;
    /* cppcheck-suppress autoVariables */
    db->tail = &op;
    /* A gathering writer is woken by the last announced write (withdraw). */
    if (!db->gathering)
        pthread_cond_signal(&db->work_cv);
    pthread_mutex_unlock(&db->mu);
    while (sem_wait(&op.done) != 0)
        ; /* EINTR */
    sem_destroy(&op.done);
    return op.rc;
}

void db_stats_get(struct db *db, struct db_stats *out)
{
    int i;
    out->batches = __atomic_load_n(&db->stats.batches, __ATOMIC_RELAXED);
    out->writes = __atomic_load_n(&db->stats.writes, __ATOMIC_RELAXED);
    out->failed_commits = __atomic_load_n(&db->stats.failed_commits, __ATOMIC_RELAXED);
    for (i = 0; i < 6; i++)
        out->batch_hist[i] = __atomic_load_n(&db->stats.batch_hist[i], __ATOMIC_RELAXED);
}

void db_close(struct db *db)
{
    if (db == NULL)
        return;
    if (db->running) {
        pthread_mutex_lock(&db->mu);
        db->stopping = 1;
        pthread_cond_signal(&db->work_cv);
        pthread_mutex_unlock(&db->mu);
        pthread_join(db->thread, NULL);
    }
    conn_close(pthread_getspecific(db->reader_key));
    pthread_setspecific(db->reader_key, NULL);
    pthread_key_delete(db->reader_key);
    while (db->pool != NULL && db->pool_idle > 0)
        conn_close(db->pool[--db->pool_idle]);
    free(db->pool);
    pthread_cond_destroy(&db->pool_cv);
    pthread_mutex_destroy(&db->pool_mu);
    if (db->writer != NULL)
        sqlite3_exec(db->writer->h, "PRAGMA optimize", NULL, NULL, NULL);
    conn_close(db->writer);
    pthread_cond_destroy(&db->work_cv);
    pthread_mutex_destroy(&db->mu);
    free(db->path);
    free(db);
}
