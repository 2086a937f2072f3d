/* main.c: the arbiter command line. `serve` runs the server; `user`,
 * `token` and `migrate` administer the same database from scripts or a
 * terminal, through the same concept functions the API uses. Every
 * subcommand takes --db PATH. */
#include "app.h"
#include "auth.h"
#include "backup.h"
#include "browse.h"
#include "conncap.h"
#include "db.h"
#include "export.h"
#include "items.h"
#include "jobs.h"
#include "progress.h"
#include "report.h"
#include "server.h"
#include "users.h"
#include "util.h"

#include <civetweb.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_DB "data/arbiter.db"

static const char usage[] =
    "usage: arbiter COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  serve                      run the server (applies pending migrations first)\n"
    "  migrate                    apply pending schema migrations and exit\n"
    "  user add NAME --role ROLE  create a user; the password is read from standard\n"
    "                             input when it is not a terminal, else prompted for\n"
    "  user list                  list users\n"
    "  user passwd NAME           set a user's password (read as for `user add`)\n"
    "  user disable NAME          disable a user and end their sessions\n"
    "  user enable NAME           enable a disabled user\n"
    "  token create NAME --scope SCOPE [--scope SCOPE] [--user USER] [--expires-days N]\n"
    "                             create an API token (scopes: export, write, judge) for USER\n"
    "                             (default: the first admin); prints the token alone\n"
    "  token list [--user USER]   list API tokens\n"
    "  token revoke ID            revoke an API token\n"
    "  job create --file JOB.json [--owner USER]\n"
    "                             create a draft job (owner: USER, default the first\n"
    "                             admin); prints its id\n"
    "  job list                   list jobs\n"
    "  job show ID                print a job as JSON\n"
    "  job update ID --file PATCH.json\n"
    "                             change a job (the fields of PATCH /api/v1/jobs/ID)\n"
    "  job import ID FILE         import items from a JSONL file (- for standard input);\n"
    "                             all or nothing, bad lines are listed\n"
    "  job members ID [USER...]   set the labelers of a job\n"
    "  job open|pause|close ID    change a job's status\n"
    "  job stats ID               print a job's progress as JSON\n"
    "  export ID --format F [--since CURSOR] [--out FILE] [--aggregate none|majority|dawid-skene]\n"
    "         [--review default|accepted|all]\n"
    "         [--min-agreement X] [--question NAME] [--rank-pairs all|best] [--min-gap N]\n"
    "         [--best-rated SCORE] [--kto-good SCORE] [--kto-bad SCORE]\n"
    "                             export a job's judgments as JSON Lines (formats: raw,\n"
    "                             sft, openai-chat, preference, openai-preference, kto;\n"
    "                             docs/formats.md); the cursor for the next pull goes to\n"
    "                             standard error\n"
    "  report ID [--format json|jsonl] [--samples N] [--seed N] [--alpha ordinal|interval] [--ties "
    "half|davidson]\n"
    "         [--filter KEY=VALUE]...\n"
    "                             print a job's human-evaluation report (docs/reports.md);\n"
    "                             --filter keeps items whose metadata KEY is VALUE\n"
    "  backup --out FILE          copy the database online, consistently (the server may\n"
    "                             run); checked, whole or absent, never over a file\n"
    "  restore --from FILE        replace the database with a backup (the server stopped);\n"
    "                             the replaced one is kept beside it\n"
    "\n"
    "options for every command:\n"
    "  --db PATH                  the database (default " DEFAULT_DB ")\n"
    "  --staging-dir DIR          where imports are staged before they are inserted\n"
    "                             (default: the database's directory)\n"
    "\n"
    "options for serve:\n"
    "  --listen ADDR:PORT         where to listen (default 127.0.0.1:8080)\n"
    "  --threads N                worker threads, each serving one connection at a time\n"
    "                             (default 512, at most 4096)\n"
    "  --keep-alive-ms MS         close a keep-alive connection idle this long (default 200):\n"
    "                             a labeler thinking holds no thread\n"
    "  --request-timeout-ms MS    a request must arrive within this (default 10000): a slow\n"
    "                             client holds a thread no longer\n"
    "  --db-readers N             pooled read connections to the database (default 32)\n"
    "  --assets DIR               serve web/, templates/, static/ from DIR (development)\n"
    "  --secure-cookies           mark the session cookie Secure (behind a TLS proxy)\n"
    "  --origin URL               the public origin, e.g. https://arbiter.example.com\n"
    "  --trusted-proxy ADDR       believe X-Forwarded-For from this peer address\n"
    "  --max-conns-per-addr N     connections one client address may hold open at once;\n"
    "                             more are answered 503 at accept (default: half the\n"
    "                             threads; 0: no cap; the trusted proxy is never capped;\n"
    "                             IPv6 counts by /64)\n"
    "  --session-idle SECONDS     idle session timeout (default 1800)\n"
    "  --session-max SECONDS      absolute session lifetime (default 43200)\n"
    "  --pwhash-ops N             Argon2id passes (default 2)\n"
    "  --pwhash-mem MIB           Argon2id memory in MiB (default 64)\n"
    "  --pwhash-slots N           password hashes at once (default: the number of cores)\n"
    "  --pwhash-wait-ms MS        how long a login waits for a hash slot before a 503\n"
    "                             with Retry-After (default 1000); at most 4 per slot wait\n"
    "  --throttle-account N       failed logins per account per window (default 5)\n"
    "  --throttle-addr N          failed logins per client address per window (default 20)\n"
    "  --throttle-window SECONDS  the throttling window (default 900)\n";

struct cli {
    struct app_config cfg;
    const char *role, *user, *scope_csv, *file, *owner, *out, *from;
    const char *xname[16], *xvalue[16]; /* export options, by their API names */
    int nx;
    unsigned scopes;
    long expires_days;
    char *pos[256];
    int npos;
};

enum {
    OPT_DB = 256,
    OPT_LISTEN,
    OPT_THREADS,
    OPT_ASSETS,
    OPT_SECURE,
    OPT_ORIGIN,
    OPT_PROXY,
    OPT_CONNCAP,
    OPT_IDLE,
    OPT_MAX,
    OPT_OPS,
    OPT_MEM,
    OPT_T_ACCOUNT,
    OPT_T_ADDR,
    OPT_T_WINDOW,
    OPT_ROLE,
    OPT_USER,
    OPT_SCOPE,
    OPT_EXPIRES,
    OPT_FILE,
    OPT_OWNER,
    OPT_HELP,
    OPT_OUT,
    OPT_EXPORT,
    OPT_STAGING,
    OPT_FROM,
    OPT_SLOTS,
    OPT_WAIT,
    OPT_READERS,
    OPT_KEEPALIVE,
    OPT_REQTIMEOUT
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parses argv (after the command words) into c. 0, 1 for --help, -1. */
static int parse_args(int argc, char **argv, struct cli *c)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, OPT_DB},
        {"listen", required_argument, 0, OPT_LISTEN},
        {"threads", required_argument, 0, OPT_THREADS},
        {"db-readers", required_argument, 0, OPT_READERS},
        {"keep-alive-ms", required_argument, 0, OPT_KEEPALIVE},
        {"request-timeout-ms", required_argument, 0, OPT_REQTIMEOUT},
        {"assets", required_argument, 0, OPT_ASSETS},
        {"staging-dir", required_argument, 0, OPT_STAGING},
        {"secure-cookies", no_argument, 0, OPT_SECURE},
        {"origin", required_argument, 0, OPT_ORIGIN},
        {"trusted-proxy", required_argument, 0, OPT_PROXY},
        {"max-conns-per-addr", required_argument, 0, OPT_CONNCAP},
        {"session-idle", required_argument, 0, OPT_IDLE},
        {"session-max", required_argument, 0, OPT_MAX},
        {"pwhash-ops", required_argument, 0, OPT_OPS},
        {"pwhash-mem", required_argument, 0, OPT_MEM},
        {"pwhash-slots", required_argument, 0, OPT_SLOTS},
        {"pwhash-wait-ms", required_argument, 0, OPT_WAIT},
        {"throttle-account", required_argument, 0, OPT_T_ACCOUNT},
        {"throttle-addr", required_argument, 0, OPT_T_ADDR},
        {"throttle-window", required_argument, 0, OPT_T_WINDOW},
        {"role", required_argument, 0, OPT_ROLE},
        {"user", required_argument, 0, OPT_USER},
        {"scope", required_argument, 0, OPT_SCOPE},
        {"expires-days", required_argument, 0, OPT_EXPIRES},
        {"file", required_argument, 0, OPT_FILE},
        {"owner", required_argument, 0, OPT_OWNER},
        {"help", no_argument, 0, OPT_HELP},
        {"out", required_argument, 0, OPT_OUT},
        {"from", required_argument, 0, OPT_FROM},
        {"format", required_argument, 0, OPT_EXPORT},
        {"since", required_argument, 0, OPT_EXPORT},
        {"aggregate", required_argument, 0, OPT_EXPORT},
        {"review", required_argument, 0, OPT_EXPORT},
        {"min-agreement", required_argument, 0, OPT_EXPORT},
        {"question", required_argument, 0, OPT_EXPORT},
        {"rank-pairs", required_argument, 0, OPT_EXPORT},
        {"min-gap", required_argument, 0, OPT_EXPORT},
        {"best-rated", required_argument, 0, OPT_EXPORT},
        {"kto-good", required_argument, 0, OPT_EXPORT},
        {"kto-bad", required_argument, 0, OPT_EXPORT},
        {"samples", required_argument, 0, OPT_EXPORT},
        {"seed", required_argument, 0, OPT_EXPORT},
        {"alpha", required_argument, 0, OPT_EXPORT},
        {"filter", required_argument, 0, OPT_EXPORT},
        {0, 0, 0, 0},
    };
    int o, li = 0;
    long v;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", opts, &li)) != -1) {
        const char *bad = NULL;
        switch (o) {
        case OPT_DB: c->cfg.db_path = optarg; break;
        case OPT_LISTEN: c->cfg.listen = optarg; break;
        case OPT_THREADS:
            if (parse_long(optarg, 1, 4096, &v) == 0)
                c->cfg.threads = (int)v;
            else
                bad = "--threads";
            break;
        case OPT_READERS:
            if (parse_long(optarg, 1, 1024, &v) == 0)
                c->cfg.db_readers = (int)v;
            else
                bad = "--db-readers";
            break;
        case OPT_KEEPALIVE:
            if (parse_long(optarg, 0, 600000, &v) == 0)
                c->cfg.keep_alive_ms = (int)v;
            else
                bad = "--keep-alive-ms";
            break;
        case OPT_REQTIMEOUT:
            if (parse_long(optarg, 100, 600000, &v) == 0)
                c->cfg.request_timeout_ms = (int)v;
            else
                bad = "--request-timeout-ms";
            break;
        case OPT_ASSETS: c->cfg.assets_dir = optarg; break;
        case OPT_STAGING: c->cfg.staging_dir = optarg; break;
        case OPT_SECURE: c->cfg.secure_cookies = 1; break;
        case OPT_ORIGIN: c->cfg.origin = optarg; break;
        case OPT_PROXY: c->cfg.trusted_proxy = optarg; break;
        case OPT_CONNCAP:
            if (parse_long(optarg, 0, 1000000, &v) == 0)
                c->cfg.max_conns_per_addr = (int)v;
            else
                bad = "--max-conns-per-addr";
            break;
        case OPT_IDLE:
            if (parse_long(optarg, 1, 365L * 86400, &v) == 0)
                c->cfg.auth.idle_timeout = v;
            else
                bad = "--session-idle";
            break;
        case OPT_MAX:
            if (parse_long(optarg, 1, 365L * 86400, &v) == 0)
                c->cfg.auth.absolute_timeout = v;
            else
                bad = "--session-max";
            break;
        case OPT_OPS:
            if (parse_long(optarg, 1, 100, &v) == 0)
                c->cfg.auth.pw_opslimit = (unsigned long long)v;
            else
                bad = "--pwhash-ops";
            break;
        case OPT_MEM:
            if (parse_long(optarg, 8, 4096, &v) == 0)
                c->cfg.auth.pw_memlimit = (size_t)v << 20;
            else
                bad = "--pwhash-mem";
            break;
        case OPT_SLOTS:
            if (parse_long(optarg, 1, 256, &v) == 0)
                c->cfg.auth.hash_slots = (int)v;
            else
                bad = "--pwhash-slots";
            break;
        case OPT_WAIT:
            if (parse_long(optarg, 0, 60000, &v) == 0)
                c->cfg.auth.hash_wait_ms = (int)v;
            else
                bad = "--pwhash-wait-ms";
            break;
        case OPT_T_ACCOUNT:
            if (parse_long(optarg, 1, 1000000, &v) == 0)
                c->cfg.auth.throttle_account = (int)v;
            else
                bad = "--throttle-account";
            break;
        case OPT_T_ADDR:
            if (parse_long(optarg, 1, 1000000, &v) == 0)
                c->cfg.auth.throttle_addr = (int)v;
            else
                bad = "--throttle-addr";
            break;
        case OPT_T_WINDOW:
            if (parse_long(optarg, 1, 86400L * 30, &v) == 0)
                c->cfg.auth.throttle_window = v;
            else
                bad = "--throttle-window";
            break;
        case OPT_ROLE: c->role = optarg; break;
        case OPT_USER: c->user = optarg; break;
        case OPT_SCOPE: {
            unsigned s;
            if (auth_scopes_parse(optarg, &s) == 0)
                c->scopes |= s;
            else
                bad = "--scope (export, write or judge)";
            break;
        }
        case OPT_EXPIRES:
            if (parse_long(optarg, 1, 3650, &v) == 0)
                c->expires_days = v;
            else
                bad = "--expires-days (1-3650)";
            break;
        case OPT_FILE: c->file = optarg; break;
        case OPT_OWNER: c->owner = optarg; break;
        case OPT_OUT: c->out = optarg; break;
        case OPT_FROM: c->from = optarg; break;
        case OPT_EXPORT:
            if (c->nx == 16) {
                bad = "export options (too many)";
                break;
            }
            c->xname[c->nx] = opts[li].name;
            c->xvalue[c->nx++] = optarg;
            break;
        case OPT_HELP:
        case 'h': return 1;
        default:
            fprintf(stderr, "arbiter: unknown or incomplete option %s\n", argv[optind - 1]);
            return -1;
        }
        if (bad != NULL) {
            fprintf(stderr, "arbiter: bad value for %s: %s\n", bad, optarg);
            return -1;
        }
    }
    for (; optind < argc; optind++) {
        if (c->npos == (int)(sizeof c->pos / sizeof c->pos[0])) {
            fprintf(stderr, "arbiter: too many arguments\n");
            return -1;
        }
        c->pos[c->npos++] = argv[optind];
    }
    return 0;
}

/* Creates the database's folder when missing (one level, as for ./data). */
static void make_parent_dir(const char *path)
{
    char dir[4096];
    char *slash;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return;
    *slash = '\0';
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        fprintf(stderr, "arbiter: cannot create %s: %s\n", dir, strerror(errno));
}

/* Opens and migrates the database and loads the auth key. */
static int open_all(struct app *app, int quiet)
{
    char err[512] = "";
    int applied = 0, rc;
    make_parent_dir(app->cfg.db_path);
    rc = db_open(app->cfg.db_path, &app->db, err, sizeof err);
    if (rc == 0)
        rc = db_migrate(app->db, &applied, err, sizeof err);
    if (rc == 0 && (rc = items_refresh_stale(app->db)) != 0)
        snprintf(err, sizeof err, "cannot compute the items' disagreement (migration 008)");
    if (rc != 0) {
        fprintf(stderr, "arbiter: %s\n", err[0] != '\0' ? err : "cannot open the database");
        return rc;
    }
    if (applied > 0 && !quiet)
        fprintf(stderr, "arbiter: applied %d migration(s); schema version %d\n", applied,
                db_schema_version(app->db));
    rc = auth_new(app->db, &app->cfg.auth, &app->auth);
    if (rc != 0)
        fprintf(stderr, "arbiter: cannot initialise authentication (%d)\n", rc);
    return rc;
}

static void close_all(struct app *app)
{
    db_close(app->db);
    auth_free(app->auth);
    app->db = NULL;
    app->auth = NULL;
}

/* Reads a password: one line of standard input when it is not a terminal,
 * else prompted twice without echo. 0 or -1. */
static int read_password(char *out, size_t n)
{
    if (!isatty(STDIN_FILENO)) {
        size_t len;
        if (fgets(out, (int)n, stdin) == NULL)
            return -1;
        len = strcspn(out, "\r\n");
        out[len] = '\0';
        return 0;
    }
    {
        struct termios old, quiet;
        char again[256];
        int rc = -1;
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        fprintf(stderr, "password: ");
        if (fgets(out, (int)n, stdin) != NULL) {
            fprintf(stderr, "\nagain: ");
            if (fgets(again, sizeof again, stdin) != NULL) {
                out[strcspn(out, "\r\n")] = '\0';
                again[strcspn(again, "\r\n")] = '\0';
                rc = strcmp(out, again) == 0 ? 0 : -1;
                if (rc != 0)
                    fprintf(stderr, "\narbiter: the passwords differ");
            }
        }
        fprintf(stderr, "\n");
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        sodium_memzero(again, sizeof again);
        return rc;
    }
}

/* Makes the first admin on an empty database; prints its one-time password. */
static int first_admin(struct app *app)
{
    unsigned char raw[15];
    char pw[32];
    const char *why = NULL;
    int64_t n = 0, id;
    int rc = user_count(app->db, &n);
    if (rc != 0 || n > 0)
        return rc;
    randombytes_buf(raw, sizeof raw);
    util_b64url(raw, sizeof raw, pw, sizeof pw);
    rc = user_create(app->auth, "admin", ROLE_ADMIN, pw, 1, 0, "cli", &id, &why);
    if (rc != 0) {
        fprintf(stderr, "arbiter: cannot create the first admin: %s\n", why ? why : "error");
        return rc;
    }
    printf("\n  First run: created the account \"admin\".\n"
           "  One-time password: %s\n"
           "  (shown only now; you will choose a new one at first login)\n\n",
           pw);
    fflush(stdout);
    sodium_memzero(pw, sizeof pw);
    return 0;
}

static int cmd_serve(struct app *app)
{
    sigset_t sigs;
    char err[512];
    struct rlimit fds;
    int rc;
    /* A connection is a descriptor: thousands of labelers need more than
     * the usual soft limit of 1024. */
    if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
        fds.rlim_cur = fds.rlim_max;
        setrlimit(RLIMIT_NOFILE, &fds);
    }
    /* Block the stop signals in every thread; server_run waits for them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* No one address may hold more than half the workers, so slow clients
     * from one host (slowloris) cannot take them all. */
    if (app->cfg.max_conns_per_addr < 0)
        app->cfg.max_conns_per_addr = app->cfg.threads > 1 ? app->cfg.threads / 2 : 1;
    if (conncap_start(app->cfg.max_conns_per_addr, app->cfg.trusted_proxy, &app->conns_refused) !=
        0) {
        fprintf(stderr, "arbiter: --trusted-proxy %s is not an IP address\n",
                app->cfg.trusted_proxy);
        return -1;
    }
    if ((rc = open_all(app, 0)) != 0)
        goto out;
    /* One server per database file; restore waits for none. */
    if (backup_lock_for_serve(app->cfg.db_path, err, sizeof err) != 0) {
        fprintf(stderr, "arbiter: %s\n", err);
        rc = -1;
        goto out;
    }
    if ((rc = first_admin(app)) != 0 || (rc = db_writer_start(app->db)) != 0 ||
        (rc = items_import_recover(app->db, stderr)) != 0)
        goto out;
    printf("  Arbiter is at http://%s/\n", app->cfg.listen);
    fflush(stdout);
    mg_init_library(0);
    rc = server_run(app, &sigs);
    mg_exit_library();
out:
    close_all(app);
    if (rc == 0)
        fprintf(stderr, "arbiter: stopped cleanly\n");
    return rc == 0 ? 0 : 1;
}

static int find_user(struct app *app, const char *name, struct user *u)
{
    struct db_conn *c = db_reader(app->db);
    if (c == NULL || user_get_by_name(c, name, u) != 0) {
        fprintf(stderr, "arbiter: no user named %s\n", name);
        return -1;
    }
    return 0;
}

static int cmd_user(struct app *app, struct cli *c)
{
    const char *sub = c->npos > 0 ? c->pos[0] : "";
    const char *why = NULL;
    char pw[256];
    struct user u;
    int rc;
    if (strcmp(sub, "list") == 0) {
        struct user *v = NULL;
        size_t n = 0, i;
        if (user_list(app->db, &v, &n) != 0)
            return 1;
        printf("%-6s %-24s %-8s %s\n", "ID", "NAME", "ROLE", "STATE");
        for (i = 0; i < n; i++)
            printf("%-6lld %-24s %-8s %s\n", (long long)v[i].id, v[i].name,
                   auth_role_name(v[i].role), v[i].disabled ? "disabled" : "active");
        free(v);
        return 0;
    }
    if (c->npos != 2) {
        fprintf(stderr, "arbiter: usage: arbiter user add|passwd|disable|enable NAME\n");
        return 2;
    }
    if (strcmp(sub, "add") == 0) {
        enum role role;
        if (c->role == NULL || auth_role_parse(c->role, &role) != 0) {
            fprintf(stderr, "arbiter: --role must be admin, lead or labeler\n");
            return 2;
        }
        if (read_password(pw, sizeof pw) != 0)
            return 1;
        rc = user_create(app->auth, c->pos[1], role, pw, 0, 0, "cli", NULL, &why);
    } else if (strcmp(sub, "passwd") == 0 || strcmp(sub, "disable") == 0 ||
               strcmp(sub, "enable") == 0) {
        struct user_patch patch = {0};
        if (find_user(app, c->pos[1], &u) != 0)
            return 1;
        if (strcmp(sub, "passwd") == 0) {
            if (read_password(pw, sizeof pw) != 0)
                return 1;
            patch.password = pw;
        } else {
            patch.has_disabled = 1;
            patch.disabled = strcmp(sub, "disable") == 0;
        }
        rc = user_update(app->auth, u.id, &patch, 0, "cli", &why);
    } else {
        fprintf(stderr, "arbiter: unknown user command %s\n", sub);
        return 2;
    }
    sodium_memzero(pw, sizeof pw);
    if (rc != 0) {
        fprintf(stderr, "arbiter: %s\n", why != NULL ? why : "failed");
        return 1;
    }
    return 0;
}

/* The owner for `token create`: --user, else the first active admin. */
static int token_owner(struct app *app, const char *name, struct user *u)
{
    struct user *v = NULL;
    size_t n = 0, i;
    if (name != NULL)
        return find_user(app, name, u);
    if (user_list(app->db, &v, &n) != 0)
        return -1;
    for (i = 0; i < n && (v[i].role != ROLE_ADMIN || v[i].disabled); i++)
        ;
    if (i < n)
        *u = v[i];
    free(v);
    if (i == n)
        fprintf(stderr, "arbiter: no active admin; pass --user\n");
    return i < n ? 0 : -1;
}

static int cmd_token(struct app *app, struct cli *c)
{
    const char *sub = c->npos > 0 ? c->pos[0] : "";
    struct user u;
    if (strcmp(sub, "create") == 0 && c->npos == 2) {
        struct auth_token_info info;
        char secret[AUTH_TOKEN_LEN];
        int64_t expires = c->expires_days > 0 ? util_now() + c->expires_days * 86400 : 0;
        if (c->scopes == 0) {
            fprintf(stderr, "arbiter: --scope export, write or judge is required\n");
            return 2;
        }
        if (token_owner(app, c->user, &u) != 0)
            return 1;
        if (u.role < ROLE_LEAD) {
            fprintf(stderr, "arbiter: tokens belong to admins and leads; %s is a %s\n", u.name,
                    auth_role_name(u.role));
            return 1;
        }
        if (auth_token_create(app->auth, u.id, c->pos[1], c->scopes, expires, 0, "cli", &info,
                              secret) != 0) {
            fprintf(stderr, "arbiter: cannot create the token (name 1-128 characters)\n");
            return 1;
        }
        printf("%s\n", secret);
        return 0;
    }
    if (strcmp(sub, "list") == 0 && c->npos == 1) {
        struct auth_token_info *v = NULL;
        size_t n = 0, i;
        int64_t owner = -1;
        if (c->user != NULL) {
            if (find_user(app, c->user, &u) != 0)
                return 1;
            owner = u.id;
        }
        if (auth_token_list(app->auth, owner, &v, &n) != 0)
            return 1;
        printf("%-6s %-24s %-16s %-13s %-20s %s\n", "ID", "NAME", "USER", "SCOPES", "EXPIRES",
               "STATE");
        for (i = 0; i < n; i++) {
            char scopes[32], exp[32] = "never";
            auth_scopes_format(v[i].scopes, scopes, sizeof scopes);
            if (v[i].expires_at > 0)
                util_time_iso(v[i].expires_at, exp, sizeof exp);
            printf("%-6lld %-24s %-16s %-13s %-20s %s\n", (long long)v[i].id, v[i].name, v[i].user,
                   scopes, exp, v[i].revoked_at > 0 ? "revoked" : "active");
        }
        free(v);
        return 0;
    }
    if (strcmp(sub, "revoke") == 0 && c->npos == 2) {
        long id;
        int rc;
        if (parse_long(c->pos[1], 1, 0x7fffffffL, &id) != 0) {
            fprintf(stderr, "arbiter: token ids are positive integers\n");
            return 2;
        }
        rc = auth_token_revoke(app->auth, id, -1, 0, "cli");
        if (rc != 0) {
            fprintf(stderr, "arbiter: %s\n",
                    rc == ERR_NOT_FOUND  ? "no such token"
                    : rc == ERR_CONFLICT ? "already revoked"
                                         : "failed");
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "arbiter: usage: arbiter token create NAME --scope S | list | revoke ID\n");
    return 2;
}

/* ---- jobs ---- */

/* The command line acts as an admin (user id 0: "cli" in the audit log). */
static const struct principal cli_admin = {.kind = AUTH_SESSION, .role = ROLE_ADMIN, .name = "cli"};

/* A job file, parsed as the API parses a body: nesting bounded first. */
static json_t *load_json_file(const char *path)
{
    json_error_t err;
    json_t *v = NULL;
    struct buf b = {0};
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "arbiter: cannot open %s\n", path);
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < ((size_t)64 << 20))
        if (buf_append(&b, chunk, n) != 0)
            break;
    fclose(f);
    if (util_json_too_deep(b.data, b.len, JSON_DEPTH_MAX)) {
        fprintf(stderr, "arbiter: %s: nested deeper than %d levels\n", path, JSON_DEPTH_MAX);
        buf_free(&b);
        return NULL;
    }
    v = json_loadb(b.data != NULL ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &err);
    buf_free(&b);
    if (v == NULL)
        fprintf(stderr, "arbiter: %s: line %d: %s\n", path, err.line, err.text);
    else if (!json_is_object(v)) {
        fprintf(stderr, "arbiter: %s: must hold a JSON object\n", path);
        json_decref(v);
        v = NULL;
    }
    return v;
}

static void print_problems(const struct problems *pr)
{
    json_t *p;
    size_t i;
    json_array_foreach(pr->list, i, p)
        fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(p, "field")),
                json_string_value(json_object_get(p, "message")));
}

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2));
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(v);
}

static long file_read(void *ctx, char *buf, size_t n)
{
    FILE *f = ctx;
    size_t got = fread(buf, 1, n, f);
    return got > 0 ? (long)got : ferror(f) ? -1 : 0;
}

static int job_id_arg(struct cli *c, int64_t *id)
{
    long v;
    if (c->npos < 2 || parse_long(c->pos[1], 1, 0x7fffffffL, &v) != 0) {
        fprintf(stderr, "arbiter: give a job id (a positive integer)\n");
        return -1;
    }
    *id = v;
    return 0;
}

static int cmd_job_change(struct app *app, int64_t id, json_t *body)
{
    struct problems pr = {0};
    const char *why = NULL;
    int rc = job_update(app->db, id, body, 0, "cli", &pr, &why);
    if (rc != 0) {
        fprintf(stderr, "arbiter: %s\n",
                rc == ERR_NOT_FOUND ? "no such job"
                : why != NULL       ? why
                : rc == ERR_INVALID ? "invalid change:"
                                    : "failed");
        print_problems(&pr);
    }
    json_decref(pr.list);
    return rc == 0 ? 0 : 1;
}

static int cmd_job(struct app *app, struct cli *c)
{
    const char *sub = c->npos > 0 ? c->pos[0] : "";
    struct db_conn *conn = db_reader(app->db);
    struct job j;
    int64_t id = 0;
    int rc = 1, i;
    if (conn == NULL)
        return 1;
    if (strcmp(sub, "create") == 0 && c->npos == 1 && c->file != NULL) {
        struct job_config cfg;
        struct problems pr = {0};
        struct user owner;
        json_t *body = load_json_file(c->file);
        if (body == NULL || token_owner(app, c->owner, &owner) != 0) {
            json_decref(body);
            return 1;
        }
        if (job_config_parse(body, &cfg, &pr) != 0) {
            fprintf(stderr, "arbiter: %d problem(s) in %s:\n", pr.count, c->file);
            print_problems(&pr);
        } else if (job_create(app->db, &cfg, owner.id, 0, "cli", &id) == 0) {
            printf("%lld\n", (long long)id);
            rc = 0;
        }
        json_decref(pr.list);
        json_decref(body);
        job_config_clear(&cfg);
        return rc;
    }
    if (strcmp(sub, "list") == 0 && c->npos == 1) {
        int64_t *ids = NULL;
        size_t n = 0, k;
        if (job_list_ids(conn, &cli_admin, &ids, &n) != 0)
            return 1;
        printf("%-6s %-8s %-7s %-8s %s\n", "ID", "STATUS", "OVERLAP", "OWNER", "NAME");
        for (k = 0; k < n; k++)
            if (job_load(conn, ids[k], &j) == 0) {
                printf("%-6lld %-8s %-7d %-8s %s\n", (long long)j.id, job_status_name(j.status),
                       j.cfg.overlap, j.owner, j.cfg.name);
                job_free_fields(&j);
            }
        free(ids);
        return 0;
    }
    if (job_id_arg(c, &id) != 0)
        goto usage;
    if (job_load(conn, id, &j) != 0) {
        fprintf(stderr, "arbiter: no job %lld\n", (long long)id);
        return 1;
    }
    if (strcmp(sub, "show") == 0 && c->npos == 2) {
        print_json(job_json(conn, &j, &cli_admin));
        rc = 0;
    } else if (strcmp(sub, "stats") == 0 && c->npos == 2) {
        json_t *out = NULL;
        rc = progress_json(conn, id, j.cfg.overlap, util_now_ms(), &out);
        if (rc == 0)
            print_json(out);
        rc = rc == 0 ? 0 : 1;
    } else if (strcmp(sub, "update") == 0 && c->npos == 2 && c->file != NULL) {
        json_t *body = load_json_file(c->file);
        rc = body != NULL ? cmd_job_change(app, id, body) : 1;
        json_decref(body);
    } else if ((strcmp(sub, "open") == 0 || strcmp(sub, "pause") == 0 ||
                strcmp(sub, "close") == 0) &&
               c->npos == 2) {
        const char *to = sub[0] == 'o' ? "open" : sub[0] == 'p' ? "paused" : "closed";
        json_t *body = json_pack("{ss}", "status", to);
        rc = cmd_job_change(app, id, body);
        json_decref(body);
    } else if (strcmp(sub, "members") == 0) {
        struct problems pr = {0};
        json_t *names = json_array();
        for (i = 2; i < c->npos; i++)
            json_array_append_new(names, json_string(c->pos[i]));
        rc = job_set_members(app->db, id, names, 0, "cli", &pr);
        if (rc != 0) {
            fprintf(stderr, "arbiter: members not changed:\n");
            print_problems(&pr);
        }
        json_decref(pr.list);
        json_decref(names);
        rc = rc == 0 ? 0 : 1;
    } else if (strcmp(sub, "import") == 0 && c->npos == 3) {
        struct import_result res;
        FILE *f = strcmp(c->pos[2], "-") == 0 ? stdin : fopen(c->pos[2], "r");
        if (f == NULL) {
            fprintf(stderr, "arbiter: cannot open %s\n", c->pos[2]);
            job_free_fields(&j);
            return 1;
        }
        db_reader_idle(app->db);
        rc = items_import(app->db, id, file_read, f, 0, "cli", app->cfg.staging_dir, &res);
        if (f != stdin)
            fclose(f);
        if (rc == 0) {
            printf("imported %lld items\n", (long long)res.imported);
        } else if (rc == ERR_INVALID) {
            json_t *e;
            size_t k;
            fprintf(stderr, "arbiter: %lld bad line(s); nothing was imported\n",
                    (long long)res.bad_lines);
            json_array_foreach(res.errors, k, e)
                fprintf(stderr, "  line %lld: %s%s%s\n",
                        (long long)json_integer_value(json_object_get(e, "line")),
                        json_string_value(json_object_get(e, "field")),
                        json_string_value(json_object_get(e, "field"))[0] ? ": " : "",
                        json_string_value(json_object_get(e, "message")));
        } else {
            fprintf(stderr, "arbiter: import failed: %s\n", res.why != NULL ? res.why : "error");
        }
        json_decref(res.errors);
        rc = rc == 0 ? 0 : 1;
    } else {
        job_free_fields(&j);
        goto usage;
    }
    job_free_fields(&j);
    return rc;
usage:
    fprintf(stderr,
            "arbiter: usage: arbiter job create --file F | list | show ID | update ID --file F |"
            " import ID FILE | members ID USER... | open|pause|close ID | stats ID\n");
    return 2;
}

static int file_sink(void *ctx, const char *data, size_t len)
{
    return fwrite(data, 1, len, ctx) == len ? 0 : -1;
}

static int cmd_export(struct app *app, struct cli *c)
{
    struct db_conn *conn = db_reader(app->db);
    struct export_opts o;
    struct job j;
    unsigned char key[32];
    int64_t id, cursor = 0, rows = 0;
    const char *why = NULL, *field = NULL;
    FILE *out = stdout;
    int i, rc;
    long v;
    if (conn == NULL)
        return 1;
    if (c->npos != 1 || parse_long(c->pos[0], 1, 0x7fffffffL, &v) != 0) {
        fprintf(stderr,
                "arbiter: usage: arbiter export JOB_ID --format F [--since CURSOR] [--out FILE]\n");
        return 2;
    }
    id = v;
    export_opts_default(&o);
    for (i = 0; i < c->nx; i++) {
        char name[32];
        size_t k;
        snprintf(name, sizeof name, "%s", c->xname[i]);
        for (k = 0; name[k] != '\0'; k++)
            if (name[k] == '-')
                name[k] = '_';
        if ((rc = export_opt_set(&o, name, c->xvalue[i], &why)) != 0) {
            fprintf(stderr, "arbiter: --%s: %s\n", c->xname[i],
                    rc == ERR_NOT_FOUND ? "not an option of export" : why);
            return 2;
        }
    }
    if (job_load(conn, id, &j) != 0) {
        fprintf(stderr, "arbiter: no job %lld\n", (long long)id);
        return 1;
    }
    rc = export_opts_check(&o, &j, &why, &field);
    if (rc != 0)
        fprintf(stderr, "arbiter: --%s: %s\n", field, why);
    else if (export_cursor(conn, id, &cursor) != 0 || auth_key_load(app->db, key) != 0)
        rc = ERR_DB;
    else if (o.since > cursor) {
        fprintf(stderr, "arbiter: --since: is past the job's last change (%lld)\n",
                (long long)cursor);
        rc = ERR_INVALID;
    } else if (c->out != NULL && (out = fopen(c->out, "w")) == NULL) {
        fprintf(stderr, "arbiter: cannot write %s\n", c->out);
        rc = ERR_INVALID;
    } else {
        rc = export_run(app->db, &j, &o, cursor, key, file_sink, out, &rows);
        /* cppcheck-suppress useClosedFile ; out is open: fclose or fflush, once */
        if ((out != stdout ? fclose(out) : fflush(out)) != 0 && rc == 0)
            rc = -1;
        if (rc == 0)
            fprintf(stderr, "arbiter: %lld rows; cursor %lld (pass --since %lld next time)\n",
                    (long long)rows, (long long)cursor, (long long)cursor);
        else
            fprintf(stderr, "arbiter: export failed\n");
    }
    sodium_memzero(key, sizeof key);
    job_free_fields(&j);
    return rc == 0 ? 0 : 1;
}

static int cmd_report(struct app *app, struct cli *c)
{
    struct db_conn *conn = db_reader(app->db);
    struct report_opts o;
    struct job j;
    json_t *rep = NULL;
    char keys[REPORT_FILTERS_MAX][80];
    const char *why = NULL;
    int i, rc, jsonl = 0, nk = 0;
    long v;
    if (conn == NULL)
        return 1;
    if (c->npos != 1 || parse_long(c->pos[0], 1, 0x7fffffffL, &v) != 0) {
        fprintf(stderr,
                "arbiter: usage: arbiter report JOB_ID [--format json|jsonl] [--filter K=V]\n");
        return 2;
    }
    report_opts_default(&o);
    for (i = 0; i < c->nx; i++) {
        const char *name = c->xname[i], *val = c->xvalue[i];
        if (strcmp(name, "format") == 0) {
            if (strcmp(val, "json") != 0 && strcmp(val, "jsonl") != 0) {
                fprintf(stderr, "arbiter: --format: must be json or jsonl\n");
                return 2;
            }
            jsonl = val[4] == 'l';
            continue;
        }
        if (strcmp(name, "filter") == 0) {
            const char *eq = strchr(val, '=');
            if (eq == NULL || eq == val || nk == REPORT_FILTERS_MAX ||
                (size_t)(eq - val) + 10 > sizeof keys[0]) {
                fprintf(stderr, "arbiter: --filter: give KEY=VALUE (at most 8)\n");
                return 2;
            }
            snprintf(keys[nk], sizeof keys[nk], "metadata.%.*s", (int)(eq - val), val);
            name = keys[nk++];
            val = eq + 1;
        }
        if ((rc = report_opt_set(&o, name, val, &why)) != 0) {
            fprintf(stderr, "arbiter: --%s: %s\n", c->xname[i],
                    rc == ERR_NOT_FOUND ? "not an option of report" : why);
            return 2;
        }
    }
    if (job_load(conn, v, &j) != 0) {
        fprintf(stderr, "arbiter: no job %ld\n", v);
        return 1;
    }
    rc = report_build(app->db, &j, &o, &rep, &why);
    job_free_fields(&j);
    if (rc != 0) {
        fprintf(stderr, "arbiter: report failed%s%s\n", why ? ": " : "", why ? why : "");
        return 1;
    }
    if (jsonl) {
        char *lines = NULL;
        size_t len = 0;
        rc = report_jsonl(rep, &lines, &len);
        if (rc == 0)
            fwrite(lines, 1, len, stdout);
        free(lines);
        json_decref(rep);
    } else {
        print_json(json_pack("{so}", "report", rep));
    }
    return rc == 0 ? 0 : 1;
}

static void print_counts(const char *what, const char *path, const struct backup_counts *k)
{
    printf("%s %s: %lld bytes, schema %d, integrity ok; %lld users, %lld jobs, %lld items, %lld "
           "judgments\n",
           what, path, (long long)k->bytes, k->schema, (long long)k->users, (long long)k->jobs,
           (long long)k->items, (long long)k->judgments);
}

/* backup --out FILE, restore --from FILE: no app, only the file. */
static int cmd_backup(const struct cli *c, int restore)
{
    struct backup_counts k;
    char err[8192], kept[4096];
    const char *file = restore ? c->from : c->out;
    if (c->npos != 0 || file == NULL || (restore ? c->out != NULL : c->from != NULL)) {
        fprintf(stderr, "arbiter: usage: arbiter %s\n",
                restore ? "restore --from FILE [--db PATH]" : "backup --out FILE [--db PATH]");
        return 2;
    }
    if (restore ? backup_restore(c->cfg.db_path, file, &k, kept, err, sizeof err)
                : backup_make(c->cfg.db_path, file, &k, err, sizeof err)) {
        fprintf(stderr, "arbiter: %s\n", err);
        return 1;
    }
    print_counts(restore ? "restored from" : "backed up to", file, &k);
    if (restore && kept[0] != '\0')
        printf("the database it replaced is kept as %s\n", kept);
    return 0;
}

int main(int argc, char **argv)
{
    struct cli c;
    struct app app;
    const char *cmd = argc > 1 ? argv[1] : "";
    int rc;
    memset(&c, 0, sizeof c);
    memset(&app, 0, sizeof app);
    c.cfg.db_path = DEFAULT_DB;
    c.cfg.listen = "127.0.0.1:8080";
    c.cfg.threads = 512;
    c.cfg.db_readers = DB_READERS_DEFAULT;
    c.cfg.keep_alive_ms = 200;
    c.cfg.request_timeout_ms = 10000;
    c.cfg.max_conns_per_addr = -1; /* half the threads, once they are known */
    auth_config_default(&c.cfg.auth);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 && strcmp(cmd, "user") != 0 &&
        strcmp(cmd, "token") != 0 && strcmp(cmd, "job") != 0 && strcmp(cmd, "export") != 0 &&
        strcmp(cmd, "report") != 0 && strcmp(cmd, "backup") != 0 && strcmp(cmd, "restore") != 0) {
        fprintf(stderr, "%s%s", cmd[0] != '\0' ? "arbiter: unknown command\n" : "", usage);
        return 2;
    }
    /* Options and arguments after the command word (getopt starts at 1). */
    rc = parse_args(argc - 1, argv + 1, &c);
    if (rc != 0) {
        if (rc > 0)
            fputs(usage, stdout);
        return rc > 0 ? 0 : 2;
    }
    /* Start-up order: SQLite, libsodium, jansson's hash seed, then the
     * database; the server last. */
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    /* No global allocation statistics: they take a process-wide mutex on
     * every SQLite allocation of every thread. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* glibc trims thread arenas with madvise after frees, and each madvise
     * interrupts every CPU to flush TLBs: under load that cost more than
     * the work. Keep freed memory up to a bound instead: 4 MiB at the top
     * of each arena (there are up to 8 per core), blocks of 4 MiB and more
     * mapped on their own. What is freed below an arena's top goes back
     * every 10 s (server_run). With 64 MiB here, a 30-minute soak's RSS
     * climbed 13 MB a minute, most of it free space at arenas' tops. */
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    if (sodium_init() < 0) {
        fprintf(stderr, "arbiter: libsodium failed to initialise\n");
        return 1;
    }
    json_object_seed(0);
    app.cfg = c.cfg;
    if (strcmp(cmd, "serve") == 0) {
        if (c.npos > 0) {
            fprintf(stderr, "arbiter: serve takes no arguments\n");
            return 2;
        }
        return cmd_serve(&app);
    }
    if (strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0)
        return cmd_backup(&c, cmd[0] == 'r');
    if (open_all(&app, strcmp(cmd, "migrate") != 0) != 0) {
        close_all(&app);
        return 1;
    }
    if (strcmp(cmd, "migrate") == 0) {
        printf("schema version %d\n", db_schema_version(app.db));
        rc = 0;
    } else if (strcmp(cmd, "user") == 0) {
        rc = cmd_user(&app, &c);
    } else if (strcmp(cmd, "job") == 0) {
        rc = cmd_job(&app, &c);
    } else if (strcmp(cmd, "export") == 0) {
        rc = cmd_export(&app, &c);
    } else if (strcmp(cmd, "report") == 0) {
        rc = cmd_report(&app, &c);
    } else {
        rc = cmd_token(&app, &c);
    }
    close_all(&app);
    return rc;
}
