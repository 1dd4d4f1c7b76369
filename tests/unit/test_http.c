/* test_http.c - the Runtime API client's response reader (host/lambda/http.c): the bodies
 * it hands over, however the peer frames them and however the bytes arrive, and the one
 * line it gives for what is not HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

typedef struct feed {
    const char *text;
    size_t at, piece;
} feed;

static ssize_t fill(void *ctx, char *dst, size_t cap)
{
    feed *f = ctx;
    size_t n = strlen(f->text + f->at);
    if (n > f->piece) n = f->piece;
    if (n > cap) n = cap;
    memcpy(dst, f->text + f->at, n);
    f->at += n;
    return (ssize_t)n;
}

static char seen_id[64];

static void header(void *ctx, const char *name, size_t name_len, const char *value, size_t value_len)
{
    (void)ctx;
    if (name_len == 29 && !strncmp(name, "Lambda-Runtime-Aws-Request-Id", 29))
        snprintf(seen_id, sizeof seen_id, "%.*s", (int)value_len, value);
}

/* Reads text, handed over piece bytes at a time, expecting status and body. */
static void expect_body(const char *text, int status, const char *body)
{
    static const size_t pieces[] = {1, 5, 1 << 20};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        http_buffer buf = {0};
        feed f = {text, 0, pieces[i]};
        http_response res;
        char err[256] = "";
        if (!http_read_response(&buf, fill, &f, 1 << 20, &res, header, NULL, err, sizeof err))
            fail_msg("refused (%zu bytes a read): %s", pieces[i], err);
        assert_int_equal(res.status, status);
        assert_int_equal(res.body_len, strlen(body));
        assert_memory_equal(res.body, body, res.body_len);
        assert_int_equal(res.body[res.body_len], '\0');
        http_buffer_free(&buf);
    }
}

static void expect_refusal(const char *text, size_t max_body, const char *says)
{
    http_buffer buf = {0};
    feed f = {text, 0, 3};
    http_response res;
    char err[256] = "";
    assert_false(http_read_response(&buf, fill, &f, max_body, &res, NULL, NULL, err, sizeof err));
    if (!strstr(err, says)) fail_msg("expected \"%s\" in \"%s\"", says, err);
    http_buffer_free(&buf);
}

static void test_a_content_length_body_comes_whole_with_its_headers(void **state)
{
    (void)state;
    seen_id[0] = '\0';
    expect_body("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id:  abc-1 \r\n"
                "Content-Length: 14\r\n\r\n{\"Records\":[]}",
                200, "{\"Records\":[]}");
    assert_string_equal(seen_id, "abc-1");
}

static void test_a_chunked_body_is_joined_and_its_extensions_and_trailers_skipped(void **state)
{
    (void)state;
    expect_body("HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
                "4;x=y\r\n{\"st\r\nA\r\natus\":\"OK\"\r\n1\r\n}\r\n0\r\nTrailer: 1\r\n\r\n",
                202, "{\"status\":\"OK\"}");
}

static void test_an_interim_answer_is_followed_by_the_real_one(void **state)
{
    (void)state;
    expect_body("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\n{}", 500, "{}");
}

static void test_without_a_length_the_body_runs_to_the_end_of_a_closing_connection(void **state)
{
    (void)state;
    expect_body("HTTP/1.0 200 OK\r\n\r\nall of it", 200, "all of it");
    expect_body("HTTP/1.1 204 No Content\r\n\r\n", 204, "");
}

static void test_what_is_not_http_is_refused_in_one_line(void **state)
{
    (void)state;
    expect_refusal("SSH-2.0-OpenSSH\r\n\r\n", 100, "not an HTTP/1.x status line");
    expect_refusal("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 100, "closed before");
    expect_refusal("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 100, "Content-Length");
    expect_refusal("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 100, "too large");
    expect_refusal("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 100, "chunked");
    expect_refusal("HTTP/1.1 200 OK\nContent-Length: 0\n\n", 100, "CRLF");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_content_length_body_comes_whole_with_its_headers),
        cmocka_unit_test(test_a_chunked_body_is_joined_and_its_extensions_and_trailers_skipped),
        cmocka_unit_test(test_an_interim_answer_is_followed_by_the_real_one),
        cmocka_unit_test(test_without_a_length_the_body_runs_to_the_end_of_a_closing_connection),
        cmocka_unit_test(test_what_is_not_http_is_refused_in_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
