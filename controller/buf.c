/* buf: bounded growable byte buffer. */
#include "buf.h"

#include "cc_err.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
	b->b_max = max;
}

static void
buf_reserve(struct buf *b, size_t need)
{
	if (need + 1 <= b->b_cap)
		return;
	size_t cap = b->b_cap ? b->b_cap : 256;
	while (cap < need + 1)
		cap *= 2;
	if (cap > b->b_max + 1)
		cap = b->b_max + 1;
	b->b_data = xrealloc(b->b_data, cap);
	b->b_cap = cap;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->b_max - b->b_len)
		return CC_ERR_TOOBIG;
	buf_reserve(b, b->b_len + n);
	if (n)
		memcpy(b->b_data + b->b_len, p, n);
	b->b_len += n;
	b->b_data[b->b_len] = '\0';
	return CC_OK;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CC_ERR_INVAL;
	if ((size_t)n > b->b_max - b->b_len)
		return CC_ERR_TOOBIG;
	buf_reserve(b, b->b_len + (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->b_data + b->b_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->b_len += (size_t)n;
	return CC_OK;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->b_len) {
		buf_reset(b);
		return;
	}
	memmove(b->b_data, b->b_data + n, b->b_len - n);
	b->b_len -= n;
	b->b_data[b->b_len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->b_len = 0;
	if (b->b_data)
		b->b_data[0] = '\0';
}

char *
buf_detach(struct buf *b)
{
	char *s = b->b_data ? b->b_data : xstrdup("");
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
	return s;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->b_data);
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
}
