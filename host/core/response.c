/* response.c - formats the Lambda partial batch response for failed records, and the
 * tumbling-window state that goes with it. Owns nothing beyond the strings it returns; knows
 * nothing of plugins or decoding. */
#include "response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Copies valid JSON text without the white space between tokens, so that it fits on one
 * line; returns bytes written (out may be NULL to measure). */
static size_t response_minify(char *out, const char *s, size_t len)
{
    size_t n = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\' && i + 1 < len) {
                if (out) out[n] = c;
                n++;
                c = s[++i];
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        } else if (c == '"') {
            in_string = true;
        }
        if (out) out[n] = c;
        n++;
    }
    return n;
}

char *response_json(const ddb_str *failures, size_t n, const ddb_str *window_state,
                    size_t *len)
{
    static const char head[] = "{\"batchItemFailures\":[", item[] = "{\"itemIdentifier\":\"",
                      state[] = "{\"state\":", empty_state[] = "{}";
    const ddb_str *ws = window_state && window_state->ptr ? window_state : NULL;
    bool window = window_state != NULL;
    size_t size = sizeof head - 1 + 2;
    if (window)
        size += sizeof state - 1 + (ws ? response_minify(NULL, ws->ptr, ws->len) : 2);
    for (size_t i = 0; i < n; i++)
        size += sizeof item - 1 + text_escape(NULL, 0, failures[i].ptr, failures[i].len) + 3;
    char *out = malloc(size + 1), *w = out;
    if (!out) return NULL;
    if (window) {
        memcpy(w, state, sizeof state - 1);
        w += sizeof state - 1;
        if (ws) {
            w += response_minify(w, ws->ptr, ws->len);
        } else {
            memcpy(w, empty_state, 2);
            w += 2;
        }
        *w++ = ',';
        memcpy(w, head + 1, sizeof head - 2); /* `"batchItemFailures":[` */
        w += sizeof head - 2;
    } else {
        memcpy(w, head, sizeof head - 1);
        w += sizeof head - 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) *w++ = ',';
        memcpy(w, item, sizeof item - 1);
        w += sizeof item - 1;
        w += text_escape(w, size + 1 - (size_t)(w - out), failures[i].ptr, failures[i].len);
        *w++ = '"';
        *w++ = '}';
    }
    *w++ = ']';
    *w++ = '}';
    *w = '\0';
    if (len) *len = (size_t)(w - out);
    return out;
}

char *response_object(const response_member *members, size_t n, size_t *len)
{
    size_t size = 2;
    for (size_t i = 0; i < n; i++)
        size += (i ? 1 : 0) + 3 + text_escape(NULL, 0, members[i].name.ptr, members[i].name.len) +
                response_minify(NULL, members[i].json.ptr, members[i].json.len);
    char *out = malloc(size + 1), *w = out;
    if (!out) return NULL;
    *w++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) *w++ = ',';
        *w++ = '"';
        w += text_escape(w, size + 1 - (size_t)(w - out), members[i].name.ptr, members[i].name.len);
        *w++ = '"';
        *w++ = ':';
        w += response_minify(w, members[i].json.ptr, members[i].json.len);
    }
    *w++ = '}';
    *w = '\0';
    if (len) *len = (size_t)(w - out);
    return out;
}
