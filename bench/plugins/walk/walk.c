/* walk.c - a plugin that touches every value of every record and keeps a checksum, so that
 * benchmarks and memory tests measure real delivery: every S byte, N text, decoded B, and
 * every member of M, L and sets. Prints the checksum in on_fini. */
#include <ddb/plugin.h>
#include <stdio.h>
#include <stdlib.h>

DDB_PLUGIN("walk", "1.0.0");

typedef struct walk_totals {
    uint64_t records, values, bytes, sum;
} walk_totals;

static void walk_bytes(walk_totals *t, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++) t->sum = t->sum * 31u + b[i];
    t->bytes += len;
}

static void walk_value(walk_totals *t, const ddb_value *v)
{
    const char *s;
    const uint8_t *b;
    size_t len, n;
    bool flag;
    t->values++;
    switch (ddb_type_of(v)) {
    case DDB_S:
        if (ddb_get_s(v, &s, &len) == DDB_OK) walk_bytes(t, s, len);
        break;
    case DDB_N:
        if (ddb_get_n(v, &s, &len) == DDB_OK) walk_bytes(t, s, len);
        break;
    case DDB_B:
        if (ddb_get_b(v, &b, &len) == DDB_OK) walk_bytes(t, b, len);
        break;
    case DDB_BOOL:
        if (ddb_get_bool(v, &flag) == DDB_OK) t->sum += flag;
        break;
    case DDB_M:
        n = ddb_count(v);
        for (size_t i = 0; i < n; i++) {
            const ddb_value *m = ddb_member_at(v, i, &s, &len);
            walk_bytes(t, s, len);
            walk_value(t, m);
        }
        break;
    case DDB_L:
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
        n = ddb_count(v);
        for (size_t i = 0; i < n; i++) walk_value(t, ddb_at(v, i));
        break;
    default: break;
    }
}

static ddb_status walk_record(const ddb_record *rec, void *state)
{
    walk_totals *t = state;
    t->records++;
    walk_bytes(t, rec->sequence_number.ptr, rec->sequence_number.len);
    if (rec->keys) walk_value(t, rec->keys);
    if (rec->new_image) walk_value(t, rec->new_image);
    if (rec->old_image) walk_value(t, rec->old_image);
    return DDB_OK;
}

ddb_status on_init(const ddb_init *init, void **state)
{
    (void)init;
    *state = calloc(1, sizeof(walk_totals));
    return *state ? DDB_OK : DDB_ERR_NOMEM;
}

void on_fini(void *state)
{
    walk_totals *t = state;
    fprintf(stderr, "walk: %llu records, %llu values, %llu bytes, checksum %016llx\n",
            (unsigned long long)t->records, (unsigned long long)t->values,
            (unsigned long long)t->bytes, (unsigned long long)t->sum);
    free(t);
}

ddb_status on_insert(const ddb_record *rec, void *state) { return walk_record(rec, state); }
ddb_status on_modify(const ddb_record *rec, void *state) { return walk_record(rec, state); }
ddb_status on_remove(const ddb_record *rec, void *state) { return walk_record(rec, state); }
