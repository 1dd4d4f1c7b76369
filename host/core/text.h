/* text.h - the host's one JSON-text toolkit: UTF-8, the escapes of JSON strings, the number
 * grammar, and the two ways a string goes back out: quoted for a one-line message that a
 * person reads, or escaped exactly for JSON that a machine reads. Every module uses these;
 * only the event decoder's fast scan keeps its own loop, and calls these for the rest. */
#ifndef DDBHOST_TEXT_H
#define DDBHOST_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- UTF-8 ----------------------------------------------------------------------------- */

/* The length (1 to 4) of the valid UTF-8 sequence at s (s < end), 0 when the bytes there are
 * not one: a stray continuation byte, an overlong form, a surrogate (U+D800 to U+DFFF), a code
 * point above U+10FFFF, or a sequence that end cuts short. Never reads at or past end.
 * Inline because the event decoder's scan calls it for every non-ASCII character. */
static inline size_t text_utf8_len(const char *s, const char *end)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0 and C1 (overlong), F5 and up */
    }
    if ((size_t)(end - s) < n || u[1] < lo || u[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (u[i] < 0x80 || u[i] > 0xBF) return 0;
    return n;
}

/* Writes cp (at most U+10FFFF) at out as UTF-8; returns its length, 1 to 4. */
size_t text_put_utf8(char *out, uint32_t cp);

/* ---- reading JSON text ----------------------------------------------------------------- */

typedef enum text_status {
    TEXT_OK,
    TEXT_END,            /* the text ends inside the escape */
    TEXT_BAD_ESCAPE,     /* a backslash before a character JSON has no escape for */
    TEXT_BAD_HEX,        /* \u without four hex digits after it */
    TEXT_LONE_SURROGATE, /* \u of half a surrogate pair, without its other half */
} text_status;

/* Decodes the escape at s (on its backslash; s < end): \" \\ \/ \b \f \n \r \t, or \uXXXX,
 * a high surrogate together with the \uXXXX low one that must follow it. Writes the character
 * at out as UTF-8 (*written bytes) and sets *used to the bytes of s it took. The UTF-8 is
 * never longer than the escape, so out may be s itself or any place before it. On failure
 * nothing is written and *used is the offset from s of the byte at fault (end - s for
 * TEXT_END, the escape's backslash for a lone surrogate). */
text_status text_unescape(const char *s, const char *end, char *out, size_t *used,
                          size_t *written);

/* The length of the JSON number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
 * that starts at s, before end; 0 when there is none, with *stop (when not NULL) at the first
 * byte where a digit was expected. */
size_t text_number(const char *s, const char *end, const char **stop);

/* How deep arrays and objects may nest in a JSON text: the event decoder's limit too, so that
 * a text the host writes into a response reads back when Lambda sends it again. */
#define TEXT_JSON_MAX_DEPTH 512

/* Whether s (len bytes) is one JSON object, white space around it allowed: RFC 8259 with
 * UTF-8 checked as text_utf8_len checks it and nesting up to TEXT_JSON_MAX_DEPTH, the grammar
 * of the event decoder. False with one line in why (cap bytes), e.g. `invalid JSON at byte 7:
 * expected ',' or '}', found 'x'` or `expected a JSON object, found an array`. */
bool text_json_object(const char *s, size_t len, char *why, size_t cap);

/* ---- writing --------------------------------------------------------------------------- */

/* The buffer a quoted value in a message usually gets. */
#define TEXT_QUOTE_CAP 320

/* s (len bytes) in double quotes, for a one-line message: " and \ escaped, \n \r \t for
 * those, \u00XX for the other control characters, DEL and C1 controls, \xXX for each byte
 * that is not UTF-8. When it does not fit in cap bytes (at least 8), it is cut after a whole
 * character or escape and ends in ...". Returns out, which always holds a C string. */
const char *text_quote_n(char *out, size_t cap, const char *s, size_t len);
/* text_quote_n of a C string; NULL quotes as (null). */
const char *text_quote(char *out, size_t cap, const char *s);

/* s with its control characters, DEL, C1 controls and bytes that are not UTF-8 escaped as
 * text_quote escapes them, and nothing else: a message stays one line. Writes a C string of
 * at most cap bytes (cut after a whole character or escape) and returns out. */
const char *text_one_line(char *out, size_t cap, const char *s);

/* Appends to the key path in out (n bytes long, cap bytes in all) the step to member key:
 * ".key", or "key" at the start, for a plain word (letters, digits, _ - *), else ["key"]
 * quoted as text_quote does. Returns the new length; out stays a C string, cut when full. */
size_t text_path_key(char *out, size_t n, size_t cap, const char *key, size_t len);

/* s (len bytes) as the body of a JSON string literal, exact, as JSON.stringify writes it:
 * \" \\ \b \f \n \r \t, \u00XX for the other control characters, every other character as
 * itself; each byte that is not UTF-8 becomes \ufffd, so that the output is always valid
 * JSON. Writes whole escapes and characters only, as many as fit in cap bytes with the NUL
 * after them, and returns the bytes written before the NUL. With out NULL it writes nothing
 * and returns the length of the whole body (6 * len at the most). */
size_t text_escape(char *out, size_t cap, const char *s, size_t len);

/* ---- hashing --------------------------------------------------------------------------- */

/* FNV-1a (64 bits) of s[0..len): stable from one run and one machine to the next, for
 * spreading keys (not for anything an adversary chooses to collide). */
uint64_t text_hash(const char *s, size_t len);

#endif
