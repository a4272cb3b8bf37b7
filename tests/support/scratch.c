/* scratch: a private temporary folder for a test program. */
#include "scratch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int
scratch_dir(const char *what, char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(out, len, "%s/certcast-%s.XXXXXX", tmp && tmp[0] ? tmp : "/tmp", what);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(out) == NULL ? -1 : 0;
}
