/* manifest_fixture.h - what the manifest tests share (tests/unit/test_manifest.c,
 * test_deploy.c, tests/bind/test_bind_manifest.c): a temporary directory that the
 * manifests under test claim to live in, files written into it, manifests written with '
 * for " to keep them readable, and parsing that must succeed. Include it after cmocka.h. */
#ifndef DDBTEST_MANIFEST_FIXTURE_H
#define DDBTEST_MANIFEST_FIXTURE_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest.h"

static char dir[64];    /* the temporary directory */
static char mpath[128]; /* dir/m.json: where the manifests under test claim to be */

/* Makes /tmp/PREFIX-XXXXXX as dir; -1 when it cannot. */
static inline int fixture_make_dir(const char *prefix)
{
    snprintf(dir, sizeof dir, "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(dir)) return -1;
    snprintf(mpath, sizeof mpath, "%s/m.json", dir);
    return 0;
}

/* Writes text to dir/rel. */
static inline void fixture_write(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static inline int fixture_remove_entry(const char *path, const struct stat *st, int flag,
                                       struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline int remove_dir(void **state)
{
    (void)state;
    return nftw(dir, fixture_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The manifest text with ' for "; \' stays a '. Four results live at a time. */
static inline const char *dq(const char *text)
{
    static char buf[4][4096];
    static int next;
    char *out = buf[next++ % 4];
    size_t n = 0;
    for (size_t i = 0; text[i] && n + 1 < sizeof buf[0]; i++) {
        if (text[i] == '\\' && text[i + 1] == '\'') out[n++] = text[++i];
        else out[n++] = text[i] == '\'' ? '"' : text[i];
    }
    out[n] = '\0';
    return out;
}

static inline manifest parse_ok(const char *json)
{
    manifest m;
    char err[1024] = "";
    if (!manifest_parse(json, strlen(json), mpath, &m, err, sizeof err))
        fail_msg("unexpected error: %s", err);
    return m;
}

/* Asserts that json (len bytes) is refused with `manifest "dir/m.json": ` + the formatted
 * message, and that the output manifest was left untouched. */
static inline void assert_refused_text(const char *json, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void assert_refused_text(const char *json, size_t len, const char *fmt, ...)
{
    char want[1200], got[1200] = "", tail[1000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    snprintf(want, sizeof want, "manifest \"%s\": %s", mpath, tail);
    manifest m, before;
    memset(&m, 0xA5, sizeof m);
    before = m;
    assert_false(manifest_parse(json, len, mpath, &m, got, sizeof got));
    assert_string_equal(got, want);
    assert_memory_equal(&m, &before, sizeof m);
}

#endif
