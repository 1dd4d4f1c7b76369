/* http.c - an HTTP/1.1 client for the Runtime API: one kept-alive TCP connection, requests
 * written whole, responses read into one buffer that is kept from one response to the next
 * (the event is decoded in place in it). Owns the socket and the response parser; the
 * parser reads through a fill function so that the fuzz target drives it from memory. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HTTP_MAX_HEAD (64u * 1024u)   /* status line and headers */
#define HTTP_MAX_LINE 1024u           /* a chunk-size or trailer line */
#define HTTP_FIRST_CAP (256u * 1024u) /* most events fit the first buffer */
#define HTTP_CONNECT_TIMEOUT_MS 1000
#define HTTP_MAX_BODY (128u * 1024u * 1024u) /* Lambda's payloads are at most 6 MB */

/* ---- reading a response ------------------------------------------------------------------ */

typedef struct http_reader {
    http_buffer *buf;
    http_fill_fn fill;
    void *ctx;
    char *err;
    size_t cap;
} http_reader;

static bool http_fail(http_reader *r, const char *what)
{
    snprintf(r->err, r->cap, "%s", what);
    return false;
}

/* Makes room for at least want bytes in all (plus the spare byte). */
static bool http_reserve(http_reader *r, size_t want)
{
    http_buffer *b = r->buf;
    if (want + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : HTTP_FIRST_CAP;
    while (cap < want + 1) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) return http_fail(r, "out of memory reading the response");
    b->data = grown;
    b->cap = cap;
    return true;
}

/* Reads until the buffer holds at least want bytes; false at an early end or an error. */
static bool http_more(http_reader *r, size_t want)
{
    http_buffer *b = r->buf;
    if (!http_reserve(r, want)) return false;
    while (b->len < want) {
        ssize_t n = r->fill(r->ctx, b->data + b->len, b->cap - 1 - b->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(r->err, r->cap, "reading the response: %s", strerror(errno));
            return false;
        }
        if (n == 0) return http_fail(r, "the connection closed before the response was whole");
        b->len += (size_t)n;
    }
    return true;
}

/* Reads to the end of the connection, at most max bytes from start. */
static bool http_rest(http_reader *r, size_t start, size_t max)
{
    http_buffer *b = r->buf;
    for (;;) {
        if (b->len - start > max) return http_fail(r, "the response body is too large");
        if (b->len + 1 >= b->cap && !http_reserve(r, b->cap)) return false;
        ssize_t n = r->fill(r->ctx, b->data + b->len, b->cap - 1 - b->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return http_fail(r, "reading the response failed");
        if (n == 0) return true;
        b->len += (size_t)n;
    }
}

/* The offset just past the "\r\n" of the line starting at from, reading as needed; 0 when
 * no line of at most limit bytes comes. */
static size_t http_line_end(http_reader *r, size_t from, size_t limit, const char *what)
{
    size_t scanned = from;
    for (;;) {
        http_buffer *b = r->buf;
        char *nl = scanned < b->len ? memchr(b->data + scanned, '\n', b->len - scanned) : NULL;
        if (nl) {
            size_t end = (size_t)(nl - b->data) + 1;
            if (end - from > limit) return http_fail(r, what), 0;
            if (end - from < 2 || nl[-1] != '\r') return http_fail(r, "a line does not end in CRLF"), 0;
            return end;
        }
        scanned = b->len;
        if (b->len - from >= limit) return http_fail(r, what), 0;
        if (!http_more(r, b->len + 1)) return 0;
    }
}

typedef struct http_head {
    size_t end;            /* offset of the body */
    int status;
    bool chunked, has_length, close;
    size_t length;
} http_head;

/* A decimal Content-Length, checked against max; false for anything else. */
static bool http_parse_length(const char *v, size_t n, size_t max, size_t *out)
{
    size_t x = 0;
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        x = x * 10 + (size_t)(v[i] - '0');
        if (x > max) return false;
    }
    *out = x;
    return true;
}

static bool http_token_is(const char *v, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n == w && strncasecmp(v, word, n) == 0;
}

/* One header line [p, end) without its CRLF: checks it, notes what framing needs, passes it
 * on. */
static bool http_header(http_reader *r, const char *p, const char *end, size_t max_body,
                        http_head *h, http_header_fn on_header, void *hctx)
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || colon == p) return http_fail(r, "a header line has no name");
    for (const char *c = p; c < colon; c++)
        if (*c <= ' ' || *c >= 127) return http_fail(r, "a header name holds a blank or control byte");
    const char *v = colon + 1, *ve = end;
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    size_t nlen = (size_t)(colon - p), vlen = (size_t)(ve - v);
    if (http_token_is(p, nlen, "Content-Length")) {
        size_t length;
        if (!http_parse_length(v, vlen, max_body, &length) || (h->has_length && length != h->length))
            return http_fail(r, "the Content-Length is not a number within the body limit");
        h->has_length = true;
        h->length = length;
    } else if (http_token_is(p, nlen, "Transfer-Encoding")) {
        if (vlen < 7 || strncasecmp(ve - 7, "chunked", 7) != 0)
            return http_fail(r, "a Transfer-Encoding other than chunked");
        h->chunked = true;
    } else if (http_token_is(p, nlen, "Connection") && http_token_is(v, vlen, "close")) {
        h->close = true;
    }
    if (on_header) on_header(hctx, p, nlen, v, vlen);
    return true;
}

/* The status line and headers from offset from; h says how the body is framed. */
static bool http_read_head(http_reader *r, size_t from, size_t max_body, http_head *h,
                           http_header_fn on_header, void *hctx)
{
    size_t line = http_line_end(r, from, HTTP_MAX_HEAD, "the response head is too large");
    if (!line) return false;
    const char *s = r->buf->data + from;
    if (line - from < 14 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
        s[8] != ' ' || s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' ||
        s[11] > '9' || (s[12] != ' ' && s[12] != '\r'))
        return http_fail(r, "the answer is not an HTTP/1.x status line");
    *h = (http_head){.status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'),
                     .close = s[7] == '0'};
    for (;;) {
        size_t start = line;
        if (start - from >= HTTP_MAX_HEAD) return http_fail(r, "the response head is too large");
        if (!(line = http_line_end(r, start, HTTP_MAX_HEAD - (start - from),
                                   "the response head is too large")))
            return false;
        if (line - start == 2) break; /* the empty line */
        const char *p = r->buf->data + start;
        if (*p == ' ' || *p == '\t') return http_fail(r, "a folded header line");
        if (!http_header(r, p, r->buf->data + line - 2, max_body, h, on_header, hctx)) return false;
    }
    h->end = line;
    return true;
}

/* A chunked body from h->end, decoded in place; *len its size. */
static bool http_read_chunks(http_reader *r, const http_head *h, size_t max_body, size_t *len)
{
    size_t pos = h->end, out = h->end;
    for (;;) {
        size_t line = http_line_end(r, pos, HTTP_MAX_LINE, "a chunk-size line is too long");
        if (!line) return false;
        size_t size = 0, digits = 0;
        for (const char *c = r->buf->data + pos; c < r->buf->data + line - 2; c++, digits++) {
            int d = *c >= '0' && *c <= '9' ? *c - '0' : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10
                  : *c >= 'A' && *c <= 'F' ? *c - 'A' + 10 : -1;
            if (d < 0) break; /* a chunk extension, or the end */
            if (size > (max_body >> 4)) return http_fail(r, "the response body is too large");
            size = size << 4 | (size_t)d;
        }
        if (digits == 0) return http_fail(r, "a chunk-size line holds no size");
        if (size == 0) break;
        if (out - h->end + size > max_body) return http_fail(r, "the response body is too large");
        if (!http_more(r, line + size + 2)) return false;
        if (memcmp(r->buf->data + line + size, "\r\n", 2) != 0)
            return http_fail(r, "a chunk does not end in CRLF");
        memmove(r->buf->data + out, r->buf->data + line, size);
        out += size;
        pos = line + size + 2;
    }
    for (;;) { /* trailers, then the empty line */
        size_t end = http_line_end(r, pos, HTTP_MAX_LINE, "a trailer line is too long");
        if (!end) return false;
        if (end - pos == 2) break;
        pos = end;
    }
    *len = out - h->end;
    return true;
}

bool http_read_response(http_buffer *buf, http_fill_fn fill, void *ctx, size_t max_body,
                        http_response *out, http_header_fn on_header, void *header_ctx,
                        char *err, size_t cap)
{
    http_reader r = {buf, fill, ctx, err, cap};
    http_head h = {0};
    size_t from = 0, len = 0;
    buf->len = 0;
    do { /* an interim 1xx answer is followed by the real one */
        if (!http_read_head(&r, from, max_body, &h, on_header, header_ctx)) return false;
        from = h.end;
    } while (h.status < 200);
    if (h.chunked) {
        if (!http_read_chunks(&r, &h, max_body, &len)) return false;
    } else if (h.has_length) {
        if (!http_more(&r, h.end + h.length)) return false;
        len = h.length;
    } else if (h.close && h.status != 204 && h.status != 304) {
        if (!http_rest(&r, h.end, max_body)) return false;
        len = buf->len - h.end;
    }
    if (!http_reserve(&r, h.end + len)) return false;
    buf->data[h.end + len] = '\0';
    *out = (http_response){h.status, buf->data + h.end, len, h.close};
    return true;
}

void http_buffer_free(http_buffer *buf)
{
    free(buf->data);
    *buf = (http_buffer){0};
}

/* ---- the connection ---------------------------------------------------------------------- */

struct http_client {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[256];          /* as written in the Host header */
    char user_agent[64];
    int fd;                  /* -1 when not connected */
    http_buffer buf;
};

/* Splits "host:port" or "[v6]:port" and resolves it (numerically first: no name service is
 * needed for the address Lambda gives). */
static bool http_resolve(http_client *c, const char *host_port, char *err, size_t cap)
{
    char host[256];
    const char *port;
    if (host_port[0] == '[') {
        const char *close = strchr(host_port, ']');
        if (!close || close[1] != ':') goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(close - host_port - 1), host_port + 1);
        port = close + 2;
    } else {
        const char *colon = strrchr(host_port, ':');
        if (!colon || colon == host_port) goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(colon - host_port), host_port);
        port = colon + 1;
    }
    if (!*port || strspn(port, "0123456789") != strlen(port)) goto bad;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(host, port, &hints, &ai);
    }
    if (rc != 0) {
        snprintf(err, cap, "cannot resolve \"%s\": %s", host_port, gai_strerror(rc));
        return false;
    }
    memcpy(&c->addr, ai->ai_addr, ai->ai_addrlen);
    c->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    snprintf(c->host, sizeof c->host, "%s", host_port);
    return true;
bad:
    snprintf(err, cap, "\"%s\" is not HOST:PORT", host_port);
    return false;
}

http_client *http_client_new(const char *host_port, const char *user_agent, char *err,
                             size_t cap)
{
    http_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->fd = -1;
    snprintf(c->user_agent, sizeof c->user_agent, "%s", user_agent);
    if (!http_resolve(c, host_port, err, cap)) {
        free(c);
        return NULL;
    }
    return c;
}

static void http_disconnect(http_client *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

void http_client_free(http_client *c)
{
    if (!c) return;
    http_disconnect(c);
    http_buffer_free(&c->buf);
    free(c);
}

/* A kept-alive connection the peer has closed (or written to unasked) is not reused. */
static bool http_still_open(const http_client *c)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    char byte;
    if (poll(&p, 1, 0) == 0) return true;
    return recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* Connects within HTTP_CONNECT_TIMEOUT_MS; false with err. */
static bool http_connect(http_client *c, char *err, size_t cap)
{
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, cap, "socket: %s", strerror(errno));
        return false;
    }
    int rc = connect(fd, (struct sockaddr *)&c->addr, c->addr_len), so_error = 0;
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        socklen_t len = sizeof so_error;
        rc = poll(&p, 1, HTTP_CONNECT_TIMEOUT_MS);
        if (rc == 0) so_error = ETIMEDOUT;
        else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
        rc = so_error ? -1 : 0;
        errno = so_error;
    }
    if (rc != 0) {
        snprintf(err, cap, "cannot connect to %s: %s", c->host, strerror(errno));
        close(fd);
        return false;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    c->fd = fd;
    return true;
}

/* Sends head and body in as few calls as the kernel allows; never raises SIGPIPE. */
static bool http_send(int fd, const char *head, size_t head_len, const char *body, size_t body_len)
{
    struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = body_len ? 2 : 1};
    while (msg.msg_iovlen > 0) {
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov[0].iov_len) {
            n -= (ssize_t)msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + n;
            msg.msg_iov[0].iov_len -= (size_t)n;
        }
    }
    return true;
}

static ssize_t http_fill_socket(void *ctx, char *dst, size_t cap)
{
    return recv(*(int *)ctx, dst, cap, 0);
}

/* The request line and headers, with the body's length. */
static int http_format_head(const http_client *c, char *out, size_t cap, const char *method,
                            const char *path, const char *const *extra, size_t body_len,
                            bool has_body)
{
    int n = snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n", method, path,
                     c->host, c->user_agent);
    for (size_t i = 0; extra && extra[i] && n > 0 && (size_t)n < cap; i++)
        n += snprintf(out + n, cap - (size_t)n, "%s\r\n", extra[i]);
    if (n > 0 && (size_t)n < cap && has_body)
        n += snprintf(out + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    if (n > 0 && (size_t)n < cap) n += snprintf(out + n, cap - (size_t)n, "\r\n");
    return n > 0 && (size_t)n < cap ? n : -1;
}

http_outcome http_request(http_client *c, const char *method, const char *path,
                          const char *const *extra_headers, const char *body, size_t body_len,
                          http_response *out, http_header_fn on_header, void *header_ctx,
                          char *err, size_t cap)
{
    char head[2048];
    int head_len = http_format_head(c, head, sizeof head, method, path, extra_headers, body_len,
                                    body != NULL);
    if (head_len < 0) {
        snprintf(err, cap, "the request to %s is too long", path);
        return HTTP_UNREACHABLE;
    }
    if (c->fd >= 0 && !http_still_open(c)) http_disconnect(c);
    if (c->fd < 0 && !http_connect(c, err, cap)) return HTTP_UNREACHABLE;
    if (!http_send(c->fd, head, (size_t)head_len, body, body ? body_len : 0)) {
        snprintf(err, cap, "sending to %s: %s", c->host, strerror(errno));
        http_disconnect(c);
        return HTTP_LOST;
    }
    if (!http_read_response(&c->buf, http_fill_socket, &c->fd, HTTP_MAX_BODY, out, on_header,
                            header_ctx, err, cap)) {
        http_disconnect(c);
        return HTTP_LOST;
    }
    if (out->close) http_disconnect(c);
    return HTTP_ANSWERED;
}
