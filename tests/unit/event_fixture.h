/* event_fixture.h - what the event decoder's two test files share: a decoder per test and
 * a decode into a fresh buffer of exactly len + 1 bytes, so that the sanitizer catches a
 * read past the spare byte and a record still pointing into the previous event. */
#ifndef DDBHOST_TEST_EVENT_FIXTURE_H
#define DDBHOST_TEST_EVENT_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

#define ORDERS_ARN \
    "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000"
#define EVENT(records) "{\"Records\":[" records "]}"

typedef struct fixture {
    event_decoder *d;
    char *buf; /* the event last decoded: the decoder works in it, the batch borrows it */
    event_batch batch;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->d = event_decoder_new();
    assert_non_null(f->d);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    event_decoder_free(f->d);
    free(f->buf);
    free(f);
    return 0;
}

/* The spare byte holds `spare`: a decoder that took it for input would see another event. */
static bool fixture_decode(fixture *f, const char *text, size_t len, char spare)
{
    free(f->buf);
    f->buf = malloc(len + 1);
    assert_non_null(f->buf);
    memcpy(f->buf, text, len);
    f->buf[len] = spare;
    memset(&f->batch, 0, sizeof f->batch);
    return event_decode(f->d, f->buf, len, &f->batch);
}

/* printf into a malloc'd string: free() it. */
static char *fixture_vformat(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

/* A file of tests/conformance/corpus, e.g. "events/x.json": its bytes in *len; free() it. */
static char *fixture_corpus(const char *corpus_path, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/conformance/corpus/%s", DDB_SOURCE_DIR, corpus_path);
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    char *text = malloc((size_t)n);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return text;
}

#endif
