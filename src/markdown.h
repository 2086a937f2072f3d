/* markdown.h: the one Markdown renderer, for job instructions and for the
 * prompts and responses labelers read: GitHub-flavoured CommonMark by
 * cmark-gfm with its tables, strikethrough, autolinks, task lists and tag
 * filter. Raw HTML never passes: it is shown as the text it is (a model
 * that wrote <script> is seen to have written it), and unsafe link
 * schemes (javascript:, vbscript:, file:, data: other than images) are
 * emptied, by cmark-gfm's safe default; on top of that every link gets
 * rel="noopener noreferrer", every block dir="auto" (so Arabic or Hebrew
 * runs right to left, paragraph by paragraph), and a fenced code block
 * names its language in lang="..." on its <pre>. */
#ifndef ARBITER_MARKDOWN_H
#define ARBITER_MARKDOWN_H

#include <jansson.h>
#include <stddef.h>

/* The HTML of md[0..len), malloc'd (free with free), or NULL when out of
 * memory. Thread-safe. */
char *md_render(const char *md, size_t len);

/* Adds the rendering of an item's texts (a task's or a stored item's):
 * prompt_html beside prompt, content_html in each message, html in each
 * response. 0, or -1 when out of memory. */
int md_add_html(json_t *item);

#endif
