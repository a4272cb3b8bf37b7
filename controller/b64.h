/*
 * b64: standard base64 (RFC 4648 section 4) decoding, shared by the two places that receive it:
 * kubeconfig's *-data fields and a CertificateRequest's status.certificate.
 */
#ifndef CERTCAST_B64_H
#define CERTCAST_B64_H

#include <stdbool.h>
#include <stddef.h>

/* Accept input whose final quantum lacks its '=' padding (kubeconfigs written by hand do). */
#define B64_PAD_OPTIONAL 0x1

/* Bytes that decoding n characters can produce at most: size out with this. */
#define B64_DECODED_MAX(n) ((n) / 4 * 3 + 3)

/*
 * Decode n characters of s into out (at least B64_DECODED_MAX(n) bytes), skipping ASCII
 * whitespace, since PEM bodies and YAML block scalars wrap lines. Returns false on a character
 * outside the alphabet, data after padding, a lone leftover character, or wrong padding; out's
 * contents are then unspecified. No NUL is appended.
 */
bool b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen, int flags);

#endif
