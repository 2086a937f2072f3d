/* conncap.h: a cap on the connections one client address holds open at
 * once, enforced where CivetWeb accepts them (see conncap.c). */
#ifndef ARBITER_CONNCAP_H
#define ARBITER_CONNCAP_H

#include <stdint.h>
#include <sys/socket.h>

/* From now on, a connection from an address that already holds max open
 * ones is answered 503 and closed as it is accepted. IPv6 addresses count
 * by their /64 (what one host is given). exempt: an address (a trusted
 * proxy, through which everyone comes) that is never capped, or NULL.
 * *refused counts the refusals (__atomic). max 0: no cap. Returns 0, or -1
 * when exempt is not an address. Call before the server starts. */
int conncap_start(int max, const char *exempt, uint64_t *refused);

/* 1 when a and b count as the same client: the same IPv4 address (an
 * IPv4-mapped IPv6 one included), or IPv6 addresses in the same /64.
 * Unix sockets are never counted: 0. */
int conncap_same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
