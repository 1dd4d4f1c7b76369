/* jsonc_walk.c - benchmark peer: what a straightforward json-c host costs. Each rep parses
 * the whole event into a json-c object tree with json_tokener_parse_ex, walks Keys, NewImage
 * and OldImage of every record with walk.c's coverage and checksum, and frees the tree.
 * Usage: jsonc_walk EVENT_FILE REPS; prints the benchmark contract's one line. */
#include "peer.h"

#include <json-c/json.h>

#define JW_NAME "jsonc_walk"
#define JW_MAX_DEPTH 256 /* DynamoDB nests 32 documents deep, two JSON levels each */

typedef struct jw_walk {
    peer_sum t;
    peer_b64 b64;
    unsigned char *scratch; /* decoded B bytes */
    size_t scratch_cap;
    const char *path; /* for error messages */
    size_t record;
} jw_walk;

static void jw_fail(const jw_walk *w, const char *what)
{
    fprintf(stderr, JW_NAME ": error: %s: record %zu: %s\n", w->path, w->record, what);
    exit(1);
}

static const char *jw_string(const jw_walk *w, json_object *v, size_t *len)
{
    if (!json_object_is_type(v, json_type_string)) jw_fail(w, "an S, N or B value is not a string");
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

static void jw_binary(jw_walk *w, json_object *v)
{
    size_t len, n;
    const char *text = jw_string(w, v, &len);
    if (len / 4 * 3 > w->scratch_cap) {
        w->scratch_cap = len / 4 * 3 * 2;
        w->scratch = realloc(w->scratch, w->scratch_cap);
        if (!w->scratch) jw_fail(w, "out of memory");
    }
    if (!peer_base64(&w->b64, text, len, w->scratch, &n)) jw_fail(w, "a B value is not base64");
    peer_bytes(&w->t, w->scratch, n);
}

static void jw_value(jw_walk *w, json_object *av);

/* An M value or an image: every member's name, then its AttributeValue. */
static void jw_members(jw_walk *w, json_object *m)
{
    if (!json_object_is_type(m, json_type_object)) jw_fail(w, "an M value or image is not an object");
    json_object_object_foreach(m, name, av) {
        peer_bytes(&w->t, name, strlen(name));
        jw_value(w, av);
    }
}

static json_object *jw_array(const jw_walk *w, json_object *v, size_t *n)
{
    if (!json_object_is_type(v, json_type_array)) jw_fail(w, "an L or set value is not an array");
    *n = json_object_array_length(v);
    return v;
}

/* An AttributeValue: an object whose one member is the type tag. */
static void jw_value(jw_walk *w, json_object *av)
{
    size_t len, n;
    const char *s;
    w->t.values++;
    if (!json_object_is_type(av, json_type_object)) jw_fail(w, "an AttributeValue is not an object");
    json_object_object_foreach(av, tag, v) {
        if (!strcmp(tag, "S") || !strcmp(tag, "N")) {
            s = jw_string(w, v, &len);
            peer_bytes(&w->t, s, len);
        } else if (!strcmp(tag, "B")) {
            jw_binary(w, v);
        } else if (!strcmp(tag, "BOOL")) {
            w->t.sum += json_object_get_boolean(v);
        } else if (!strcmp(tag, "NULL")) {
            /* nothing to read, as in walk.c */
        } else if (!strcmp(tag, "M")) {
            jw_members(w, v);
        } else if (!strcmp(tag, "L")) {
            jw_array(w, v, &n);
            for (size_t i = 0; i < n; i++) jw_value(w, json_object_array_get_idx(v, i));
        } else if (!strcmp(tag, "SS") || !strcmp(tag, "NS")) {
            jw_array(w, v, &n);
            for (size_t i = 0; i < n; i++) {
                s = jw_string(w, json_object_array_get_idx(v, i), &len);
                peer_bytes(&w->t, s, len);
                w->t.values++;
            }
        } else if (!strcmp(tag, "BS")) {
            jw_array(w, v, &n);
            for (size_t i = 0; i < n; i++) {
                jw_binary(w, json_object_array_get_idx(v, i));
                w->t.values++;
            }
        } else {
            jw_fail(w, "an AttributeValue has an unknown type tag");
        }
    }
}

static void jw_image(jw_walk *w, json_object *dynamodb, const char *key)
{
    json_object *image;
    if (!json_object_object_get_ex(dynamodb, key, &image)) return;
    w->t.values++;
    jw_members(w, image);
}

/* One rep's walk, in walk.c's order: SequenceNumber, Keys, NewImage, OldImage. */
static void jw_event(jw_walk *w, json_object *root)
{
    json_object *records, *dynamodb, *seq;
    size_t len;
    if (!json_object_object_get_ex(root, "Records", &records) ||
        !json_object_is_type(records, json_type_array)) {
        fprintf(stderr, JW_NAME ": error: %s: the event has no Records array\n", w->path);
        exit(1);
    }
    size_t n = json_object_array_length(records);
    for (size_t i = 0; i < n; i++) {
        w->record = i;
        if (!json_object_object_get_ex(json_object_array_get_idx(records, i), "dynamodb", &dynamodb))
            jw_fail(w, "no dynamodb object");
        w->t.records++;
        if (json_object_object_get_ex(dynamodb, "SequenceNumber", &seq)) {
            const char *s = jw_string(w, seq, &len);
            peer_bytes(&w->t, s, len);
        }
        jw_image(w, dynamodb, "Keys");
        jw_image(w, dynamodb, "NewImage");
        jw_image(w, dynamodb, "OldImage");
    }
}

int main(int argc, char **argv)
{
    long reps = peer_args(JW_NAME, argc, argv);
    size_t len;
    char *bytes = peer_read(JW_NAME, argv[1], &len);
    double *ms = malloc((size_t)reps * sizeof *ms);
    json_tokener *tok = json_tokener_new_ex(JW_MAX_DEPTH);
    jw_walk w = {0};
    if (!ms || !tok || len > INT32_MAX) {
        fprintf(stderr, JW_NAME ": error: cannot parse %s: %s\n", argv[1],
                len > INT32_MAX ? "larger than json-c takes (2 GB)" : "out of memory");
        return 1;
    }
    /* as ddbhost and simdjson do: invalid UTF-8 in a string is an error, not bytes */
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    peer_base64_init(&w.b64);
    w.path = argv[1];
    for (long r = 0; r < reps; r++) {
        double t0 = peer_now_ms();
        json_tokener_reset(tok);
        json_object *root = json_tokener_parse_ex(tok, bytes, (int)len);
        if (!root) {
            enum json_tokener_error err = json_tokener_get_error(tok);
            fprintf(stderr, JW_NAME ": error: %s: byte %zu: %s\n", argv[1],
                    json_tokener_get_parse_end(tok),
                    err == json_tokener_continue ? "the event ends early"
                                                 : json_tokener_error_desc(err));
            return 1;
        }
        w.t = (peer_sum){0};
        jw_event(&w, root);
        json_object_put(root);
        ms[r] = peer_now_ms() - t0;
    }
    peer_report(JW_NAME, ms, reps, &w.t);
    json_tokener_free(tok);
    free(w.scratch);
    free(ms);
    free(bytes);
    return 0;
}
