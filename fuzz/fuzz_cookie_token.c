/* Credentials as the server reads them before any lookup: the session
 * cookie out of a Cookie header (CivetWeb's mg_get_cookie, as
 * server.c's session_cookie calls it), a token's scopes list
 * (auth_scopes_parse) and the Bearer prefix. */
#include "auth.h"
#include "fuzz.h"

#include <civetweb.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size), cookie[AUTH_TOKEN_LEN * 2], scopes[64];
    unsigned sc = 0;
    int n = mg_get_cookie(s, "arbiter_session", cookie, sizeof cookie);
    if (n > 0 && strlen(cookie) >= sizeof cookie)
        abort();
    if (auth_scopes_parse(s, &sc) == 0) {
        auth_scopes_format(sc, scopes, sizeof scopes);
        if ((sc & ~(unsigned)SCOPES_ALL) != 0)
            abort();
    }
    (void)(strncasecmp(s, "Bearer ", 7) == 0);
    free(s);
    return 0;
}
