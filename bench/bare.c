/* bare.c: the benchmark's yardstick. A bare CivetWeb server with one
 * handler that answers every request with a small fixed JSON body, on the
 * same thread count and keep-alive settings as arbiter. `make bench`
 * measures it with the same load and connection count as our labeling
 * loop, so the ratio between the two is what the benchmark reports. */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static int handler(struct mg_connection *conn, void *cbdata)
{
    static const char body[] = "{\"task\":{\"id\":1,\"job_id\":1}}";
    char chunk[4096];
    (void)cbdata;
    while (mg_read(conn, chunk, sizeof chunk) > 0)
        ;
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Connection: keep-alive\r\n\r\n%s",
              sizeof body - 1, body);
    return 200;
}

int main(int argc, char **argv)
{
    const char *options[] = {"listening_ports", argc > 1 ? argv[1] : "127.0.0.1:8099",
                             "num_threads", argc > 2 ? argv[2] : "32",
                             "enable_keep_alive", "yes",
                             "keep_alive_timeout_ms", "30000",
                             "tcp_nodelay", "1",
                             NULL, NULL};
    struct mg_callbacks cb;
    struct mg_context *ctx;
    sigset_t sigs;
    int sig;
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
