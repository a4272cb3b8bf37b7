/*
 * utf8: where well-formed UTF-8 starts and ends, for the writers that must pass on text others
 * wrote (Event notes, log lines) without cutting a character or passing on a stray byte.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/*
 * Bytes of the well-formed UTF-8 character at p (1 to 4; 1 for ASCII, including NUL), or 0 when
 * p does not start one (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
 * Reads past p only as far as the bytes keep the form, so a NUL-terminated string is never
 * overrun.
 */
size_t utf8_len(const unsigned char *p);

#endif
