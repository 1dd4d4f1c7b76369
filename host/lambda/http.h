/* http.h - the small HTTP/1.1 client the Lambda runtime loop speaks to the Runtime API with:
 * plain TCP to one local peer, one kept-alive connection, Content-Length or chunked bodies.
 * No TLS, proxies or redirects (what needs them loads libcurl); knows nothing of Lambda. */
#ifndef DDBHOST_HTTP_H
#define DDBHOST_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Called for each header of a response; name and value are not NUL-terminated, and value
 * has no surrounding blanks. */
typedef void (*http_header_fn)(void *ctx, const char *name, size_t name_len, const char *value,
                               size_t value_len);

/* Where a response's bytes come from: a socket, or memory for the fuzz target. Returns the
 * bytes read, 0 at the end, -1 on error (errno says why). */
typedef ssize_t (*http_fill_fn)(void *ctx, char *dst, size_t cap);

/* The bytes of responses as they are read, and the last response's body. */
typedef struct http_buffer {
    char *data;   /* owned; kept from one response to the next */
    size_t len;   /* bytes read */
    size_t cap;
} http_buffer;

typedef struct http_response {
    int status;
    char *body;      /* borrowed from the buffer until the next response; body[body_len] is
                        writable (a NUL), so that a decoder can work in place */
    size_t body_len;
    bool close;      /* the peer closes the connection after it */
} http_response;

/* Reads one response from fill into buf: status line, headers (each to on_header, which may
 * be NULL), then the body by Content-Length, chunks, or the end of the connection. Bodies
 * over max_body bytes are refused. False with one line in err on an early end, a read error
 * or anything that is not HTTP/1.x. */
bool http_read_response(http_buffer *buf, http_fill_fn fill, void *ctx, size_t max_body,
                        http_response *out, http_header_fn on_header, void *header_ctx,
                        char *err, size_t cap);
void http_buffer_free(http_buffer *buf);

typedef struct http_client http_client;

/* A client for "host:port" (an IPv4 or IPv6 literal, "[::1]:9001", or a name). NULL with
 * one line in err when the address cannot be used; nothing is connected yet. */
http_client *http_client_new(const char *host_port, const char *user_agent, char *err,
                             size_t cap);
void http_client_free(http_client *c);

typedef enum http_outcome {
    HTTP_ANSWERED,     /* *out holds the response */
    HTTP_UNREACHABLE,  /* no connection could be made: nothing was sent, the caller may retry */
    HTTP_LOST          /* the request went out (maybe in part) and no whole answer came back:
                          it must not be sent again */
} http_outcome;

/* Sends one request and reads its answer, on the kept-alive connection or a new one.
 * method is "GET" or "POST"; extra_headers are whole "Name: value" lines, NULL-terminated
 * (or NULL); body may be NULL for none. The response's body lives in the client until the
 * next request. err says why on HTTP_UNREACHABLE and HTTP_LOST. */
http_outcome http_request(http_client *c, const char *method, const char *path,
                          const char *const *extra_headers, const char *body, size_t body_len,
                          http_response *out, http_header_fn on_header, void *header_ctx,
                          char *err, size_t cap);

#endif
