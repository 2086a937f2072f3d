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
static const char *const blocks[] = {"p",  "li",         "h1", "h2", "h3", "h4", "h5",
                                     "h6", "blockquote", "td", "th", "ul", "ol", NULL};

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

/* Raw HTML in a model's output is shown as the text it is, not dropped:
 * each HTML node becomes a text node (a block one inside a paragraph). */
static int html_as_text(cmark_node *doc)
{
    cmark_iter *it = cmark_iter_new(doc);
    cmark_node **nodes = NULL, *n;
    size_t count = 0, cap = 0, i;
    cmark_event_type ev;
    int rc = 0;
    if (it == NULL)
        return -1;
    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        n = cmark_iter_get_node(it);
        if (ev != CMARK_EVENT_ENTER || (cmark_node_get_type(n) != CMARK_NODE_HTML_INLINE &&
                                        cmark_node_get_type(n) != CMARK_NODE_HTML_BLOCK))
            continue;
        if (count == cap) {
            cmark_node **more = realloc(nodes, (cap = cap ? 2 * cap : 16) * sizeof *nodes);
            if (more == NULL) {
                rc = -1;
                break;
            }
            nodes = more;
        }
        nodes[count++] = n;
    }
    cmark_iter_free(it);
    for (i = 0; rc == 0 && i < count; i++) {
        int block = cmark_node_get_type(nodes[i]) == CMARK_NODE_HTML_BLOCK;
        const char *lit = cmark_node_get_literal(nodes[i]);
        cmark_node *text = cmark_node_new(CMARK_NODE_TEXT), *repl = text;
        size_t n_lit = lit != NULL ? strlen(lit) : 0;
        char *trimmed = NULL;
        if (block && n_lit > 0 && lit[n_lit - 1] == '\n' &&
            (trimmed = strndup(lit, n_lit - 1)) != NULL)
            lit = trimmed;
        if (text == NULL || !cmark_node_set_literal(text, lit != NULL ? lit : "")) {
            rc = -1;
        } else if (block) {
            repl = cmark_node_new(CMARK_NODE_PARAGRAPH);
            if (repl == NULL || !cmark_node_append_child(repl, text))
                rc = -1;
        }
        free(trimmed);
        if (rc == 0 && cmark_node_replace(nodes[i], repl)) {
            cmark_node_free(nodes[i]);
        } else {
            if (repl != text && repl != NULL)
                cmark_node_free(repl);
            else if (text != NULL)
                cmark_node_free(text);
            rc = -1;
        }
    }
    free(nodes);
    return rc;
}

char *md_render(const char *md, size_t len)
{
    static const char *const exts[] = {"table",    "strikethrough", "autolink",
                                       "tasklist", "tagfilter",     NULL};
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
    if (doc != NULL && html_as_text(doc) != 0) {
        cmark_node_free(doc);
        doc = NULL;
    }
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

/* Sets o[key] to the HTML of the Markdown string text; 0 or -1. */
static int set_html(json_t *o, const char *key, json_t *text)
{
    char *html;
    if (!json_is_string(text))
        return 0;
    if ((html = md_render(json_string_value(text), json_string_length(text))) == NULL)
        return -1;
    json_object_set_new(o, key, json_string(html));
    free(html);
    return 0;
}

int md_add_html(json_t *item)
{
    json_t *v;
    size_t i;
    int bad = set_html(item, "prompt_html", json_object_get(item, "prompt"));
    json_array_foreach(json_object_get(item, "messages"), i, v)
    {
        bad |= set_html(v, "content_html", json_object_get(v, "content"));
    }
    json_array_foreach(json_object_get(item, "responses"), i, v)
    {
        bad |= set_html(v, "html", json_object_get(v, "text"));
    }
    return bad;
}
