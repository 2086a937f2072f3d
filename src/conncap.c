/* conncap.c: a cap on the connections one client address holds open.
 *
 * A slow client holds a worker thread from the moment CivetWeb hands it
 * one until its request has arrived (up to --request-timeout-ms); a
 * thousand of them from one host would hold every worker. The cap has to
 * act before a worker is given: CivetWeb 1.15 has no hook there that
 * knows the client's address (init_connection runs before the request is
 * read, when mg_get_request_info is still NULL). So this file interposes
 * the two calls CivetWeb makes through the PLT for a client's socket:
 * accept() in its master thread and close() when a worker is done (the
 * executable's definitions come before libc's in symbol lookup, and the
 * linker exports them because libcivetweb refers to them). accept records
 * the descriptor's address, close forgets it, and a connection over the
 * cap is answered 503 and closed in the master thread, which never waits
 * on it (MSG_DONTWAIT). Only the server links this file: unit tests and
 * fuzzers keep libc's calls.
 *
 * Open connections are few (thousands), so counting one address's is a
 * scan of the descriptor table under one mutex; a close takes the mutex
 * only while a cap is set. */
#include "conncap.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A client's address as counted: family 4 with the IPv4 address, or
 * family 6 with the /64 prefix. family 0: a free slot. */
struct key {
    uint64_t family, addr;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct key *slots; /* by descriptor */
static size_t nslots;
static int cap;           /* __atomic; 0: off */
static struct key exempt; /* family 0: none */
static uint64_t *refusals;
static int (*libc_close)(int);

static char refusal[320];
static size_t refusal_len;

__attribute__((constructor)) static void find_close(void)
{
    void *f = dlsym(RTLD_NEXT, "close");
    memcpy(&libc_close, &f, sizeof f);
}

static int real_close(int fd)
{
    return libc_close != NULL ? libc_close(fd) : (int)syscall(SYS_close, fd);
}

static int key_of(const struct sockaddr_storage *ss, struct key *k)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(k, 0, sizeof *k);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        k->family = 4;
        k->addr = a->sin_addr.s_addr;
        return 1;
    }
    if (ss->ss_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        if (memcmp(b, mapped, sizeof mapped) == 0) {
            uint32_t v4;
            memcpy(&v4, b + 12, sizeof v4);
            k->family = 4;
            k->addr = v4;
        } else {
            k->family = 6;
            memcpy(&k->addr, b, sizeof k->addr);
        }
        return 1;
    }
    return 0; /* a Unix socket: not capped */
}

int conncap_same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    struct key ka, kb;
    return key_of(a, &ka) && key_of(b, &kb) && ka.family == kb.family && ka.addr == kb.addr;
}

int conncap_start(int max, const char *exempt_addr, uint64_t *refused)
{
    memset(&exempt, 0, sizeof exempt);
    if (exempt_addr != NULL) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        if (inet_pton(AF_INET, exempt_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
            ss.ss_family = AF_INET;
        else if (inet_pton(AF_INET6, exempt_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
            ss.ss_family = AF_INET6;
        else
            return -1;
        key_of(&ss, &exempt);
    }
    {
        static const char body[] =
            "{\"error\":{\"code\":\"too_many_connections\",\"message\":"
            "\"this address has too many connections open; retry later\"}}\n";
        int n = snprintf(refusal, sizeof refusal,
                         "HTTP/1.1 503 Service Unavailable\r\n"
                         "Content-Type: application/json; charset=utf-8\r\n"
                         "Retry-After: 1\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                         sizeof body - 1, body);
        refusal_len = n > 0 && (size_t)n < sizeof refusal ? (size_t)n : 0;
    }
    refusals = refused;
    __atomic_store_n(&cap, max > 0 ? max : 0, __ATOMIC_RELEASE);
    return 0;
}

/* Records fd as k's; 0, or -1 when k already holds the cap's worth. */
static int admit(int fd, const struct key *k, int max)
{
    size_t i, held = 0;
    int rc = 0;
    pthread_mutex_lock(&mu);
    if ((size_t)fd < nslots)
        memset(&slots[fd], 0, sizeof slots[fd]); /* a descriptor closed out of sight */
    if (!(k->family == exempt.family && k->addr == exempt.addr)) {
        for (i = 0; i < nslots; i++)
            held += slots[i].family == k->family && slots[i].addr == k->addr;
        if (held >= (size_t)max)
            rc = -1;
    }
    if (rc == 0 && (size_t)fd >= nslots) {
        size_t n = nslots > 0 ? nslots : 1024;
        struct key *grown;
        while (n <= (size_t)fd)
            n *= 2;
        grown = calloc(n, sizeof *grown);
        if (grown != NULL) {
            if (nslots > 0)
                memcpy(grown, slots, nslots * sizeof *slots);
            free(slots);
            slots = grown;
            nslots = n;
        }
    }
    if (rc == 0 && (size_t)fd < nslots)
        slots[fd] = *k; /* out of memory: this one goes uncounted */
    pthread_mutex_unlock(&mu);
    return rc;
}

int accept(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict len)
{
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    struct key k;
    int s = accept4(fd, addr, len, 0);
    int max = __atomic_load_n(&cap, __ATOMIC_ACQUIRE);
    if (s < 0 || max == 0)
        return s;
    memset(&peer, 0, sizeof peer);
    if (getpeername(s, (struct sockaddr *)&peer, &plen) != 0 || !key_of(&peer, &k))
        return s;
    if (admit(s, &k, max) == 0)
        return s;
    /* The client may not have sent its request yet; the answer goes out
     * with the FIN, or is lost to the reset if it had. Either way it is
     * refused without a worker. */
    if (refusals != NULL) /* counted before the client can see it */
        __atomic_add_fetch(refusals, 1, __ATOMIC_RELAXED);
    (void)!send(s, refusal, refusal_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    real_close(s);
    errno = ECONNABORTED;
    return -1;
}

int close(int fd)
{
    /* Forgotten before the descriptor is released: once it is, the
     * master thread may accept a new connection under the same number. */
    if (__atomic_load_n(&cap, __ATOMIC_ACQUIRE) > 0 && fd >= 0) {
        pthread_mutex_lock(&mu);
        if ((size_t)fd < nslots)
            memset(&slots[fd], 0, sizeof slots[fd]);
        pthread_mutex_unlock(&mu);
    }
    return real_close(fd);
}
