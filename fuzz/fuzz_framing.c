/* Request framing: header lines ("Name: value", one per line) as CivetWeb
 * hands them over, checked by server.c's server_framing_why (request
 * smuggling: Content-Length and Transfer-Encoding). */
#include "fuzz.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_header h[64];
    char *s = fuzz_str(data, size), *line, *save = NULL;
    int n = 0;
    for (line = strtok_r(s, "\n", &save); line != NULL && n < 64;
         line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        h[n].name = line;
        h[n].value = colon + 1 + strspn(colon + 1, " ");
        n++;
    }
    server_framing_why(h, n);
    free(s);
    return 0;
}
