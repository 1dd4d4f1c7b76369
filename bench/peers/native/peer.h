/* peer.h - what the native benchmark peers share: reading the event once, timing a rep, the
 * one output line of the benchmark contract, walk.c's checksum and a base64 decoder. Header
 * only (static inline functions) and valid C11 and C++17, so every peer runs the same code for
 * the same work. Benchmark code, not part of the product. */
#ifndef PEER_H
#define PEER_H

/* clock_gettime under -std=c11; include this header before any other */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The totals walk.c keeps: the same definitions, so that the harness (and a reader) can
 * compare values and checksum with ddbhost's walk line. */
typedef struct peer_sum {
    uint64_t records, values, bytes, sum;
} peer_sum;

/* Exactly walk.c's walk_bytes. The checksum is a serial multiply-add per byte: every peer
 * pays it, as ddbhost's walk plugin does. */
static inline void peer_bytes(peer_sum *t, const void *p, size_t len)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < len; i++) t->sum = t->sum * 31u + b[i];
    t->bytes += len;
}

/* Appends a part walked on its own (starting from a zero peer_sum) as if its bytes had
 * come after t's: the checksum is linear, so t->sum * 31^bytes + part->sum. Lets a peer
 * walk a record's fields in document order and still add them in walk.c's order. */
static inline void peer_append(peer_sum *t, const peer_sum *part)
{
    uint64_t scale = 1, base = 31;
    for (uint64_t n = part->bytes; n; n >>= 1, base *= base)
        if (n & 1) scale *= base;
    t->sum = t->sum * scale + part->sum;
    t->bytes += part->bytes;
    t->values += part->values;
    t->records += part->records;
}

/* ---- base64 -------------------------------------------------------------------------- */

/* Alphabet values 0..63, 64 for '=', 255 for anything else. Held by the peer's walk
 * context rather than a global, so a peer that decodes nothing carries no unused table. */
typedef struct peer_b64 {
    unsigned char value[256];
} peer_b64;

static inline void peer_base64_init(peer_b64 *t)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    memset(t->value, 255, sizeof t->value);
    for (unsigned i = 0; i < 64; i++) t->value[(unsigned char)alphabet[i]] = (unsigned char)i;
    t->value[(unsigned char)'='] = 64;
}

/* Standard padded base64, as DynamoDB sends it, into out (room for len / 4 * 3 bytes).
 * Returns false for text that is not base64. */
static inline bool peer_base64(const peer_b64 *t, const char *text, size_t len,
                               unsigned char *out, size_t *out_len)
{
    const unsigned char *in = (const unsigned char *)text;
    const unsigned char *v = t->value;
    size_t n = 0;
    if (len % 4) return false;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t a = v[in[i]], b = v[in[i + 1]], c = v[in[i + 2]], d = v[in[i + 3]];
        if ((a | b | c | d) < 64) {
            uint32_t q = a << 18 | b << 12 | c << 6 | d;
            out[n++] = (unsigned char)(q >> 16);
            out[n++] = (unsigned char)(q >> 8);
            out[n++] = (unsigned char)q;
            continue;
        }
        /* only the last quantum may be padded: "xx==" or "xxx=" */
        if (i + 4 != len || a > 63 || b > 63 || c > 64 || d != 64) return false;
        out[n++] = (unsigned char)(a << 2 | b >> 4);
        if (c != 64) out[n++] = (unsigned char)(b << 4 | c >> 2);
    }
    *out_len = n;
    return true;
}

/* ---- running a peer ------------------------------------------------------------------ */

static inline double peer_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Parses `EVENT_FILE REPS`; exits 2 on a usage error. */
static inline long peer_args(const char *name, int argc, char **argv)
{
    char *end = NULL;
    long reps = argc == 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc != 3 || *end != '\0' || reps < 1) {
        fprintf(stderr, "%s: usage: %s EVENT_FILE REPS\n"
                        "hint: REPS is the number of timed parses of the event, at least 1\n",
                name, name);
        exit(2);
    }
    return reps;
}

/* The whole file, read once, without a leading UTF-8 BOM (ddbhost skips one too); owned by
 * the caller (free). Exits 1 when it cannot be read. */
static inline char *peer_read(const char *name, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        fprintf(stderr, "%s: error: cannot open %s: %s\n", name, path, strerror(errno));
        exit(1);
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            buf = (char *)realloc(buf, cap);
            if (!buf) {
                fprintf(stderr, "%s: error: cannot read %s: out of memory\n", name, path);
                exit(1);
            }
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: error: cannot read %s: %s\n", name, path, strerror(errno));
        exit(1);
    }
    fclose(f);
    if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) {
        n -= 3;
        memmove(buf, buf + 3, n);
    }
    *len = n;
    return buf;
}

static inline int peer_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The contract's one stdout line (median as ddbhost computes it), and on stderr the walk
 * line of one rep in walk.c's format, for comparison with ddbhost's. Sorts ms. */
static inline void peer_report(const char *name, double *ms, long reps, const peer_sum *rep)
{
    qsort(ms, (size_t)reps, sizeof *ms, peer_cmp_double);
    double median = reps % 2 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2;
    printf("median_ms=%.6f min_ms=%.6f records=%llu values=%llu\n", median, ms[0],
           (unsigned long long)rep->records, (unsigned long long)rep->values);
    fprintf(stderr, "%s: %llu records, %llu values, %llu bytes, checksum %016llx\n", name,
            (unsigned long long)rep->records, (unsigned long long)rep->values,
            (unsigned long long)rep->bytes, (unsigned long long)rep->sum);
}

#endif
