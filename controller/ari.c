/* ari: renewalInfo answers, directories, Retry-After and error waits (see ari.h). */
#include "ari.h"

#include "cc_err.h"
#include "timefmt.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int ari_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
ari_fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return CC_ERR_PARSE;
}

/* Parse body[0..len) as one JSON object; NULL with err set otherwise. */
static cJSON *
ari_json_object(const char *body, size_t len, char *err, size_t errlen)
{
	if (body == NULL || len == 0) {
		ari_fail(err, errlen, "empty body");
		return NULL;
	}
	if (len > ARI_BODY_MAX) {
		ari_fail(err, errlen, "body of %zu bytes is over %u", len, ARI_BODY_MAX);
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (j == NULL) {
		size_t at = end != NULL && end >= body ? (size_t)(end - body) : 0;
		ari_fail(err, errlen, "not JSON (at byte %zu)", at);
		return NULL;
	}
	/* trailing bytes other than white space mean two documents or garbage */
	for (const char *p = end; p != NULL && p < body + len; p++) {
		if (!isspace((unsigned char)*p)) {
			cJSON_Delete(j);
			ari_fail(err, errlen, "data after the JSON value (at byte %zu)",
			    (size_t)(p - body));
			return NULL;
		}
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		ari_fail(err, errlen, "not a JSON object");
		return NULL;
	}
	return j;
}

/*
 * Whether s is a URL certcast may keep and show: the scheme (https only when https_only),
 * a host, no space or control character, shorter than ARI_URL_MAX.
 */
static int
ari_url_ok(const char *s, int https_only)
{
	size_t n = strlen(s);
	if (n >= ARI_URL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	const char *rest = NULL;
	if (strncasecmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (!https_only && strncasecmp(s, "http://", 7) == 0)
		rest = s + 7;
	return rest != NULL && *rest != '\0' && *rest != '/';
}

static int
ari_time(const cJSON *w, const char *key, int64_t *out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(w, key);
	if (v == NULL)
		return ari_fail(err, errlen, "suggestedWindow.%s: missing", key);
	if (!cJSON_IsString(v))
		return ari_fail(err, errlen, "suggestedWindow.%s: not a string", key);
	if (tf_parse_time(v->valuestring, out) != CC_OK)
		return ari_fail(err, errlen, "suggestedWindow.%s: not an RFC 3339 time", key);
	return CC_OK;
}

int
ari_parse(const char *body, size_t len, struct ari_window *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	cJSON *j = ari_json_object(body, len, err, errlen);
	if (j == NULL)
		return CC_ERR_PARSE;
	struct ari_window w = {0};
	int rc = CC_OK;
	const cJSON *sw = cJSON_GetObjectItemCaseSensitive(j, "suggestedWindow");
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "explanationURL");
	if (sw == NULL)
		rc = ari_fail(err, errlen, "suggestedWindow: missing");
	else if (!cJSON_IsObject(sw))
		rc = ari_fail(err, errlen, "suggestedWindow: not an object");
	else if ((rc = ari_time(sw, "start", &w.aw_start, err, errlen)) != CC_OK ||
		 (rc = ari_time(sw, "end", &w.aw_end, err, errlen)) != CC_OK)
		;
	else if (w.aw_start >= w.aw_end)
		rc = ari_fail(err, errlen, "suggestedWindow: start is not before end");
	else if (url != NULL && !cJSON_IsString(url))
		rc = ari_fail(err, errlen, "explanationURL: not a string");
	else if (url != NULL && !ari_url_ok(url->valuestring, 0))
		rc = ari_fail(err, errlen,
		    "explanationURL: not an http(s) URL under %d bytes without spaces", ARI_URL_MAX);
	if (rc == CC_OK && url != NULL)
		snprintf(w.aw_url, sizeof w.aw_url, "%s", url->valuestring);
	cJSON_Delete(j);
	if (rc == CC_OK)
		*out = w;
	return rc;
}

int
ari_directory_parse(const char *body, size_t len, char *url, size_t urllen, char *err,
    size_t errlen)
{
	if (urllen > 0)
		url[0] = '\0';
	cJSON *j = ari_json_object(body, len, err, errlen);
	if (j == NULL)
		return CC_ERR_PARSE;
	int rc = CC_OK;
	const cJSON *ri = cJSON_GetObjectItemCaseSensitive(j, "renewalInfo");
	if (ri == NULL) {
		rc = CC_ERR_NOTFOUND;
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "the directory has no renewalInfo");
	} else if (!cJSON_IsString(ri) || !ari_url_ok(ri->valuestring, 1)) {
		rc = ari_fail(err, errlen, "renewalInfo: not an https URL under %d bytes",
		    ARI_URL_MAX);
	} else if (strlen(ri->valuestring) >= urllen) {
		rc = ari_fail(err, errlen, "renewalInfo: longer than %zu bytes", urllen);
	} else {
		snprintf(url, urllen, "%s", ri->valuestring);
	}
	cJSON_Delete(j);
	return rc;
}

static int64_t
ari_clamp(int64_t s)
{
	return s < ARI_RETRY_MIN ? ARI_RETRY_MIN : s > ARI_RETRY_MAX ? ARI_RETRY_MAX : s;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" -> Unix seconds; -1 when it is not exactly that form. */
static int64_t
ari_imf_fixdate(const char *s)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	    "Sep", "Oct", "Nov", "Dec"};
	/* fixed layout: 3-letter day, ", ", DD, " ", Mon, " ", YYYY, " ", HH:MM:SS, " GMT" */
	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    strcmp(s + 26, "GMT") != 0)
		return -1;
	static const int digits[] = {5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24};
	for (size_t i = 0; i < sizeof digits / sizeof digits[0]; i++)
		if (!isdigit((unsigned char)s[digits[i]]))
			return -1;
	int m = -1;
	for (int i = 0; i < 12; i++)
		if (strncmp(s + 8, mon[i], 3) == 0)
			m = i + 1;
	int d = (s[5] - '0') * 10 + (s[6] - '0');
	int y = (s[12] - '0') * 1000 + (s[13] - '0') * 100 + (s[14] - '0') * 10 + (s[15] - '0');
	int hh = (s[17] - '0') * 10 + (s[18] - '0');
	int mm = (s[20] - '0') * 10 + (s[21] - '0');
	int ss = (s[23] - '0') * 10 + (s[24] - '0');
	if (m < 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	return tf_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

int64_t
ari_retry_after(const char *value, int64_t now)
{
	if (value == NULL)
		return ARI_RETRY_DEFAULT;
	while (*value == ' ' || *value == '\t')
		value++;
	size_t n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r'))
		n--;
	if (n == 0 || n >= 64)
		return ARI_RETRY_DEFAULT;
	char v[64];
	memcpy(v, value, n);
	v[n] = '\0';
	if (isdigit((unsigned char)v[0])) {
		int64_t s = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)v[i]))
				return ARI_RETRY_DEFAULT;
			if (s < ARI_RETRY_MAX) /* anything larger clamps to the same */
				s = s * 10 + (v[i] - '0');
		}
		return ari_clamp(s);
	}
	int64_t at = ari_imf_fixdate(v);
	if (at < 0)
		return ARI_RETRY_DEFAULT;
	return ari_clamp(at - now);
}

int64_t
ari_error_delay(unsigned failures)
{
	int64_t d = ARI_ERROR_FIRST;
	for (unsigned i = 1; i < failures && d < ARI_ERROR_MAX; i++)
		d *= 2;
	return d > ARI_ERROR_MAX ? ARI_ERROR_MAX : d;
}
