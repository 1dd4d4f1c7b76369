/* attr.h - checks and decodings of DynamoDB attribute value text: number syntax and
 * precision, base64. Pure functions over bytes; they know nothing of JSON or records. */
#ifndef DDBHOST_ATTR_H
#define DDBHOST_ATTR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum attr_number_check {
    ATTR_NUMBER_OK = 0,
    ATTR_NUMBER_SYNTAX,    /* not a decimal number */
    ATTR_NUMBER_PRECISION  /* more than 38 significant digits */
} attr_number_check;

/* Checks an N value: [+-]digits[.digits][(e|E)[+-]digits], at most 38 significant digits.
 * plugin.h's conversions read the same grammar with their own inline code (a plugin needs
 * nothing of the host); test_attr checks that the two agree. */
attr_number_check attr_check_number(const char *s, size_t len);

/* Decodes standard base64 (with padding) in place; false when s is not valid base64. */
bool attr_base64_decode(char *s, size_t len, size_t *out_len);

#endif
