/* attr.c - checks and decodings of DynamoDB attribute value text (N syntax, base64).
 * Pure functions over bytes, called by the event decoder for every N and B it meets,
 * so they are written for speed; they must never read past len. */
#include "attr.h"

#include <stdint.h>

#define ATTR_MAX_DIGITS 38

/* Counts the significant digits of a run of digits: leading zeros (of the whole number, so
 * `leading` carries over from the integer part to the fraction) do not count, nor do zeros
 * that no later non-zero digit follows (`pending`). */
static const char *attr_digits(const char *s, const char *end, bool *any, bool *leading,
                               int *significant, int *pending)
{
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        *any = true;
        if (*leading && *s == '0') continue;
        *leading = false;
        if (*s == '0') {
            (*pending)++;
        } else {
            *significant += *pending + 1;
            *pending = 0;
        }
    }
    return s;
}

attr_number_check attr_check_number(const char *s, size_t len)
{
    const char *end = s + len;
    int significant = 0, pending = 0;
    bool any = false, leading = true;
    if (s < end && (*s == '-' || *s == '+')) s++;
    s = attr_digits(s, end, &any, &leading, &significant, &pending);
    if (s < end && *s == '.') s = attr_digits(s + 1, end, &any, &leading, &significant, &pending);
    if (!any) return ATTR_NUMBER_SYNTAX;
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '-' || *s == '+')) s++;
        if (s == end || *s < '0' || *s > '9') return ATTR_NUMBER_SYNTAX;
        while (s < end && *s >= '0' && *s <= '9') s++;
    }
    if (s != end) return ATTR_NUMBER_SYNTAX;
    return significant > ATTR_MAX_DIGITS ? ATTR_NUMBER_PRECISION : ATTR_NUMBER_OK;
}

/* 0..63 for the alphabet, 64 for '=', 255 for anything else. */
static const uint8_t attr_b64[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,  ['G'] = 6,
    ['H'] = 7,  ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13,
    ['O'] = 14, ['P'] = 15, ['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20,
    ['V'] = 21, ['W'] = 22, ['X'] = 23, ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27,
    ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31, ['g'] = 32, ['h'] = 33, ['i'] = 34,
    ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40, ['p'] = 41,
    ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47, ['w'] = 48,
    ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['+'] = 62,
    ['/'] = 63, ['='] = 64,
};

static bool attr_b64_valid(unsigned char c)
{
    return c == 'A' || attr_b64[c] != 0;
}

bool attr_base64_decode(char *s, size_t len, size_t *out_len)
{
    const unsigned char *in = (const unsigned char *)s;
    unsigned char *out = (unsigned char *)s;
    if (len % 4 != 0) return false;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        unsigned char c0 = in[i], c1 = in[i + 1], c2 = in[i + 2], c3 = in[i + 3];
        if (!attr_b64_valid(c0) || !attr_b64_valid(c1) || !attr_b64_valid(c2) ||
            !attr_b64_valid(c3))
            return false;
        uint32_t a = attr_b64[c0], b = attr_b64[c1], c = attr_b64[c2], d = attr_b64[c3];
        bool last = i + 4 == len;
        if (a == 64 || b == 64) return false;
        if (c == 64 && (d != 64 || !last)) return false;
        if (d == 64 && !last) return false;
        uint32_t v = a << 18 | b << 12 | (c & 63) << 6 | (d & 63);
        out[n++] = (unsigned char)(v >> 16);
        if (c != 64) out[n++] = (unsigned char)(v >> 8);
        if (d != 64) out[n++] = (unsigned char)v;
    }
    *out_len = n;
    return true;
}
