/* users.h: accounts. A user has a unique name, one role, an Argon2id
 * password hash, and may be disabled. Every change is audited. */
#ifndef ARBITER_USERS_H
#define ARBITER_USERS_H

#include "auth.h"

#include <stdint.h>

struct user {
    int64_t id;
    char name[AUTH_NAME_MAX + 1];
    enum role role;
    char password_hash[160];
    int disabled;
    int must_change_password;
    int64_t created_at, updated_at;
};

/* A name is 1-64 characters of [A-Za-z0-9._@-], starting with a letter or
 * digit. 1 when valid. */
int user_name_valid(const char *name);

/* Reads a user by id or by name (case-insensitive) on connection c.
 * 0, ERR_NOT_FOUND or ERR_DB. */
int user_get(struct db_conn *c, int64_t id, struct user *out);
int user_get_by_name(struct db_conn *c, const char *name, struct user *out);

/* Every user, by id. *out freed with free(). */
int user_list(struct db *db, struct user **out, size_t *n);

/* Counts users (to know whether a first admin must be made). */
int user_count(struct db *db, int64_t *n);

/* Creates a user. Errors: ERR_INVALID (*why: bad name, role or password),
 * ERR_CONFLICT (name taken), ERR_BUSY. */
int user_create(struct auth *a, const char *name, enum role role, const char *password,
                int must_change_password, int64_t actor_id, const char *addr, int64_t *id,
                const char **why);

/* Changes to one user; fields not "has_" set stay. */
struct user_patch {
    int has_role;
    enum role role;
    int has_disabled;
    int disabled;
    const char *password; /* NULL: unchanged; set: reset, ending their sessions */
    int must_change;      /* with password: the user must choose a new one at login */
};

/* Applies a patch. Disabling or resetting a password ends the user's
 * sessions. Errors: ERR_NOT_FOUND, ERR_INVALID (*why), ERR_CONFLICT (*why:
 * it would leave no active admin). */
int user_update(struct auth *a, int64_t id, const struct user_patch *patch, int64_t actor_id,
                const char *addr, const char **why);

/* A user changing their own password: checks current, ends every other
 * session (keep_session_id stays). ERR_UNAUTHORIZED when current is wrong
 * (audited as a failed login); ERR_THROTTLED (*retry_after) after as many
 * failures as throttle a login; ERR_BUSY when no hash slot came free. */
int user_change_password(struct auth *a, int64_t id, const char *current, const char *next,
                         int64_t keep_session_id, const char *addr, const char **why,
                         int64_t *retry_after);

#endif
