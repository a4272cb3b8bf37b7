/*
 * scratch: a private folder for a test program's files, "$TMPDIR/certcast-WHAT.XXXXXX" (or under
 * /tmp), made with mkdtemp so that parallel runs never share one.
 */
#ifndef SCRATCH_H
#define SCRATCH_H

#include <stddef.h>

/* Make the folder and write its path into out (len bytes). 0, or -1 with errno set. */
int scratch_dir(const char *what, char *out, size_t len);

#endif
