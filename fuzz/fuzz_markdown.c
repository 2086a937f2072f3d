/* Model outputs and prompts rendered as Markdown for the pages
 * (markdown.c: cmark-gfm, then what is allowed through). */
#include "markdown.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *html = md_render((const char *)data, size);
    /* Never a raw tag from the input: script stays text. */
    if (html != NULL && strstr(html, "<script") != NULL)
        abort();
    free(html);
    return 0;
}
