/*
 * xalloc: allocation that never returns NULL.
 *
 * Running out of memory is not a recoverable error for a controller: the pod restarts. These
 * wrappers print one line and abort, so no caller checks for NULL.
 */
#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
/* Like realloc: the old pointer is dead after the call, use the returned one. */
void *xrealloc(void *p, size_t n);
/* xstrdup(NULL) returns NULL, so optional strings copy without a branch. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy src into dst of size dstsz, always NUL-terminated. Returns 0, or -1 when truncated. */
int xstrlcpy(char *dst, const char *src, size_t dstsz);

#endif
