/* render.h - attribute values as JSON text, exact: plain JSON (N a number with its own
 * digits, B base64) or DynamoDB JSON ({"N":"12.50"}), into a growable buffer. Shared by
 * bindings' json arguments and by the shipped sinks, which link it on their own (render.c
 * and text.c need nothing else). Knows nothing of records or plugins. */
#ifndef DDBHOST_RENDER_H
#define DDBHOST_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include <ddb/plugin.h>

/* Text being written. Zero-initialise; text is NUL-terminated after each successful call
 * (the NUL not counted in len). After a failed allocation every call returns false and the
 * text is left as it was before that call. Owned: render_free. */
typedef struct render_buf {
    char *text;
    size_t len, cap;
} render_buf;

bool render_put(render_buf *b, const char *s, size_t n);
/* s (n bytes) as a JSON string literal, quotes included (text_escape: always valid JSON). */
bool render_string(render_buf *b, const char *s, size_t n);
/* bytes as a JSON string of standard base64 with padding, as DynamoDB's JSON shows B. */
bool render_base64(render_buf *b, const uint8_t *p, size_t n);
/* An N's text as a JSON number: forms JSON does not allow ("+5", ".5", "5.", "007") are
 * respelled, never rounded. */
bool render_number(render_buf *b, const char *s, size_t n);

/* v as plain JSON: S a string, N a number with its exact digits, B a base64 string, BOOL and
 * NULL as such, M an object, L and the sets arrays; an absent value is null. */
bool render_plain(render_buf *b, const ddb_value *v);
/* v as DynamoDB JSON, as the stream carries it: {"S":"x"}, {"N":"12.50"}, {"B":"base64"},
 * {"M":{...}}, {"SS":[...]}, ...; numbers keep their text exactly. */
bool render_dynamodb(render_buf *b, const ddb_value *v);
/* A map's members as DynamoDB JSON, the form of an item or image: {"id":{"S":"a"},...}. */
bool render_item(render_buf *b, const ddb_value *map);

void render_free(render_buf *b);

#endif
