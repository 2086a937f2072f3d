/* markdown.c: Markdown to HTML with cmark-gfm (see markdown.h). */
#include "markdown.h"

#include "util.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void register_extensions(void)
{
    cmark_gfm_core_extensions_ensure_registered();
}

/* Block tags that take dir="auto": each paragraph, item, heading, quote
 * and table cell finds its own direction from its first strong letter.
 * Code is not among them: it reads left to right whatever its comments. */
static const char *const blocks[] = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                                     "blockquote", "td", "th", "ul", "ol", NULL};

/* The length of the tag name at s if it is one of blocks (followed by '>',
 * ' ' or '/'), else 0. */
static size_t block_tag(const char *s)
{
    int i;
    for (i = 0; blocks[i] != NULL; i++) {
        size_t n = strlen(blocks[i]);
        if (strncmp(s, blocks[i], n) == 0 && (s[n] == '>' || s[n] == ' '))
            return n;
    }
    return 0;
}

/* Adds the attributes of markdown.h to cmark-gfm's HTML. In that HTML a
 * '<' only ever opens a tag: text, code and attribute values are escaped,
 * and raw HTML is omitted. */
static char *decorate(const char *html)
{
    static const char rel[] = " rel=\"noopener noreferrer\"";
    static const char dir[] = " dir=\"auto\"";
    struct buf b = {0};
    const char *s = html;
    while (*s != '\0') {
        const char *lt = strchr(s, '<');
        size_t n;
        if (lt == NULL) {
            if (buf_puts(&b, s) != 0)
                goto fail;
            break;
        }
        if (buf_append(&b, s, (size_t)(lt - s + 1)) != 0)
            goto fail;
        s = lt + 1;
        if (strncmp(s, "a href=", 7) == 0) {
            if (buf_puts(&b, "a") != 0 || buf_puts(&b, rel) != 0)
                goto fail;
            s += 1;
        } else if ((n = block_tag(s)) > 0) {
            if (buf_append(&b, s, n) != 0 || buf_puts(&b, dir) != 0)
                goto fail;
            s += n;
        }
    }
    return b.data != NULL ? b.data : strdup("");
fail:
    buf_free(&b);
    return NULL;
}

char *md_render(const char *md, size_t len)
{
    static const char *const exts[] = {"table", "strikethrough", "autolink", "tasklist",
                                       "tagfilter", NULL};
    int opts = CMARK_OPT_DEFAULT | CMARK_OPT_GITHUB_PRE_LANG | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE;
    cmark_parser *p;
    cmark_node *doc;
    char *html, *out;
    int i;
    pthread_once(&registered, register_extensions);
    if ((p = cmark_parser_new(opts)) == NULL)
        return NULL;
    for (i = 0; exts[i] != NULL; i++) {
        cmark_syntax_extension *e = cmark_find_syntax_extension(exts[i]);
        if (e != NULL)
            cmark_parser_attach_syntax_extension(p, e);
    }
    cmark_parser_feed(p, md, len);
    doc = cmark_parser_finish(p);
    html = doc != NULL ? cmark_render_html(doc, opts, cmark_parser_get_syntax_extensions(p)) : NULL;
    if (doc != NULL)
        cmark_node_free(doc);
    cmark_parser_free(p);
    if (html == NULL)
        return NULL;
    out = decorate(html);
    free(html);
    return out;
}
