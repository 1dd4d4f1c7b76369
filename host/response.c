/* response.c - formats the Lambda partial batch response for failed records.
 * Owns nothing beyond the string it returns; knows nothing of plugins or decoding. */
#include "response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes s as a JSON string body; returns bytes written (out may be NULL to measure). */
static size_t response_escape(char *out, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t k = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            k = 6;
        } else {
            esc[0] = (char)c;
        }
        if (out) memcpy(out + n, esc, k);
        n += k;
    }
    return n;
}

char *response_json(const ddb_str *failures, size_t n, size_t *len)
{
    static const char head[] = "{\"batchItemFailures\":[", item[] = "{\"itemIdentifier\":\"";
    size_t size = sizeof head - 1 + 2;
    for (size_t i = 0; i < n; i++)
        size += sizeof item - 1 + response_escape(NULL, failures[i].ptr, failures[i].len) + 3;
    char *out = malloc(size + 1), *w = out;
    if (!out) return NULL;
    memcpy(w, head, sizeof head - 1);
    w += sizeof head - 1;
    for (size_t i = 0; i < n; i++) {
        if (i) *w++ = ',';
        memcpy(w, item, sizeof item - 1);
        w += sizeof item - 1;
        w += response_escape(w, failures[i].ptr, failures[i].len);
        *w++ = '"';
        *w++ = '}';
    }
    *w++ = ']';
    *w++ = '}';
    *w = '\0';
    if (len) *len = (size_t)(w - out);
    return out;
}
