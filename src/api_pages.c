/* api_pages.c: the HTML pages and the static assets they load. Pages are
 * templates from templates/ with {{name}} slots filled with HTML-escaped
 * values; all behaviour lives in web/ modules, because the Content
 * Security Policy forbids inline script. */
#include "api.h"

#include "assets.h"

#include <stdio.h>
#include <string.h>

/* Renders template path with vars (name, value pairs, NULL-terminated) and
 * sends it. Unknown slots render empty. */
static void render(struct req *r, const char *path, const char *const *vars)
{
    struct asset_data a;
    struct buf out = {0};
    const char *p, *end;
    if (assets_get(r->app->cfg.assets_dir, path, &a) != 0) {
        reply_err(r, ERR_NOT_FOUND, "no such page", NULL);
        return;
    }
    p = (const char *)a.data;
    end = p + a.len;
    while (p < end) {
        const char *open = strstr(p, "{{"), *close;
        const char *const *v;
        if (open == NULL || (close = strstr(open, "}}")) == NULL) {
            buf_append(&out, p, (size_t)(end - p));
            break;
        }
        buf_append(&out, p, (size_t)(open - p));
        for (v = vars; v[0] != NULL; v += 2)
            if (strlen(v[0]) == (size_t)(close - open - 2) &&
                strncmp(open + 2, v[0], (size_t)(close - open - 2)) == 0) {
                buf_html_escape(&out, v[1]);
                break;
            }
        p = close + 2;
    }
    reply(r, 200, "text/html; charset=utf-8", out.data, out.len, NULL);
    buf_free(&out);
    assets_release(&a);
}

void api_page_home(struct req *r)
{
    const char *vars[] = {"name", r->who.name, "role", auth_role_name(r->who.role), NULL};
    render(r, "templates/home.html", vars);
}

/* The labeling page of job r->id[0]; the page's script loads the job
 * (404 there when the labeler is not a member). */
void api_page_label(struct req *r)
{
    char job[24];
    const char *vars[] = {"job", job, NULL};
    snprintf(job, sizeof job, "%lld", (long long)r->id[0]);
    render(r, "templates/label.html", vars);
}

/* A lead's page of job r->id[0], or the new-job form (no id). */
void api_page_job(struct req *r)
{
    char job[24] = "";
    const char *vars[] = {"job", job, NULL};
    if (r->id[0] > 0)
        snprintf(job, sizeof job, "%lld", (long long)r->id[0]);
    render(r, "templates/job.html", vars);
}

/* The report page of job r->id[0]; its script loads the report. */
void api_page_report(struct req *r)
{
    char job[24];
    const char *vars[] = {"job", job, NULL};
    snprintf(job, sizeof job, "%lld", (long long)r->id[0]);
    render(r, "templates/report.html", vars);
}

void api_page_tokens(struct req *r)
{
    const char *vars[] = {NULL};
    render(r, "templates/tokens.html", vars);
}

void api_page_users(struct req *r)
{
    const char *vars[] = {NULL};
    render(r, "templates/users.html", vars);
}

void api_page_login(struct req *r)
{
    const char *vars[] = {NULL};
    if (r->who.kind == AUTH_SESSION) {
        reply(r, 302, NULL, NULL, 0, "Location: /\r\n");
        return;
    }
    render(r, "templates/login.html", vars);
}

void api_asset(struct req *r)
{
    struct asset_data a;
    const char *path = r->ri->local_uri + 1; /* "/static/x" -> "static/x" */
    if (assets_get(r->app->cfg.assets_dir, path, &a) != 0) {
        reply_error(r, 404, NULL, "no such file", NULL);
        return;
    }
    reply(r, 200, assets_mime(path), a.data, a.len, "Cache-Control: no-cache\r\n");
    assets_release(&a);
}
