/* fuzz_event.c - libFuzzer target for the event decoder (host/core/event.c).
 * One decoder lives across all inputs, as in the Lambda runtime loop. Every decoded record
 * and value is checked against what plugin.h promises plugins, and each input is decoded
 * twice to require the same outcome, which exposes state leaking from one event into the
 * next. Any violation calls abort(), so that libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "text.h"

#define FUZZ_MAX_NESTING 32 /* M and L levels below an image, as DynamoDB allows */

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_event: %s:%d: broken promise: %s\n", __FILE__, __LINE__, \
                    #cond);                                                                \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

typedef struct fuzz_walk {
    const char *buf; /* the decoded buffer: S, N, B and names are decoded in place there */
    size_t len;
    uint64_t hash;   /* FNV-1a of everything seen, to compare two decodings */
} fuzz_walk;

static void fuzz_mix(fuzz_walk *w, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) w->hash = (w->hash ^ b[i]) * 0x100000001b3u;
}

/* Text a plugin may read as UTF-8 with an explicit length and a NUL after it. */
static void fuzz_text(fuzz_walk *w, const char *p, size_t len)
{
    CHECK(len <= w->len);
    CHECK(p != NULL || len == 0);
    if (p) CHECK(p[len] == '\0');
    fuzz_mix(w, &len, sizeof len);
    if (p) fuzz_mix(w, p, len);
}

static void fuzz_in_buffer(const fuzz_walk *w, const void *p, size_t len)
{
    const char *c = p;
    if (len > 0) CHECK(c >= w->buf && c + len <= w->buf + w->len);
}

static void fuzz_value(fuzz_walk *w, const ddb_value *v, int nesting)
{
    CHECK(v->type >= DDB_S && v->type <= DDB_BS);
    CHECK(ddb_type_of(v) == (ddb_type)v->type);
    fuzz_mix(w, &v->type, sizeof v->type);
    switch (v->type) {
    case DDB_S:
    case DDB_N: {
        const char *text;
        size_t len;
        CHECK((v->type == DDB_S ? ddb_get_s(v, &text, &len) : ddb_get_n(v, &text, &len)) == DDB_OK);
        CHECK(text == v->ptr && len == v->len);
        CHECK(text != NULL);
        fuzz_text(w, text, len);
        fuzz_in_buffer(w, text, len);
        if (v->type == DDB_N) {
            int64_t i;
            double d;
            CHECK(len > 0);
            CHECK(ddb_n_int64(v, &i) != DDB_ERR_INVALID);
            CHECK(ddb_n_double(v, &d) != DDB_ERR_INVALID);
            CHECK(ddb_get_s(v, &text, &len) == DDB_ERR_TYPE);
        }
        break;
    }
    case DDB_B: {
        const uint8_t *bytes;
        size_t len;
        CHECK(ddb_get_b(v, &bytes, &len) == DDB_OK && len == v->len);
        CHECK(bytes != NULL || len == 0);
        fuzz_in_buffer(w, bytes, len);
        fuzz_mix(w, &len, sizeof len);
        if (len) fuzz_mix(w, bytes, len);
        break;
    }
    case DDB_BOOL: {
        bool b;
        CHECK(v->boolean <= 1);
        CHECK(ddb_get_bool(v, &b) == DDB_OK && b == (v->boolean == 1));
        fuzz_mix(w, &v->boolean, 1);
        break;
    }
    case DDB_NULL: CHECK(ddb_is_null(v)); break;
    case DDB_M:
        CHECK(nesting <= FUZZ_MAX_NESTING);
        CHECK(v->ptr != NULL || v->len == 0);
        CHECK(ddb_count(v) == v->len);
        for (size_t i = 0; i < v->len; i++) {
            const char *name;
            size_t name_len;
            const ddb_value *m = ddb_member_at(v, i, &name, &name_len);
            CHECK(m != NULL && name != NULL);
            fuzz_text(w, name, name_len);
            fuzz_in_buffer(w, name, name_len);
            const ddb_value *found = ddb_getn(v, name, name_len);
            CHECK(found != NULL && found <= m); /* the first member of that name */
            fuzz_value(w, m, nesting + 1);
        }
        CHECK(ddb_member_at(v, v->len, NULL, NULL) == NULL);
        break;
    default: { /* L, SS, NS, BS */
        static const ddb_type member[] = {[DDB_SS] = DDB_S, [DDB_NS] = DDB_N, [DDB_BS] = DDB_B};
        if (v->type == DDB_L) CHECK(nesting <= FUZZ_MAX_NESTING);
        CHECK(v->ptr != NULL || v->len == 0);
        CHECK(ddb_count(v) == v->len);
        fuzz_mix(w, &v->len, sizeof v->len);
        for (size_t i = 0; i < v->len; i++) {
            const ddb_value *e = ddb_at(v, i);
            CHECK(e != NULL);
            if (v->type != DDB_L) CHECK(e->type == member[v->type]);
            fuzz_value(w, e, nesting + (v->type == DDB_L));
        }
        CHECK(ddb_at(v, v->len) == NULL);
        break;
    }
    }
}

static void fuzz_image(fuzz_walk *w, const ddb_value *image)
{
    fuzz_mix(w, "I", 1);
    if (!image) return;
    CHECK(image->type == DDB_M);
    fuzz_value(w, image, 0);
}

static bool fuzz_table_name(ddb_str t)
{
    if (t.len < 3 || t.len > 255) return false;
    return strspn(t.ptr, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == t.len;
}

static void fuzz_record(fuzz_walk *w, const ddb_record *r, size_t index)
{
    CHECK(r->size == sizeof(ddb_record));
    CHECK(r->index == index);
    CHECK(r->event_name >= DDB_INSERT && r->event_name <= DDB_REMOVE);
    CHECK(*ddb_event_name_str(r->event_name) != '\0');
    CHECK(r->view_type >= DDB_VIEW_UNKNOWN && r->view_type <= DDB_VIEW_NEW_AND_OLD_IMAGES);
    CHECK(!r->ttl_delete || r->event_name == DDB_REMOVE);
    CHECK(r->size_bytes >= -1);
    int64_t scalars[] = {r->event_name, r->view_type, r->ttl_delete, r->has_creation_time,
                         r->creation_time_ms, r->size_bytes};
    fuzz_mix(w, scalars, sizeof scalars);
    fuzz_text(w, r->event_id.ptr, r->event_id.len);
    fuzz_text(w, r->table.ptr, r->table.len);
    if (r->table.ptr) CHECK(fuzz_table_name(r->table));
    if (r->table.ptr) CHECK(r->event_source_arn.ptr != NULL);
    fuzz_text(w, r->sequence_number.ptr, r->sequence_number.len);
    fuzz_text(w, r->region.ptr, r->region.len);
    fuzz_text(w, r->event_source_arn.ptr, r->event_source_arn.len);
    fuzz_text(w, r->event_version.ptr, r->event_version.len);
    fuzz_image(w, r->keys);
    fuzz_image(w, r->new_image);
    fuzz_image(w, r->old_image);
}

/* The tumbling-window keys: texts as records' are, a state that is valid JSON in the buffer
 * (an object text_json_object accepts when it says so, its members' names decoded), and
 * nothing at all without window keys. */
static void fuzz_window(fuzz_walk *w, const event_batch *b)
{
    const event_window *win = &b->window;
    if (!b->tumbling_window) {
        CHECK(!win->state.ptr && !win->members && !win->start.ptr && !win->shard_id.ptr &&
              !win->final_invoke && !win->terminated_early && !win->state_object);
        return;
    }
    int64_t scalars[] = {win->start_ms, win->end_ms, win->final_invoke, win->terminated_early,
                         win->state_object, (int64_t)win->nmembers};
    fuzz_mix(w, scalars, sizeof scalars);
    fuzz_text(w, win->start.ptr, win->start.len);
    fuzz_text(w, win->end.ptr, win->end.len);
    fuzz_text(w, win->shard_id.ptr, win->shard_id.len);
    fuzz_text(w, win->table.ptr, win->table.len);
    if (win->table.ptr) CHECK(fuzz_table_name(win->table));
    if (!win->start.ptr) CHECK(win->start_ms == 0);
    if (!win->end.ptr) CHECK(win->end_ms == 0);
    fuzz_in_buffer(w, win->state.ptr, win->state.len);
    if (win->state.ptr) fuzz_mix(w, win->state.ptr, win->state.len);
    CHECK(win->state_object == (win->state.ptr && win->state.ptr[0] == '{'));
    if (win->state_object) {
        char why[256];
        CHECK(text_json_object(win->state.ptr, win->state.len, why, sizeof why));
    }
    CHECK(win->nmembers == 0 || win->members != NULL);
    for (size_t i = 0; i < win->nmembers; i++) {
        const event_member *m = &win->members[i];
        fuzz_text(w, m->name.ptr, m->name.len);
        CHECK(m->json.ptr != NULL && m->json.len > 0 && m->json.len < win->state.len);
        fuzz_mix(w, m->json.ptr, m->json.len);
    }
}

/* Decodes a fresh copy of data and returns the hash of the outcome (records or error). */
static uint64_t fuzz_decode(event_decoder *d, const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    CHECK(buf != NULL);
    if (size) memcpy(buf, data, size);
    fuzz_walk w = {buf, size, 0xcbf29ce484222325u};
    event_batch b;
    if (event_decode(d, buf, size, &b)) {
        CHECK(b.records != NULL || b.count == 0);
        fuzz_mix(&w, &b.count, sizeof b.count);
        fuzz_mix(&w, &b.tumbling_window, sizeof b.tumbling_window);
        fuzz_window(&w, &b);
        for (size_t i = 0; i < b.count; i++) fuzz_record(&w, &b.records[i], i);
    } else {
        const char *e = event_error(d);
        CHECK(e != NULL && *e != '\0');
        CHECK(strchr(e, '\n') == NULL); /* errors are one line */
        fuzz_mix(&w, "E", 1);
        fuzz_mix(&w, e, strlen(e));
    }
    free(buf);
    return w.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static event_decoder *decoder;
    if (!decoder) decoder = event_decoder_new();
    CHECK(decoder != NULL);
    /* The first decoding follows another input's; the second follows this one's. */
    uint64_t first = fuzz_decode(decoder, data, size);
    uint64_t second = fuzz_decode(decoder, data, size);
    CHECK(first == second);
    return 0;
}
