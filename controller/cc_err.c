/* cc_err: descriptions of the project-wide error codes. */
#include "cc_err.h"

#include <stdarg.h>
#include <stdio.h>

const char *
cc_strerror(int err)
{
	switch (err) {
	case CC_OK: return "success";
	case CC_ERR_INVAL: return "invalid argument";
	case CC_ERR_IO: return "I/O error";
	case CC_ERR_HTTP: return "HTTP error";
	case CC_ERR_PARSE: return "parse error";
	case CC_ERR_TOOBIG: return "input too large";
	case CC_ERR_GONE: return "resource version too old (410 Gone)";
	case CC_ERR_FORBIDDEN: return "forbidden (403)";
	case CC_ERR_UNAUTHORIZED: return "unauthorized (401)";
	case CC_ERR_NOTFOUND: return "not found (404)";
	case CC_ERR_CONFLICT: return "conflict (409)";
	case CC_ERR_TIMEOUT: return "timed out";
	case CC_ERR_CANCELED: return "canceled";
	case CC_ERR_CONFIG: return "configuration error";
	case CC_ERR_UNAVAILABLE: return "service unavailable";
	case CC_ERR_TLS: return "TLS error";
	case CC_ERR_INVALID_OBJECT: return "object rejected as invalid (422)";
	case CC_ERR_STATE: return "invalid state";
	}
	return "unknown error";
}

int
cc_err_retryable(int err)
{
	switch (err) {
	case CC_ERR_IO:
	case CC_ERR_HTTP:
	case CC_ERR_TIMEOUT:
	case CC_ERR_UNAVAILABLE:
	case CC_ERR_CONFLICT:
	case CC_ERR_GONE:
		return 1;
	default:
		return 0;
	}
}

int
cc_fail(char *err, size_t errsz, int rc, const char *fmt, ...)
{
	if (err != NULL && errsz > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return rc;
}
