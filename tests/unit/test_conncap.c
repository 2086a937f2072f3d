/* test_conncap.c: the per-address connection cap (src/conncap.c) over real
 * loopback sockets: who counts as one client, refusal at accept with a 503,
 * and a closed descriptor freeing its slot. Linked with conncap.o alone, so
 * this binary's accept() and close() are the interposed ones. */
#include "conncap.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* text as a socket address, parsed by getaddrinfo (not by conncap's own
 * parsing, which this tests). */
static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    struct addrinfo hints, *ai = NULL;
    memset(&ss, 0, sizeof ss);
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(text, NULL, &hints, &ai) == 0 && ai->ai_addrlen <= sizeof ss)
        memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    if (ai != NULL)
        freeaddrinfo(ai);
    return ss;
}

static int same(const char *a, const char *b)
{
    struct sockaddr_storage x = addr(a), y = addr(b);
    return conncap_same_client(&x, &y);
}

static void test_who_is_one_client(void)
{
    struct sockaddr_storage u;
    CHECK(same("127.0.0.2", "127.0.0.2"));
    CHECK(!same("127.0.0.2", "127.0.0.3"));
    CHECK(same("::ffff:127.0.0.2", "127.0.0.2")); /* IPv4-mapped */
    CHECK(!same("::ffff:127.0.0.2", "127.0.0.3"));
    CHECK(same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff")); /* one /64 */
    CHECK(!same("2001:db8:1:2::1", "2001:db8:1:3::1"));
    CHECK(!same("::ffff:10.0.0.1", "::1"));
    memset(&u, 0, sizeof u);
    u.ss_family = AF_UNIX;
    CHECK(!conncap_same_client(&u, &u));
}

/* A connection to port from src (an IPv4 loopback address). */
static int dial(int port, const char *src)
{
    struct sockaddr_in from, to;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&from, 0, sizeof from);
    from.sin_family = AF_INET;
    inet_pton(AF_INET, src, &from.sin_addr);
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void test_refused_at_accept_and_freed_by_close(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    uint64_t refused = 0;
    int lst = socket(AF_INET, SOCK_STREAM, 0), port, c[4], s[3], other, so, n;
    char buf[512];
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(lst >= 0 && bind(lst, (struct sockaddr *)&a, sizeof a) == 0 && listen(lst, 16) == 0);
    CHECK(getsockname(lst, (struct sockaddr *)&a, &len) == 0);
    port = ntohs(a.sin_port);
    CHECK(conncap_start(2, "127.0.0.9", &refused) == 0);

    c[0] = dial(port, "127.0.0.2");
    c[1] = dial(port, "127.0.0.2");
    c[2] = dial(port, "127.0.0.2");
    CHECK(c[0] >= 0 && c[1] >= 0 && c[2] >= 0);
    s[0] = accept(lst, NULL, NULL);
    s[1] = accept(lst, NULL, NULL);
    CHECK(s[0] >= 0 && s[1] >= 0);
    errno = 0;
    s[2] = accept(lst, NULL, NULL); /* the third from 127.0.0.2 */
    CHECK(s[2] == -1 && errno == ECONNABORTED);
    CHECK(refused == 1);
    n = (int)recv(c[2], buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strncmp(buf, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    CHECK(strstr(buf, "\r\nRetry-After: 1\r\n") != NULL);
    CHECK(strstr(buf, "\"code\":\"too_many_connections\"") != NULL);
    /* The Content-Length is the body's. */
    {
        const char *body = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        CHECK(body != NULL && cl != NULL && atoi(cl + 16) == (int)strlen(body + 4));
    }
    CHECK(recv(c[2], buf, sizeof buf, 0) == 0); /* and closed */
    close(c[2]);

    /* Another address is not counted with it; the exempt one never is. */
    other = dial(port, "127.0.0.3");
    so = accept(lst, NULL, NULL);
    CHECK(other >= 0 && so >= 0);
    close(so);
    close(other);
    {
        int e[3], k;
        for (k = 0; k < 3; k++) {
            e[k] = dial(port, "127.0.0.9");
            so = accept(lst, NULL, NULL);
            CHECK(e[k] >= 0 && so >= 0);
            close(so);
            close(e[k]);
        }
    }

    /* Closing one of the two frees its slot. Its number is taken by
     * another file first, so that the new connection cannot reuse it. */
    {
        int keep = s[0], nul;
        close(s[0]);
        nul = open("/dev/null", O_RDONLY);
        CHECK(nul >= 0 && dup2(nul, keep) == keep);
        close(nul);
        s[0] = keep;
    }
    c[3] = dial(port, "127.0.0.2");
    s[2] = accept(lst, NULL, NULL);
    CHECK(c[3] >= 0 && s[2] >= 0);
    CHECK(refused == 1);
    close(s[0]);
    close(s[1]);
    close(s[2]);
    close(c[0]);
    close(c[1]);
    close(c[3]);

    /* 0: no cap. */
    CHECK(conncap_start(0, NULL, &refused) == 0);
    {
        int k, d[4], t[4];
        for (k = 0; k < 4; k++) {
            d[k] = dial(port, "127.0.0.2");
            t[k] = accept(lst, NULL, NULL);
            CHECK(d[k] >= 0 && t[k] >= 0);
        }
        for (k = 0; k < 4; k++) {
            close(t[k]);
            close(d[k]);
        }
    }
    CHECK(refused == 1);
    CHECK(conncap_start(2, "not an address", &refused) == -1);
    close(lst);
}

int main(void)
{
    test_who_is_one_client();
    test_refused_at_accept_and_freed_by_close();
    return unit_done("conncap");
}
