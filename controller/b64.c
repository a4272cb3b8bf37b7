/* b64: standard base64 decoding; see b64.h. */
#include "b64.h"

#include <stdint.h>

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool
b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen, int flags)
{
	uint32_t acc = 0;
	int q = 0, pad = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64_value(c);
		if (v < 0 || pad > 0)
			return false; /* a stray byte, or data after padding */
		acc = acc << 6 | (uint32_t)v;
		if (++q == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			q = 0;
			acc = 0;
		}
	}
	if (q == 0 && pad == 0) {
		*outlen = o;
		return true;
	}
	/* A final quantum of 2 or 3 characters carries 1 or 2 bytes. */
	if (q < 2)
		return false;
	if (pad == 0 && !(flags & B64_PAD_OPTIONAL))
		return false;
	if (pad != 0 && q + pad != 4)
		return false;
	acc <<= 6 * (4 - q);
	out[o++] = (unsigned char)(acc >> 16);
	if (q == 3)
		out[o++] = (unsigned char)(acc >> 8);
	*outlen = o;
	return true;
}
