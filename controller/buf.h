/*
 * buf: a growable byte buffer with a hard size limit set at creation.
 *
 * Every buffer fed by the network is a buf with a limit, so that a hostile or broken peer cannot
 * make certcast allocate without bound. The data is always NUL-terminated (the terminator is not
 * counted in len), so text can be used in place.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char *b_data;  /* owned; NULL until the first append */
	size_t b_len;  /* bytes in use, excluding the NUL */
	size_t b_cap;  /* bytes allocated */
	size_t b_max;  /* limit on b_len; appends past it fail */
};

/* Start an empty buffer that may hold up to max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Append n bytes. Returns CC_OK, or CC_ERR_TOOBIG leaving the buffer unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= b_len), keeping the rest. */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer but keep its memory. */
void buf_reset(struct buf *b);
/* Take the bytes out as a NUL-terminated string the caller frees; the buffer becomes empty. */
char *buf_detach(struct buf *b);
/* Free the memory; the buffer may be reused after buf_init. Accepts NULL. */
void buf_free(struct buf *b);

#endif
