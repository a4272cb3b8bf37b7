/*
 * intern: one shared copy of each repeated short string (namespaces, issuer names, condition
 * reasons, usernames), reference counted so that strings nobody uses any more are freed.
 *
 * Records hold interned pointers; two interned pointers from one table are equal exactly when the
 * strings are equal. Every intern_get must be matched by one intern_put of the returned pointer.
 * All functions are thread-safe (one mutex per table).
 */
#ifndef INTERN_H
#define INTERN_H

#include <stddef.h>

struct intern;

/* A new, empty table. Free it with intern_free. */
struct intern *intern_new(void);
/*
 * Free the table and every string still in it; pointers from it are dead afterwards. Strings
 * still referenced are a caller bug that is reported by intern_count beforehand. Accepts NULL.
 */
void intern_free(struct intern *in);

/* The shared copy of s, with one more reference. NULL gives NULL. Never fails (xalloc). */
const char *intern_get(struct intern *in, const char *s);
/* The same for the n bytes at s (which need no terminator; a NUL inside ends the string). */
const char *intern_getn(struct intern *in, const char *s, size_t n);
/*
 * Drop one reference to s, which must be a pointer returned by intern_get on this table, or NULL.
 * The string is freed when its count reaches zero.
 */
void intern_put(struct intern *in, const char *s);

/* Distinct strings held, for tests and metrics. */
size_t intern_count(struct intern *in);

#endif
