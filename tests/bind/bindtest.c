/* bindtest.c - a plain shared library for the binding tests: no ddbhost header, no
 * descriptor, just exported C functions, as a team's existing library would be. Each function
 * appends one line saying exactly what it received to the file named by $BINDTEST_OUT (one
 * write per line, so that a worker process's lines are never torn), or to stdout without it. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* The first fields of the record the host passes for "record" (frozen in plugin.h's ABI). */
struct record_prefix {
    uint32_t size;
    uint32_t index;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    const char *path = getenv("BINDTEST_OUT");
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : STDOUT_FILENO;
    if (fd < 0) return;
    if (write(fd, line, (size_t)n) != n) { /* nothing to do: the test sees the line missing */ }
    if (path) close(fd);
}

/* A C string as the test expects to see it: in quotes, or NULL. */
static const char *q(const char *s, char *buf, size_t cap)
{
    if (!s) return "NULL";
    snprintf(buf, cap, "\"%s\"", s);
    return buf;
}

/* Bytes as hex pairs, or NULL. */
static const char *hex(const void *p, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    if (!p) return "NULL";
    buf[0] = '\0';
    for (size_t i = 0; i < n && k + 4 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%02x", i ? " " : "", ((const unsigned char *)p)[i]);
    return buf;
}

EXPORT int take_string(const char *s)
{
    char b[4096];
    say("take_string(%s)", q(s, b, sizeof b));
    return 0;
}

EXPORT int take_strings(const char *a, const char *b, const char *c, const char *d)
{
    char ba[1024], bb[1024], bc[1024], bd[1024];
    say("take_strings(%s, %s, %s, %s)", q(a, ba, sizeof ba), q(b, bb, sizeof bb),
        q(c, bc, sizeof bc), q(d, bd, sizeof bd));
    return 0;
}

EXPORT int take_bytes(const void *p, size_t n)
{
    char b[1024];
    say("take_bytes(%s, %zu)", hex(p, n, b, sizeof b), n);
    return 0;
}

EXPORT int take_int32(int32_t v) { say("take_int32(%d)", (int)v); return 0; }
EXPORT int take_int64(int64_t v) { say("take_int64(%lld)", (long long)v); return 0; }
EXPORT int take_uint64(uint64_t v) { say("take_uint64(%llu)", (unsigned long long)v); return 0; }
EXPORT int take_double(double v) { say("take_double(%.17g)", v); return 0; }
EXPORT int take_bool(bool v) { say("take_bool(%s)", v ? "true" : "false"); return 0; }

EXPORT int take_json(const char *json)
{
    say("take_json(%s)", json ? json : "NULL");
    return 0;
}

EXPORT int take_jsons(const char *a, const char *b, const char *c)
{
    say("take_jsons(%s, %s, %s)", a ? a : "NULL", b ? b : "NULL", c ? c : "NULL");
    return 0;
}

/* Ten C arguments of every kind: more than the registers hold on x86-64 and arm64, so some
 * arrive on the stack, interleaved with a floating-point one. */
EXPORT int take_everything(const char *s, const void *p, size_t n, int32_t i32, int64_t i64,
                           uint64_t u64, double d, bool b, const char *json, const char *number)
{
    char bs[1024], bp[1024], bn[256];
    say("take_everything(%s, %s, %zu, %d, %lld, %llu, %.17g, %s, %s, %s)", q(s, bs, sizeof bs),
        hex(p, n, bp, sizeof bp), n, (int)i32, (long long)i64, (unsigned long long)u64, d,
        b ? "true" : "false", json ? json : "NULL", q(number, bn, sizeof bn));
    return 0;
}

EXPORT int take_facts(const char *table, const char *event, const char *seq, const char *id,
                      const void *record)
{
    char bt[512], be[64], bs[128], bi[256];
    const struct record_prefix *r = record;
    say("take_facts(%s, %s, %s, %s, record %u)", q(table, bt, sizeof bt), q(event, be, sizeof be),
        q(seq, bs, sizeof bs), q(id, bi, sizeof bi), r ? (unsigned)r->index : 9999u);
    return 0;
}

EXPORT int on_insert_fn(const char *id) { say("on_insert_fn(%s)", id); return 0; }
EXPORT int on_modify_fn(const char *id, const char *before, const char *after)
{
    say("on_modify_fn(%s, %s -> %s)", id, before, after);
    return 0;
}
EXPORT int on_remove_fn(const char *id) { say("on_remove_fn(%s)", id); return 0; }

/* Return values: the manifest says which means success. */
EXPORT int returns_code(int64_t code) { say("returns_code(%lld)", (long long)code); return (int)code; }
EXPORT bool returns_flag(bool flag) { say("returns_flag(%s)", flag ? "true" : "false"); return flag; }
EXPORT void returns_nothing(const char *id) { say("returns_nothing(%s)", id); }

/* The billing example of docs/BINDINGS.md. */
EXPORT int billing_record(const char *customer, int64_t cents)
{
    say("billing_record(%s, %lld)", customer, (long long)cents);
    return 0;
}

/* Dies as a buggy library would, for "isolation": "process". */
EXPORT int crash_on(const char *id)
{
    if (id && strcmp(id, "crash") == 0) raise(SIGSEGV);
    say("crash_on(%s)", id);
    return 0;
}

/* Data, not a function: binding to it is refused at load. */
EXPORT int not_a_function = 42;
