/* test_server.c: the route pattern matcher of src/server.c and the error
 * to status mapping. */
#include "server.h"
#include "unit.h"

#include <string.h>

int main(void)
{
    int64_t ids[2] = {0, 0};
    CHECK(server_match("/api/v1/users", "/api/v1/users", ids));
    CHECK(!server_match("/api/v1/users", "/api/v1/users/", ids));
    CHECK(!server_match("/api/v1/users", "/api/v1/user", ids));
    CHECK(server_match("/api/v1/users/{id}", "/api/v1/users/42", ids) && ids[0] == 42);
    CHECK(server_match("/api/v1/jobs/{id}/x/{id}", "/api/v1/jobs/7/x/9", ids) && ids[0] == 7 &&
          ids[1] == 9);
    CHECK(!server_match("/api/v1/users/{id}", "/api/v1/users/0", ids));
    CHECK(!server_match("/api/v1/users/{id}", "/api/v1/users/-1", ids));
    {
        /* {key}: the rest of the path, slashes and all; never empty. */
        const char *key = NULL;
        CHECK(server_match_key("/api/v1/jobs/{id}/items/{key}", "/api/v1/jobs/3/items/a/../b c",
                               ids, &key) &&
              ids[0] == 3 && strcmp(key, "a/../b c") == 0);
        CHECK(
            !server_match_key("/api/v1/jobs/{id}/items/{key}", "/api/v1/jobs/3/items/", ids, &key));
        CHECK(
            !server_match_key("/api/v1/jobs/{id}/items/{key}", "/api/v1/jobs/3/items", ids, &key));
        CHECK(!server_match("/api/v1/jobs/{id}/items/{key}", "/api/v1/jobs/3/items/x", ids));
    }
    CHECK(!server_match("/api/v1/users/{id}", "/api/v1/users/4x", ids));
    CHECK(!server_match("/api/v1/users/{id}", "/api/v1/users/", ids));
    CHECK(!server_match("/api/v1/users/{id}", "/api/v1/users/1234567890123456789", ids));
    CHECK(server_status_of(ERR_INVALID) == 422);
    CHECK(server_status_of(ERR_BAD_REQUEST) == 400);
    CHECK(server_status_of(ERR_NOT_FOUND) == 404);
    CHECK(server_status_of(ERR_CONFLICT) == 409);
    CHECK(server_status_of(ERR_FORBIDDEN) == 403);
    CHECK(server_status_of(ERR_UNAUTHORIZED) == 401);
    CHECK(server_status_of(ERR_THROTTLED) == 429);
    CHECK(server_status_of(ERR_TOO_LARGE) == 413);
    CHECK(server_status_of(ERR_BUSY) == 503);
    /* A storage failure is the server's condition: retry, do not give up. */
    CHECK(server_status_of(ERR_DB) == 503);
    CHECK(server_status_of(ERR_NO_SPACE) == 507);
    CHECK(server_status_of(ERR_NOMEM) == 500);
    return unit_done("test_server");
}
