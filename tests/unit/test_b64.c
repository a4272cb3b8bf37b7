/* b64: the decoder both kubeconfig and CertificateRequest certificates go through. */
#include <criterion/criterion.h>
#include <string.h>

#include "b64.h"

struct b64_case {
	const char *name;
	const char *in;
	int flags;
	bool ok;
	const char *out;
	size_t len;
};

static const struct b64_case cases[] = {
	{"empty", "", 0, true, "", 0},
	{"whole quanta", "aGVsbG8gd29y", 0, true, "hello wor", 9},
	{"one pad", "aGVsbG8=", 0, true, "hello", 5},
	{"two pads", "aGk=", 0, true, "hi", 2},
	{"PEM-style wrapping", "aGVs\nbG8g\r\n\td29y bGQ=", 0, true, "hello world", 11},
	{"bytes with the high bit and zero", "AP/+", 0, true, "\0\xff\xfe", 3},
	{"every alphabet character", "+/+/", 0, true, "\xfb\xff\xbf", 3},
	{"missing pad refused by default", "aGVsbG8", 0, false, NULL, 0},
	{"missing pad accepted when optional", "aGVsbG8", B64_PAD_OPTIONAL, true, "hello", 5},
	{"missing two pads accepted when optional", "aGk", B64_PAD_OPTIONAL, true, "hi", 2},
	{"lone leftover character", "aGVsb", B64_PAD_OPTIONAL, false, NULL, 0},
	{"lone leftover with pads", "aGVsb===", 0, false, NULL, 0},
	{"too much padding", "aGk===", 0, false, NULL, 0},
	{"too little padding", "aG=", 0, false, NULL, 0},
	{"data after padding", "aGk=aGk=", 0, false, NULL, 0},
	{"stray byte", "aGV*bG8=", 0, false, NULL, 0},
	{"url-safe alphabet is another encoding", "a-_b", 0, false, NULL, 0},
	{"NUL inside", "aG\0k", 0, false, NULL, 0},
};

Test(b64, table)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct b64_case *c = &cases[i];
		/* "NUL inside" is 4 characters long, which strlen would not see. */
		size_t n = strcmp(c->name, "NUL inside") == 0 ? 4 : strlen(c->in);
		unsigned char out[64];
		size_t len = 999;
		bool ok = b64_decode(c->in, n, out, &len, c->flags);
		cr_expect_eq(ok, c->ok, "%s: ok %d", c->name, ok);
		if (ok && c->ok) {
			cr_expect_eq(len, c->len, "%s: len %zu", c->name, len);
			cr_expect(memcmp(out, c->out, c->len) == 0, "%s: bytes", c->name);
			cr_expect_leq(len, B64_DECODED_MAX(n), "%s: within the bound", c->name);
		}
	}
}

/* Every length of input decodes within B64_DECODED_MAX, so callers can size buffers by it. */
Test(b64, bound_holds_for_every_length)
{
	char in[40];
	unsigned char out[B64_DECODED_MAX(sizeof in) + 8];
	for (size_t n = 0; n <= sizeof in; n++) {
		memset(in, 'Q', n);
		size_t len = 0;
		memset(out, 0xAA, sizeof out);
		bool ok = b64_decode(in, n, out, &len, B64_PAD_OPTIONAL);
		cr_expect_eq(ok, n % 4 != 1, "n=%zu", n);
		if (ok)
			cr_expect_leq(len, B64_DECODED_MAX(n), "n=%zu", n);
		for (size_t k = B64_DECODED_MAX(n); k < sizeof out; k++)
			cr_expect_eq(out[k], 0xAA, "n=%zu wrote past the bound at %zu", n, k);
	}
}
