/* fuzz_http.c - libFuzzer target for the Runtime API client's response parser
 * (host/lambda/http.c): any bytes as what the peer sends, handed over in pieces whose sizes
 * the input's first byte chooses, as a socket may. It must read a response or refuse with
 * one line, never read or write out of bounds, and a response it reads keeps its promises:
 * a status from 100 to 599, a body within the limit with a writable NUL after it, header
 * names without blanks or line ends. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define FUZZ_MAX_BODY 65536

typedef struct feed {
    const uint8_t *data;
    size_t size, at;
    size_t piece; /* bytes handed over per read */
} feed;

static ssize_t fuzz_fill(void *ctx, char *dst, size_t cap)
{
    feed *f = ctx;
    size_t n = f->size - f->at;
    if (n > f->piece) n = f->piece;
    if (n > cap) n = cap;
    memcpy(dst, f->data + f->at, n);
    f->at += n;
    return (ssize_t)n;
}

static void fuzz_check(bool ok, const char *what, const char *detail)
{
    if (ok) return;
    fprintf(stderr, "fuzz_http: broken promise: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static void fuzz_header(void *ctx, const char *name, size_t name_len, const char *value,
                        size_t value_len)
{
    (void)ctx;
    fuzz_check(name_len > 0, "a header has a name", NULL);
    for (size_t i = 0; i < name_len; i++)
        fuzz_check(name[i] > ' ' && name[i] != ':', "a header name has no blank, colon or line end", NULL);
    for (size_t i = 0; i < value_len; i++)
        fuzz_check(value[i] != '\n', "a header value has no line end", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static http_buffer buf; /* kept, as the client keeps it from one response to the next */
    if (size == 0) return 0;
    static const size_t pieces[] = {1, 2, 3, 7, 64, 4096, SIZE_MAX};
    feed f = {data + 1, size - 1, 0, pieces[data[0] % (sizeof pieces / sizeof *pieces)]};
    http_response res;
    char err[512] = "";
    if (!http_read_response(&buf, fuzz_fill, &f, FUZZ_MAX_BODY, &res, fuzz_header, NULL, err,
                            sizeof err)) {
        fuzz_check(err[0] != '\0' && !strchr(err, '\n'), "a refusal is one non-empty line", err);
        return 0;
    }
    fuzz_check(res.status >= 100 && res.status <= 599, "the status is from 100 to 599", NULL);
    fuzz_check(res.body_len <= FUZZ_MAX_BODY, "the body is within the limit", NULL);
    fuzz_check(res.body >= buf.data && res.body + res.body_len < buf.data + buf.cap,
               "the body and its NUL lie in the buffer", NULL);
    fuzz_check(res.body[res.body_len] == '\0', "the body is followed by a NUL", NULL);
    return 0;
}
