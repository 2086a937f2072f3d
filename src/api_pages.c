/* api_pages.c: the HTML pages and the static assets they load. Pages are
 * templates from templates/ with {{slots}} filled with HTML-escaped values
 * (expand); all behaviour lives in web/ modules, because the Content
 * Security Policy forbids inline script. */
#include "api.h"

#include "assets.h"

#include <stdio.h>
#include <string.h>

/* Appends template path to out with its slots filled (HTML-escaped):
 * {{name}} and {{role}} of the signed-in user, {{job}} the path's job id,
 * and {{>x}} the template templates/x.html (one level deep): the pages'
 * shared header is one file. 0, or -1 when there is no such template. */
static int expand(struct req *r, const char *path, struct buf *out, int depth)
{
    struct asset_data a;
    const char *p, *end;
    if (assets_get(r->app->cfg.assets_dir, path, &a) != 0)
        return -1;
    p = (const char *)a.data;
    end = p + a.len;
    while (p < end) {
        const char *open = strstr(p, "{{"), *close, *name;
        size_t len;
        if (open == NULL || (close = strstr(open, "}}")) == NULL) {
            buf_append(out, p, (size_t)(end - p));
            break;
        }
        buf_append(out, p, (size_t)(open - p));
        name = open + 2;
        len = (size_t)(close - name);
        if (len > 1 && name[0] == '>' && depth == 0) {
            char inc[96];
            if ((size_t)snprintf(inc, sizeof inc, "templates/%.*s.html", (int)len - 1, name + 1) <
                sizeof inc)
                expand(r, inc, out, depth + 1);
        } else if (len == 3 && memcmp(name, "job", 3) == 0 && r->id[0] > 0) {
            buf_printf(out, "%lld", (long long)r->id[0]);
        } else if (r->who.kind != AUTH_ANON && len == 4 && memcmp(name, "name", 4) == 0) {
            buf_html_escape(out, r->who.name);
        } else if (r->who.kind != AUTH_ANON && len == 4 && memcmp(name, "role", 4) == 0) {
            buf_html_escape(out, auth_role_name(r->who.role));
        }
        p = close + 2;
    }
    assets_release(&a);
    return 0;
}

static void render(struct req *r, const char *path)
{
    struct buf out = {0};
    if (expand(r, path, &out, 0) != 0)
        reply_err(r, ERR_NOT_FOUND, "no such page", NULL);
    else
        reply(r, 200, "text/html; charset=utf-8", out.data, out.len, NULL);
    buf_free(&out);
}

void api_page_home(struct req *r)
{
    render(r, "templates/home.html");
}

/* The labeling page of job r->id[0]; the page's script loads the job
 * (404 there when the labeler is not a member). */
void api_page_label(struct req *r)
{
    render(r, "templates/label.html");
}

/* A lead's page of job r->id[0], or the new-job form (no id). */
void api_page_job(struct req *r)
{
    render(r, "templates/job.html");
}

/* The report page of job r->id[0]; its script loads the report. */
void api_page_report(struct req *r)
{
    render(r, "templates/report.html");
}

/* A lead's items of job r->id[0]: the list, its filters, one item with its
 * judgments, and review. */
void api_page_items(struct req *r)
{
    render(r, "templates/items.html");
}

void api_page_tokens(struct req *r)
{
    render(r, "templates/tokens.html");
}

void api_page_users(struct req *r)
{
    render(r, "templates/users.html");
}

void api_page_login(struct req *r)
{
    if (r->who.kind == AUTH_SESSION) {
        reply(r, 302, NULL, NULL, 0, "Location: /\r\n");
        return;
    }
    render(r, "templates/login.html");
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
