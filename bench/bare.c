/* bare.c: the benchmark's yardsticks. A bare CivetWeb server with one
 * handler that answers every request with a small fixed JSON body, on the
 * same thread count and keep-alive settings as arbiter. `make bench`
 * measures it with the same load and connection count as our labeling
 * loop, so the ratio between the two is what the benchmark reports.
 *
 * Given a database path (third argument), it is the durable yardstick:
 * each request also inserts one small row and is answered only after that
 * row's commit is on disk, through the smallest group commit there is (a
 * queue, one writer thread, one transaction per batch, WAL with
 * synchronous=FULL). No authentication, no JSON, no rules: what any
 * server answering after an fsync'd commit pays on this machine at least. */
#include <civetweb.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

struct op {
    sem_t done;
    struct op *next;
};

static sqlite3 *db;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static struct op *head;

static void *writer(void *arg)
{
    sqlite3_stmt *ins;
    (void)arg;
    sqlite3_prepare_v2(db, "INSERT INTO rows(v) VALUES (1)", -1, &ins, NULL);
    for (;;) {
        struct op *batch, *next;
        pthread_mutex_lock(&mu);
        while (head == NULL)
            pthread_cond_wait(&work, &mu);
        batch = head;
        head = NULL;
        pthread_mutex_unlock(&mu);
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (next = batch; next != NULL; next = next->next) {
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        for (; batch != NULL; batch = next) {
            next = batch->next;
            sem_post(&batch->done);
        }
    }
    return NULL;
}

/* Queues one insert and waits for its commit. */
static void durable_write(void)
{
    struct op op;
    sem_init(&op.done, 0, 0);
    pthread_mutex_lock(&mu);
    op.next = head;
    head = &op;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&mu);
    while (sem_wait(&op.done) != 0)
        ;
    sem_destroy(&op.done);
}

static int handler(struct mg_connection *conn, void *cbdata)
{
    static const char body[] = "{\"task\":{\"id\":1,\"job_id\":1}}";
    char chunk[4096];
    (void)cbdata;
    while (mg_read(conn, chunk, sizeof chunk) > 0)
        ;
    if (db != NULL)
        durable_write();
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Connection: keep-alive\r\n\r\n%s",
              sizeof body - 1, body);
    return 200;
}

int main(int argc, char **argv)
{
    const char *options[] = {"listening_ports",
                             argc > 1 ? argv[1] : "127.0.0.1:8099",
                             "num_threads",
                             argc > 2 ? argv[2] : "32",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "30000",
                             "tcp_nodelay",
                             "1",
                             NULL,
                             NULL};
    struct mg_callbacks cb;
    struct mg_context *ctx;
    sigset_t sigs;
    int sig;
    if (argc > 3) {
        pthread_t t;
        if (sqlite3_open(argv[3], &db) != SQLITE_OK ||
            sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         " CREATE TABLE IF NOT EXISTS rows(id INTEGER PRIMARY KEY, v)",
                         NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "bare: cannot open %s\n", argv[3]);
            return 1;
        }
        pthread_create(&t, NULL, writer, NULL);
    }
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    memset(&cb, 0, sizeof cb);
    mg_init_library(0);
    ctx = mg_start(&cb, NULL, options);
    if (ctx == NULL) {
        fprintf(stderr, "bare: cannot listen\n");
        return 1;
    }
    mg_set_request_handler(ctx, "/", handler, NULL);
    sigwait(&sigs, &sig);
    mg_stop(ctx);
    mg_exit_library();
    return 0;
}
