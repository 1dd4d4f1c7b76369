/* fuzz_filter.c - libFuzzer target for the event filter patterns (host/core/filter.c). The
 * input is a pattern array and a record, split at the first NUL (the record is empty without
 * one), each parsed by json-c. Checks what callers rely on: a compiled filter, or NULL with
 * one non-empty line; matching any record never crashes and gives the same answer twice;
 * abort() otherwise. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

static void fuzz_check(bool ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "fuzz_filter: broken promise: %s\n", what);
    abort();
}

static json_object *fuzz_parse(const uint8_t *data, size_t size)
{
    json_tokener *tok = json_tokener_new();
    fuzz_check(tok != NULL, "json_tokener_new");
    json_object *v = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    if (json_tokener_get_error(tok) != json_tokener_success) v = NULL;
    json_tokener_free(tok);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16) return 0;
    const uint8_t *nul = memchr(data, '\0', size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    json_object *patterns = fuzz_parse(data, plen);
    json_object *record = nul ? fuzz_parse(nul + 1, size - plen - 1) : NULL;

    char err[256];
    memset(err, 'x', sizeof err);
    filter *f = filter_compile(patterns, err, sizeof err);
    if (!f) {
        fuzz_check(memchr(err, '\0', sizeof err) != NULL, "the error is a C string");
        fuzz_check(err[0] != '\0', "the error says something");
        fuzz_check(strchr(err, '\n') == NULL, "the error is one line");
    } else {
        bool m = filter_match(f, record);
        fuzz_check(filter_match(f, record) == m, "matching is repeatable");
        fuzz_check(json_object_is_type(patterns, json_type_array) &&
                       json_object_array_length(patterns) > 0,
                   "only a non-empty array compiles");
        filter_free(f);
    }
    json_object_put(patterns);
    json_object_put(record);
    return 0;
}
